#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (cargo-fuzz, libFuzzer) for a while each.
#
#   scripts/fuzz.sh                                  every target, 30 s each
#   FUZZ_SECONDS=3600 scripts/fuzz.sh gateway_json   one target, an hour
#   FUZZ_BUILD_ARGS=--dev scripts/fuzz.sh            unoptimised build (quicker to build)
#
# cargo-fuzz needs nightly features (the sanitizers); RUSTC_BOOTSTRAP=1 lets
# the stable toolchain provide them. New inputs go to fuzz/corpus/<target>
# (not committed), so later runs start where earlier ones got to;
# fuzz/seeds/<target> holds the committed starting inputs. A crash leaves
# its input in fuzz/artifacts/<target> and fails the script.
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-30}"
# Word splitting wanted: several build flags may be given.
# shellcheck disable=SC2206
build_args=(${FUZZ_BUILD_ARGS:-})

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${#targets[@]} fuzz targets"
cargo fuzz build "${build_args[@]}"
for t in "${targets[@]}"; do
  corpus="corpus/$t"
  mkdir -p "$corpus"
  dirs=("$corpus")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  echo "== $t for ${seconds}s"
  # -rss_limit_mb: the media target keeps a whole call in memory.
  cargo fuzz run "${build_args[@]}" "$t" "${dirs[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=8192 -print_final_stats=1
done
echo "== fuzzing done: ${targets[*]}"
