/* The QEMU micro-VM command line of docs/vmm.md for one sandbox directory. */
#ifndef KC_VMM_QEMU_H
#define KC_VMM_QEMU_H

#include "vmm_config.h"

/* NULL-terminated, malloc'ed (vmm_qemu_argv_free); NULL when out of memory. accel: "kvm"/"tcg". */
char **vmm_qemu_argv (const struct vmm_config *cfg, const char *qemu, const char *accel, const char *sandbox_dir);
void vmm_qemu_argv_free (char **argv);

#endif
