//! Log lines on stderr: text for people, JSON lines for collectors, and on
//! a node, its id and region on every line, so the lines of many nodes can
//! be told apart once they are gathered in one place. (A node that leases
//! its id in a cluster writes its first lines, before the lease, with the
//! region only.)
//!
//! The node's fields are added by the event formatter, not by a span: a
//! span entered at start would be missing from the lines of tasks spawned
//! elsewhere and of the SFU's worker threads, and the lead-in must be on
//! every line. Colour is used only when stderr is a terminal (and
//! `NO_COLOR` is not set): escape codes in a journal or a file are noise.

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The node's id, once it is known: given by the operator, it is set before
/// the first line; leased in a cluster, only once the lease is had. A
/// process is one node, so this is the process's.
static NODE_ID: OnceLock<u16> = OnceLock::new();

/// Puts `id` on every line from now on (the first call wins: a node's id
/// does not change while it runs).
pub fn set_node_id(id: u16) {
    let _ = NODE_ID.set(id);
}

/// Installs the process's logger: `HEARTH_LOG` filters (default `info`);
/// on a node, `region` (and the node id once set) is written on every line.
pub fn init(format: LogFormat, region: Option<String>) {
    let filter = EnvFilter::try_from_env("HEARTH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    match format {
        LogFormat::Text => builder
            .event_format(Tagged {
                inner: format::Format::default().with_ansi(colour),
                region,
                json: false,
            })
            .init(),
        LogFormat::Json => builder
            .event_format(Tagged {
                inner: format::Format::default().json().flatten_event(true),
                region,
                json: true,
            })
            .init(),
    }
}

/// Wraps a formatter and adds the node's fields to each line it writes.
struct Tagged<F> {
    inner: F,
    /// None off a node (`hearth admin`): no fields are added.
    region: Option<String>,
    json: bool,
}

impl<F> Tagged<F> {
    /// What goes into each line: `"node_id":3,"region":"eu",` for JSON
    /// (spliced after the opening brace), ` node_id=3 region=eu` for text
    /// (before the newline).
    fn tags(&self, region: &str) -> String {
        // A region is letters, digits, '.', '_' and '-' (checked in
        // config): nothing in it needs escaping.
        match (self.json, NODE_ID.get()) {
            (true, Some(id)) => format!("\"node_id\":{id},\"region\":\"{region}\","),
            (true, None) => format!("\"region\":\"{region}\","),
            (false, Some(id)) => format!(" node_id={id} region={region}"),
            (false, None) => format!(" region={region}"),
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for Tagged<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let Some(region) = &self.region else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&tag(&line, &self.tags(region), self.json))
    }
}

/// One formatted line with the node's fields added.
fn tag(line: &str, tags: &str, json: bool) -> String {
    if json {
        match line.strip_prefix('{') {
            Some(rest) if rest.starts_with('}') => {
                format!("{{{}}}", tags.trim_end_matches(',')) + &rest[1..]
            }
            Some(rest) => format!("{{{tags}{rest}"),
            None => line.to_owned(),
        }
    } else {
        match line.strip_suffix('\n') {
            Some(body) => format!("{body}{tags}\n"),
            None => format!("{line}{tags}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_fields_lead_each_json_line_and_end_each_text_line() {
        let json = r#""node_id":3,"region":"eu","#;
        let line = tag(
            "{\"timestamp\":\"t\",\"level\":\"INFO\",\"message\":\"serving\"}\n",
            json,
            true,
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["node_id"], 3);
        assert_eq!(v["region"], "eu");
        assert_eq!(v["message"], "serving");
        assert!(line.ends_with("}\n"));
        let empty: serde_json::Value = serde_json::from_str(&tag("{}\n", json, true)).unwrap();
        assert_eq!(empty["region"], "eu");

        let text = tag(
            "2026-01-01 INFO hearth: serving addr=x\n",
            " node_id=3 region=eu",
            false,
        );
        assert_eq!(
            text,
            "2026-01-01 INFO hearth: serving addr=x node_id=3 region=eu\n"
        );
    }
}
