/* Containers and their processes in the guest (container.h): Create reads <bundle>/config.json
   from the 9p share and forks the init into new namespaces; Exec joins them. */
#include "container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd_task_types.pb-c.h"
#include "guest_cgroup.h"
#include "log.h"
#include "process.h"
#include "safe_path.h"
#include "task_server.h"

static void
proc_clear (struct kc_vproc *p)
{
  if (p->start_fd >= 0)
    close (p->start_fd);
  free (p->exec_id);
  free (p->key);
  free (p->stdin_path);
  free (p->stdout_path);
  free (p->stderr_path);
  kc_vmm_process_free (&p->exec_process);
}

static int
proc_init (struct kc_vproc *p, const char *cid, const char *exec_id, const char *in, const char *out, const char *errp)
{
  p->start_fd = -1;
  p->status = CONTAINERD__V1__TYPES__STATUS__CREATED;
  p->stdin_path = strdup (in ? in : "");
  p->stdout_path = strdup (out ? out : "");
  p->stderr_path = strdup (errp ? errp : "");
  if (exec_id != NULL)
    {
      p->exec_id = strdup (exec_id);
      if (asprintf (&p->key, "%s/%s", cid, exec_id) < 0)
        p->key = NULL;
    }
  else
    p->key = strdup (cid);
  return p->stdin_path && p->stdout_path && p->stderr_path && p->key && (exec_id == NULL || p->exec_id) ? 0 : -1;
}

/* One pipe per stream the host asked for (non-empty path); /dev/null otherwise. With a terminal
   (no pty in the guest yet) stderr joins stdout, as it would on a tty. */
static int
stdio_plumb (kc_stdio_relay *relay, struct kc_vproc *p, int terminal, int child[3], kc_error_t *err)
{
  const char *paths[3] = { p->stdin_path, p->stdout_path, terminal ? "" : p->stderr_path };
  int ours[3] = { -1, -1, -1 };

  child[0] = child[1] = child[2] = -1;
  for (int i = 0; i < 3; i++)
    {
      int fds[2];
      if (*paths[i] == '\0')
        {
          child[i] = open ("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
          continue;
        }
      if (pipe2 (fds, O_CLOEXEC) < 0)
        break;
      child[i] = i == 0 ? fds[0] : fds[1];
      ours[i] = i == 0 ? fds[1] : fds[0];
    }
  if (terminal && child[1] >= 0)
    child[2] = fcntl (child[1], F_DUPFD_CLOEXEC, 3);
  if (child[0] < 0 || child[1] < 0 || child[2] < 0)
    {
      for (int i = 0; i < 3; i++)
        close (child[i]), close (ours[i]);
      return kc_error (err, errno, "stdio pipes");
    }
  if (kc_stdio_relay_add (relay, p->key, ours[0], ours[1], ours[2], err) < 0)
    {
      for (int i = 0; i < 3; i++)
        close (child[i]);
      return -1;
    }
  return 0;
}

/* The child joins cgroup cg_id (when not NULL) while it waits for Start, before its exec. */
static int
proc_spawn (kc_stdio_relay *relay, struct kc_vproc *p, struct kc_vspawn *sp, int terminal, const char *cg_id,
            kc_error_t *err)
{
  int ret;

  if (stdio_plumb (relay, p, terminal, sp->stdio, err) < 0)
    return -1;
  ret = kc_vspawn_run (sp, &p->pid, &p->start_fd, err);
  for (int i = 0; i < 3; i++)
    close (sp->stdio[i]);
  if (ret == 0 && cg_id != NULL && kc_gcg_add (cg_id, p->pid, err) < 0)
    {
      close (p->start_fd); /* the child exits 137 unstarted; the SIGCHLD handler reaps it */
      p->start_fd = -1;
      ret = -1;
    }
  if (ret < 0)
    kc_stdio_relay_remove (relay, p->key);
  return ret;
}

/* root.path relative to the bundle, or an absolute path already in the guest; a host path
   (absolute, absent here) means <bundle>/rootfs. */
static ino_t
pidns_inode (pid_t pid)
{
  char path[64];
  struct stat st;

  snprintf (path, sizeof (path), "/proc/%d/ns/pid", (int) pid);
  return stat (path, &st) == 0 ? st.st_ino : 0;
}

static int
container_prepare (const struct kc_vcreate *cfg, struct kc_vcontainer *c, kc_error_t *err)
{
  cleanup_free char *config = NULL;

  if (kc_task_id_check ("container id", cfg->id, err) < 0)
    return -1;
  c->id = strdup (cfg->id);
  if (c->id == NULL || asprintf (&c->bundle, "%s/%s", cfg->shared_dir, cfg->id) < 0
      || asprintf (&config, "%s/config.json", c->bundle) < 0)
    return kc_error (err, ENOMEM, "create");
  if (kc_vmm_spec_load (config, &c->spec, err) < 0)
    return -1;
  /* Only under the container's own share: "/" would hand it the whole guest. */
  if (kc_safe_rootfs_path (c->bundle, c->spec.root_path, &c->rootfs, err) < 0)
    return -1;
  if (proc_init (&c->init, cfg->id, NULL, cfg->stdin_path, cfg->stdout_path, cfg->stderr_path) < 0)
    return kc_error (err, ENOMEM, "create");
  return 0;
}

int
kc_vcontainer_create (const struct kc_vcreate *cfg, kc_stdio_relay *relay, struct kc_vcontainer **out, kc_error_t *err)
{
  struct kc_vcontainer *c = calloc (1, sizeof (*c));
  struct kc_vspawn sp = { 0 };

  if (c == NULL)
    return kc_error (err, ENOMEM, "create");
  c->init.start_fd = -1;
  if (container_prepare (cfg, c, err) < 0 || kc_gcg_create (c->id, &c->spec.resources, &c->has_cgroup, err) < 0)
    goto fail;
  sp.process = &c->spec.process;
  sp.spec = &c->spec;
  sp.rootfs = c->rootfs;
  sp.bundle = c->bundle;
  if (proc_spawn (relay, &c->init, &sp, cfg->terminal || c->spec.process.terminal, c->has_cgroup ? c->id : NULL, err)
      < 0)
    goto fail;
  c->pidns = pidns_inode (c->init.pid);
  *out = c;
  return 0;
fail:
  if (c->has_cgroup)
    kc_gcg_remove (c->id);
  proc_clear (&c->init);
  kc_vmm_spec_free (&c->spec);
  free (c->id), free (c->bundle), free (c->rootfs), free (c);
  return kc_error_wrap (err, "create container `%s`", cfg->id);
}

int
kc_vcontainer_exec (struct kc_vcontainer *c, kc_stdio_relay *relay, const char *exec_id, const char *spec_json,
                    size_t spec_len, const char *in, const char *out, const char *errp, int terminal, kc_error_t *err)
{
  struct kc_vproc *p;
  struct kc_vspawn sp = { 0 };

  if (kc_task_id_check ("exec id", exec_id, err) < 0)
    return -1;
  if (kc_vcontainer_proc (c, exec_id) != NULL)
    return kc_error_code (err, KC_ALREADY_EXISTS, "exec `%s` already exists in `%s`", exec_id, c->id);
  if (c->init.status != CONTAINERD__V1__TYPES__STATUS__RUNNING)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "container `%s` is not running", c->id);
  if ((p = calloc (1, sizeof (*p))) == NULL)
    return kc_error (err, ENOMEM, "exec");
  p->start_fd = -1;
  if (proc_init (p, c->id, exec_id, in, out, errp) < 0)
    kc_error (err, ENOMEM, "exec");
  else if (kc_vmm_process_parse (spec_json, spec_len, &p->exec_process, err) == 0)
    {
      sp.process = &p->exec_process;
      sp.join_pid = c->init.pid;
      if (proc_spawn (relay, p, &sp, terminal || p->exec_process.terminal, c->has_cgroup ? c->id : NULL, err) == 0)
        {
          p->next = c->execs;
          c->execs = p;
          return 0;
        }
    }
  proc_clear (p);
  free (p);
  return kc_error_wrap (err, "exec `%s` in `%s`", exec_id, c->id);
}

struct kc_vproc *
kc_vcontainer_proc (struct kc_vcontainer *c, const char *exec_id)
{
  if (exec_id == NULL || *exec_id == '\0')
    return &c->init;
  for (struct kc_vproc *p = c->execs; p != NULL; p = p->next)
    if (strcmp (p->exec_id, exec_id) == 0)
      return p;
  return NULL;
}

int
kc_vproc_start (struct kc_vproc *p, kc_error_t *err)
{
  if (p->status != CONTAINERD__V1__TYPES__STATUS__CREATED)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "process %d is not in the created state", (int) p->pid);
  if (kc_task_start_release (&p->start_fd, err) < 0)
    return -1;
  p->status = CONTAINERD__V1__TYPES__STATUS__RUNNING;
  return 0;
}

/* Frozen v1 tasks die only once thawed (runc thaws after a SIGKILL too). */
static void
thaw_if_killed (struct kc_vcontainer *c, int sig)
{
  if (sig != SIGKILL || c->init.status != CONTAINERD__V1__TYPES__STATUS__PAUSED)
    return;
  if (kc_gcg_freeze (c->id, 0, NULL) == 0)
    c->init.status = CONTAINERD__V1__TYPES__STATUS__RUNNING;
}

int
kc_vcontainer_kill (struct kc_vcontainer *c, struct kc_vproc *p, int sig, kc_error_t *err)
{
  if (kc_vproc_kill (p, sig, err) < 0)
    return -1;
  if (p == &c->init)
    thaw_if_killed (c, sig);
  return 0;
}

int
kc_vproc_kill (struct kc_vproc *p, int sig, kc_error_t *err)
{
  if (p->status == CONTAINERD__V1__TYPES__STATUS__STOPPED)
    return kc_error_code (err, KC_NOT_FOUND, "process already finished");
  if (kill (p->pid, sig) < 0)
    return kc_error (err, errno, "kill %d", (int) p->pid);
  return 0;
}

static int
pidns_pids (struct kc_vcontainer *c, pid_t **pids, size_t *n)
{
  DIR *d = opendir ("/proc");
  struct dirent *e;
  size_t cap = 16;

  *n = 0;
  *pids = malloc (cap * sizeof (pid_t));
  if (d == NULL || *pids == NULL)
    return d != NULL ? closedir (d), -1 : -1;
  while ((e = readdir (d)) != NULL)
    {
      pid_t pid = (pid_t) atoi (e->d_name);
      if (pid <= 0 || c->pidns == 0 || pidns_inode (pid) != c->pidns)
        continue;
      if (*n == cap)
        {
          pid_t *grown = realloc (*pids, (cap *= 2) * sizeof (pid_t));
          if (grown == NULL)
            break;
          *pids = grown;
        }
      (*pids)[(*n)++] = pid;
    }
  closedir (d);
  return 0;
}

int
kc_vcontainer_pids (struct kc_vcontainer *c, pid_t **pids, size_t *n)
{
  if (c->has_cgroup && kc_gcg_pids (c->id, pids, n) == 0)
    return 0;
  free (*pids);
  *pids = NULL;
  return pidns_pids (c, pids, n);
}

int
kc_vcontainer_pause (struct kc_vcontainer *c, int pause, kc_error_t *err)
{
  int want = pause ? CONTAINERD__V1__TYPES__STATUS__RUNNING : CONTAINERD__V1__TYPES__STATUS__PAUSED;

  if (c->init.status != want)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "container `%s` is not %s", c->id, pause ? "running" : "paused");
  if (!c->has_cgroup)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "container `%s` has no cgroup", c->id);
  if (kc_gcg_freeze (c->id, pause, err) < 0)
    return -1;
  c->init.status = pause ? CONTAINERD__V1__TYPES__STATUS__PAUSED : CONTAINERD__V1__TYPES__STATUS__RUNNING;
  return 0;
}

int
kc_vcontainer_kill_all (struct kc_vcontainer *c, int sig, kc_error_t *err)
{
  cleanup_free pid_t *pids = NULL;
  size_t n = 0;

  if (c->init.status == CONTAINERD__V1__TYPES__STATUS__STOPPED)
    return kc_error_code (err, KC_NOT_FOUND, "process already finished");
  if (kc_vcontainer_pids (c, &pids, &n) < 0 || n == 0)
    return kc_vproc_kill (&c->init, sig, err);
  for (size_t i = 0; i < n; i++)
    kill (pids[i], sig);
  thaw_if_killed (c, sig);
  return 0;
}

void
kc_vproc_exited (struct kc_vproc *p, int wstatus)
{
  p->status = CONTAINERD__V1__TYPES__STATUS__STOPPED;
  p->exit_status = kc_task_exit_status (wstatus);
  clock_gettime (CLOCK_REALTIME, &p->exited_at);
  if (p->start_fd >= 0)
    close (p->start_fd);
  p->start_fd = -1;
}

int
kc_vcontainer_alive (const struct kc_vcontainer *c)
{
  if (c->init.status != CONTAINERD__V1__TYPES__STATUS__STOPPED)
    return 1;
  for (const struct kc_vproc *p = c->execs; p != NULL; p = p->next)
    if (p->status != CONTAINERD__V1__TYPES__STATUS__STOPPED)
      return 1;
  return 0;
}

int
kc_vcontainer_exec_remove (struct kc_vcontainer *c, kc_stdio_relay *relay, struct kc_vproc *p, kc_error_t *err)
{
  if (p->status == CONTAINERD__V1__TYPES__STATUS__RUNNING)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "exec `%s` is still running", p->exec_id);
  for (struct kc_vproc **pp = &c->execs; *pp != NULL; pp = &(*pp)->next)
    if (*pp == p)
      {
        *pp = p->next;
        break;
      }
  kc_stdio_relay_remove (relay, p->key);
  proc_clear (p);
  free (p);
  return 0;
}

void
kc_vcontainer_free (struct kc_vcontainer *c, kc_stdio_relay *relay)
{
  while (c->execs != NULL)
    {
      struct kc_vproc *p = c->execs;
      c->execs = p->next;
      kc_stdio_relay_remove (relay, p->key);
      proc_clear (p);
      free (p);
    }
  kc_stdio_relay_remove (relay, c->init.key);
  proc_clear (&c->init);
  kc_vmm_spec_free (&c->spec);
  if (c->has_cgroup)
    kc_gcg_remove (c->id);
  free (c->id);
  free (c->bundle);
  free (c->rootfs);
  free (c);
}
