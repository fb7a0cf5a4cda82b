/* The tasker's life: setup of the server and signals, the SIGCHLD reaping loop, SIGTERM's stop of
   every container (SIGKILL after a grace period), and removal of all it created at exit. */
#include "tasker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd_task_types.pb-c.h"
#include "fsutil.h"
#include "log.h"

struct kc_container *
kc_tasker_find (struct kc_tasker *t, const char *id)
{
  for (struct kc_container *c = t->containers; c != NULL; c = c->next)
    if (id != NULL && strcmp (c->id, id) == 0)
      return c;
  return NULL;
}

void
kc_tasker_add (struct kc_tasker *t, struct kc_container *c)
{
  c->next = t->containers;
  t->containers = c;
}

void
kc_tasker_remove (struct kc_tasker *t, struct kc_container *c)
{
  for (struct kc_container **pp = &t->containers; *pp != NULL; pp = &(*pp)->next)
    if (*pp == c)
      {
        *pp = c->next;
        break;
      }
  kc_container_free (c);
}

int
kc_tasker_any_alive (struct kc_tasker *t)
{
  for (struct kc_container *c = t->containers; c != NULL; c = c->next)
    if (kc_container_alive (c))
      return 1;
  return 0;
}

static void
exit_now_cb (evutil_socket_t fd, short what, void *arg)
{
  struct kc_tasker *t = arg;
  event_base_loopbreak (t->base);
}

void
kc_tasker_exit_soon (struct kc_tasker *t)
{
  struct timeval tv = { 0, 50 * 1000 };
  event_base_once (t->base, -1, EV_TIMEOUT, exit_now_cb, t, &tv);
}

static void
dispatch_exit (struct kc_tasker *t, pid_t pid, int wstatus)
{
  for (struct kc_container *c = t->containers; c != NULL; c = c->next)
    {
      struct kc_proc *p = c->init.pid == pid ? &c->init : NULL;
      for (struct kc_proc *e = c->execs; p == NULL && e != NULL; e = e->next)
        if (e->pid == pid)
          p = e;
      if (p == NULL || p->status == CONTAINERD__V1__TYPES__STATUS__STOPPED)
        continue;
      kc_proc_exited (c, p, wstatus);
      kc_service_proc_exited (p);
      return;
    }
  kc_log_debug ("reaped pid %d (not a container process)", (int) pid);
}

static void
reap_children (struct kc_tasker *t)
{
  int wstatus;
  pid_t pid;

  while ((pid = waitpid (-1, &wstatus, WNOHANG)) > 0)
    dispatch_exit (t, pid, wstatus);
  if (t->stopping && !kc_tasker_any_alive (t))
    event_base_loopbreak (t->base);
}

void
kc_tasker_kill_created (struct kc_tasker *t, struct kc_container *c, struct kc_proc *p)
{
  if (kc_proc_kill_created (c, p))
    kc_service_proc_exited (p);
}

static void
signal_all (struct kc_tasker *t, int sig)
{
  for (struct kc_container *c = t->containers; c != NULL; c = c->next)
    {
      if (c->paused && c->has_cgroup)
        kc_cgroup_freeze (&c->cgroup, 0, NULL);
      for (struct kc_proc *p = c->execs; p != NULL; p = p->next)
        if (p->status != CONTAINERD__V1__TYPES__STATUS__STOPPED && p->pid > 0)
          kill (p->pid, sig);
      if (c->init.status != CONTAINERD__V1__TYPES__STATUS__STOPPED && c->init.pid > 0)
        kill (c->init.pid, sig);
    }
}

static void
on_kill_timer (evutil_socket_t fd, short what, void *arg)
{
  struct kc_tasker *t = arg;
  kc_log_warn ("containers still alive %d s after SIGTERM: sending SIGKILL", KC_TASKER_STOP_GRACE_SEC);
  signal_all (t, SIGKILL);
}

static void
on_signal (evutil_socket_t sig, short what, void *arg)
{
  struct kc_tasker *t = arg;
  struct timeval grace = { KC_TASKER_STOP_GRACE_SEC, 0 };

  if (sig == SIGCHLD)
    {
      reap_children (t);
      return;
    }
  if (t->stopping)
    return;
  kc_log_info ("signal %d: stopping every container", (int) sig);
  t->stopping = 1;
  if (!kc_tasker_any_alive (t))
    {
      event_base_loopbreak (t->base);
      return;
    }
  signal_all (t, SIGTERM);
  t->kill_timer = evtimer_new (t->base, on_kill_timer, t);
  if (t->kill_timer != NULL)
    evtimer_add (t->kill_timer, &grace);
}

static int
setup_signals (struct kc_tasker *t, kc_error_t *err)
{
  signal (SIGPIPE, SIG_IGN);
  t->sig_chld = evsignal_new (t->base, SIGCHLD, on_signal, t);
  t->sig_term = evsignal_new (t->base, SIGTERM, on_signal, t);
  t->sig_int = evsignal_new (t->base, SIGINT, on_signal, t);
  if (t->sig_chld == NULL || t->sig_term == NULL || t->sig_int == NULL || evsignal_add (t->sig_chld, NULL) < 0
      || evsignal_add (t->sig_term, NULL) < 0 || evsignal_add (t->sig_int, NULL) < 0)
    return kc_error_code (err, KC_INTERNAL, "cannot install signal handlers");
  return 0;
}

static const char *
usable_cgroup_root (const char *root)
{
  char probe[4096];

  snprintf (probe, sizeof (probe), "%s/cgroup.controllers", root);
  if (access (probe, F_OK) == 0)
    return root;
  snprintf (probe, sizeof (probe), "%s/memory", root);
  if (access (probe, W_OK) == 0)
    return root;
  kc_log_warn ("no usable cgroup hierarchy under `%s`: containers run without limits", root);
  return NULL;
}

/* Modules are AOT-compiled into cache_dir; without a usable one they are interpreted (warned). */
static int
setup_aot_cache (struct kc_tasker *t, const char *cache_dir, kc_error_t *err)
{
  cleanup_error kc_error_t e = NULL;

  if (kc_mkdir_p (cache_dir, 0700, &e) < 0)
    {
      kc_log_warn ("AOT cache `%s`: %s: modules run interpreted", cache_dir, e->msg);
      return 0;
    }
  t->aot_cache_dir = strdup (cache_dir);
  if (t->aot_cache_dir == NULL)
    return kc_error (err, ENOMEM, "init");
  kc_log_info ("precompile: modules are AOT-compiled and cached in `%s`", cache_dir);
  return 0;
}

int
kc_tasker_init (struct kc_tasker *t, const struct kc_tasker_options *opts, kc_error_t *err)
{
  memset (t, 0, sizeof (*t));
  t->engine = &kc_wasm_engine_wasmedge;
  if (kc_task_id_check ("sandbox id", opts->id, err) < 0)
    return -1;
  t->id = strdup (opts->id);
  t->socket_path = strdup (opts->socket_path);
  if (t->id == NULL || t->socket_path == NULL
      || asprintf (&t->cgroup_base, "%s/%s", opts->cgroup_parent ? opts->cgroup_parent : "kuasar-wasm", opts->id) < 0)
    return kc_error (err, ENOMEM, "init");
  if (opts->dir != NULL && (t->dir = strdup (opts->dir)) == NULL)
    return kc_error (err, ENOMEM, "init");
  t->cgroup_root = usable_cgroup_root (opts->cgroup_root ? opts->cgroup_root : "/sys/fs/cgroup");
  if (opts->precompile && setup_aot_cache (t, opts->cache_dir, err) < 0)
    return -1;
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    return kc_error (err, errno, "PR_SET_CHILD_SUBREAPER");
  t->base = event_base_new ();
  if (t->base == NULL)
    return kc_error_code (err, KC_INTERNAL, "event_base_new");
  if (setup_signals (t, err) < 0)
    return -1;
  t->srv = kc_ttrpc_server_new (t->base);
  if (t->srv == NULL)
    return kc_error_code (err, KC_INTERNAL, "ttrpc server");
  if (kc_service_register (t, err) < 0)
    return -1;
  if (kc_ttrpc_server_listen_path (t->srv, t->socket_path, err) < 0)
    return kc_error_wrap (err, "listen on `%s`", t->socket_path);
  return 0;
}

/* A failed write means the sandboxer died before it recorded us: nobody would ever stop this
   tasker, so it must not serve. */
static int
write_ready (int fd, kc_error_t *err)
{
  ssize_t n;

  if (fd < 0)
    return 0;
  n = write (fd, "ready\n", 6);
  close (fd);
  if (n != 6)
    return kc_error (err, n < 0 ? errno : EPIPE, "tell the sandboxer we are ready (it went away)");
  return 0;
}

int
kc_tasker_run (struct kc_tasker *t, int ready_fd, kc_error_t *err)
{
  if (write_ready (ready_fd, err) < 0)
    return -1;
  kc_log_info ("tasker %s serving on %s", t->id, t->socket_path);
  if (event_base_dispatch (t->base) < 0)
    return kc_error_code (err, KC_INTERNAL, "event loop failed");
  return 0;
}

static void
kill_and_reap_all (struct kc_tasker *t)
{
  int wstatus;
  pid_t pid;

  signal_all (t, SIGKILL);
  /* Block only while one of ours is alive; orphans reparented to us are reaped on the way. */
  while (kc_tasker_any_alive (t) && (pid = waitpid (-1, &wstatus, 0)) > 0)
    dispatch_exit (t, pid, wstatus);
  while (waitpid (-1, &wstatus, WNOHANG) > 0)
    ;
}

void
kc_tasker_fini (struct kc_tasker *t)
{
  if (t->base != NULL)
    kill_and_reap_all (t);
  while (t->containers != NULL)
    kc_tasker_remove (t, t->containers);
  if (t->cgroup_root != NULL && t->cgroup_base != NULL)
    kc_cgroup_remove_dir (t->cgroup_root, t->cgroup_base);
  if (t->srv != NULL)
    kc_ttrpc_server_free (t->srv);
  if (t->socket_path != NULL && t->srv != NULL)
    unlink (t->socket_path);
  if (t->kill_timer != NULL)
    event_free (t->kill_timer);
  if (t->sig_chld != NULL)
    event_free (t->sig_chld);
  if (t->sig_term != NULL)
    event_free (t->sig_term);
  if (t->sig_int != NULL)
    event_free (t->sig_int);
  if (t->base != NULL)
    event_base_free (t->base);
  free (t->id);
  free (t->socket_path);
  free (t->cgroup_base);
  free (t->dir);
  free (t->aot_cache_dir);
  memset (t, 0, sizeof (*t));
}
