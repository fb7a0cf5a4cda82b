/* containerd.task.v2.Task (and the identical v3) handlers: decode, act on the container model,
   answer with the status codes containerd expects (PROTOCOLS.md §2.10, §5). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_stats.h"
#include "cleanup.h"
#include "containerd_task_types.pb-c.h"
#include "log.h"
#include "task.pb-c.h"
#include "task_server.h"
#include "tasker.h"

static void
fail (kc_ttrpc_call *call, kc_error_t *err)
{
  kc_task_fail (call, err, KC_LOG_DEBUG);
}

static struct kc_container *
find_container (struct kc_tasker *t, const char *id, kc_error_t *err)
{
  struct kc_container *c = kc_tasker_find (t, id);

  if (c == NULL)
    kc_error_code (err, KC_NOT_FOUND, "container `%s` not found", id);
  return c;
}

static struct kc_proc *
find_proc (struct kc_tasker *t, const char *id, const char *exec_id, struct kc_container **cp, kc_error_t *err)
{
  struct kc_container *c = find_container (t, id, err);
  struct kc_proc *p;

  if (c == NULL)
    return NULL;
  p = kc_container_proc (c, exec_id);
  if (p == NULL)
    kc_error_code (err, KC_NOT_FOUND, "exec `%s` not found in container `%s`", exec_id, id);
  if (cp != NULL)
    *cp = c;
  return p;
}

static Google__Protobuf__Timestamp *
timestamp_of (const struct kc_proc *p, Google__Protobuf__Timestamp *ts)
{
  return kc_task_exited_at (p->status, &p->exited_at, ts);
}

void
kc_service_proc_exited (struct kc_proc *p)
{
  kc_task_wait_answer (&p->waiters, p->status, p->exit_status, &p->exited_at);
}

static void
handle_create (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
  const Containerd__Task__V2__CreateTaskRequest *req = msg;
  cleanup_free struct kc_mount_spec *mounts = calloc (req->n_rootfs + 1, sizeof (struct kc_mount_spec));
  struct kc_container *c = NULL;
  struct kc_container_config cfg = { .id = req->id,
                                     .bundle = req->bundle,
                                     .mounts = mounts,
                                     .nmounts = req->n_rootfs,
                                     .stdin_path = req->stdin,
                                     .stdout_path = req->stdout,
                                     .stderr_path = req->stderr,
                                     .terminal = req->terminal,
                                     .cgroup_root = t->cgroup_root,
                                     .cgroup_base = t->cgroup_base,
                                     .engine = t->engine,
                                     .aot_cache_dir = t->aot_cache_dir,
                                     .record_dir = t->dir };

  for (size_t i = 0; mounts != NULL && i < req->n_rootfs; i++)
    mounts[i] = (struct kc_mount_spec){ .type = req->rootfs[i]->type,
                                        .source = req->rootfs[i]->source,
                                        .options = req->rootfs[i]->options,
                                        .noptions = req->rootfs[i]->n_options };
  if (mounts == NULL)
    kc_error (&err, ENOMEM, "create");
  else if (t->stopping)
    kc_error_code (&err, KC_FAILED_PRECONDITION, "the tasker is stopping");
  else if (kc_tasker_find (t, req->id) != NULL)
    kc_error_code (&err, KC_ALREADY_EXISTS, "container `%s` already exists", req->id);
  else if (kc_container_create (&cfg, &c, &err) == 0)
    {
      kc_tasker_add (t, c);
      resp.pid = (uint32_t) c->init.pid;
      kc_log_info ("created container %s (pid %d)", c->id, (int) c->init.pid);
    }
  if (c == NULL)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, &resp.base);
}

static void
handle_start (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
  const Containerd__Task__V2__StartRequest *req = msg;
  struct kc_proc *p = find_proc (t, req->id, req->exec_id, NULL, &err);
  int ret = p != NULL ? kc_proc_start (p, &err) : -1;

  if (ret == 0)
    resp.pid = (uint32_t) p->pid;
  if (ret < 0)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, &resp.base);
}

static void
handle_delete (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  const Containerd__Task__V2__DeleteRequest *req = msg;
  struct kc_container *c = NULL;
  struct kc_proc *p = find_proc (t, req->id, req->exec_id, &c, &err);
  int ret = -1;

  if (p != NULL && p->status == CONTAINERD__V1__TYPES__STATUS__RUNNING)
    kc_error_code (&err, KC_FAILED_PRECONDITION, "process %d of `%s` is still running", (int) p->pid, c->id);
  else if (p != NULL && p->exec_id == NULL && kc_container_alive (c)
           && c->init.status != CONTAINERD__V1__TYPES__STATUS__CREATED)
    kc_error_code (&err, KC_FAILED_PRECONDITION, "container `%s` still has running execs", c->id);
  else if (p != NULL)
    {
      kc_tasker_kill_created (t, c, p);
      for (struct kc_proc *e = p->exec_id == NULL ? c->execs : NULL; e != NULL; e = e->next)
        kc_tasker_kill_created (t, c, e);
      resp.pid = (uint32_t) p->pid;
      resp.exit_status = p->exit_status;
      resp.exited_at = timestamp_of (p, &ts);
      if (p->exec_id != NULL)
        ret = kc_container_exec_remove (c, p, &err);
      else
        {
          kc_log_info ("deleted container %s", c->id);
          kc_tasker_remove (t, c);
          ret = 0;
        }
    }
  if (ret < 0)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, &resp.base);
}

static void
handle_state (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  const Containerd__Task__V2__StateRequest *req = msg;
  struct kc_container *c = NULL;
  struct kc_proc *p = find_proc (t, req->id, req->exec_id, &c, &err);

  if (p != NULL)
    {
      resp.id = c->id;
      resp.bundle = c->bundle;
      resp.pid = (uint32_t) p->pid;
      resp.status = (Containerd__V1__Types__Status) p->status;
      if (c->paused && p->status == CONTAINERD__V1__TYPES__STATUS__RUNNING)
        resp.status = CONTAINERD__V1__TYPES__STATUS__PAUSED;
      resp.stdin = p->stdin_path;
      resp.stdout = p->stdout_path;
      resp.stderr = p->stderr_path;
      resp.exit_status = p->exit_status;
      resp.exited_at = timestamp_of (p, &ts);
      resp.exec_id = p->exec_id != NULL ? p->exec_id : (char *) "";
    }
  if (p == NULL)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, &resp.base);
}

static int
append_pid (Containerd__V1__Types__ProcessInfo **infos, size_t *n, pid_t pid)
{
  Containerd__V1__Types__ProcessInfo *pi = malloc (sizeof (*pi));

  if (pi == NULL)
    return -1;
  containerd__v1__types__process_info__init (pi);
  pi->pid = (uint32_t) pid;
  infos[(*n)++] = pi;
  return 0;
}

static void
handle_pids (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
  const Containerd__Task__V2__PidsRequest *req = msg;
  struct kc_container *c = find_container (t, req->id, &err);
  cleanup_free pid_t *pids = NULL;
  size_t npids = 0, nexec = 0;

  if (c == NULL)
    return fail (call, &err);
  if (c->has_cgroup && kc_cgroup_pids (&c->cgroup, &pids, &npids, &err) < 0)
    kc_error_free (&err);
  for (struct kc_proc *e = c->execs; e != NULL; e = e->next)
    nexec++;
  resp.processes = calloc (npids + nexec + 1, sizeof (*resp.processes));
  for (size_t i = 0; resp.processes != NULL && i < npids; i++)
    append_pid (resp.processes, &resp.n_processes, pids[i]);
  /* Without a cgroup listing, the processes we know: containerd treats an empty list of a
     live task as a leaked shim. */
  if (resp.processes != NULL && resp.n_processes == 0)
    {
      if (c->init.status != CONTAINERD__V1__TYPES__STATUS__STOPPED)
        append_pid (resp.processes, &resp.n_processes, c->init.pid);
      for (struct kc_proc *e = c->execs; e != NULL; e = e->next)
        if (e->status != CONTAINERD__V1__TYPES__STATUS__STOPPED)
          append_pid (resp.processes, &resp.n_processes, e->pid);
    }
  kc_ttrpc_call_reply (call, &resp.base);
  for (size_t i = 0; i < resp.n_processes; i++)
    free (resp.processes[i]);
  free (resp.processes);
}

static void
pause_or_resume (kc_ttrpc_call *call, const char *id, int pause, struct kc_tasker *t)
{
  cleanup_error kc_error_t err = NULL;
  struct kc_container *c = find_container (t, id, &err);

  if (c == NULL)
    return fail (call, &err);
  if (!c->has_cgroup)
    kc_error_code (&err, KC_FAILED_PRECONDITION, "container `%s` has no freezer cgroup", id);
  else if (c->init.status != CONTAINERD__V1__TYPES__STATUS__RUNNING)
    kc_error_code (&err, KC_FAILED_PRECONDITION, "container `%s` is not running", id);
  else if (kc_cgroup_freeze (&c->cgroup, pause, &err) == 0)
    {
      c->paused = pause;
      kc_ttrpc_call_reply (call, NULL);
      return;
    }
  fail (call, &err);
}

static void
handle_pause (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Task__V2__PauseRequest *req = msg;
  pause_or_resume (call, req->id, 1, userdata);
}

static void
handle_resume (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Task__V2__ResumeRequest *req = msg;
  pause_or_resume (call, req->id, 0, userdata);
}

static void
handle_stats (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__StatsRequest *req = msg;
  struct kc_container *c = find_container (t, req->id, &err);
  struct kc_cgroup_metrics m;
  int ret = -1;

  if (c != NULL && !c->has_cgroup)
    kc_error_code (&err, KC_FAILED_PRECONDITION, "container `%s` has no cgroup", req->id);
  else if (c != NULL)
    ret = kc_cgroup_metrics_read (c->cgroup.root, c->cgroup.rel, c->cgroup.v2, &m, &err);
  if (ret < 0)
    {
      if (c != NULL && c->has_cgroup)
        kc_cgroup_metrics_release (&m);
      return fail (call, &err);
    }
  kc_task_reply_metrics (call, &m);
  kc_cgroup_metrics_release (&m);
}

static void
handle_unimplemented (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  kc_ttrpc_call_error (call, KC_UNIMPLEMENTED, "%s is not implemented by the wasm tasker", kc_ttrpc_call_method (call));
}

static int
kill_all (struct kc_container *c, struct kc_proc *p, int sig, kc_error_t *err)
{
  cleanup_free pid_t *pids = NULL;
  size_t n = 0;

  if (p->status == CONTAINERD__V1__TYPES__STATUS__STOPPED)
    return kc_error_code (err, KC_NOT_FOUND, "process already finished");
  if (!c->has_cgroup || kc_cgroup_pids (&c->cgroup, &pids, &n, NULL) < 0 || n == 0)
    return kc_proc_kill (p, sig, err);
  for (size_t i = 0; i < n; i++)
    kill (pids[i], sig);
  return 0;
}

static void
handle_kill (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__KillRequest *req = msg;
  struct kc_container *c = NULL;
  struct kc_proc *p = find_proc (t, req->id, req->exec_id, &c, &err);
  int ret = -1;

  if (p != NULL && req->signal >= (uint32_t) NSIG)
    kc_error_code (&err, KC_INVALID_ARGUMENT, "invalid signal %u", req->signal);
  else if (p != NULL)
    {
      ret = req->all && p->exec_id == NULL ? kill_all (c, p, (int) req->signal, &err)
                                           : kc_proc_kill (p, (int) req->signal, &err);
      /* A frozen process would not act on it until resumed; runc thaws for SIGKILL too. */
      if (ret == 0 && c->paused && req->signal == SIGKILL && p->exec_id == NULL)
        kc_cgroup_freeze (&c->cgroup, 0, NULL), c->paused = 0;
    }
  if (ret < 0)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, NULL);
}

static void
handle_exec (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__ExecProcessRequest *req = msg;
  struct kc_container *c = find_container (t, req->id, &err);
  int ret = -1;

  if (c != NULL && (req->spec == NULL || req->spec->value.len == 0))
    kc_error_code (&err, KC_INVALID_ARGUMENT, "exec `%s`: no process spec", req->exec_id);
  else if (c != NULL)
    ret = kc_container_exec (c, t->engine, req->exec_id, (const char *) req->spec->value.data, req->spec->value.len,
                             req->stdin, req->stdout, req->stderr, req->terminal, &err);
  if (ret < 0)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, NULL);
}

static void
handle_close_io (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__CloseIORequest *req = msg;
  struct kc_proc *p = find_proc (t, req->id, req->exec_id, NULL, &err);

  /* The child reads containerd's stdin FIFO itself and the tasker keeps no write end, so it sees
     EOF as soon as containerd closes its side: nothing to close here. */
  if (p == NULL)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, NULL);
}

static void
handle_update (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__UpdateTaskRequest *req = msg;
  struct kc_container *c = find_container (t, req->id, &err);
  struct kc_oci_resources res;
  int ret = -1;

  if (c != NULL && !c->has_cgroup)
    kc_error_code (&err, KC_FAILED_PRECONDITION, "container `%s` has no cgroup", req->id);
  else if (c != NULL && (req->resources == NULL || req->resources->value.len == 0))
    kc_error_code (&err, KC_INVALID_ARGUMENT, "update `%s`: no resources", req->id);
  else if (c != NULL
           && kc_oci_resources_parse ((const char *) req->resources->value.data, req->resources->value.len, &res, &err)
                  == 0)
    ret = kc_cgroup_apply (&c->cgroup, &res, &err);
  if (ret < 0)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, NULL);
}

static void
handle_wait (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__WaitRequest *req = msg;
  struct kc_proc *p = find_proc (t, req->id, req->exec_id, NULL, &err);

  if (p == NULL)
    return fail (call, &err);
  if (kc_task_wait_add (&p->waiters, call) < 0)
    return;
  if (p->status == CONTAINERD__V1__TYPES__STATUS__STOPPED)
    kc_service_proc_exited (p);
}

static void
handle_connect (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;
  Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
  const Containerd__Task__V2__ConnectRequest *req = msg;
  struct kc_container *c = kc_tasker_find (t, req->id);

  resp.shim_pid = (uint32_t) getpid ();
  resp.task_pid = c != NULL ? (uint32_t) c->init.pid : 0;
  resp.version = (char *) KC_VERSION;
  kc_ttrpc_call_reply (call, &resp.base);
}

static void
handle_shutdown (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_tasker *t = userdata;

  kc_ttrpc_call_reply (call, NULL);
  /* Like runc's shim: ignored while a container lives. */
  if (!kc_tasker_any_alive (t))
    {
      kc_log_info ("shutdown requested: exiting");
      kc_tasker_exit_soon (t);
    }
}

static const struct kc_task_method methods[] = {
  KC_TASK_METHOD ("State", state_request, handle_state),
  KC_TASK_METHOD ("Create", create_task_request, handle_create),
  KC_TASK_METHOD ("Start", start_request, handle_start),
  KC_TASK_METHOD ("Delete", delete_request, handle_delete),
  KC_TASK_METHOD ("Pids", pids_request, handle_pids),
  KC_TASK_METHOD ("Pause", pause_request, handle_pause),
  KC_TASK_METHOD ("Resume", resume_request, handle_resume),
  { "Checkpoint", NULL, handle_unimplemented },
  KC_TASK_METHOD ("Kill", kill_request, handle_kill),
  KC_TASK_METHOD ("Exec", exec_process_request, handle_exec),
  { "ResizePty", NULL, handle_unimplemented },
  KC_TASK_METHOD ("CloseIO", close_iorequest, handle_close_io),
  KC_TASK_METHOD ("Update", update_task_request, handle_update),
  KC_TASK_METHOD ("Wait", wait_request, handle_wait),
  KC_TASK_METHOD ("Stats", stats_request, handle_stats),
  KC_TASK_METHOD ("Connect", connect_request, handle_connect),
  KC_TASK_METHOD ("Shutdown", shutdown_request, handle_shutdown),
};

int
kc_service_register (struct kc_tasker *t, kc_error_t *err)
{
  t->task_srv = (struct kc_task_server){ methods, sizeof (methods) / sizeof (methods[0]), t };
  return kc_task_server_register (t->srv, &t->task_srv, err);
}
