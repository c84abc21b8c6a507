//! Log lines on stderr: text for people, JSON lines for collectors, and on
//! a node, its id and region on every line, so the lines of many nodes can
//! be told apart once they are gathered in one place.
//!
//! The node's fields are added by the event formatter, not by a span: a
//! span entered at start would be missing from the lines of tasks spawned
//! elsewhere and of the SFU's worker threads, and the lead-in must be on
//! every line. Colour is used only when stderr is a terminal (and
//! `NO_COLOR` is not set): escape codes in a journal or a file are noise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU32, Ordering};

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The fields every line of a node carries.
#[derive(Debug, Clone)]
pub struct NodeFields {
    /// None until known: a node of a cluster leases its id from Redis after
    /// logging starts (see [`set_node_id`]).
    pub node_id: Option<u16>,
    pub region: String,
}

/// The node id on log lines; `u32::MAX` while unknown.
static NODE_ID: AtomicU32 = AtomicU32::new(u32::MAX);

/// Puts the node's id on every line from now on.
pub fn set_node_id(id: u16) {
    NODE_ID.store(u32::from(id), Ordering::Relaxed);
}

fn node_id() -> Option<u32> {
    Some(NODE_ID.load(Ordering::Relaxed)).filter(|&n| n != u32::MAX)
}

/// Installs the process's logger: `HEARTH_LOG` filters (default `info`);
/// `node`, when given, is written on every line.
pub fn init(format: LogFormat, node: Option<NodeFields>) {
    if let Some(id) = node.as_ref().and_then(|n| n.node_id) {
        set_node_id(id);
    }
    let filter = EnvFilter::try_from_env("HEARTH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    match format {
        LogFormat::Text => builder
            .event_format(Tagged::text(
                format::Format::default().with_ansi(colour),
                node,
            ))
            .init(),
        LogFormat::Json => builder
            .event_format(Tagged::json(
                format::Format::default().json().flatten_event(true),
                node,
            ))
            .init(),
    }
}

/// Wraps a formatter and adds the node's fields to each line it writes.
struct Tagged<F> {
    inner: F,
    /// The node's region (checked in config: letters, digits, '.', '_'
    /// and '-', so nothing in it needs escaping); None off a node.
    region: Option<String>,
    json: bool,
}

impl<F> Tagged<F> {
    fn text(inner: F, node: Option<NodeFields>) -> Self {
        Tagged {
            inner,
            region: node.map(|n| n.region),
            json: false,
        }
    }

    fn json(inner: F, node: Option<NodeFields>) -> Self {
        Tagged {
            inner,
            region: node.map(|n| n.region),
            json: true,
        }
    }

    /// `"node_id":3,"region":"eu",` for JSON (spliced after the opening
    /// brace), ` node_id=3 region=eu` for text (before the newline).
    fn tags(&self, region: &str) -> String {
        match (self.json, node_id()) {
            (true, Some(id)) => format!("\"node_id\":{id},\"region\":\"{region}\","),
            (true, None) => format!("\"node_id\":null,\"region\":\"{region}\","),
            (false, Some(id)) => format!(" node_id={id} region={region}"),
            (false, None) => format!(" node_id=? region={region}"),
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
