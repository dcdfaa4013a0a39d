//! A fresh report validates against the JSON Schema documented in
//! `docs/bench-schema.md` (the block between `schema:begin` and
//! `schema:end`), with a strict reading: an object member the schema does not
//! list is an error too, so the documentation cannot fall behind the code.

use serde_json::Value;
use std::path::Path;
use wtfperf::bench::{self, BenchOptions, Format};

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bench-schema.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let block = doc
        .split("<!-- schema:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- schema:end -->").next())
        .expect("schema markers in docs/bench-schema.md");
    let json = block
        .trim()
        .trim_start_matches("```json")
        .trim_end_matches("```");
    serde_json::from_str(json).expect("the documented schema is JSON")
}

/// Validates `v` against `s`; errors name the JSON path.
fn check(v: &Value, s: &Value, root: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local refs only");
        check(v, &root["$defs"][name], root, at, errors);
    }
    if let Some(options) = s.get("anyOf").and_then(Value::as_array) {
        let ok = options.iter().any(|o| {
            let mut e = Vec::new();
            check(v, o, root, at, &mut e);
            e.is_empty()
        });
        if !ok {
            errors.push(format!("{at}: matches no anyOf alternative"));
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type in schema at {at}"),
        };
        let fits = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            "number" => v.is_number(),
            "integer" => v.is_u64() || v.is_i64(),
            other => panic!("unknown type {other}"),
        });
        if !fits {
            errors.push(format!("{at}: {v} is not of type {types:?}"));
            return;
        }
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        errors.push(format!("{at}: {v} not in {allowed:?}"));
    }
    if let Some(x) = v.as_f64() {
        if let Some(min) = s.get("minimum").and_then(Value::as_f64)
            && x < min
        {
            errors.push(format!("{at}: {x} < minimum {min}"));
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64)
            && x > max
        {
            errors.push(format!("{at}: {x} > maximum {max}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for key in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = key.as_str().unwrap();
            if !obj.contains_key(key) {
                errors.push(format!("{at}: missing required member {key:?}"));
            }
        }
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (key, value) in obj {
                match props.get(key) {
                    Some(ps) => check(value, ps, root, &format!("{at}.{key}"), errors),
                    None => errors.push(format!("{at}: member {key:?} is not documented")),
                }
            }
        }
    }
    if let Some(items) = v.as_array() {
        if let Some(n) = s.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < n
        {
            errors.push(format!("{at}: fewer than {n} items"));
        }
        if let Some(n) = s.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > n
        {
            errors.push(format!("{at}: more than {n} items"));
        }
        let prefix = s.get("prefixItems").and_then(Value::as_array);
        for (i, item) in items.iter().enumerate() {
            let item_schema = prefix.and_then(|p| p.get(i)).or_else(|| s.get("items"));
            if let Some(is) = item_schema {
                check(item, is, root, &format!("{at}[{i}]"), errors);
            }
        }
    }
}

fn validate(v: &Value) -> Vec<String> {
    let schema = schema();
    let mut errors = Vec::new();
    check(v, &schema, &schema, "$", &mut errors);
    errors
}

fn tiny(work: &Path) -> BenchOptions {
    BenchOptions {
        generate_files: 40,
        runs: 2,
        warmup: 0,
        parallel: 2,
        formats: vec![Format::Json],
        work_dir: Some(work.to_path_buf()),
        ..BenchOptions::default()
    }
}

#[test]
fn a_fresh_report_and_a_baseline_comparison_match_the_documented_schema() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let first = bench::run(
        &BenchOptions {
            output_dir: Some(out.clone()),
            ..tiny(work.path())
        },
        &mut |_| {},
    )
    .unwrap();
    let text = std::fs::read_to_string(out.join("bench-report.json")).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let errors = validate(&value);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(value["schema_version"], 1);
    assert_eq!(first.projects.len(), 1);
    let ids: Vec<&str> = first.projects[0]
        .scenarios
        .iter()
        .map(|s| s.spec.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "scan-seq",
            "scan-par-2",
            "analyze-cold",
            "analyze-warm",
            "analyze-incremental"
        ]
    );
    // Every documented member is exercised: scenarios carry runs and timelines.
    let seq = &value["projects"][0]["scenarios"][0];
    assert_eq!(seq["runs"].as_array().unwrap().len(), 2);
    assert_eq!(seq["files"], 40 - 1, "the oversize file is skipped");

    // The same run against the first as baseline fills the `baseline` member.
    let second = bench::run(
        &BenchOptions {
            baseline: Some(out.join("bench-report.json")),
            ..tiny(work.path())
        },
        &mut |_| {},
    )
    .unwrap();
    let value = serde_json::to_value(&second).unwrap();
    assert!(value["baseline"].is_object());
    let errors = validate(&value);
    assert!(errors.is_empty(), "{errors:#?}");
    // The work directory holds no leftovers: generated trees are removed.
    let left: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "out")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let work = tempfile::tempdir().unwrap();
    let report = bench::run(&tiny(work.path()), &mut |_| {}).unwrap();
    let good = serde_json::to_value(&report).unwrap();
    assert!(validate(&good).is_empty());
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("config");
    assert!(validate(&missing).iter().any(|e| e.contains("\"config\"")));
    let mut extra = good.clone();
    extra["environment"]["hostname"] = "x".into();
    assert!(validate(&extra).iter().any(|e| e.contains("hostname")));
    let mut wrong = good.clone();
    wrong["schema_version"] = 2.into();
    assert!(!validate(&wrong).is_empty());
    let mut kind = good;
    kind["projects"][0]["kind"] = "remote".into();
    assert!(validate(&kind).iter().any(|e| e.contains("remote")));
}
