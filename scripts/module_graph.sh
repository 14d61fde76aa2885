#!/usr/bin/env bash
# Prints the crate's module graph: one line per top-level module of src/ with the modules its
# code names as `crate::<module>` (imports and paths alike), then any circle among them.
# Usage: scripts/module_graph.sh [SRC_DIR]   (default: src)
set -euo pipefail
SRC="${1:-src}"
declare -A deps
for entry in "$SRC"/*; do
    name="$(basename "$entry" .rs)"
    case "$name" in main | lib | bin) continue ;; esac
    used="$(grep -rhoE 'crate::[a-z_]+' "$entry" | sed 's/crate:://' | grep -vx "$name" | sort -u | tr '\n' ' ' || true)"
    deps[$name]="$used"
    printf '%-10s -> %s\n' "$name" "${used:-(nothing)}"
done
# Any circle, of any length: tsort (coreutils) orders the arrows and names a loop's modules.
echo "cycles:"
loops="$(for a in "${!deps[@]}"; do for b in ${deps[$a]}; do echo "$a $b"; done; done | tsort 2>&1 >/dev/null \
  | sed -n 's/^tsort: -: input contains a loop:$/loop:/p; s/^tsort: \([a-z_]*\)$/  \1/p' || true)"
echo "${loops:-  none}"
