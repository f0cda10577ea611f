#!/bin/sh
# Prints the path of a Python >= 3.12 (ansible-core 2.20+ needs it).
# The machine's default python3 may be older, so look explicitly.
for candidate in "${PYTHON:-}" python3.12 python3.13 \
    /root/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.13*/bin/python3.13 \
    /usr/bin/python3.12 /usr/bin/python3.13 python3; do
    [ -n "$candidate" ] || continue
    path=$(command -v "$candidate" 2>/dev/null) || continue
    if "$path" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
        echo "$path"
        exit 0
    fi
done
echo "find_python: no Python >= 3.12 found (set PYTHON=/path/to/python3.12)" >&2
exit 1
