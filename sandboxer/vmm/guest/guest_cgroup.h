/* Per-container cgroups of the guest: /sys/fs/cgroup/<controller>/kuasar/<cid> in the v1
   hierarchies vmm-task mounts at boot; limits from linux.resources, membership, freezer. */
#ifndef KC_VMM_GUEST_CGROUP_H
#define KC_VMM_GUEST_CGROUP_H

#include <sys/types.h>

#include "error.h"
#include "spec.h"

#define KC_GCG_ROOT   "/sys/fs/cgroup"
#define KC_GCG_PARENT "kuasar"

/* "kuasar/<cid>" (what lib/cgroup_stats reads under KC_GCG_ROOT); malloc'ed. */
char *kc_gcg_rel (const char *cid);
/* Creates the cgroup in every mounted controller and applies res. 0 when no controller is
   mounted at all (*created = 0): the container then runs without one. */
int kc_gcg_create (const char *cid, const struct kc_vmm_resources *res, int *created, kc_error_t *err);
/* Moves pid into the container's cgroup (every controller). */
int kc_gcg_add (const char *cid, pid_t pid, kc_error_t *err);
/* The pids of cgroup.procs (guest view), malloc'ed; -1 when unreadable. */
int kc_gcg_pids (const char *cid, pid_t **pids, size_t *n);
/* freezer.state FROZEN / THAWED, waiting until it settles. */
int kc_gcg_freeze (const char *cid, int frozen, kc_error_t *err);
/* rmdir in every controller (retried briefly while the last tasks leave). */
void kc_gcg_remove (const char *cid);

#endif
