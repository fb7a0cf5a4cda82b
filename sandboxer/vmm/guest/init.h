/* What vmm-task does as PID 1 before serving: the console as stdio, the pseudo file systems,
   cgroup v1 hierarchies, the modules, the shared directory (9p or virtiofs); and powering the VM off. */
#ifndef KC_VMM_INIT_H
#define KC_VMM_INIT_H

#include "error.h"

#define KC_VMM_SHARED_DIR "/run/kuasar/shared"
#define KC_VMM_SHARE_TAG  "kuasar"

/* fds 0-2 on /dev/console (the kernel gives init none when the initramfs lacks the node). */
void kc_init_console (void);
/* proc, sysfs, devtmpfs, devpts, /dev/shm, /run; cgroup v1 hierarchies when available. */
int kc_init_mount_basics (kc_error_t *err);
/* Loads /lib/modules/<release>/ (every module of the image). */
int kc_init_load_modules (kc_error_t *err);
/* Mounts the host's share (9p, or virtiofs with kuasar.share=virtiofs) at KC_VMM_SHARED_DIR,
   retrying while the device probes. */
int kc_init_mount_shared (kc_error_t *err);
/* sync, then reset: with QEMU's -no-reboot (and reboot=t) the VM process exits. */
void kc_init_power_off (void) __attribute__ ((noreturn));

#endif
