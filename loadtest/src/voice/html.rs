//! `--html`: one self-contained page (inline CSS and SVG, no scripts, no
//! network) with the summary and charts of latency, loss and throughput
//! over the run, second by second.

use std::fmt::Write;

use super::report::{Sample, VoiceReport};
use super::server::forward_delay_summary;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Series<'a> {
    name: &'a str,
    colour: &'a str,
    values: Vec<Option<f64>>,
}

const W: f64 = 760.0;
const H: f64 = 220.0;
const LEFT: f64 = 60.0;
const BOTTOM: f64 = 30.0;
const TOP: f64 = 20.0;

/// A line chart of `series` against the samples' times.
fn chart(title: &str, unit: &str, times: &[f64], series: &[Series<'_>]) -> String {
    let t_max = times.iter().copied().fold(0.0f64, f64::max).max(1.0);
    let y_max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .fold(0.0f64, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    let x = |t: f64| LEFT + (t / t_max) * (W - LEFT - 10.0);
    let y = |v: f64| TOP + (1.0 - v / y_max) * (H - TOP - BOTTOM);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">"#,
        escape(title)
    );
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="#888"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="#888"/>"##,
        H - BOTTOM,
        W - 10.0,
        H - BOTTOM,
        H - BOTTOM
    );
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text><line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="#eee"/>"##,
            LEFT - 4.0,
            y(v) + 4.0,
            fmt_num(v),
            y(v),
            W - 10.0,
            y(v)
        );
    }
    for i in 0..=5 {
        let t = t_max * f64::from(i) / 5.0;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">{:.0} s</text>"#,
            x(t),
            H - BOTTOM + 16.0,
            t
        );
    }
    let _ = write!(
        svg,
        r#"<text x="6" y="14" font-size="11">{}</text>"#,
        escape(unit)
    );
    for (k, s) in series.iter().enumerate() {
        let mut path = String::new();
        let mut pen_down = false;
        for (t, v) in times.iter().zip(&s.values) {
            match v {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(*t),
                        y(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            svg,
            r#"<path d="{path}" fill="none" stroke="{}" stroke-width="1.5"/><text x="{}" y="{}" font-size="11" fill="{}">{}</text>"#,
            s.colour,
            W - 160.0,
            TOP + 12.0 + 14.0 * k as f64,
            s.colour,
            escape(s.name)
        );
    }
    svg.push_str("</svg></figure>\n");
    svg
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn series<'a>(
    name: &'a str,
    colour: &'a str,
    samples: &[Sample],
    f: impl Fn(&Sample) -> Option<f64>,
) -> Series<'a> {
    Series {
        name,
        colour,
        values: samples.iter().map(f).collect(),
    }
}

/// The whole page.
pub fn render(report: &VoiceReport) -> String {
    let samples = &report.timeline;
    let times: Vec<f64> = samples.iter().map(|s| s.t).collect();
    let mut page = String::new();
    page.push_str(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>hearth-loadtest voice</title>\
         <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:900px}\
         pre{background:#f6f6f6;padding:1em;overflow-x:auto}\
         figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.3em}\
         .pass{color:#060}.fail{color:#a00}</style></head><body>\n",
    );
    let _ = writeln!(
        page,
        "<h1>Voice load test</h1><p class=\"{}\"><strong>{}</strong>: {}</p>",
        if report.passed { "pass" } else { "fail" },
        if report.passed { "PASS" } else { "FAIL" },
        escape(&report.verdict)
    );
    let _ = writeln!(page, "<pre>{}</pre>", escape(&report.to_string()));
    // One line, not a chart: the histogram is read only at the window's
    // two ends, so there is nothing second by second to draw.
    let _ = writeln!(
        page,
        "<p><strong>Delay the SFU added to forwarding</strong>: {}</p>",
        escape(&forward_delay_summary(
            report
                .server
                .as_ref()
                .and_then(|s| s.forward_delay.as_ref())
        ))
    );
    page.push_str(&chart(
        "End-to-end latency per second",
        "ms",
        &times,
        &[
            series("p50", "#1f77b4", samples, |s| s.latency_p50_ms),
            series("p99", "#d62728", samples, |s| s.latency_p99_ms),
        ],
    ));
    page.push_str(&chart(
        "Loss per second (running count from sequence numbers)",
        "%",
        &times,
        &[series("loss", "#d62728", samples, |s| {
            Some(s.loss_ratio * 100.0)
        })],
    ));
    page.push_str(&chart(
        "Throughput",
        "packets/s",
        &times,
        &[
            series("received", "#1f77b4", samples, |s| Some(s.pps_in)),
            series("sent", "#2ca02c", samples, |s| Some(s.pps_out)),
        ],
    ));
    page.push_str(&chart(
        "Participants joined",
        "participants",
        &times,
        &[series("joined", "#9467bd", samples, |s| {
            Some(s.joined as f64)
        })],
    ));
    page.push_str(
        "<p>The figures and how each is measured: loadtest/README.md. \
         The full data is in the JSON report (<code>--out</code>).</p></body></html>\n",
    );
    page
}

#[cfg(test)]
mod tests {
    use super::super::server::{DelayBound, ForwardDelay, ServerReport};
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_charts_every_second() {
        let mut r = VoiceReport {
            timeline: (0..5)
                .map(|i| Sample {
                    t: f64::from(i),
                    joined: i as usize,
                    pps_in: 100.0,
                    pps_out: 50.0,
                    latency_p50_ms: Some(1.0),
                    latency_p99_ms: if i == 2 { None } else { Some(3.0) },
                    ..Sample::default()
                })
                .collect(),
            ..VoiceReport::default()
        };
        r.judge();
        let html = render(&r);
        assert!(html.starts_with("<!doctype html>"));
        assert_eq!(html.matches("<svg").count(), 4);
        assert!(
            !html.contains("<script") && !html.contains("http://") && !html.contains("https://")
        );
        // A missing value lifts the pen rather than drawing to zero.
        assert!(html.contains(" M"), "{html}");
    }

    #[test]
    fn the_forwarding_delay_is_a_line_and_not_measured_without_a_histogram() {
        let mut r = VoiceReport {
            server: Some(ServerReport::default()),
            ..VoiceReport::default()
        };
        let html = render(&r);
        assert!(
            html.contains("added to forwarding</strong>: not measured"),
            "{html}"
        );
        let charts = html.matches("<svg").count();
        r.server = Some(ServerReport {
            forward_delay: Some(ForwardDelay {
                batches: 1500,
                p50: Some(DelayBound::AtMostMs(0.25)),
                p99: Some(DelayBound::AtMostMs(25.0)),
            }),
            ..ServerReport::default()
        });
        let html = render(&r);
        assert!(html.contains("p50 ≤ 0.25 ms, p99 ≤ 25 ms"), "{html}");
        assert_eq!(html.matches("<svg").count(), charts);
    }
}
