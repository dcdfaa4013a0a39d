//! A self-contained HTML report: no script, no external file, charts drawn
//! as inline SVG (throughput per scenario with its min–max range, and the
//! RSS/CPU timeline of each scenario's median run).

use super::report::{Report, ScenarioResult, TimelinePoint, Verdict};
use super::report_md::{fmt_count, fmt_duration, hit_rate, speedup};
use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1d2330}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #dde}h3{font-size:1.05em;margin:.2em 0}\
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #eef;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f4f6fb}.muted{color:#667}.warn{color:#a05a00}\
.bad{color:#b00020;font-weight:600}.good{color:#137333}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px}\
.card{border:1px solid #e3e6ef;border-radius:6px;padding:8px}svg text{font:11px system-ui,sans-serif;fill:#334}code{background:#f4f6fb;padding:1px 4px}";

/// Horizontal bars: one per scenario, the median's throughput, with a
/// whisker from the slowest to the fastest run.
pub fn throughput_chart(scenarios: &[ScenarioResult]) -> String {
    let rows: Vec<(String, f64, f64, f64)> = scenarios
        .iter()
        .map(|s| {
            let rate = |d: f64| if d > 0.0 { s.files as f64 / d } else { 0.0 };
            (
                s.spec.title.clone(),
                s.files_per_s,
                rate(s.duration_s.max),
                rate(s.duration_s.min),
            )
        })
        .collect();
    let (label_w, bar_w, row_h) = (250.0, 560.0, 26.0);
    let width = label_w + bar_w + 110.0;
    let height = 30.0 + row_h * rows.len() as f64;
    let top = rows
        .iter()
        .map(|r| r.3.max(r.1))
        .fold(0.0, f64::max)
        .max(1e-9);
    let x = |v: f64| label_w + v / top * bar_w;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Throughput per scenario\" viewBox=\"0 0 {width} {height}\" width=\"100%\">"
    );
    let _ = write!(
        svg,
        "<text x=\"{label_w}\" y=\"14\">files/s (bar: median run; whisker: slowest to fastest run)</text>"
    );
    for (i, (label, mid, lo, hi)) in rows.iter().enumerate() {
        let y = 24.0 + i as f64 * row_h;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"{}\" rx=\"2\"><title>{}: {:.0} files/s</title></rect>\
             <line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#1d2330\" stroke-width=\"1.5\"/>\
             <text x=\"{:.1}\" y=\"{}\">{}</text>",
            label_w - 8.0,
            y + 13.0,
            esc(label),
            y + 2.0,
            (x(*mid) - label_w).max(1.0),
            row_h - 8.0,
            if i == 0 { "#8da2c9" } else { "#3b6fd8" },
            esc(label),
            mid,
            x(*lo),
            x(*hi),
            y + 9.0,
            y + 9.0,
            x(hi.max(*mid)) + 6.0,
            y + 13.0,
            fmt_count(*mid)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn polyline(
    points: &[TimelinePoint],
    f: impl Fn(&TimelinePoint) -> f64,
    x: impl Fn(f64) -> f64,
    y: impl Fn(f64) -> f64,
) -> String {
    points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.t_s), y(f(p))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Moving average of the CPU readings over about 1/40 of the run, so a long
/// run sampled every 10 ms reads as a trend rather than as noise.
fn smooth_cpu(points: &[TimelinePoint]) -> Vec<TimelinePoint> {
    let half = points.len() / 80;
    if half == 0 {
        return points.to_vec();
    }
    (0..points.len())
        .map(|i| {
            let window = &points[i.saturating_sub(half)..(i + half + 1).min(points.len())];
            let cpu = window.iter().map(|p| p.cpu_percent).sum::<f64>() / window.len() as f64;
            TimelinePoint {
                cpu_percent: cpu,
                ..points[i]
            }
        })
        .collect()
}

/// RSS (MB, left axis) and CPU (% of one core, right axis) over a run.
/// CPU readings are clipped to `cpus * 100` %: a sample over a very short
/// interval can read more than the machine has, which would flatten the rest.
pub fn timeline_chart(title: &str, points: &[TimelinePoint], cpus: usize) -> String {
    let cpu_cap = (cpus.max(1) * 100) as f64;
    let clipped: Vec<TimelinePoint> = points
        .iter()
        .map(|p| TimelinePoint {
            cpu_percent: p.cpu_percent.min(cpu_cap),
            ..*p
        })
        .collect();
    let points = &smooth_cpu(&clipped)[..];
    let (w, h, l, r, t, b) = (320.0, 150.0, 42.0, 42.0, 10.0, 22.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"RSS and CPU timeline: {}\" viewBox=\"0 0 {w} {h}\" width=\"100%\">",
        esc(title)
    );
    if points.len() < 2 {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"muted\">run too short for a timeline ({} sample{})</text></svg>",
            w / 2.0,
            h / 2.0,
            points.len(),
            if points.len() == 1 { "" } else { "s" }
        );
        return svg;
    }
    let t_max = points.iter().map(|p| p.t_s).fold(0.0, f64::max).max(1e-9);
    let rss_max = points.iter().map(|p| p.rss_mb).fold(0.0, f64::max).max(1.0) * 1.1;
    let cpu_max = points.iter().map(|p| p.cpu_percent).fold(100.0, f64::max) * 1.1;
    let x = |v: f64| l + v / t_max * (w - l - r);
    let y_rss = |v: f64| t + (1.0 - v / rss_max) * (h - t - b);
    let y_cpu = |v: f64| t + (1.0 - v / cpu_max) * (h - t - b);
    let _ = write!(
        svg,
        "<rect x=\"{l}\" y=\"{t}\" width=\"{}\" height=\"{}\" fill=\"#fafbfe\" stroke=\"#e3e6ef\"/>",
        w - l - r,
        h - t - b
    );
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#3b6fd8\" stroke-width=\"1.8\" points=\"{}\"/>\
         <polyline fill=\"none\" stroke=\"#e0892b\" stroke-width=\"1.4\" stroke-dasharray=\"4 2\" points=\"{}\"/>",
        polyline(points, |p| p.rss_mb, x, y_rss),
        polyline(points, |p| p.cpu_percent, x, y_cpu)
    );
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#3b6fd8\">{:.0} MB</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\
         <text x=\"{}\" y=\"{}\" fill=\"#e0892b\">{:.0} %</text>\
         <text x=\"{l}\" y=\"{}\">0 s</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\"><tspan fill=\"#3b6fd8\">— RSS</tspan>  <tspan fill=\"#e0892b\">- - CPU</tspan></text>",
        l - 4.0,
        t + 10.0,
        rss_max,
        l - 4.0,
        h - b,
        w - r + 4.0,
        t + 10.0,
        cpu_max,
        h - 6.0,
        w - r,
        h - 6.0,
        fmt_duration(t_max),
        w / 2.0,
        h - 6.0
    );
    svg.push_str("</svg>");
    svg
}

/// The whole report as one HTML page.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let e = &report.environment;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>wtfperf benchmark report</title><style>{STYLE}</style></head><body>\n\
         <h1>wtfperf benchmark report</h1>\n<p class=\"muted\">wtfperf {} · {} · {} {} · {} CPUs ({}) · {:.0} MB RAM · {} measured run(s) after {} warm-up run(s) per scenario</p>\n",
        esc(&report.wtfperf_version),
        esc(&report.created_utc),
        esc(&e.os),
        esc(&e.arch),
        e.cpus,
        esc(&e.cpu_model),
        e.memory_total_mb,
        report.config.runs,
        report.config.warmup
    );
    if !report.recommendations.is_empty() {
        out.push_str("<h2>Recommendations</h2><ul>");
        for r in &report.recommendations {
            let _ = write!(out, "<li>{}</li>", esc(&r.text));
        }
        out.push_str("</ul>\n");
    }
    for p in &report.projects {
        let _ = write!(
            out,
            "<h2>{} <span class=\"muted\">{} files, {:.1} MB</span></h2>\n<p class=\"muted\"><code>{}</code></p>\n",
            esc(&p.name),
            p.files,
            p.bytes as f64 / 1e6,
            esc(&p.path)
        );
        if !p.scenarios.is_empty() {
            out.push_str(&throughput_chart(&p.scenarios));
        }
        out.push_str(
            "<table><tr><th>Scenario</th><th>Min</th><th>Median</th><th>Max</th><th>Files/s</th><th>MB/s</th>\
             <th>Peak RSS</th><th>Avg RSS</th><th>Avg CPU</th><th>Cache hits</th><th>Errors</th><th>Speed-up</th></tr>\n",
        );
        for s in &p.scenarios {
            let d = &s.duration_s;
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1} MB</td><td>{:.1} MB</td>\
                 <td>{:.0} %</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.spec.title),
                fmt_duration(d.min),
                fmt_duration(d.median),
                fmt_duration(d.max),
                fmt_count(s.files_per_s),
                s.mb_per_s,
                s.peak_rss_mb,
                s.avg_rss_mb,
                s.avg_cpu_percent,
                hit_rate(s),
                if s.errors > 0 {
                    format!("<span class=\"bad\">{}</span>", s.errors)
                } else {
                    "0".into()
                },
                speedup(s)
            );
        }
        out.push_str("</table>\n");
        let mut notes = String::new();
        for s in &p.scenarios {
            for w in &s.warnings {
                let _ = write!(
                    notes,
                    "<li class=\"warn\">⚠ {}: {}</li>",
                    esc(&s.spec.id),
                    esc(w)
                );
            }
            for n in &s.notes {
                let _ = write!(notes, "<li>{}: {}</li>", esc(&s.spec.id), esc(n));
            }
        }
        for k in &p.skipped {
            let _ = write!(
                notes,
                "<li class=\"muted\">{} skipped: {}</li>",
                esc(&k.id),
                esc(&k.reason)
            );
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "<ul>{notes}</ul>");
        }
        out.push_str(
            "<h3>Memory and CPU during the median run of each scenario</h3><div class=\"grid\">",
        );
        for s in &p.scenarios {
            let _ = write!(
                out,
                "<div class=\"card\"><h3>{}</h3>{}</div>",
                esc(&s.spec.title),
                timeline_chart(&s.spec.title, &s.timeline, report.environment.cpus)
            );
        }
        out.push_str("</div>\n");
    }
    if let Some(b) = &report.baseline {
        let _ = write!(
            out,
            "<h2>Against baseline <code>{}</code></h2><p>Noise threshold {:.0} %: {} regression(s).</p>\
             <table><tr><th>Project / scenario</th><th>Baseline median</th><th>Now</th><th>Change</th><th>Verdict</th></tr>",
            esc(&b.file),
            b.threshold * 100.0,
            b.regressions
        );
        for c in &b.comparisons {
            let (class, word) = match c.verdict {
                Verdict::Regression => ("bad", "regression"),
                Verdict::Improvement => ("good", "improvement"),
                Verdict::Unchanged => ("muted", "unchanged"),
            };
            let _ = write!(
                out,
                "<tr><td>{} / {}</td><td>{}</td><td>{}</td><td>{:+.1} %</td><td class=\"{class}\">{word}</td></tr>",
                esc(&c.project),
                esc(&c.scenario),
                fmt_duration(c.baseline_median_s),
                fmt_duration(c.current_median_s),
                c.change * 100.0
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests_support::sample_report;

    #[test]
    fn escapes_everything_dangerous() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn page_is_self_contained_with_charts_for_each_scenario() {
        let report = sample_report();
        let html = render(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        for banned in ["<script", "src=\"http", "href=\"http", "<link"] {
            assert!(!html.contains(banned), "{banned}");
        }
        let n = report.projects[0].scenarios.len();
        // One throughput chart plus one timeline per scenario.
        assert_eq!(html.matches("<svg").count(), 1 + n);
        assert_eq!(html.matches("</svg>").count(), 1 + n);
        assert_eq!(html.matches("<polyline").count(), 2 * n);
        // Titles are escaped ("<title>" inside the sample's titles).
        assert!(html.contains("scan-seq &lt;title&gt;"));
        assert!(!html.contains("scan-seq <title>"));
        assert!(html.contains("wide spread: &lt;&amp;&gt; test"));
        // Balanced table markup.
        assert_eq!(html.matches("<tr>").count(), html.matches("</tr>").count());
    }

    #[test]
    fn throughput_bars_scale_to_the_fastest() {
        let report = sample_report();
        let svg = throughput_chart(&report.projects[0].scenarios);
        assert_eq!(svg.matches("<rect").count(), 4);
        // The warm analyze (0.1 s median) is the longest bar.
        let widths: Vec<f64> = svg
            .split("<rect")
            .skip(1)
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        let max = widths.iter().copied().fold(0.0, f64::max);
        assert_eq!(widths[3], max);
        assert!(
            widths[2] < widths[0],
            "cold analyze is slower than the scan"
        );
    }

    #[test]
    fn impossible_cpu_readings_are_clipped() {
        let pts = [
            TimelinePoint {
                t_s: 0.0,
                rss_mb: 10.0,
                cpu_percent: 900.0,
            },
            TimelinePoint {
                t_s: 1.0,
                rss_mb: 10.0,
                cpu_percent: 50.0,
            },
        ];
        let svg = timeline_chart("x", &pts, 2);
        assert!(
            svg.contains(">220 %<"),
            "axis capped at 2 cores + 10 %: {svg}"
        );
    }

    #[test]
    fn long_timelines_are_smoothed_short_ones_are_not() {
        let pts: Vec<TimelinePoint> = (0..200)
            .map(|i| TimelinePoint {
                t_s: i as f64,
                rss_mb: 1.0,
                cpu_percent: if i % 2 == 0 { 0.0 } else { 100.0 },
            })
            .collect();
        let smooth = smooth_cpu(&pts);
        assert!(smooth[100].cpu_percent > 30.0 && smooth[100].cpu_percent < 70.0);
        assert_eq!(smooth_cpu(&pts[..50]), pts[..50].to_vec());
    }

    #[test]
    fn short_runs_say_so_instead_of_drawing_nothing() {
        let svg = timeline_chart("x", &[], 2);
        assert!(svg.contains("run too short"));
        assert!(!svg.contains("<polyline"));
    }
}
