//! What each fuzz target checks, for one input: shared by the libFuzzer targets
//! (`fuzz_targets/*.rs`, built by `cargo fuzz`) and by the test suite, which replays the
//! committed corpus and every input that once failed (`tests/it/fuzz_corpus.rs`), so the checks
//! compile and pass in every CI run without libFuzzer.
//!
//! The parsers read files, as actiond does: each input is written to a temporary file first.

// Each libFuzzer target uses one of these checks; the test suite uses all.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use actiond::config::OutputKind;
use actiond::flow::{Event, FailureReason, StatusEvent, StreamStatus, WindowEvent, WindowMeta};

/// A temporary file holding `data`, named with `suffix` (the parsers look at extensions).
fn file_with(data: &[u8], suffix: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(suffix).tempfile().expect("a temporary file");
    file.write_all(data).expect("written");
    file
}

/// A pipeline file through the load-and-check path of `actiond validate` (keys, types, ranges,
/// paths, environment overrides): a configuration or an error, never a panic or a hang.
pub fn pipeline_toml(data: &[u8]) {
    let file = file_with(data, ".toml");
    let _ = actiond::config::PipelineConfig::load(file.path());
}

/// A labels file (one label per line): labels or an error, and no empty label accepted.
pub fn labels(data: &[u8]) {
    let file = file_with(data, ".txt");
    if let Ok(labels) = actiond::model::load_labels(file.path()) {
        assert!(labels.iter().all(|l| !l.trim().is_empty()), "an empty label was accepted: {labels:?}");
    }
}

/// Mutated ONNX model files through actiond's own ONNX reading (opsets for the compatibility
/// check, parameter counts for `evaluate`): an error, never a panic or a hang.
pub fn onnx_model(data: &[u8]) {
    let file = file_with(data, ".onnx");
    let _ = actiond::model::read_opsets(file.path());
    let _ = actiond::model::count_parameters(file.path());
}

/// A segments CSV of the training workflow (`video,start_s,end_s,label`): videos or problems
/// named by file and line, never a panic.
pub fn segments_csv(data: &[u8]) {
    let file = file_with(data, ".csv");
    let mut problems = actiond::dataset::Problems::default();
    let videos = actiond::dataset::read_labelled(&[file.path().to_owned()], Some("gap"), &mut problems);
    for problem in problems.iter() {
        assert!(!problem.to_string().is_empty(), "a problem says what it is");
    }
    let _ = videos.len();
}

fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = include_str!("../schema/events.schema.json");
        jsonschema::validator_for(&serde_json::from_str(text).unwrap()).expect("the schema compiles")
    })
}

/// Bytes into a few values, deterministically.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u64(&mut self) -> u64 {
        let (head, rest) = self.0.split_at(self.0.len().min(8));
        self.0 = rest;
        head.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b))
    }
    fn f32(&mut self) -> f32 {
        f32::from_bits(self.u64() as u32)
    }
    fn text(&mut self) -> String {
        let n = (self.u64() % 24) as usize;
        let (head, rest) = self.0.split_at(self.0.len().min(n));
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }
}

fn check_event(event: &Event) {
    let line = event.to_json_line();
    assert_eq!(
        line.iter().filter(|&&b| b == b'\n').count(),
        1,
        "one line: {:?}",
        String::from_utf8_lossy(&line)
    );
    let value: serde_json::Value = serde_json::from_slice(&line).expect("valid JSON");
    let errors: Vec<String> =
        schema().iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "schema: {errors:?}\n{value}");
}

/// Window and status events built from arbitrary model outputs (through the same conversion to
/// probabilities as the inference workers, which may refuse them), labels, stream names and
/// times, written as actiond writes them: each one line of valid JSON that the published schema
/// (`schema/events.schema.json`) accepts.
pub fn event_json(data: &[u8]) {
    let mut r = Reader(data);
    let stream = format!("s{}", r.text());
    let classes = 1 + (r.u64() % 6) as usize;
    let labels: Vec<String> = (0..classes).map(|i| format!("{i}{}", r.text())).collect();
    let mut probabilities: Vec<f32> = (0..classes).map(|_| r.f32()).collect();
    let kind = [OutputKind::Auto, OutputKind::Logits, OutputKind::Probabilities][(r.u64() % 3) as usize];
    let classified = actiond::infer::to_probabilities(&mut probabilities, kind).is_ok();
    let start_ns = r.u64() >> 4;
    let meta = WindowMeta {
        stream: Arc::from(stream.as_str()),
        index: r.u64(),
        first_frame: 0,
        last_frame: 9,
        padded: 0,
        start_ns,
        end_ns: start_ns + (r.u64() >> 40),
        clock: None,
    };
    let top_k = 1 + (r.u64() % 4) as usize;
    if classified {
        check_event(&Event::Window(WindowEvent::new(&meta, &probabilities, &labels, top_k.min(classes))));
    }
    let reason = FailureReason::Error(r.text());
    let delay = Duration::from_millis(r.u64() % 100_000);
    let statuses = [
        StreamStatus::Up,
        StreamStatus::Down { reason: reason.clone() },
        StreamStatus::Reconnecting { attempt: 1 + (r.u64() % 100) as u32, delay, reason },
    ];
    for status in &statuses {
        check_event(&Event::Status(StatusEvent::new(&stream, status, SystemTime::now(), true)));
    }
}
