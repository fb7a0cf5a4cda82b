#!/usr/bin/env bash
# Installs every build, test and run dependency of kuasar-c on a fresh Debian 12 or 13 machine.
# Idempotent; run as root. On Debian 12 the packages that only trixie has (WasmEdge, containerd
# 1.7) come from a trixie source that reuses this machine's own Debian URI, pinned at 100 so
# nothing else moves; containerd 2.x is unpacked from sid into /opt/kuasar-c/containerd-2.
set -euo pipefail

say () { printf 'setup: %s\n' "$*"; }
die () { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo scripts/setup.sh)"
. /etc/os-release
[ "${ID:-}" = debian ] || die "Debian 12 or 13 is required (found ${PRETTY_NAME:-unknown})"

export DEBIAN_FRONTEND=noninteractive
OPT=/opt/kuasar-c
SHARE=/usr/local/share/kuasar-c

debian_uri () {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
            /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 ~ /^(bookworm|trixie)$/ { print $2; exit }' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot find this machine's Debian URI in /etc/apt/sources.list{,.d/debian.sources}"
  printf '%s\n' "$uri"
}

add_suite () { # suite priority
  local suite=$1 prio=$2 uri
  uri=$(debian_uri)
  cat > "/etc/apt/sources.list.d/kuasar-c-$suite.sources" <<SRC
Types: deb
URIs: $uri
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat > "/etc/apt/preferences.d/kuasar-c-$suite" <<PIN
Package: *
Pin: release n=$suite
Pin-Priority: $prio
PIN
  say "added $suite from $uri at priority $prio"
}

apt_update () {
  # Foreign sources on some machines are unreachable: their failure must not stop us, but a
  # missing Debian index must.
  apt-get update -qq 2>&1 | grep -v '^W:' || true
  apt-cache policy | grep -q "n=$1" || die "apt has no index for $1 (is the Debian archive reachable?)"
}

TRIXIE_PKGS="libwasmedge-dev containerd runc"
BASE_PKGS="meson ninja-build pkg-config gcc make git
  protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev
  libgrpc-dev libevent-dev check libjson-c-dev libsystemd-dev
  clang-14 lld-14 wasi-libc libclang-rt-14-dev libclang-rt-14-dev-wasm32
  python3 python3-grpcio python3-grpc-tools python3-protobuf python3-pytest
  jq iproute2 util-linux procps psmisc busybox-static gzip tar file
  qemu-system-x86 cpio kmod xz-utils gnuplot-nox graphviz"

if [ "${VERSION_ID:-}" = 12 ]; then
  add_suite trixie 100
  add_suite sid 1
  apt_update trixie
  say "installing from trixie: $TRIXIE_PKGS"
  apt-get install -y -qq --no-install-recommends -t trixie $TRIXIE_PKGS
else
  add_suite sid 1
  apt_update sid
  apt-get install -y -qq --no-install-recommends $TRIXIE_PKGS
fi
say "installing build and test packages"
apt-get install -y -qq --no-install-recommends $BASE_PKGS

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# CRI api.proto for the e2e client, edited for protoc 3.21 (see docs/internals.md).
if [ ! -f "$SHARE/cri-api/api.proto" ]; then
  (cd "$tmp" && apt-get download -qq golang-github-kubernetes-cri-api-dev/trixie 2>/dev/null \
     || apt-get download -qq golang-k8s-cri-api-dev/sid)
  dpkg -x "$tmp"/*cri-api*.deb "$tmp/cri"
  src=$(find "$tmp/cri" -path '*runtime/v1/api.proto' | head -n 1)
  [ -n "$src" ] || die "CRI api.proto not found in the cri-api package"
  mkdir -p "$SHARE/cri-api"
  sed -e 's/ \[debug_redact = true\]//' -e '/gogo/d' "$src" > "$SHARE/cri-api/api.proto"
  say "CRI api.proto in $SHARE/cri-api"
fi

# containerd 2.x for the second e2e target, unpacked (never installed) from sid.
if [ ! -x "$OPT/containerd-2/usr/bin/containerd" ]; then
  rm -f "$tmp"/*.deb
  (cd "$tmp" && apt-get download -qq containerd/sid)
  rm -rf "$OPT/containerd-2" && mkdir -p "$OPT/containerd-2"
  dpkg -x "$tmp"/containerd_*.deb "$OPT/containerd-2"
  say "containerd $("$OPT/containerd-2/usr/bin/containerd" --version | awk '{print $3}') in $OPT/containerd-2"
fi

"$(dirname "$0")"/setup-vmm.sh  # vmm guest kernel + modules in $OPT/guest-kernel (docs/vmm.md)
# containerd must not run as the machine's service: tests start private instances.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now containerd >/dev/null 2>&1 || true
fi

say "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}'), wasmedge $(dpkg-query -W -f '${Version}' libwasmedge-dev)"
say "done"
