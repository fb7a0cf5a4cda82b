/* The [vmm] table of the sandboxer config (kernel, initrd, memory, vcpus, accel, boot timeout):
   read once at startup, before the core runs. */
#ifndef KC_VMM_CONFIG_H
#define KC_VMM_CONFIG_H

#include <stddef.h>

#include "error.h"

#define VMM_DEFAULT_KERNEL "/opt/kuasar-c/guest-kernel/vmlinux"
#define VMM_DEFAULT_QEMU "qemu-system-x86_64"
#define VMM_DEFAULT_VHOST_VSOCK "vhost-device-vsock" /* on PATH; Debian sid's package */
#define VMM_DEFAULT_VIRTIOFSD "/usr/lib/qemu/virtiofsd" /* Debian's qemu-system-common */

struct vmm_config
{
  char *kernel;
  char *initrd;
  char *qemu; /* NULL: the core's --tasker / qemu-system-x86_64 on PATH */
  unsigned memory_mib;
  unsigned vcpus;
  char *accel;   /* "auto", "kvm" or "tcg" */
  char *machine; /* "auto", "microvm" or "q35" */
  char *share;   /* "auto", "9p" or "virtiofs" */
  char *channel; /* "auto", "virtio-serial", "vsock" or "hvsock" */
  char *virtiofsd; /* share virtiofs: the daemon serving <dir>/shared */
  char *vhost_device_vsock; /* channel hvsock: the vhost-user-vsock backend (path or name on PATH) */
  unsigned boot_timeout_secs;
};

/* Where accel "auto" looks (tests point them at fake files). */
struct vmm_host_paths
{
  const char *kvm_dev;    /* /dev/kvm: must open O_RDWR */
  const char *pvm_module; /* /sys/module/kvm_pvm: present = KVM-PVM host, no nested guests */
  const char *cpuinfo;    /* /proc/cpuinfo: needs vmx or svm */
};
extern const struct vmm_host_paths vmm_host_default_paths;

/* The process-wide config (defaults until vmm_config_load). */
const struct vmm_config *vmm_config_get (void);
/* The [vmm] keys parsed here (NULL-terminated): the core's config reader must not call them unknown. */
extern const char *const vmm_config_keys[];
/* Parses [vmm] of path (NULL: defaults only) and fills in defaults (initrd next to our binary). */
int vmm_config_load (const char *path, kc_error_t *err);
/* Sets [vmm] qemu to path (the core's tasker: --tasker, next to us or on PATH) when the config
   left it unset, so the startup probes ask the binary the VMs will run. */
int vmm_config_default_qemu (const char *path, kc_error_t *err);
/* Parses the [vmm] keys of a TOML text into cfg (its scalars start at vmm_config_init); errors
   say `line N: ...`. vmm_config_load = this + defaults for what is still unset. */
void vmm_config_init (struct vmm_config *cfg);
int vmm_config_parse (struct vmm_config *cfg, const char *buf, size_t len, kc_error_t *err);
void vmm_config_clear (struct vmm_config *cfg);
/* "kvm" or "tcg" for accel "auto": KVM only when /dev/kvm opens and the host is not KVM-PVM. */
const char *vmm_accel_resolve (const char *accel);
const char *vmm_accel_resolve_at (const char *accel, const struct vmm_host_paths *paths);

#endif
