#!/bin/bash
# Re-resolve the compat environments' lock files (hacking/compat/<env>.txt) from <env>.in, for the Python
# each .in names (`# python: X.Y`). newest.txt then pins the newest releases of the day; `make setup` rebuilds
# the environments whose lock changed. Run from anywhere; needs .venv (make setup).
set -euo pipefail
cd "$(dirname "$0")/../.."
for in_file in hacking/compat/*.in; do
    python_version=$(sed -n 's/^# python: *//p' "$in_file")
    .venv/bin/uv pip compile --quiet --python-version "$python_version" --python-platform x86_64-manylinux_2_28 \
        --no-annotate --custom-compile-command "hacking/compat/lock.sh" \
        "$in_file" -o "${in_file%.in}.txt"
    echo "$in_file -> ${in_file%.in}.txt (Python $python_version)"
done
