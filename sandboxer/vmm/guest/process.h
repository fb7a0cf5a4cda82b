/* Forking a container process (init with new mount/pid/uts/ipc namespaces, or an exec joining an
   existing container's), set up fully before Create/Exec answers and blocked on a start pipe
   until Start (kc_task_start_release of task_server.h lets it go). */
#ifndef KC_VMM_PROCESS_H
#define KC_VMM_PROCESS_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

struct kc_vspawn
{
  const struct kc_vmm_process *process;
  int stdio[3]; /* the child's ends */
  /* init: */
  const struct kc_vmm_spec *spec;
  const char *rootfs, *bundle;
  /* exec: the container's init pid (> 0) whose namespaces and root to join */
  pid_t join_pid;
};

/* Forks the child; returns once it is ready to exec (or failed with its reason). *start_fd is
   the write end of its start pipe (O_CLOEXEC). */
int kc_vspawn_run (const struct kc_vspawn *sp, pid_t *pid, int *start_fd, kc_error_t *err);
/* Finds the executable args0 for env's PATH (runc's lookup), in the current root. */
char *kc_vmm_find_exec (const char *args0, char *const *env);

#endif
