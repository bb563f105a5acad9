#!/usr/bin/env bash
# Regenerates the figures README and the book show, from the shipped scenarios and the recorded
# real-kernel results: `bash plots/regenerate.sh`. Runs are deterministic, so a rerun rewrites
# byte-identical files. seed-failing-node needs ../shared/captures.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=./target/release/buddysim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in seed-failing-node seed-rhel7-node; do
    "$bin" run "scenarios/$s.yaml" --out "$tmp/$s" >/dev/null
    rm -rf "plots/$s"
    "$bin" plot "$tmp/$s" --out "plots/$s" >/dev/null
done
"$bin" compare --out "$tmp/compare" >/dev/null
rm -rf plots/validation
"$bin" plot "$tmp/compare" --out plots/validation >/dev/null
"$bin" replay tests/fixtures/replay/series --scenario tests/fixtures/replay/node.yaml --out "$tmp/replay" >/dev/null
cp "$tmp/replay/plots/replay-0-DMA32.png" plots/
# The figures the README and book show are the PNGs; `buddysim plot` also writes SVGs.
find plots -name "*.svg" -delete
echo "plots regenerated under plots/"
