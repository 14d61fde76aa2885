#!/usr/bin/env bash
# Create (or reuse) the virtual environment for benches/python/python_loop.py.
#
#   benches/python/setup_venv.sh [VENV_DIR]     # default: benches/python/.venv
#
# Idempotent: the venv holds a stamp file with the sha256 of requirements.txt and the
# Python version; when it matches, nothing is done. Needs `python3 -m venv` (Debian:
# the python3-venv package, which this script does not install).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${1:-$repo/benches/python/.venv}"
req="$here/requirements.txt"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup_venv.sh: error: $python not found (Debian 12: apt-get install python3 python3-venv)" >&2
    exit 1
fi

want="$( { sha256sum "$req" | cut -d' ' -f1; "$python" -c 'import sys; print(sys.version.split()[0])'; } | tr '\n' ' ')"
stamp="$venv/.requirements.stamp"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "setup_venv.sh: $venv is up to date" >&2
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    # `python3 -m venv --help` works without ensurepip; creating the venv is the real test.
    if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        ver="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        echo "setup_venv.sh: error: '$python -m venv' is unavailable (no venv/ensurepip module)." >&2
        echo "  On Debian 12 install it first: sudo apt-get install python3-venv  (or python${ver}-venv)" >&2
        exit 1
    fi
    rm -rf "$venv"
    if ! "$python" -m venv "$venv"; then
        echo "setup_venv.sh: error: '$python -m venv $venv' failed; on Debian 12 the python3-venv package is needed" >&2
        rm -rf "$venv"
        exit 1
    fi
fi

"$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
"$venv/bin/python" -c 'import cv2, numpy, onnxruntime' >&2
echo "$want" > "$stamp"
echo "setup_venv.sh: $venv ready" >&2
