//! libFuzzer target: see `checks::pipeline_toml`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pipeline_toml(data));
