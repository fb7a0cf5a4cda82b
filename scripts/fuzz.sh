#!/usr/bin/env bash
# Long random runs of the libFuzzer targets (CI runs each deterministically for ~60 s: meson test
# --suite fuzz). Usage: scripts/fuzz.sh [seconds per target, default 600] [target...]
#   targets: ttrpc ttrpc-client config oci-spec store messages (default: all)
# Builds build-fuzz (CC=clang-14, -Dfuzz=true) if needed. Each run uses a new random seed, grows a
# working corpus under build-fuzz/corpus/<target>/ (seeded from tests/fuzz/corpus/<dir>/, which is
# never written to) and saves crashes, leaks and timeouts under build-fuzz/crashes/<target>/.
# A finding reproduces with: build-fuzz/tests/fuzz/fuzz-<target> <crash file>
# Exit status: 1 if any target found something.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-600}
shift || true
build=${KC_FUZZ_BUILD:-build-fuzz}
all=(ttrpc ttrpc-client config oci-spec store messages)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

case $secs in ''|*[!0-9]*) echo "fuzz.sh: seconds must be a number, not '$secs'" >&2; exit 2 ;; esac

if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 meson setup "$build" -Dfuzz=true >/dev/null || exit 2
fi
meson compile -C "$build" $(printf 'tests/fuzz/fuzz-%s ' "${targets[@]}") >/dev/null || exit 2

found=()
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz-$t
  [ -x "$bin" ] || { echo "fuzz.sh: no target $t ($bin)" >&2; exit 2; }
  corpus=$build/corpus/$t crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  seeds=tests/fuzz/corpus/$t
  [ -d "$seeds" ] || seeds=
  before=$(ls "$crashes" | wc -l)
  echo "=== fuzz-$t: $secs s, corpus $corpus${seeds:+ + $seeds}, crashes -> $crashes/"
  # -seed=0: libFuzzer picks a fresh seed (printed as "Seed: N") on each run.
  "$bin" -seed=0 -max_total_time="$secs" -timeout=10 -error_exitcode=1 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$corpus" ${seeds:+"$seeds"} 2>&1 | tee "$build/crashes/$t.log" |
    grep -E '^(Seed|Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|artifact_prefix)|Test unit written'
  rc=${PIPESTATUS[0]}
  after=$(ls "$crashes" | wc -l)
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then found+=("$t"); fi
done

if ((${#found[@]})); then
  echo "fuzz.sh: findings in: ${found[*]} (see $build/crashes/)"
  exit 1
fi
echo "fuzz.sh: nothing found"
