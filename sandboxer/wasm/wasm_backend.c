/* Wasm backend hooks: spawn kuasar-wasm-tasker per the "sandboxer -> wasm tasker" contract,
   stop it with signals, reclaim what a killed one left. */
#include "wasm_backend.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "proc.h"
#include "reclaim.h"
#include "sandboxer.h"

#define MAX_ARGS           20
#define WASM_CGROUP_PARENT "kuasar-wasm" /* the tasker's default --cgroup-parent */

static int
wasm_init (const struct kc_config *cfg, kc_error_t *err)
{
  (void) err;
  if (cfg->precompile)
    kc_log_info ("[wasm] precompile = true: modules are AOT-compiled, cache in %s",
                 cfg->cache_dir ? cfg->cache_dir : "<dir>/cache");
  return 0;
}

static int
push (char **argv, int *n, const char *flag, const char *value)
{
  if (*n + 3 > MAX_ARGS)
    return -1;
  if (flag && (argv[(*n)++] = strdup (flag)) == NULL)
    return -1;
  if (value && (argv[(*n)++] = strdup (value)) == NULL)
    return -1;
  return 0;
}

void
kc_wasm_tasker_argv_free (char **argv)
{
  for (int i = 0; argv && argv[i]; i++)
    free (argv[i]);
  free (argv);
}

/* [wasm] precompile = true: --precompile --cache-dir (cache_dir, default "<dir>/cache" where <dir>
   is the sandboxer's, the parent of sandbox_dir). */
static int
push_precompile (char **argv, int *n, const struct kc_config *cfg, const char *sandbox_dir)
{
  cleanup_free char *dflt = NULL;
  const char *slash;

  if (cfg == NULL || !cfg->precompile)
    return 0;
  if (cfg->cache_dir == NULL)
    {
      slash = strrchr (sandbox_dir, '/');
      if (asprintf (&dflt, "%.*s/cache", slash ? (int) (slash - sandbox_dir) : 1, slash ? sandbox_dir : ".") < 0)
        return -1;
    }
  if (push (argv, n, "--precompile", NULL) < 0)
    return -1;
  return push (argv, n, "--cache-dir", cfg->cache_dir ? cfg->cache_dir : dflt);
}

char **
kc_wasm_tasker_argv (const struct kc_backend_ctx *ctx, const struct kc_sandbox_record *rec, const char *sandbox_dir)
{
  char **argv = calloc (MAX_ARGS + 1, sizeof (char *));
  cleanup_free char *socket = NULL;
  int n = 0;
  if (argv == NULL || asprintf (&socket, "%s/task.sock", sandbox_dir) < 0)
    {
      free (argv);
      return NULL;
    }
  int bad = push (argv, &n, ctx->tasker_path, NULL) < 0 || push (argv, &n, "--id", rec->id) < 0
            || push (argv, &n, "--dir", sandbox_dir) < 0 || push (argv, &n, "--socket", socket) < 0
            || (rec->netns_path && push (argv, &n, "--netns", rec->netns_path) < 0)
            || (rec->cgroup_parent && push (argv, &n, "--cgroup-parent", rec->cgroup_parent) < 0)
            || push (argv, &n, "--log-level", ctx->log_level) < 0 || push (argv, &n, "--ready-fd", KC_READY_FD_STR) < 0
            || push_precompile (argv, &n, ctx->config, sandbox_dir) < 0;
  if (bad)
    {
      kc_wasm_tasker_argv_free (argv);
      return NULL;
    }
  return argv;
}

static int
wasm_start (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, const char *sandbox_dir,
            struct kc_spawned *out, kc_error_t *err)
{
  cleanup_free char *log_path = NULL, *address = NULL, *socket = NULL;
  if (asprintf (&log_path, "%s/tasker.log", sandbox_dir) < 0 || asprintf (&socket, "%s/task.sock", sandbox_dir) < 0
      || asprintf (&address, "ttrpc+unix://%s", socket) < 0)
    return kc_error (err, ENOMEM, "asprintf");
  char **argv = kc_wasm_tasker_argv (ctx, rec, sandbox_dir);
  if (argv == NULL)
    return kc_error (err, ENOMEM, "tasker argv");
  unlink (socket); /* a stale socket from an earlier run would look ready */
  int ret = kc_proc_spawn (argv, log_path, out, err);
  kc_wasm_tasker_argv_free (argv);
  if (ret < 0)
    return -1;
  free (rec->address);
  rec->address = steal_pointer (&address);
  kc_log_debug ("sandbox %s: tasker pid %d spawned", rec->id, (int) out->pid);
  return 0;
}

/* SIGTERM lets the tasker stop its containers. force also kills its process group (its own
   session), but only while the tasker itself still exists: then its pid, hence the group id,
   cannot have been reused. */
static int
wasm_stop (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, int pidfd, int force, kc_error_t *err)
{
  if (pidfd_send_signal (pidfd, force ? SIGKILL : SIGTERM, NULL, 0) < 0)
    {
      if (errno == ESRCH)
        return 0;
      return kc_error (err, errno, "signal tasker %d", (int) rec->pid);
    }
  if (force && rec->pid > 0)
    kill (-rec->pid, SIGKILL);
  return 0;
}

/* The tasker is gone: its container records name what a SIGKILL kept it from undoing. */
static void
wasm_reclaim (const struct kc_backend_ctx *ctx, const struct kc_sandbox_record *rec, const char *sandbox_dir)
{
  cleanup_free char *pod = kc_pod_cgroup_rel (WASM_CGROUP_PARENT, rec);
  int n = kc_wasm_reclaim (sandbox_dir, KC_CGROUP_ROOT, pod);

  if (n > 0)
    kc_log_warn ("sandbox %s: reclaimed what the tasker left of %d container(s)", rec->id, n);
}

const struct kc_backend kc_wasm_backend = {
  .name = "wasm",
  .default_listen = "/run/wasm-sandboxer.sock",
  .default_dir = "/run/kuasar-wasm",
  .default_config = "/etc/kuasar/wasm-sandboxer.toml",
  .tasker_name = "kuasar-wasm-tasker",
  .cgroup_parent = WASM_CGROUP_PARENT,
  .init = wasm_init,
  .start = wasm_start,
  .stop = wasm_stop,
  .reclaim = wasm_reclaim,
};
