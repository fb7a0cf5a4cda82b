/* Inside a new container's mount namespace (child side): bind the rootfs, mount what the spec
   asks for that makes sense in the guest, populate /dev, bind the host-provided hostname/hosts/
   resolv.conf, then move the rootfs onto / and chroot (pivot_root cannot leave an initramfs). */
#ifndef KC_VMM_ROOTFS_H
#define KC_VMM_ROOTFS_H

#include "error.h"
#include "spec.h"

/* 1 when a spec mount is honoured in the guest: proc, sysfs, tmpfs, devpts, mqueue, and binds
   whose source exists under shared_dir (host paths that do not exist here are skipped). */
int kc_rootfs_mount_wanted (const struct kc_vmm_mount *m, const char *shared_dir);
int kc_rootfs_enter (const char *rootfs, const char *bundle, const struct kc_vmm_spec *spec, kc_error_t *err);

#endif
