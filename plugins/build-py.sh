#!/usr/bin/env bash
# Builds the Python port of the spam filter (plugins/spam-filter-py) with
# componentize-py into target/wasm32-wasip2/release/spam_filter_py.wasm.
# componentize-py comes from PyPI into a virtualenv under target/py-tools.
set -euo pipefail

PLUGINS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$PLUGINS/.." && pwd)"
VENV="$REPO/target/py-tools"
OUT="$REPO/target/wasm32-wasip2/release"
VERSION=0.25.1

if ! "$VENV/bin/componentize-py" --version 2>/dev/null | grep -q "$VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$VERSION"
fi

mkdir -p "$OUT"
cd "$PLUGINS/spam-filter-py"
"$VENV/bin/componentize-py" --wit-path "$REPO/wit" --world postmaster-filter \
    componentize app --python-path . --output "$OUT/spam_filter_py.wasm"
rm -rf __pycache__
printf '%-60s %9d bytes\n' "target/wasm32-wasip2/release/spam_filter_py.wasm" "$(stat -c %s "$OUT/spam_filter_py.wasm")"
