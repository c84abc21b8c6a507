#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (every one, or those named) for a
# short while each: FUZZ_SECONDS (default 30). A long run is the same with
# a larger FUZZ_SECONDS, e.g. `FUZZ_SECONDS=3600 scripts/fuzz.sh sdp_offer`.
#
# cargo-fuzz needs nightly-only flags (the sanitizers); RUSTC_BOOTSTRAP=1
# lets the stable toolchain take them. Each target keeps its corpus in
# fuzz/corpus/<target> (seeded from fuzz/seeds/<target> when there is one),
# so later runs start where earlier ones got to. A crash stops the script
# with the reproducing input in fuzz/artifacts/<target>/.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo/fuzz"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

seconds="${FUZZ_SECONDS:-30}"
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${#targets[@]} fuzz targets"
cargo fuzz build

for t in "${targets[@]}"; do
  corpus="corpus/$t"
  mkdir -p "$corpus"
  dirs=("$corpus")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  echo "== $t for ${seconds}s"
  # -rss_limit_mb: the media target keeps a whole call in memory.
  cargo fuzz run "$t" "${dirs[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=8192 -print_final_stats=1
done
echo "== fuzzing done: ${targets[*]}"
