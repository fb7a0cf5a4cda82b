/* channel "hvsock": the per-VM vhost-user-vsock backend (vhost-device-vsock), run under a
   detached keeper (this binary re-executed with --hvsock-keeper) so that it never outlives its
   QEMU: the daemon re-listens for a new frontend when QEMU goes (even SIGKILLed) and would live
   on. The keeper starts it (its log: <dir>/vhost-device-vsock.log), learns QEMU's pid from the
   sandboxer, and when QEMU exits kills the daemon, removes its sockets and exits; the daemon
   dies with the keeper (PR_SET_PDEATHSIG). A sandboxer killed at any point leaves no daemon
   behind a dead QEMU. */
#ifndef KC_VMM_HVSOCK_H
#define KC_VMM_HVSOCK_H

#include <sys/types.h>

#include "error.h"
#include "pod_cgroup.h"

#define VMM_HVSOCK_FLAG "--hvsock-keeper"

/* Starts the keeper and daemon for sandbox_dir and waits (up to timeout_ms) for the daemon's
   vhost-user socket, which QEMU connects to at startup. *handoff_fd: give it to
   vmm_hvsock_handoff once QEMU runs, or close it (the keeper then stops the daemon). The keeper
   joins cgroup (may be NULL: the pod cgroup) before exec; the daemon, its child, inherits it. */
int vmm_hvsock_start (const char *sandbox_dir, const char *binary, int timeout_ms,
                      const struct kc_pod_cgroup_join *cgroup, int *handoff_fd, kc_error_t *err);
/* Tells the keeper QEMU's pid and start time; closes handoff_fd. */
int vmm_hvsock_handoff (int handoff_fd, pid_t qemu, unsigned long long start_time, kc_error_t *err);
/* main() of `vmm-sandboxer --hvsock-keeper <sandbox-dir> <binary>`: the handoff pipe on fd 3. */
int vmm_hvsock_main (int argc, char **argv);

#endif
