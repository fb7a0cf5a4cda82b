/* What a sandboxer backend (wasm today, QEMU later) plugs into the common daemon: defaults for
   its flags and the hooks that make and start its tasker. */
#ifndef KC_BACKEND_H
#define KC_BACKEND_H

#include "config.h"
#include "error.h"
#include "proc.h"
#include "store.h"

struct kc_backend_ctx
{
  const char *tasker_path;
  const char *log_level; /* name passed on to taskers, e.g. "info" */
  const struct kc_config *config;
  const char *root_dir; /* --dir: a sandbox's dir is <root_dir>/<id> */
};

struct kc_backend
{
  const char *name;           /* also the config table name: "wasm" */
  const char *default_listen; /* "/run/wasm-sandboxer.sock" */
  const char *default_dir;    /* "/run/kuasar-wasm" */
  const char *default_config; /* "/etc/kuasar/wasm-sandboxer.toml" */
  const char *tasker_name;    /* "kuasar-wasm-tasker" */
  /* Keys of the config table `name` that the backend parses itself (NULL-terminated, optional). */
  const char *const *config_keys;
  /* Parent of the pod cgroups its taskers (wasm) or the backend itself (vmm: pod_cgroup.h) make,
     "<parent>/<sandbox-id>" under every hierarchy, when the CRI gave none ("kuasar-wasm"). NULL:
     no pod cgroup, Metrics is UNIMPLEMENTED. */
  const char *cgroup_parent;
  /* Logs in the sandbox dir worth reading when a Start fails (NULL-terminated, optional: NULL
     means { "tasker.log" }): the first is named in the error, the last lines of each are copied
     into the sandboxer's log before the dir goes away. */
  const char *const *start_logs;
  /* How long Start waits for `ready\n` on the tasker's ready fd; read once per Start, after
     init (optional: NULL means KC_READY_TIMEOUT_SECS). A slow booter (a VM) sizes it from its
     own config. */
  unsigned (*ready_timeout_secs) (void);
  /* Once at startup, after the config is read (optional). */
  int (*init) (const struct kc_config *cfg, kc_error_t *err);
  /* After <dir>/<id>/ exists, before the first save (optional). */
  int (*create) (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, const char *sandbox_dir,
                 kc_error_t *err);
  /* Spawns the tasker (kc_proc_spawn) and sets rec->address. Readiness is awaited by the core. */
  int (*start) (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, const char *sandbox_dir,
                struct kc_spawned *out, kc_error_t *err);
  /* Asks the tasker to stop (force: kill it now). Its exit is observed by the core. */
  int (*stop) (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, int pidfd, int force, kc_error_t *err);
  /* After the tasker is gone: its exit observed, found dead at recovery, and before a removal.
     Undoes what a killed tasker left (processes, mounts, cgroups); idempotent (optional). */
  void (*reclaim) (const struct kc_backend_ctx *ctx, const struct kc_sandbox_record *rec, const char *sandbox_dir);
  /* After the tasker is gone, before <dir>/<id> is removed (optional). */
  int (*cleanup) (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, const char *sandbox_dir,
                  kc_error_t *err);
};

#endif
