/* Per-container cgroups: v1 (memory, cpu, pids, freezer under /sys/fs/cgroup/<controller>) or the
   v2 unified hierarchy; limits, freezing, member pids, OOM kill counts, removal. */
#ifndef KC_TASKER_CGROUP_H
#define KC_TASKER_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

struct kc_cgroup
{
  char *root; /* "/sys/fs/cgroup" (tests may point elsewhere) */
  char *rel;  /* "<parent>/<sandbox>/<container>" */
  int v2;
};

/* "<root>/<controller>/<rel>" (v1) or "<root>/<rel>" (v2, or controller NULL); malloc'ed, NULL
   when out of memory. */
char *kc_cgroup_dir (const struct kc_cgroup *cg, const char *controller);
/* rel is "<parent or kuasar-wasm>/<sandbox-id>/<container-id>". */
int kc_cgroup_init (struct kc_cgroup *cg, const char *root, const char *rel, kc_error_t *err);
int kc_cgroup_create (const struct kc_cgroup *cg, kc_error_t *err);
int kc_cgroup_add_pid (const struct kc_cgroup *cg, pid_t pid, kc_error_t *err);
int kc_cgroup_apply (const struct kc_cgroup *cg, const struct kc_oci_resources *res, kc_error_t *err);
int kc_cgroup_freeze (const struct kc_cgroup *cg, int frozen, kc_error_t *err);
/* *pids is malloc'ed; *n may be 0. */
int kc_cgroup_pids (const struct kc_cgroup *cg, pid_t **pids, size_t *n, kc_error_t *err);
/* The memory controller's OOM kill count (0 when unknown). */
uint64_t kc_cgroup_oom_kills (const struct kc_cgroup *cg);
/* The directories kc_cgroup_create makes (v1: one per present controller), deepest first per
   controller; NULL-terminated, free with kc_strv_free. NULL when out of memory. */
char **kc_cgroup_dirs (const struct kc_cgroup *cg);
void kc_strv_free (char **v);
/* Removes the container's directories (best effort, logged). */
void kc_cgroup_destroy (const struct kc_cgroup *cg);
void kc_cgroup_release (struct kc_cgroup *cg);
/* Removes "<root>/<controller>/<dir>" for a directory that should be empty now (sandbox level). */
void kc_cgroup_remove_dir (const char *root, const char *dir);

/* memory.limit_in_bytes text of a limit: -1 → "-1" (v1) / "max" (v2). */
int kc_cgroup_format_limit (int64_t v, int v2, char *buf, size_t len);

#endif
