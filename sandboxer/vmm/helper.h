/* Detached helpers of the vmm backend: this binary re-executed (boot probe, stop helper) so that
   nothing slow ever blocks the sandboxer's event loop, and a helper outlives a sandboxer crash. */
#ifndef KC_VMM_HELPER_H
#define KC_VMM_HELPER_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "pod_cgroup.h"

#define VMM_STOP_FLAG "--stop-helper"

/* Runs argv (argv[0] a path) in a new session, double-forked (no zombie for the loop to reap),
   stdin /dev/null, stdout+stderr appended to log_path, ready_w (unless -1) on KC_READY_FD. */
int vmm_helper_spawn (char *const argv[], const char *log_path, int ready_w, kc_error_t *err);
/* The same, with the helper's pid in *helper_pid (not our child: poll it through a pidfd). */
int vmm_helper_spawn_pid (char *const argv[], const char *log_path, int ready_w, pid_t *helper_pid, kc_error_t *err);
/* The same, the helper joining the pod cgroup first (join may be NULL): a per-pod daemon. */
int vmm_helper_spawn_in_cgroup (char *const argv[], const char *log_path, int ready_w,
                                const struct kc_pod_cgroup_join *join, pid_t *helper_pid, kc_error_t *err);
/* This executable's path (readlink /proc/self/exe) in buf. */
int vmm_helper_self (char *buf, size_t max, kc_error_t *err);

/* Starts `--stop-helper <dir> <task-address> <pid> <start-time> <grace-secs>` for the QEMU of
   sandbox_dir. */
int vmm_stop_spawn (const char *sandbox_dir, const char *task_address, int pid, unsigned long long start_time,
                    unsigned grace_secs, kc_error_t *err);
/* main() of the stop helper: clean guest power-off when possible, else QMP quit, else SIGTERM. */
int vmm_stop_main (int argc, char **argv);

#endif
