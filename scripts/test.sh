#!/usr/bin/env bash
# Second command of the README: installs what is missing and runs the whole test suite
# (formatting, lints, unit and end-to-end tests with the real GStreamer and ONNX Runtime).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh
cargo fmt --check
# The daemon alone (what make install and the package ship) and with the developer tools.
cargo clippy --release --locked --all-targets -- -D warnings
cargo clippy --release --locked --all-targets --features dev-tools -- -D warnings
cargo test --release --locked --features dev-tools
