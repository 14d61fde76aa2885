//! Reading the JSON Lines the daemon prints: schema-checked events, window order, accuracy
//! against a timeline's ground truth.

use std::process::Output;

use serde_json::Value;

use super::run::{root, stdout};

/// Parses stdout as JSON Lines; every line must be an event valid against the published schema.
pub fn events(out: &Output) -> Vec<Value> {
    stdout(out).lines().map(parse_event).collect()
}

/// Parses one event and validates it against `schema/events.schema.json`.
pub fn parse_event(line: &str) -> Value {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = SCHEMA.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("schema/events.schema.json")).unwrap();
        jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("the schema compiles")
    });
    let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let errors: Vec<String> =
        validator.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "event does not match the schema: {errors:?}\n{line}");
    value
}

/// The window events of stdout, checking that each stream's windows come in order.
pub fn windows(out: &Output) -> Vec<Value> {
    let all: Vec<Value> = events(out).into_iter().filter(|e| e["type"] == "window").collect();
    let mut next = std::collections::HashMap::new();
    for e in &all {
        let expected = next.entry(e["stream"].as_str().unwrap().to_owned()).or_insert(0u64);
        assert_eq!(e["window"].as_u64(), Some(*expected), "window order: {e}");
        *expected += 1;
    }
    all
}

/// The bar for the default head: share of windows inside one segment with that segment's label.
pub const MIN_ACCURACY: f64 = 0.90;

/// Share of `windows` lying wholly inside one segment of `truth` that carry that segment's
/// label, and how many windows lay inside a segment.
pub fn accuracy(windows: &[Value], truth: &Value) -> (f64, usize) {
    let segments = truth["segments"].as_array().unwrap();
    let (mut inside, mut right) = (0, 0);
    for e in windows {
        let (first, last) = (e["first_frame"].as_u64().unwrap(), e["last_frame"].as_u64().unwrap());
        if let Some(s) = segments
            .iter()
            .find(|s| s["start_frame"].as_u64().unwrap() <= first && last < s["end_frame"].as_u64().unwrap())
        {
            inside += 1;
            right += usize::from(e["label"] == s["label"]);
        }
    }
    (right as f64 / inside.max(1) as f64, inside)
}
