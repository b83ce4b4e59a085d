#!/usr/bin/env bash
# Builds every plugin of the plugins workspace as a WebAssembly component
# (wasm32-wasip2, release) into the repository's one target directory:
# target/wasm32-wasip2/release/<crate_name>.wasm, and prints each component's
# path and size.
#
# Plugins are built in one cargo run per world (read from each plugin.toml):
# cargo unifies the SDK's features across the packages of one run, and a
# filter built together with a script task would get the SDK's script-task
# bindings too, so its component would import the (empty, type-only)
# `task-types` interface as well. One run per world keeps every component's
# imports to exactly its world.
#
# Usage: plugins/build.sh                 # everything
#        plugins/build.sh -p spam-filter  # extra args: one plain cargo run with them
set -euo pipefail

PLUGINS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$PLUGINS/.." && pwd)"
TARGET=wasm32-wasip2
OUT="$REPO/target/$TARGET/release"

if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    echo "installing the $TARGET target" >&2
    rustup target add "$TARGET"
fi

# Run from plugins/ so that plugins/.cargo/config.toml (target, stack size) applies.
cd "$PLUGINS"
build() { cargo build --release --locked --target "$TARGET" --target-dir "$REPO/target" "$@"; }

# "<world> <package> <crate_name>" for every cdylib member with a plugin.toml.
PLUGIN_LIST="$(cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, os, sys, tomllib
for p in json.load(sys.stdin)["packages"]:
    if not any("cdylib" in t["crate_types"] for t in p["targets"]):
        continue
    manifest = os.path.join(os.path.dirname(p["manifest_path"]), "plugin.toml")
    with open(manifest, "rb") as f:
        world = tomllib.load(f)["world"]
    print(world, p["name"], p["name"].replace("-", "_"))
' | sort)"

if [[ $# -gt 0 ]]; then
    build "$@"
else
    for world in $(cut -d' ' -f1 <<<"$PLUGIN_LIST" | uniq); do
        packages=()
        while read -r _ package _; do packages+=(-p "$package"); done < <(grep "^$world " <<<"$PLUGIN_LIST")
        echo "== $world: ${packages[*]}" >&2
        build "${packages[@]}"
    done
fi

while read -r _ _ crate; do
    wasm="$OUT/$crate.wasm"
    if [[ -f "$wasm" ]]; then
        printf '%-60s %9d bytes\n' "${wasm#"$REPO"/}" "$(stat -c %s "$wasm")"
    fi
done <<<"$PLUGIN_LIST"
