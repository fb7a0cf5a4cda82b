/* The part of an OCI runtime spec (config.json) the wasm tasker uses: the process, volume bind
   mounts (extra WASI preopens) and the memory/cpu resources. */
#ifndef KC_TASKER_SPEC_H
#define KC_TASKER_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct kc_oci_process
{
  char **args; /* NULL-terminated */
  size_t nargs;
  char **env; /* NULL-terminated, "K=V" */
  size_t nenv;
  char *cwd; /* never NULL: "/" when absent */
};

struct kc_oci_mount
{
  char *destination;
  char *source;
  char *type;
};

struct kc_oci_resources
{
  int has_memory_limit;
  int64_t memory_limit; /* bytes; -1 = unlimited */
  int has_cpu_quota;
  int64_t cpu_quota; /* us; -1 = unlimited */
  int has_cpu_period;
  uint64_t cpu_period; /* us */
  int has_cpu_shares;
  uint64_t cpu_shares;
};

struct kc_oci_spec
{
  struct kc_oci_process process;
  struct kc_oci_mount *mounts; /* only bind mounts of volumes */
  size_t nmounts;
  struct kc_oci_resources resources;
};

/* Parse config.json text; a bad document fails with INVALID_ARGUMENT naming what is wrong. */
int kc_oci_spec_parse (const char *json, size_t len, struct kc_oci_spec *spec, kc_error_t *err);
int kc_oci_spec_load (const char *path, struct kc_oci_spec *spec, kc_error_t *err);
void kc_oci_spec_free (struct kc_oci_spec *spec);

/* An OCI Process object alone (Exec's spec Any). */
int kc_oci_process_parse (const char *json, size_t len, struct kc_oci_process *proc, kc_error_t *err);
void kc_oci_process_free (struct kc_oci_process *proc);

/* An OCI LinuxResources object alone (Update's resources Any). */
int kc_oci_resources_parse (const char *json, size_t len, struct kc_oci_resources *res, kc_error_t *err);

#endif
