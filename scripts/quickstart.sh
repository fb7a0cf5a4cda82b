#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a wasm pod through a real containerd 1.7:
# installs the dependencies, builds, starts a private containerd and wasm-sandboxer, runs the
# `hello` WASI module in a kuasar-wasm pod, prints its log and removes everything again.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (sudo scripts/quickstart.sh)" >&2; exit 2; }
scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null
echo "quickstart: built $(ls build/shim/containerd-shim-kuasar-wasm-v2 build/sandboxer/wasm/wasm-sandboxer build/sandboxer/wasm/tasker/kuasar-wasm-tasker | xargs -n1 basename | tr '\n' ' ')"
KC_BUILD_DIR="$top/build" exec /usr/bin/python3 tests/e2e/quickstart.py
