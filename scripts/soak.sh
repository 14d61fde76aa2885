#!/usr/bin/env bash
# The soak benchmark (scripts/soak.py): 30 minutes of live cameras that flap, real footage on a
# loop and an MQTT broker restart, sampled every 10 s. Installs and builds what is missing.
#   scripts/soak.sh [--minutes 30] [--json benches/results/soak.json] [soak.py options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
cargo build --release --locked --features dev-tools --bins
exec python3 scripts/soak.py "$@"
