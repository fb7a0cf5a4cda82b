/* The virtiofsd of a sandbox whose share is virtiofs: serves <dir>/shared on
   <dir>/fs.sock to that sandbox's QEMU (vhost-user-fs), one per VM. */
#ifndef KC_VMM_VIRTIOFSD_H
#define KC_VMM_VIRTIOFSD_H

#include "error.h"
#include "pod_cgroup.h"

#define VMM_VIRTIOFSD_LOG "virtiofsd.log"
#define VMM_VIRTIOFSD_PID "virtiofsd.pid"

/* Its command line (NULL-terminated, malloc'ed: vmm_qemu_argv_free), NULL when out of memory. */
char **vmm_virtiofsd_argv (const char *binary, const char *sandbox_dir);
/* Listens on <dir>/fs.sock and starts virtiofsd on it, detached (own session, not our
   child: it outlives a sandboxer crash and exits by itself when QEMU disconnects), output
   appended to <dir>/virtiofsd.log, pid and start time in <dir>/virtiofsd.pid; returns once it
   waits for QEMU. An exit, or no readiness within timeout_ms, is an error quoting its log.
   cgroup (may be NULL): the pod cgroup it joins before exec. */
int vmm_virtiofsd_start (const char *binary, const char *sandbox_dir, int timeout_ms,
                         const struct kc_pod_cgroup_join *cgroup, kc_error_t *err);
/* Kills the virtiofsd of <dir>/virtiofsd.pid if it still runs (QEMU is gone or never came) and
   waits briefly for it to exit. Returns 1 when one was killed, else 0. */
int vmm_virtiofsd_kill (const char *sandbox_dir);

#endif
