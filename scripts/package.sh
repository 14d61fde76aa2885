#!/usr/bin/env bash
# Builds the Debian package target/debian/actiond_VERSION_ARCH.deb:
#   scripts/package.sh [OUT_DIR]
# The files are those `make install` puts in place (scripts/install.sh with PREFIX=/usr, staged
# under a DESTDIR), so the package and a source install cannot differ in layout. Dependencies come
# from dpkg-shlibdeps on the binary and the bundled ONNX Runtime library (GStreamer's plugins,
# which are loaded at run time, are named by hand). The maintainer scripts use deb-systemd-helper
# and deb-systemd-invoke as debhelper's would; the service is registered, not enabled or started,
# since the example configuration names a camera that does not exist.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/target/debian}"
cd "$ROOT"

VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
ARCH="$(dpkg --print-architecture)"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
PKG="$STAGE/actiond"

DESTDIR="$PKG" PREFIX=/usr SYSCONFDIR=/etc SYSTEMD_UNIT_DIR=/lib/systemd/system \
  bash scripts/install.sh install
# Debug information stays in the build tree (the release profile keeps it for profiling).
strip --strip-debug "$PKG/usr/bin/actiond"

cat > "$PKG/usr/share/doc/actiond/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: actiond

Files: *
License: MIT or Apache-2.0

Files: usr/lib/actiond/libonnxruntime.so.*
Copyright: Microsoft Corporation
License: MIT
EOF

# dpkg-shlibdeps reads debian/control from the current folder: give it the smallest one.
mkdir -p "$STAGE/shlibs/debian"
printf 'Source: actiond\n\nPackage: actiond\nArchitecture: any\n' > "$STAGE/shlibs/debian/control"
SHLIBS="$(cd "$STAGE/shlibs" && dpkg-shlibdeps -O -l"$PKG/usr/lib/actiond" \
  "$PKG/usr/bin/actiond" "$PKG"/usr/lib/actiond/libonnxruntime.so.* 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')"
[ -n "$SHLIBS" ] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d "$PKG/DEBIAN"
cat > "$PKG/DEBIAN/control" <<EOF
Package: actiond
Version: $VERSION
Architecture: $ARCH
Maintainer: actiond developers <actiond@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
Depends: $SHLIBS, gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-libav
Recommends: gstreamer1.0-plugins-bad, gstreamer1.0-plugins-ugly, systemd
Section: video
Priority: optional
Description: video action recognition daemon
 actiond decodes video files and RTSP cameras with GStreamer, cuts the frames into
 overlapping windows and runs an ONNX action recognition model on each (ONNX Runtime
 is bundled). Labels, action start/end events and stream status go out as JSON Lines
 on stdout, to files or to MQTT (with Home Assistant discovery).
 .
 Edit /etc/actiond/pipeline.toml, then: systemctl enable --now actiond
EOF
echo /etc/actiond/pipeline.toml > "$PKG/DEBIAN/conffiles"

cat > "$PKG/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
	# The system user of sysusers.d/actiond.conf (adduser where systemd is absent).
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers actiond.conf
	elif ! getent passwd actiond >/dev/null; then
		adduser --system --group --home /var/lib/actiond --no-create-home --quiet actiond
	fi
fi
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
	# Registered but not enabled on a new install: the example config names no real camera.
	deb-systemd-helper unmask 'actiond.service' >/dev/null || true
	if deb-systemd-helper --quiet was-enabled 'actiond.service'; then
		deb-systemd-helper enable 'actiond.service' >/dev/null || true
	else
		deb-systemd-helper update-state 'actiond.service' >/dev/null || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		# An upgrade restarts what was running (the unit and every actiond@ instance).
		if [ -n "$2" ]; then
			deb-systemd-invoke try-restart 'actiond.service' >/dev/null || true
			for unit in $(systemctl list-units --plain --no-legend --type=service 'actiond@*' | cut -d' ' -f1); do
				deb-systemd-invoke try-restart "$unit" >/dev/null || true
			done
		fi
	fi
fi
exit 0
EOF

cat > "$PKG/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
	deb-systemd-invoke stop 'actiond.service' >/dev/null || true
	for unit in $(systemctl list-units --plain --no-legend --type=service 'actiond@*' | cut -d' ' -f1); do
		deb-systemd-invoke stop "$unit" >/dev/null || true
	done
fi
exit 0
EOF

cat > "$PKG/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ] && [ -x /usr/bin/deb-systemd-helper ]; then
	deb-systemd-helper mask 'actiond.service' >/dev/null || true
fi
if [ "$1" = "purge" ] && [ -x /usr/bin/deb-systemd-helper ]; then
	deb-systemd-helper purge 'actiond.service' >/dev/null || true
	deb-systemd-helper unmask 'actiond.service' >/dev/null || true
fi
# /var/lib/actiond (events files) and the actiond user are kept, even on purge.
exit 0
EOF
chmod 0755 "$PKG/DEBIAN/postinst" "$PKG/DEBIAN/prerm" "$PKG/DEBIAN/postrm"

mkdir -p "$OUT"
DEB="$OUT/actiond_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
