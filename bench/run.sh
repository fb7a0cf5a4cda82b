#!/bin/sh
# kuasar-c benchmarks, each figure as a ratio against its peer in the same run: pod start latency
# (kuasar-wasm vs runc on one private containerd 1.7; kuasar-vmm vs a raw QEMU boot when the vmm path
# works here), memory per pod, relay overhead (shim vs tasker/sandboxer, our ttrpc vs containerd's),
# throughput of short-lived containers in one pod, and the bench/ttrpc microbenchmark. Not a test.
#   sudo bench/run.sh [--quick] [--update-docs] [--no-build] [--json FILE]
#                     [--only start,memory,relay,throughput,ttrpc,vmm]
# --update-docs rewrites docs/benchmarks.md and docs/img/bench-*.png; --from-json FILE re-renders a
# saved --json run (bench/results/last-full-run.json is the committed one) without measuring.
# A full --update-docs run also writes bench/results/last-full-run.json.
# KC_BENCH_BUILD_DIR: meson build dir to use (default <src>/build-bench2, set up and built if needed);
# --no-build uses its binaries as they are (e.g. while the tree is mid-edit).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${KC_BENCH_BUILD_DIR:-$src/build-bench2}

if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh: must run as root (private containerd, mounts, cgroups)" >&2
  exit 1
fi
command -v gnuplot >/dev/null || echo "bench/run.sh: gnuplot not found: --update-docs will fail (apt-get install gnuplot-nox)" >&2

build_it=1
for a in "$@"; do [ "$a" = --no-build ] && build_it=0; done
if [ $build_it = 1 ]; then
  [ -f "$build/build.ninja" ] || meson setup "$build" "$src" >&2
  targets="shim/containerd-shim-kuasar-wasm-v2 sandboxer/wasm/wasm-sandboxer sandboxer/wasm/tasker/kuasar-wasm-tasker"
  # bench/ttrpc is built when the build dir knows it (owned by the ttrpc work).
  if ninja -C "$build" -t targets all 2>/dev/null | grep -q '^bench/ttrpc/bench-ttrpc:'; then
    targets="$targets bench/ttrpc/bench-ttrpc"
  fi
  # shellcheck disable=SC2086
  ninja -C "$build" $targets >&2
  # kuasar-vmm is optional: build what exists, and let the benchmark say why it is not available.
  vmm=""
  for t in shim/containerd-shim-kuasar-vmm-v2 sandboxer/vmm/vmm-sandboxer sandboxer/vmm/guest/kuasar-guest.initrd; do
    ninja -C "$build" -t targets all 2>/dev/null | grep -q "^$t:" && vmm="$vmm $t"
  done
  # shellcheck disable=SC2086
  [ -z "$vmm" ] || ninja -C "$build" $vmm >&2 || echo "bench/run.sh: kuasar-vmm binaries did not build (measured as not available)" >&2
fi

exec /usr/bin/python3 "$src/bench/kc_bench.py" --build "$build" "$@"
