/* The boot probe: a detached helper (this binary re-executed with --boot-probe) that waits for
   the guest's Task API and reports readiness on the core's ready pipe. */
#ifndef KC_VMM_PROBE_H
#define KC_VMM_PROBE_H

#include <sys/types.h>

#include "error.h"

#define VMM_PROBE_FLAG "--boot-probe"

/* Starts the probe for the QEMU of sandbox_dir (double fork: no zombie for the loop to reap).
   *ready_fd gets the read end of its ready pipe (O_CLOEXEC|O_NONBLOCK). */
int vmm_probe_spawn (const char *sandbox_dir, const char *task_address, pid_t qemu, unsigned long long start_time, unsigned timeout_secs,
                     int *ready_fd, kc_error_t *err);
/* main() of `vmm-sandboxer --boot-probe <sandbox-dir> <task-address> <qemu-pid> <start-time>
   <timeout-secs>` (the address: any channel's, kc_stream_dial). */
int vmm_probe_main (int argc, char **argv);
/* 0 when a guest behind this task address must not be reset in place after a boot timeout
   (hvsock: vhost-device-vsock does not come back), so the probe kills QEMU at once. */
int vmm_probe_may_reset (const char *address);

#endif
