#!/usr/bin/env bash
# First command of the README: installs what is missing, builds actiond, writes the demo video
# (a timeline of the eight synthetic actions, H.264 in MP4, 320×240) and runs the demo pipeline
# on it. Window events go to stdout as JSON Lines; logs go to stderr.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh
cargo build --release --locked --features dev-tools
BIN=target/release/actiond
if [ ! -s demo/timeline.mp4 ] || [ ! -s demo/timeline.truth.json ]; then
  target/release/actiond-dev synth-video --out demo/timeline.mp4 --segments 8 --seed 1
fi
"$BIN" run pipelines/demo.toml
echo "demo: ground truth per segment is in demo/timeline.truth.json" >&2
