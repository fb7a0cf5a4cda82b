/* Containers and their processes: Create (mount, spec, module check, cgroup, fork), Exec, Start,
   Kill, exit bookkeeping (with OOM detection) and teardown. */
#include "container.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd_task_types.pb-c.h"
#include "log.h"
#include "module.h"
#include "preopen.h"
#include "process.h"
#include "record.h"
#include "task_server.h"

static void
proc_clear (struct kc_proc *p)
{
  if (p->start_fd >= 0)
    close (p->start_fd);
  free (p->exec_id);
  free (p->stdin_path);
  free (p->stdout_path);
  free (p->stderr_path);
  kc_oci_process_free (&p->process);
}

static int
proc_set_stdio (struct kc_proc *p, const char *in, const char *out, const char *errp)
{
  p->stdin_path = strdup (in ? in : "");
  p->stdout_path = strdup (out ? out : "");
  p->stderr_path = strdup (errp ? errp : "");
  return p->stdin_path && p->stdout_path && p->stderr_path ? 0 : -1;
}

/* Forks p's child for process spec p->process, in c's rootfs and cgroup. */
static int
proc_spawn (struct kc_container *c, struct kc_proc *p, const struct kc_wasm_engine *engine, kc_error_t *err)
{
  cleanup_close int module_fd = -1;
  cleanup_free char *module = NULL;
  struct kc_module_ref ref;
  char **preopens = NULL;
  size_t npre = 0;
  struct kc_spawn sp;
  int ret;

  ref = (struct kc_module_ref){ .arg0 = p->process.args[0],
                                .cwd = p->process.cwd,
                                .env = (const char *const *) p->process.env,
                                .nenv = p->process.nenv };
  module_fd = kc_wasm_module_open (c->rootfs, &ref, &module, err);
  if (module_fd < 0)
    return -1;
  kc_log_debug ("container %s: module %s", c->id, module);
  if (kc_preopens_build (c->rootfs, c->spec.mounts, c->spec.nmounts, &preopens, &npre, err) < 0)
    return -1;
  sp = (struct kc_spawn){ .engine = engine,
                          .module_fd = module_fd,
                          .aot_cache_dir = c->aot_cache_dir,
                          .args = (const char *const *) p->process.args,
                          .nargs = p->process.nargs,
                          .env = (const char *const *) p->process.env,
                          .nenv = p->process.nenv,
                          .preopens = (const char *const *) preopens,
                          .npreopens = npre,
                          .stdin_path = p->stdin_path,
                          .stdout_path = p->stdout_path,
                          .stderr_path = p->stderr_path,
                          .cgroup = c->has_cgroup ? &c->cgroup : NULL };
  ret = kc_process_spawn (&sp, &p->pid, &p->start_fd, err);
  kc_preopens_free (preopens);
  if (ret < 0)
    return -1;
  p->status = CONTAINERD__V1__TYPES__STATUS__CREATED;
  return 0;
}

/* The cgroup's names only: nothing exists on the host yet. */
static int
init_cgroup (struct kc_container *c, const struct kc_container_config *cfg, kc_error_t *err)
{
  cleanup_free char *rel = NULL;

  if (cfg->cgroup_root == NULL)
    return 0;
  if (asprintf (&rel, "%s/%s", cfg->cgroup_base, c->id) < 0)
    return kc_error (err, ENOMEM, "cgroup");
  if (kc_cgroup_init (&c->cgroup, cfg->cgroup_root, rel, err) < 0)
    return -1;
  c->has_cgroup = 1;
  return 0;
}

static int
setup_cgroup (struct kc_container *c, kc_error_t *err)
{
  if (!c->has_cgroup)
    return 0;
  if (kc_cgroup_create (&c->cgroup, err) < 0 || kc_cgroup_apply (&c->cgroup, &c->spec.resources, err) < 0)
    return kc_error_wrap (err, "cgroup `%s`", c->cgroup.rel);
  c->oom_kills_seen = kc_cgroup_oom_kills (&c->cgroup);
  return 0;
}

/* Before the first mount or cgroup: a tasker killed from here on leaves a record of them. */
static int
write_record (struct kc_container *c, const struct kc_container_config *cfg, kc_error_t *err)
{
  char **dirs = NULL;
  int ret;

  if (cfg->record_dir == NULL)
    return 0;
  if (c->has_cgroup && (dirs = kc_cgroup_dirs (&c->cgroup)) == NULL)
    return kc_error (err, ENOMEM, "container record");
  ret = kc_record_write (cfg->record_dir, c->id, c->rootfs, cfg->nmounts, dirs, &c->record_path, err);
  kc_strv_free (dirs);
  return ret;
}

static int
container_setup (struct kc_container *c, const struct kc_container_config *cfg, kc_error_t *err)
{
  cleanup_free char *config = NULL;

  if (asprintf (&config, "%s/config.json", cfg->bundle) < 0 || asprintf (&c->rootfs, "%s/rootfs", cfg->bundle) < 0)
    return kc_error (err, ENOMEM, "create");
  if (kc_oci_spec_load (config, &c->spec, err) < 0)
    return -1;
  if (init_cgroup (c, cfg, err) < 0 || write_record (c, cfg, err) < 0)
    return -1;
  if (cfg->nmounts > 0 && kc_rootfs_mount (cfg->mounts, cfg->nmounts, c->rootfs, err) < 0)
    return -1;
  c->rootfs_mounts = cfg->nmounts;
  /* The init's process spec is the container's; proc_spawn reads it through init.process. */
  c->init.process = c->spec.process;
  memset (&c->spec.process, 0, sizeof (c->spec.process));
  if (setup_cgroup (c, err) < 0)
    return -1;
  return proc_spawn (c, &c->init, cfg->engine, err);
}

int
kc_container_create (const struct kc_container_config *cfg, struct kc_container **out, kc_error_t *err)
{
  struct kc_container *c;

  if (kc_task_id_check ("container id", cfg->id, err) < 0)
    return -1;
  if (cfg->terminal)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "terminal is not supported by the wasm tasker");
  if (cfg->bundle == NULL || cfg->bundle[0] != '/')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "bundle `%s` is not an absolute path",
                          cfg->bundle ? cfg->bundle : "");
  c = calloc (1, sizeof (*c));
  if (c == NULL)
    return kc_error (err, ENOMEM, "create");
  c->init.start_fd = -1;
  c->id = strdup (cfg->id);
  c->bundle = strdup (cfg->bundle);
  c->aot_cache_dir = cfg->aot_cache_dir;
  if (c->id == NULL || c->bundle == NULL
      || proc_set_stdio (&c->init, cfg->stdin_path, cfg->stdout_path, cfg->stderr_path) < 0)
    {
      kc_container_free (c);
      return kc_error (err, ENOMEM, "create");
    }
  if (container_setup (c, cfg, err) < 0)
    {
      kc_container_free (c);
      return kc_error_wrap (err, "create container `%s`", cfg->id);
    }
  *out = c;
  return 0;
}

int
kc_container_exec (struct kc_container *c, const struct kc_wasm_engine *engine, const char *exec_id,
                   const char *spec_json, size_t spec_len, const char *stdin_path, const char *stdout_path,
                   const char *stderr_path, int terminal, kc_error_t *err)
{
  struct kc_proc *p;

  if (kc_task_id_check ("exec id", exec_id, err) < 0)
    return -1;
  if (terminal)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "terminal is not supported by the wasm tasker");
  if (kc_container_proc (c, exec_id) != NULL)
    return kc_error_code (err, KC_ALREADY_EXISTS, "exec `%s` already exists in `%s`", exec_id, c->id);
  if (c->init.status != CONTAINERD__V1__TYPES__STATUS__RUNNING)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "container `%s` is not running", c->id);
  p = calloc (1, sizeof (*p));
  if (p == NULL)
    return kc_error (err, ENOMEM, "exec");
  p->start_fd = -1;
  if ((p->exec_id = strdup (exec_id)) == NULL || proc_set_stdio (p, stdin_path, stdout_path, stderr_path) < 0)
    {
      proc_clear (p);
      free (p);
      return kc_error (err, ENOMEM, "exec");
    }
  if (kc_oci_process_parse (spec_json, spec_len, &p->process, err) < 0 || proc_spawn (c, p, engine, err) < 0)
    {
      proc_clear (p);
      free (p);
      return kc_error_wrap (err, "exec `%s` in `%s`", exec_id, c->id);
    }
  p->next = c->execs;
  c->execs = p;
  return 0;
}

struct kc_proc *
kc_container_proc (struct kc_container *c, const char *exec_id)
{
  if (exec_id == NULL || *exec_id == '\0')
    return &c->init;
  for (struct kc_proc *p = c->execs; p != NULL; p = p->next)
    if (strcmp (p->exec_id, exec_id) == 0)
      return p;
  return NULL;
}

int
kc_proc_start (struct kc_proc *p, kc_error_t *err)
{
  if (p->status != CONTAINERD__V1__TYPES__STATUS__CREATED)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "process %d is not in the created state", (int) p->pid);
  if (kc_task_start_release (&p->start_fd, err) < 0)
    return -1;
  p->status = CONTAINERD__V1__TYPES__STATUS__RUNNING;
  return 0;
}

int
kc_proc_kill (struct kc_proc *p, int sig, kc_error_t *err)
{
  if (p->status == CONTAINERD__V1__TYPES__STATUS__STOPPED || p->pid <= 0)
    return kc_error_code (err, KC_NOT_FOUND, "process already finished");
  if (kill (p->pid, sig) < 0)
    return kc_error (err, errno, "kill %d with signal %d", (int) p->pid, sig);
  return 0;
}

void
kc_proc_exited (struct kc_container *c, struct kc_proc *p, int wstatus)
{
  p->status = CONTAINERD__V1__TYPES__STATUS__STOPPED;
  p->exit_status = kc_task_exit_status (wstatus);
  clock_gettime (CLOCK_REALTIME, &p->exited_at);
  if (p->start_fd >= 0)
    {
      close (p->start_fd);
      p->start_fd = -1;
    }
  if (c->has_cgroup && p->exit_status == 128 + SIGKILL)
    {
      uint64_t kills = kc_cgroup_oom_kills (&c->cgroup);
      if (kills > c->oom_kills_seen)
        {
          p->oom_killed = 1;
          c->oom_kills_seen = kills;
          kc_log_warn ("container %s: process %d OOM killed (memory cgroup limit, oom_kill %" PRIu64 ")", c->id,
                       (int) p->pid, kills);
        }
    }
  kc_log_info ("container %s%s%s: process %d exited with status %u", c->id, p->exec_id ? " exec " : "",
               p->exec_id ? p->exec_id : "", (int) p->pid, p->exit_status);
}

int
kc_proc_kill_created (struct kc_container *c, struct kc_proc *p)
{
  int wstatus = SIGKILL;

  if (p->status != CONTAINERD__V1__TYPES__STATUS__CREATED)
    return 0;
  kill (p->pid, SIGKILL);
  /* Blocked in read(2) on its start pipe, it dies at once and is reaped here (so its cgroup can
     go right after). Not in a paused container: a v1-frozen process does not die until thawed,
     and waiting would hang the tasker; the SIGCHLD handler reaps it later. */
  if (!c->paused)
    while (waitpid (p->pid, &wstatus, 0) < 0)
      if (errno != EINTR)
        {
          wstatus = SIGKILL; /* already reaped elsewhere: report the kill */
          break;
        }
  kc_proc_exited (c, p, wstatus);
  return 1;
}

int
kc_container_exec_remove (struct kc_container *c, struct kc_proc *p, kc_error_t *err)
{
  if (p->status == CONTAINERD__V1__TYPES__STATUS__RUNNING)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "exec `%s` is still running", p->exec_id);
  if (p->status == CONTAINERD__V1__TYPES__STATUS__CREATED)
    {
      /* Never started: its child still waits on the start pipe. */
      kill (p->pid, SIGKILL);
    }
  for (struct kc_proc **pp = &c->execs; *pp != NULL; pp = &(*pp)->next)
    if (*pp == p)
      {
        *pp = p->next;
        break;
      }
  proc_clear (p);
  free (p);
  return 0;
}

int
kc_container_alive (const struct kc_container *c)
{
  if (c->init.status == CONTAINERD__V1__TYPES__STATUS__CREATED
      || c->init.status == CONTAINERD__V1__TYPES__STATUS__RUNNING)
    return 1;
  for (const struct kc_proc *p = c->execs; p != NULL; p = p->next)
    if (p->status == CONTAINERD__V1__TYPES__STATUS__RUNNING)
      return 1;
  return 0;
}

void
kc_container_free (struct kc_container *c)
{
  if (c == NULL)
    return;
  while (c->execs != NULL)
    {
      struct kc_proc *p = c->execs;
      c->execs = p->next;
      proc_clear (p);
      free (p);
    }
  proc_clear (&c->init);
  if (c->rootfs != NULL && c->rootfs_mounts > 0)
    kc_rootfs_unmount (c->rootfs, c->rootfs_mounts);
  if (c->has_cgroup)
    {
      kc_cgroup_destroy (&c->cgroup);
      kc_cgroup_release (&c->cgroup);
    }
  kc_record_remove (c->record_path);
  free (c->record_path);
  kc_oci_spec_free (&c->spec);
  free (c->id);
  free (c->bundle);
  free (c->rootfs);
  free (c);
}
