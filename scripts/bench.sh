#!/usr/bin/env bash
# The benchmark of BENCHMARKS.md: installs what is missing, builds actiond, creates the Python
# baseline's venv (benches/python/.venv) and runs benches/run.py, which measures in one run the
# decode ceiling, the inference ceiling, actiond end to end and the Python loop for every head,
# model form and stride, and prints the table. Arguments go to benches/run.py (see --help).
# Run it on an otherwise idle machine: it takes about 20 minutes on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh
cargo build --release --locked --features dev-tools
bash benches/python/setup_venv.sh benches/python/.venv
python3 benches/run.py --python-venv benches/python/.venv "$@"
