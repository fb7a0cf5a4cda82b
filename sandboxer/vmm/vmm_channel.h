/* The host↔guest channel of a VM (docs/vmm.md "Channels"): [vmm] channel resolved against this
   host, the task address the sandboxer reports for it, and the guest CID of kernel vsock. */
#ifndef KC_VMM_CHANNEL_H
#define KC_VMM_CHANNEL_H

#include "error.h"
#include "qemu.h"
#include "vmm_config.h"

#define VMM_VSOCK_TASK_PORT  1024 /* the guest's Task API (guest/channel.h) */
#define VMM_VSOCK_STDIO_PORT 1025 /* the guest's stdio mux: the task port + 1 */
#define VMM_HVSOCK_SOCKET    "vsock.sock"            /* <dir>/: hybrid vsock, host clients dial it */
#define VMM_VHOST_USER_SOCKET "vhost.sock" /* <dir>/: QEMU <-> vhost-device-vsock (short: sun_path) */
#define VMM_VHOST_VSOCK_DEV  "/dev/vhost-vsock"

/* What channel "auto" (and an explicit choice) depends on. */
struct vmm_channel_host
{
  int vhost_vsock_ok; /* /dev/vhost-vsock opens read-write */
  int hvsock_ok;      /* [vmm] vhost_device_vsock is executable */
};

/* 1 when dev opens O_RDWR (the kernel's vhost_vsock is there and ours to use). */
int vmm_vhost_vsock_usable (const char *dev);
/* Fills host for cfg (the vhost_device_vsock binary, searched on PATH when it has no '/'). */
void vmm_channel_host_probe (const struct vmm_config *cfg, const char *vhost_dev, struct vmm_channel_host *host);
/* Sets plan->channel from cfg->channel: auto = vsock when the host has vhost-vsock, else
   virtio-serial (logged). vsock/hvsock this host lacks: FAILED_PRECONDITION naming the fix. */
int vmm_channel_resolve (const struct vmm_config *cfg, const struct vmm_channel_host *host, struct vmm_plan *plan,
                         kc_error_t *err);
/* The task address of a VM in dir (malloc'ed): ttrpc+unix://<dir>/agent.sock,
   ttrpc+vsock://<guest_cid>:1024 or ttrpc+hvsock://<dir>/vsock.sock:1024. */
char *vmm_channel_task_address (const struct vmm_plan *plan, const char *dir);
/* A guest CID (>= 3) free on this host for kernel vsock, tried from a hash of seed on: each
   candidate is reserved and released again through VHOST_VSOCK_SET_GUEST_CID on dev, so one
   taken by another VM (ours or not) is skipped. QEMU claims it moments later; a VM that won
   the race in between makes that boot fail (QEMU exits, the start fails and may be retried). */
int vmm_guest_cid_pick (const char *dev, const char *seed, unsigned *cid, kc_error_t *err);
/* What a VM's channel needs before QEMU starts: vsock a guest CID (vm->guest_cid, from the
   sandbox id), hvsock its vhost-device-vsock (hvsock.h: *handoff_fd for QEMU's pid). */
int vmm_channel_prepare (struct vmm_plan *vm, const char *id, const char *dir, int *handoff_fd, kc_error_t *err);

#endif
