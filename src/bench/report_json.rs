//! The JSON report: written pretty-printed, read back for baselines. The
//! schema is documented in `docs/bench-schema.md` (`schema_version` 1).

use super::report::{Report, SCHEMA, SCHEMA_VERSION};
use crate::error::{Error, Result};

/// The report as pretty-printed JSON (ends with a newline).
pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report always serializes");
    text.push('\n');
    text
}

/// Parses a report, checking its `schema` and `schema_version` first so an
/// unrelated or newer file gets a clear message.
pub fn parse(text: &str) -> Result<Report> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("not JSON: {e}")))?;
    let schema = value.get("schema").and_then(|v| v.as_str()).unwrap_or("");
    if schema != SCHEMA {
        return Err(Error::invalid(format!(
            "not a wtfperf benchmark report (schema {schema:?}, expected {SCHEMA:?})"
        )));
    }
    let version = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if version != u64::from(SCHEMA_VERSION) {
        return Err(Error::invalid(format!(
            "report schema_version {version} is not supported (this build reads {SCHEMA_VERSION})"
        )));
    }
    serde_json::from_value(value).map_err(|e| Error::invalid(format!("bad report: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests_support::sample_report;

    #[test]
    fn round_trip() {
        let report = sample_report();
        let text = render(&report);
        assert!(text.ends_with('\n'));
        assert_eq!(parse(&text).unwrap(), report);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["projects"][0]["scenarios"][0]["id"], "scan-seq");
        assert_eq!(
            v["projects"][0]["scenarios"][0]["duration_s"]["median"],
            0.5
        );
    }

    #[test]
    fn rejects_other_files_clearly() {
        assert!(parse("{").unwrap_err().message.contains("not JSON"));
        let e = parse(r#"{"schema": "other"}"#).unwrap_err();
        assert!(e.message.contains("not a wtfperf benchmark report"));
        let e = parse(r#"{"schema": "wtfperf-bench", "schema_version": 99}"#).unwrap_err();
        assert!(e.message.contains("99"));
        let e = parse(r#"{"schema": "wtfperf-bench", "schema_version": 1}"#).unwrap_err();
        assert!(e.message.contains("bad report"));
    }
}
