//! The fuzz targets' checks (`fuzz/checks.rs`) over the committed seed corpus and every input
//! that once failed (`fuzz/regressions/<target>/`, each named by its defect): the checks compile
//! and pass in every run without libFuzzer, and a fixed defect stays fixed. The coverage-guided
//! campaign itself is `cargo fuzz run` (fuzz/README.md).

#[path = "../../fuzz/checks.rs"]
mod checks;

use crate::util::root;

/// One target's check of one input.
type Check = fn(&[u8]);

/// Runs `check` on every file of the target's corpus and regressions; returns how many.
fn replay(target: &str, check: Check) -> usize {
    let mut count = 0;
    for folder in ["corpus", "regressions"] {
        let dir = root().join("fuzz").join(folder).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target}: {} fails its check", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn every_committed_fuzz_input_passes_its_check() {
    let targets: [(&str, Check); 5] = [
        ("pipeline_toml", checks::pipeline_toml),
        ("labels", checks::labels),
        ("onnx_model", checks::onnx_model),
        ("segments_csv", checks::segments_csv),
        ("event_json", checks::event_json),
    ];
    for (target, check) in targets {
        assert!(replay(target, check) >= 2, "{target}: the seed corpus is missing");
    }
    assert!(replay("event_json", |_| {}) >= 4, "the event_json regressions are kept");
}
