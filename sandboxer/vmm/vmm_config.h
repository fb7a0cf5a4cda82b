/* The [vmm] table of the sandboxer config (kernel, initrd, memory, vcpus, accel, boot timeout):
   read once at startup, before the core runs. */
#ifndef KC_VMM_CONFIG_H
#define KC_VMM_CONFIG_H

#include "error.h"

#define VMM_DEFAULT_KERNEL "/opt/kuasar-c/guest-kernel/vmlinux"

struct vmm_config
{
  char *kernel;
  char *initrd;
  char *qemu; /* NULL: the core's --tasker / qemu-system-x86_64 on PATH */
  unsigned memory_mib;
  unsigned vcpus;
  char *accel; /* "auto", "kvm" or "tcg" */
  unsigned boot_timeout_secs;
};

/* The process-wide config (defaults until vmm_config_load). */
const struct vmm_config *vmm_config_get (void);
/* Parses [vmm] of path (NULL: defaults only) and fills in defaults (initrd next to our binary). */
int vmm_config_load (const char *path, kc_error_t *err);
/* "kvm" or "tcg" for accel "auto": KVM only when /dev/kvm opens and the host is not KVM-PVM. */
const char *vmm_accel_resolve (const char *accel);

#endif
