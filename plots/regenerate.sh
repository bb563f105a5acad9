#!/usr/bin/env bash
# Regenerates the figures README and the book show: `bash plots/regenerate.sh`. Runs are
# deterministic, so a rerun rewrites byte-identical files; tests/scenarios.rs and tests/plots.rs
# fail when a committed figure differs from a fresh one (all but the sweep's, which no test reruns).
# What it runs, into which folder:
#
#   plots/seed-rhel7-node/     `buddysim run scenarios/seed-rhel7-node.yaml` (10 days): its PNGs
#   plots/seed-failing-node/   `buddysim run scenarios/seed-failing-node.yaml` (12 h; needs
#                              ../shared/captures)
#   plots/validation/          `buddysim compare` (the recorded real-kernel runs) + `buddysim plot`
#   plots/replay/              `buddysim replay` of the test fixture series (tests/fixtures/replay)
#   plots/sweep-extfrag-minfree/
#                              `buddysim sweep scenarios/sweep-extfrag-minfree.yaml` on a small
#                              grid (SWEEP_SET below: 2 x 3 points, 2 seeds, 7 days instead of 10):
#                              its survival curves and heatmap. The shipped grid (5 x 4 x 20 seeds)
#                              is for capacity planning, not for a figure.
#
# Measured with the release binary already built, on the 2-core development machine: 6 min wall,
# nearly all of it the sweep's 12 runs (about 45 CPU-s each) and the seed-rhel7-node run (70 s);
# seed-failing-node and validation take a few seconds each.
set -euo pipefail
cd "$(dirname "$0")/.."

SWEEP_SET=(--set vm.extfrag_threshold=0,1000 --set vm.min_free_kbytes=16133,67584,270336
    --set duration=7d --seeds 2)

cargo build --release --quiet
bin=./target/release/buddysim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Replaces plots/$2 with the PNGs of folder $1 (the SVGs stay out of the repository).
install() {
    rm -rf "plots/$2"
    mkdir -p "plots/$2"
    cp "$1"/*.png "plots/$2/"
    echo "plots/$2: ${SECONDS}s so far" >&2
}

for s in seed-rhel7-node seed-failing-node; do
    "$bin" run "scenarios/$s.yaml" --seeds 1 --out "$tmp/$s" >/dev/null
    install "$tmp/$s/plots" "$s"
done
"$bin" compare --out "$tmp/compare" >/dev/null
"$bin" plot "$tmp/compare" >/dev/null
install "$tmp/compare/plots" validation
"$bin" replay tests/fixtures/replay/series --scenario tests/fixtures/replay/node.yaml --out "$tmp/replay" >/dev/null
install "$tmp/replay/plots" replay
"$bin" sweep scenarios/sweep-extfrag-minfree.yaml "${SWEEP_SET[@]}" --out "$tmp/sweep" >/dev/null
install "$tmp/sweep/plots" sweep-extfrag-minfree
echo "plots regenerated under plots/"
