#!/usr/bin/env bash
# Runs the whole test suite the way CI does: a --werror build with unit, interop and e2e tests
# (real containerd 1.7 and 2.x, real WasmEdge), the unit tests and suite e2e-asan (the wasm chain's
# daemons sanitized, tests/e2e/run_sanitized.py) under ASan+UBSan, and the
# libFuzzer targets (deterministic runs) built with clang. Needs root and scripts/setup.sh.
# Ends with one line: "tests: N passed, N failed".
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (e2e tests drive containerd)" >&2; exit 2; }

failed_steps=()
step () { # name command...
  local name=$1; shift
  printf '\n=== %s\n' "$name"
  if ! "$@"; then failed_steps+=("$name"); fi
}

configure () { # dir args...
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null
  else meson setup "$dir" "$@" >/dev/null; fi
}

main_build () {
  configure build-ci --werror -Dbuildtype=debugoptimized && meson compile -C build-ci
}
main_tests () {
  meson test -C build-ci --print-errorlogs --suite unit --suite interop --suite vmm --suite e2e
}
asan_build_and_test () {
  configure build-ci-asan -Db_sanitize=address,undefined -Db_lundef=false &&
    meson compile -C build-ci-asan &&
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C build-ci-asan --print-errorlogs --suite unit --suite e2e-asan
}
fuzz_build_and_test () {
  CC=clang-14 configure build-ci-fuzz -Dfuzz=true -Dtests=true &&
    meson compile -C build-ci-fuzz &&
    meson test -C build-ci-fuzz --print-errorlogs --suite fuzz
}

step "build (--werror)" main_build
step "unit, interop, vmm and e2e tests" main_tests
step "unit tests under ASan+UBSan" asan_build_and_test
step "fuzz targets (clang, libFuzzer)" fuzz_build_and_test

passed=0 failed=0
for log in build-ci/meson-logs/testlog.json build-ci-asan/meson-logs/testlog.json build-ci-fuzz/meson-logs/testlog.json; do
  [ -f "$log" ] || continue
  p=$(grep -c '"result": "OK"' "$log" || true)
  f=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log" || true)
  s=$(grep -c '"result": "SKIP"' "$log" || true)
  passed=$((passed + p)); failed=$((failed + f + s))
done
if ((${#failed_steps[@]})); then
  printf '\nfailed steps: %s\n' "${failed_steps[*]}"
  [ "$failed" -gt 0 ] || failed=${#failed_steps[@]}
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && ((${#failed_steps[@]} == 0))
