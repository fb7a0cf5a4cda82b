/* The part of an OCI runtime spec (config.json) vmm-task runs: process (args, env, cwd, user,
   terminal), hostname, root path, mounts and linux.resources (memory limit, cpu); plus mount
   option strings → mount(2) flags. */
#ifndef KC_VMM_SPEC_H
#define KC_VMM_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct kc_vmm_process
{
  char **args; /* NULL-terminated, never empty */
  char **env;  /* NULL-terminated */
  char *cwd;   /* "/" when absent */
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  int terminal;
};

struct kc_vmm_mount
{
  char *destination, *type, *source; /* type/source "" when absent */
  char **options;                    /* NULL-terminated */
};

/* linux.resources: what the guest cgroup applies. */
struct kc_vmm_resources
{
  int has_memory_limit, has_cpu_quota;
  int64_t memory_limit; /* bytes, -1 unlimited */
  int64_t cpu_quota;    /* us per period, -1 unlimited */
  uint64_t cpu_period;  /* us, 0 when absent */
  uint64_t cpu_shares;  /* 0 when absent */
};

struct kc_vmm_spec
{
  struct kc_vmm_process process;
  char *hostname;  /* NULL when absent */
  char *root_path; /* root.path, NULL when absent */
  int root_readonly;
  struct kc_vmm_mount *mounts;
  size_t nmounts;
  struct kc_vmm_resources resources;
};

int kc_vmm_spec_parse (const char *json, size_t len, struct kc_vmm_spec *spec, kc_error_t *err);
int kc_vmm_spec_load (const char *path, struct kc_vmm_spec *spec, kc_error_t *err);
void kc_vmm_spec_free (struct kc_vmm_spec *spec);
/* An OCI Process object alone (Exec's spec Any). */
int kc_vmm_process_parse (const char *json, size_t len, struct kc_vmm_process *proc, kc_error_t *err);
void kc_vmm_process_free (struct kc_vmm_process *proc);

/* mount(2) flags and data string (malloc'ed, "" when none) of an OCI options list;
 *propagation gets MS_PRIVATE/MS_SLAVE/MS_SHARED(|MS_REC) or 0. */
int kc_vmm_mount_options (char *const *options, unsigned long *flags, unsigned long *propagation, char **data,
                          kc_error_t *err);

#endif
