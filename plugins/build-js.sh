#!/usr/bin/env bash
# Builds the JavaScript port of the spam filter (plugins/spam-filter-js) with
# componentize-js into target/wasm32-wasip2/release/spam_filter_js.wasm.
# componentize-js comes from npm into target/js-tools.
#
# The postmaster-filter world grants no HTTP, so StarlingMonkey's WASI HTTP
# support (outgoing `fetch` and the incoming-handler `fetch-event`) is left
# out with `-d http -d fetch-event`: the component then neither imports
# `wasi:http` nor exports `wasi:http/incoming-handler`.
set -euo pipefail

PLUGINS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$PLUGINS/.." && pwd)"
TOOLS="$REPO/target/js-tools"
OUT="$REPO/target/wasm32-wasip2/release"
VERSION=0.23.0

if [[ "$(node -p "require('$TOOLS/node_modules/@bytecodealliance/componentize-js/package.json').version" 2>/dev/null)" != "$VERSION" ]]; then
    mkdir -p "$TOOLS"
    [[ -f "$TOOLS/package.json" ]] || echo '{"name":"switchboard-js-tools","private":true}' >"$TOOLS/package.json"
    (cd "$TOOLS" && npm install --no-audit --no-fund --silent "@bytecodealliance/componentize-js@$VERSION")
fi

mkdir -p "$OUT"
"$TOOLS/node_modules/.bin/componentize-js" "$PLUGINS/spam-filter-js/spam-filter.js" \
    --wit "$REPO/wit" --world-name postmaster-filter \
    -d http -d fetch-event \
    --out "$OUT/spam_filter_js.wasm"
printf '%-60s %9d bytes\n' "target/wasm32-wasip2/release/spam_filter_js.wasm" "$(stat -c %s "$OUT/spam_filter_js.wasm")"
