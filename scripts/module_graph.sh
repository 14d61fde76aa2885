#!/usr/bin/env bash
# Prints the crate's module graph: one line per top-level module of src/ with the modules its
# code names as `crate::<module>` (imports and paths alike), then any pair that names each other.
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
echo "mutual:"
found=0
for a in "${!deps[@]}"; do
    for b in ${deps[$a]}; do
        if [[ " ${deps[$b]:-} " == *" $a "* && "$a" < "$b" ]]; then
            echo "  $a <-> $b"
            found=1
        fi
    done
done
[[ $found == 1 ]] || echo "  none"
