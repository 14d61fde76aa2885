#!/usr/bin/env bash
# Installs actiond (or removes it with `uninstall`):
#   PREFIX/bin/actiond, PREFIX/bin/actiond-rtsp-server
#   PREFIX/lib/actiond/libonnxruntime.so.1.31.1   (found next to the binary: no env needed)
#   PREFIX/share/actiond/models/                  (the ONNX heads and labels)
#   PREFIX/share/doc/actiond/README.md
#   SYSCONFDIR/actiond/pipeline.toml              (example; an existing one is kept)
#   SYSTEMD_UNIT_DIR/actiond.service, actiond@.service
# DESTDIR stages everything under another root (packaging, tests).
#   scripts/install.sh [install|uninstall]   (env: PREFIX=/usr/local SYSCONFDIR=/etc DESTDIR=)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${PREFIX:-/usr/local}"
SYSCONFDIR="${SYSCONFDIR:-/etc}"
SYSTEMD_UNIT_DIR="${SYSTEMD_UNIT_DIR:-$SYSCONFDIR/systemd/system}"
DESTDIR="${DESTDIR:-}"
ORT_LIB="libonnxruntime.so.1.31.1"
BIN="$PREFIX/bin"
LIB="$PREFIX/lib/actiond"
DATA="$PREFIX/share/actiond"
DOC="$PREFIX/share/doc/actiond"

reload_systemd() {
  if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
}

install_all() {
  cd "$ROOT"
  [ -f ".onnxruntime/$ORT_LIB" ] || bash scripts/setup.sh
  [ -x target/release/actiond ] || cargo build --release --locked
  install -d "$DESTDIR$BIN" "$DESTDIR$LIB" "$DESTDIR$DATA/models" "$DESTDIR$DOC" \
    "$DESTDIR$SYSCONFDIR/actiond" "$DESTDIR$SYSTEMD_UNIT_DIR"
  install -m 0755 target/release/actiond target/release/actiond-rtsp-server "$DESTDIR$BIN/"
  install -m 0644 ".onnxruntime/$ORT_LIB" "$DESTDIR$LIB/"
  install -m 0644 models/*.onnx models/labels.txt "$DESTDIR$DATA/models/"
  install -m 0644 README.md "$DESTDIR$DOC/"
  for unit in actiond.service actiond@.service; do
    sed -e "s#/usr/local/bin/actiond#$BIN/actiond#g" -e "s#/usr/local/share/doc#$PREFIX/share/doc#g" \
      -e "s#/etc/actiond#$SYSCONFDIR/actiond#g" "systemd/$unit" > "$DESTDIR$SYSTEMD_UNIT_DIR/$unit"
    chmod 0644 "$DESTDIR$SYSTEMD_UNIT_DIR/$unit"
  done
  local config="$DESTDIR$SYSCONFDIR/actiond/pipeline.toml"
  if [ ! -e "$config" ]; then
    sed "s#@DATADIR@#$DATA#g" systemd/pipeline.example.toml > "$config"
    chmod 0644 "$config"
  fi
  reload_systemd
  echo "installed actiond in $DESTDIR$PREFIX; config: $config" >&2
}

uninstall_all() {
  rm -f "$DESTDIR$BIN/actiond" "$DESTDIR$BIN/actiond-rtsp-server" \
    "$DESTDIR$SYSTEMD_UNIT_DIR/actiond.service" "$DESTDIR$SYSTEMD_UNIT_DIR/actiond@.service"
  rm -rf "$DESTDIR$LIB" "$DESTDIR$DATA" "$DESTDIR$DOC"
  reload_systemd
  echo "removed actiond from $DESTDIR$PREFIX (kept $SYSCONFDIR/actiond and /var/lib/actiond)" >&2
}

case "${1:-install}" in
  install) install_all ;;
  uninstall) uninstall_all ;;
  *) echo "usage: $0 [install|uninstall]" >&2; exit 2 ;;
esac
