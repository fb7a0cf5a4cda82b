/* The QEMU micro-VM command line of docs/vmm.md for one sandbox directory. */
#ifndef KC_VMM_QEMU_H
#define KC_VMM_QEMU_H

#include "pod_cgroup.h"
#include "pod_net.h"
#include "vmm_config.h"

/* What the host resolved for one VM (vmm_plan_resolve): every field is a concrete choice, never
   "auto". The guest learns share and channel from the kernel command line (kuasar.share=,
   kuasar.channel=). */
struct vmm_plan
{
  const char *accel;   /* "kvm" or "tcg" */
  const char *machine; /* "microvm" or "q35" */
  const char *share;   /* "9p" or "virtiofs" */
  const char *channel; /* "virtio-serial", "vsock" (vhost-vsock) or "hvsock" (vhost-user-vsock) */
  unsigned guest_cid;  /* vsock only: the guest's context id (>= 3) */
  /* Per VM: the pod's network (tap on KC_PASS_FD, kuasar.ip/gw/mtu for the guest); NULL or
     tap_fd < 0: no guest NIC. */
  const struct vmm_pod_net *net;
  /* Per VM: the pod cgroup QEMU and its daemons join before exec; NULL: none. */
  const struct kc_pod_cgroup_join *cgroup;
};

/* share virtiofs: the vhost-user socket of the sandbox's virtiofsd, in the sandbox dir. */
#define VMM_VIRTIOFSD_SOCKET "fs.sock" /* short: the dir already takes up to ~93 of sun_path's 107 */

/* NULL-terminated, malloc'ed (vmm_qemu_argv_free); NULL when out of memory. */
char **vmm_qemu_argv (const struct vmm_config *cfg, const char *qemu, const struct vmm_plan *plan,
                      const char *sandbox_dir);
void vmm_qemu_argv_free (char **argv);

#endif
