#!/usr/bin/env bash
# Installs the vmm guest kernel into /opt/kuasar-c/guest-kernel: Debian's linux-image, its vmlinuz
# unpacked to an uncompressed PVH vmlinux (boots under QEMU microvm), and the virtio/9p modules.
# Idempotent; run as root. Called by scripts/setup.sh; see docs/vmm.md.
set -euo pipefail

say () { printf 'setup-vmm: %s\n' "$*"; }
die () { printf 'setup-vmm: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo scripts/setup-vmm.sh)"

DEST=${KC_GUEST_KERNEL_DIR:-/opt/kuasar-c/guest-kernel}
# Modules vmm-task loads (their dependencies are added below).
WANTED="virtio_mmio virtio_pci virtio_console 9pnet 9pnet_virtio 9p overlay virtio_net virtiofs vmw_vsock_virtio_transport"

# channel = "hvsock" ([vmm], docs/vmm.md) needs the vhost-user-vsock backend vhost-device-vsock,
# only in sid (its source is pinned at 1 by scripts/setup.sh: nothing else moves). Optional: its
# absence only disables that channel.
if ! command -v vhost-device-vsock >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends vhost-device-vsock/sid \
    || say "vhost-device-vsock not installed (no sid source?): channel hvsock unavailable"
fi

# Up to date when installed with the same module list ($DEST/wanted): a new list reinstalls.
if [ -f "$DEST/version" ] && [ -f "$DEST/vmlinux" ] && [ -f "$DEST/modules/lib/modules/$(cat "$DEST/version")/modules.dep" ] &&
  [ "$(cat "$DEST/wanted" 2>/dev/null)" = "$WANTED" ]; then
  say "guest kernel $(cat "$DEST/version") already in $DEST"
  exit 0
fi

for tool in apt-get dpkg xz depmod readelf od grep; do
  command -v "$tool" >/dev/null || die "$tool is required (apt-get install xz-utils kmod binutils)"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# linux-image-amd64 is a meta package: download the versioned image it depends on.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 to a versioned kernel package (apt-get update?)"
say "downloading $pkg"
(cd "$tmp" && apt-get download -qq "$pkg")
dpkg -x "$tmp"/linux-image-*.deb "$tmp/root"

vmlinuz=$(ls "$tmp"/root/boot/vmlinuz-* | head -n 1)
[ -f "$vmlinuz" ] || die "no vmlinuz in $pkg"
version=${vmlinuz##*/vmlinuz-}

# The bzImage carries the kernel as an xz stream: find its magic (fd 37 7a 58 5a 00), unpack.
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || die "no xz stream in $vmlinuz"
tail -c +"$((off + 1))" "$vmlinuz" | xz -dc > "$tmp/vmlinux" 2>/dev/null || true
[ "$(od -An -c -N4 "$tmp/vmlinux" | tr -d ' ')" = '177ELF' ] || die "unpacked kernel is not an ELF"
readelf -n "$tmp/vmlinux" | grep -q 'Xen.*0x00000012' \
  || readelf -n "$tmp/vmlinux" | grep -q 'PHYS32_ENTRY' \
  || die "vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): microvm cannot boot it"

moddir="$tmp/root/lib/modules/$version"
[ -d "$moddir" ] || die "no modules for $version in $pkg"
out="$tmp/out/modules/lib/modules/$version"
mkdir -p "$out/kernel"

# Copies one module (decompressed if needed) and, recursively, what it depends on.
declare -A seen=()
add_module () {
  local name=$1 path deps dep rel
  name=${name//-/_}
  [ -n "${seen[$name]:-}" ] && return 0
  seen[$name]=1
  path=$(find "$moddir/kernel" -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \
           -o -name "${name//_/-}.ko" -o -name "${name//_/-}.ko.xz" | head -n 1)
  if [ -z "$path" ]; then
    say "module $name is built in or absent: skipped"
    return 0
  fi
  rel=${path#"$moddir"/}
  mkdir -p "$out/$(dirname "$rel")"
  case $path in
    *.xz) xz -dc "$path" > "$out/${rel%.xz}"; path="$out/${rel%.xz}" ;;
    *.zst) zstd -qdc "$path" > "$out/${rel%.zst}"; path="$out/${rel%.zst}" ;;
    *) cp "$path" "$out/$rel" ;;
  esac
  deps=$(modinfo -F depends "$path" | tr ',' ' ')
  for dep in $deps; do add_module "$dep"; done
}
for m in $WANTED; do add_module "$m"; done
cp "$moddir"/modules.order "$moddir"/modules.builtin* "$out/" 2>/dev/null || true
depmod -b "$tmp/out/modules" "$version"
[ -s "$out/modules.dep" ] || die "depmod wrote no modules.dep"

cp "$tmp/vmlinux" "$tmp/out/vmlinux"
printf '%s\n' "$version" > "$tmp/out/version"
printf '%s\n' "$WANTED" > "$tmp/out/wanted"
rm -rf "$DEST.new" && mkdir -p "$(dirname "$DEST")"
mv "$tmp/out" "$DEST.new"
rm -rf "$DEST" && mv "$DEST.new" "$DEST"
say "guest kernel $version in $DEST ($(find "$DEST/modules" -name '*.ko' | wc -l) modules)"
