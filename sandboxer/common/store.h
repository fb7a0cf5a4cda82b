/* The durable record of a sandbox, <dir>/<id>/sandbox.json, written atomically on every change. */
#ifndef KC_SANDBOX_STORE_H
#define KC_SANDBOX_STORE_H

#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "error.h"

#define KC_STORE_FILE "sandbox.json"

enum kc_sandbox_state
{
  KC_SANDBOX_CREATED = 0,  /* created; a pid != 0 means a Start was in progress */
  KC_SANDBOX_READY = 1,    /* tasker running and ready */
  KC_SANDBOX_NOTREADY = 2, /* tasker exited (or never ran); exit_status and exited_at set */
};

struct kc_sandbox_record
{
  char *id;
  int state; /* enum kc_sandbox_state */
  char *netns_path;
  char *hostname;
  char *log_directory;
  char *cgroup_parent;
  char *address;         /* task API address once started */
  int64_t created_at_ns; /* unix time */
  int64_t exited_at_ns;  /* 0 while not exited */
  pid_t pid;
  unsigned long long pid_start_time; /* /proc/<pid>/stat field 22 */
  uint32_t exit_status;
  json_object *annotations; /* object of strings; never NULL once initialised */
  json_object *extensions;  /* name -> {"type_url": s, "value": hex}; never NULL once initialised */
  /* From the CRI PodSandboxConfig's linux.resources / linux.overhead at Create; 0 = unset
     (no limit, or no CRI config). A backend sizing a VM reads them. */
  int64_t memory_limit_bytes;          /* resources.memory_limit_in_bytes */
  int64_t overhead_memory_limit_bytes; /* overhead.memory_limit_in_bytes */
  int64_t cpu_quota;                   /* resources.cpu_quota, us per period */
  int64_t cpu_period;                  /* resources.cpu_period, us */
};

const char *kc_sandbox_state_name (int state);
/* Zeroes r and gives it empty annotations/extensions. */
void kc_sandbox_record_init (struct kc_sandbox_record *r);
void kc_sandbox_record_clear (struct kc_sandbox_record *r);

json_object *kc_sandbox_record_to_json (const struct kc_sandbox_record *r);
int kc_sandbox_record_from_json (struct kc_sandbox_record *r, json_object *j, kc_error_t *err);

/* Writes <sandbox_dir>/sandbox.json atomically (mode 0600). */
int kc_store_save (const char *sandbox_dir, const struct kc_sandbox_record *r, kc_error_t *err);
/* Reads <sandbox_dir>/sandbox.json into r (initialised by this call); a corrupted or
   inconsistent file is KC_DATA_LOSS. */
int kc_store_load (const char *sandbox_dir, struct kc_sandbox_record *r, kc_error_t *err);

#endif
