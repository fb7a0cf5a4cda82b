#!/bin/sh
# Builds the vmm guest initramfs (cpio newc, uncompressed: faster to boot under TCG): /init =
# vmm-task, /lib/modules/<release>/ from scripts/setup-vmm.sh's kernel dir, empty mount points.
# usage: build-initramfs.sh <vmm-task> <guest-kernel-dir> <out.initrd>
set -eu
task=$1 kdir=$2 out=$3
[ -f "$kdir/version" ] || { echo "no guest kernel in $kdir: run scripts/setup-vmm.sh" >&2; exit 1; }
release=$(cat "$kdir/version")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/run" "$stage/tmp" "$stage/lib/modules"
cp "$task" "$stage/init"
chmod 0755 "$stage/init"
cp -r "$kdir/modules/lib/modules/$release" "$stage/lib/modules/"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$out.tmp"
mv "$out.tmp" "$out"
