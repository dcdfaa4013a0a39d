//! The Markdown report (tables a person reads in a PR or a terminal), and
//! the short console summary of `run_benchmarks`.

use super::report::{Report, ScenarioResult, Verdict};
use std::fmt::Write;

/// "812 µs", "45.3 ms", "1.27 s".
pub fn fmt_duration(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// "950", "12.3 k", "1.20 M".
pub fn fmt_count(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// "97.5 %", or "–" for scenarios without a cache (shared with the HTML report).
pub fn hit_rate(s: &ScenarioResult) -> String {
    s.cache_hit_rate
        .map(|r| format!("{:.1} %", r * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// "1.74×" against the sequential scan, or "–" (shared with the HTML report).
pub fn speedup(s: &ScenarioResult) -> String {
    s.speedup_vs_sequential
        .map(|x| format!("{x:.2}×"))
        .unwrap_or_else(|| "–".into())
}

/// Escapes the characters that would break a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The full Markdown report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let e = &report.environment;
    let c = &report.config;
    let _ = writeln!(out, "# wtfperf benchmark report\n");
    let _ = writeln!(
        out,
        "wtfperf {} · {} · {} {} · {} CPUs ({}) · {:.0} MB RAM\n",
        report.wtfperf_version,
        report.created_utc,
        e.os,
        e.arch,
        e.cpus,
        cell(&e.cpu_model),
        e.memory_total_mb
    );
    let _ = writeln!(
        out,
        "{} measured run(s) after {} warm-up run(s) per scenario; durations are min / **median** / max.\n",
        c.runs, c.warmup
    );
    for p in &report.projects {
        let _ = writeln!(
            out,
            "## {} ({} files, {:.1} MB)\n",
            p.name,
            p.files,
            p.bytes as f64 / 1e6
        );
        let _ = writeln!(out, "`{}`\n", p.path);
        if let Some(g) = &p.generator {
            let _ = writeln!(
                out,
                "Generated: seed {}, {} files in {} directories (depth ≤ {}), {} binary, {} oversize, {} ignored by `.gitignore`; made in {}.\n",
                g.seed,
                g.files,
                g.dirs,
                g.max_depth,
                g.binary_files,
                g.oversize_files,
                g.ignored_files,
                fmt_duration(g.generate_s)
            );
        }
        let _ = writeln!(
            out,
            "| Scenario | Threads | Min | Median | Max | Files/s | MB/s | Peak RSS | Avg RSS | Avg CPU | Cache hits | Errors | Speed-up |"
        );
        let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for s in &p.scenarios {
            let d = &s.duration_s;
            let _ = writeln!(
                out,
                "| {} | {} | {} | **{}** | {} | {} | {:.1} | {:.1} MB | {:.1} MB | {:.0} % | {} | {} | {} |",
                cell(&s.spec.title),
                s.spec.threads,
                fmt_duration(d.min),
                fmt_duration(d.median),
                fmt_duration(d.max),
                fmt_count(s.files_per_s),
                s.mb_per_s,
                s.peak_rss_mb,
                s.avg_rss_mb,
                s.avg_cpu_percent,
                hit_rate(s),
                s.errors,
                speedup(s)
            );
        }
        out.push('\n');
        let notes: Vec<String> = p
            .scenarios
            .iter()
            .flat_map(|s| {
                s.warnings
                    .iter()
                    .map(move |w| format!("- ⚠ {}: {}", s.spec.id, cell(w)))
                    .chain(
                        s.notes
                            .iter()
                            .map(move |n| format!("- {}: {}", s.spec.id, cell(n))),
                    )
            })
            .chain(
                p.skipped
                    .iter()
                    .map(|k| format!("- {} skipped: {}", k.id, cell(&k.reason))),
            )
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(out, "{}\n", notes.join("\n"));
        }
    }
    if !report.recommendations.is_empty() {
        let _ = writeln!(out, "## Recommendations\n");
        for r in &report.recommendations {
            let _ = writeln!(out, "- {}", r.text);
        }
        out.push('\n');
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "## Against baseline `{}` (noise threshold {:.0} %)\n",
            b.file,
            b.threshold * 100.0
        );
        let _ = writeln!(
            out,
            "| Project | Scenario | Baseline median | Now | Change | Verdict |"
        );
        let _ = writeln!(out, "|---|---|--:|--:|--:|---|");
        for c in &b.comparisons {
            let verdict = match c.verdict {
                Verdict::Regression => "**regression**",
                Verdict::Improvement => "improvement",
                Verdict::Unchanged => "unchanged",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:+.1} % | {verdict} |",
                cell(&c.project),
                cell(&c.scenario),
                fmt_duration(c.baseline_median_s),
                fmt_duration(c.current_median_s),
                c.change * 100.0
            );
        }
        let _ = writeln!(out, "\n{} regression(s).", b.regressions);
        if !b.unmatched.is_empty() {
            let _ = writeln!(out, "Not in the baseline: {}.", b.unmatched.join(", "));
        }
    }
    out
}

/// A compact plain-text comparison for the terminal.
pub fn render_console(report: &Report) -> String {
    let mut out = String::new();
    for p in &report.projects {
        let _ = writeln!(
            out,
            "\n=== {}: {} files, {:.1} MB ({} runs after {} warm-up) ===",
            p.name,
            p.files,
            p.bytes as f64 / 1e6,
            report.config.runs,
            report.config.warmup
        );
        let _ = writeln!(
            out,
            "{:<34} {:>28} {:>10} {:>8} {:>9} {:>6} {:>6} {:>8}",
            "scenario",
            "min / median / max",
            "files/s",
            "MB/s",
            "peak RSS",
            "CPU",
            "hits",
            "speed-up"
        );
        for s in &p.scenarios {
            let d = &s.duration_s;
            let range = format!(
                "{} / {} / {}",
                fmt_duration(d.min),
                fmt_duration(d.median),
                fmt_duration(d.max)
            );
            let _ = writeln!(
                out,
                "{:<34} {:>28} {:>10} {:>8.1} {:>6.1} MB {:>5.0}% {:>6} {:>8}{}",
                s.spec.title,
                range,
                fmt_count(s.files_per_s),
                s.mb_per_s,
                s.peak_rss_mb,
                s.avg_cpu_percent,
                s.cache_hit_rate
                    .map(|r| format!("{:.0}%", r * 100.0))
                    .unwrap_or_else(|| "-".into()),
                s.speedup_vs_sequential
                    .map(|x| format!("{x:.2}x"))
                    .unwrap_or_else(|| "-".into()),
                if s.errors > 0 {
                    format!("  ({} errors)", s.errors)
                } else {
                    String::new()
                }
            );
        }
        for s in &p.scenarios {
            for w in &s.warnings {
                let _ = writeln!(out, "  warning: {}: {w}", s.spec.id);
            }
        }
        for k in &p.skipped {
            let _ = writeln!(out, "  skipped {}: {}", k.id, k.reason);
        }
    }
    if !report.recommendations.is_empty() {
        let _ = writeln!(out, "\nRecommendations:");
        for r in &report.recommendations {
            let _ = writeln!(out, "  - {}", r.text);
        }
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "\nBaseline {}: {} regression(s) beyond {:.0} %",
            b.file,
            b.regressions,
            b.threshold * 100.0
        );
        for c in b
            .comparisons
            .iter()
            .filter(|c| c.verdict != Verdict::Unchanged)
        {
            let _ = writeln!(
                out,
                "  {:?}: {} / {}: {} -> {} ({:+.1} %)",
                c.verdict,
                c.project,
                c.scenario,
                fmt_duration(c.baseline_median_s),
                fmt_duration(c.current_median_s),
                c.change * 100.0
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests_support::sample_report;

    #[test]
    fn units() {
        assert_eq!(fmt_duration(0.000_812), "812 µs");
        assert_eq!(fmt_duration(0.0453), "45.3 ms");
        assert_eq!(fmt_duration(1.271), "1.27 s");
        assert_eq!(fmt_count(950.4), "950");
        assert_eq!(fmt_count(12_345.0), "12.3 k");
        assert_eq!(fmt_count(1_200_000.0), "1.20 M");
    }

    #[test]
    fn markdown_has_one_row_per_scenario_and_the_sections() {
        let report = sample_report();
        let md = render(&report);
        assert!(md.starts_with("# wtfperf benchmark report"));
        assert!(md.contains("## generated-small (1000 files, 8.0 MB)"));
        let rows: Vec<&str> = md
            .lines()
            .filter(|l| l.starts_with("| scan-") || l.starts_with("| analyze-"))
            .collect();
        assert_eq!(rows.len(), 4, "{md}");
        // Median in bold, min and max around it.
        assert!(
            rows[0].contains("| 450.0 ms | **500.0 ms** | 550.0 ms |"),
            "{}",
            rows[0]
        );
        assert!(rows[0].contains("1.00×"));
        assert!(
            rows[3].contains("100.0 %"),
            "warm cache hit rate: {}",
            rows[3]
        );
        // Same number of cells in every table row.
        let cells = |l: &str| l.matches(" | ").count();
        assert!(rows.iter().all(|r| cells(r) == cells(rows[0])));
        assert!(md.contains("⚠ scan-seq: wide spread"));
        assert!(md.contains("scan-cold-page-cache skipped: not asked"));
        assert!(md.contains("## Recommendations\n\n- Use 2 threads."));
        assert!(!md.contains("Against baseline"));
    }

    #[test]
    fn console_summary_lists_every_scenario() {
        let report = sample_report();
        let text = render_console(&report);
        for s in &report.projects[0].scenarios {
            assert!(text.contains(&s.spec.title), "{text}");
        }
        assert!(text.contains("450.0 ms / 500.0 ms / 550.0 ms"));
        assert!(text.contains("1.67x"));
        assert!(text.contains("Recommendations:"));
    }
}
