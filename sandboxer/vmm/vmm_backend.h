/* The QEMU micro-VM backend of the sandboxer core (docs/vmm.md, host section). */
#ifndef KC_VMM_BACKEND_H
#define KC_VMM_BACKEND_H

#include "backend.h"
#include "vmm_config.h"

extern const struct kc_backend kc_vmm_backend;

#define VMM_GUEST_OVERHEAD_MIB 64     /* kernel, initramfs and vmm-task on top of the pod's limit */
#define VMM_MAX_MEMORY_MIB     65536  /* as for [vmm] memory_mib */
#define VMM_DEFAULT_CPU_PERIOD 100000 /* us, the CFS default, when a quota comes without a period */

struct vmm_size
{
  unsigned memory_mib;
  unsigned vcpus;
};

/* The VM for a pod: memory_mib = max(config, ceil((memory limit + overhead memory limit) / MiB)
   + VMM_GUEST_OVERHEAD_MIB) when the pod has a memory limit or overhead, at most
   VMM_MAX_MEMORY_MIB; vcpus = max(config, ceil(cpu quota / cpu period)), at most host_cpus
   (0: no cap), at least 1. Unset (0) pod values leave the config's. */
struct vmm_size vmm_size_for_pod (const struct vmm_config *cfg, const struct kc_sandbox_record *rec,
                                  unsigned host_cpus);

#endif
