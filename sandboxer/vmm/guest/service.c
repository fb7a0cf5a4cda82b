/* containerd.task.v2.Task (and the identical v3) served by vmm-task: decode, act on the guest's
   containers, answer with the codes containerd expects (PROTOCOLS.md §5). Adapted from the wasm
   tasker's service.c. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "containerd_task_types.pb-c.h"
#include "init.h"
#include "log.h"
#include "task.pb-c.h"
#include "task_server.h"

static void
fail (kc_ttrpc_call *call, kc_error_t *err)
{
  kc_task_fail (call, err, KC_LOG_INFO);
}

static struct kc_vcontainer *
find_container (struct kc_agent *a, const char *id, kc_error_t *err)
{
  struct kc_vcontainer *c = kc_agent_find (a, id);

  if (c == NULL)
    kc_error_code (err, KC_NOT_FOUND, "container `%s` not found", id);
  return c;
}

static struct kc_vproc *
find_proc (struct kc_agent *a, const char *id, const char *exec_id, struct kc_vcontainer **cp, kc_error_t *err)
{
  struct kc_vcontainer *c = find_container (a, id, err);
  struct kc_vproc *p;

  if (c == NULL)
    return NULL;
  p = kc_vcontainer_proc (c, exec_id);
  if (p == NULL)
    kc_error_code (err, KC_NOT_FOUND, "exec `%s` not found in container `%s`", exec_id, id);
  if (cp != NULL)
    *cp = c;
  return p;
}

static Google__Protobuf__Timestamp *
timestamp_of (const struct kc_vproc *p, Google__Protobuf__Timestamp *ts)
{
  return kc_task_exited_at (p->status, &p->exited_at, ts);
}

void
kc_vmm_service_proc_exited (struct kc_vproc *p)
{
  kc_task_wait_answer (&p->waiters, p->status, p->exit_status, &p->exited_at);
}

static void
handle_create (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_agent *a = userdata;
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
  const Containerd__Task__V2__CreateTaskRequest *req = msg;
  struct kc_vcontainer *c = NULL;
  /* The bundle is always <shared>/<id>: the host's bundle path means nothing in the guest. */
  struct kc_vcreate cfg = { .id = req->id,
                            .shared_dir = KC_VMM_SHARED_DIR,
                            .stdin_path = req->stdin,
                            .stdout_path = req->stdout,
                            .stderr_path = req->stderr,
                            .terminal = req->terminal };

  if (req->n_rootfs > 0)
    kc_error_code (&err, KC_INVALID_ARGUMENT, "create `%s`: rootfs mounts must be done by the host (send none)",
                   req->id);
  else if (kc_agent_find (a, req->id) != NULL)
    kc_error_code (&err, KC_ALREADY_EXISTS, "container `%s` already exists", req->id);
  else if (kc_vcontainer_create (&cfg, a->relay, &c, &err) == 0)
    {
      c->next = a->containers;
      a->containers = c;
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
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
  const Containerd__Task__V2__StartRequest *req = msg;
  struct kc_vproc *p = find_proc (userdata, req->id, req->exec_id, NULL, &err);
  int ret = p != NULL ? kc_vproc_start (p, &err) : -1;

  if (ret == 0)
    resp.pid = (uint32_t) p->pid;
  if (ret < 0)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, &resp.base);
}

static int
delete_proc (struct kc_agent *a, struct kc_vcontainer *c, struct kc_vproc *p, kc_error_t *err)
{
  if (p->status == CONTAINERD__V1__TYPES__STATUS__RUNNING || p->status == CONTAINERD__V1__TYPES__STATUS__PAUSED)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "process %d of `%s` is still running", (int) p->pid, c->id);
  if (p->exec_id == NULL && kc_vcontainer_alive (c) && c->init.status != CONTAINERD__V1__TYPES__STATUS__CREATED)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "container `%s` still has running execs", c->id);
  kc_agent_kill_created (a, p);
  for (struct kc_vproc *e = p->exec_id == NULL ? c->execs : NULL; e != NULL; e = e->next)
    kc_agent_kill_created (a, e);
  return 0;
}

static void
handle_delete (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_agent *a = userdata;
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  const Containerd__Task__V2__DeleteRequest *req = msg;
  struct kc_vcontainer *c = NULL;
  struct kc_vproc *p = find_proc (a, req->id, req->exec_id, &c, &err);
  int ret = p != NULL ? delete_proc (a, c, p, &err) : -1;

  if (ret == 0)
    {
      resp.pid = (uint32_t) p->pid;
      resp.exit_status = p->exit_status;
      resp.exited_at = timestamp_of (p, &ts);
      if (p->exec_id != NULL)
        ret = kc_vcontainer_exec_remove (c, a->relay, p, &err);
      else
        {
          kc_log_info ("deleted container %s", c->id);
          kc_agent_remove (a, c);
        }
    }
  if (ret < 0)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, &resp.base);
}

static void
handle_state (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  const Containerd__Task__V2__StateRequest *req = msg;
  struct kc_vcontainer *c = NULL;
  struct kc_vproc *p = find_proc (userdata, req->id, req->exec_id, &c, &err);

  if (p != NULL)
    {
      resp.id = c->id;
      resp.bundle = c->bundle;
      resp.pid = (uint32_t) p->pid;
      resp.status = (Containerd__V1__Types__Status) p->status;
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

static void
handle_pids (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
  const Containerd__Task__V2__PidsRequest *req = msg;
  struct kc_vcontainer *c = find_container (userdata, req->id, &err);
  cleanup_free pid_t *pids = NULL;
  cleanup_free Containerd__V1__Types__ProcessInfo *infos = NULL;
  cleanup_free Containerd__V1__Types__ProcessInfo **ptrs = NULL;
  size_t n = 0;

  if (c == NULL)
    return fail (call, &err);
  if (kc_vcontainer_pids (c, &pids, &n) < 0 || n == 0)
    {
      /* Never empty while running: containerd takes that for a leaked task. */
      free (pids);
      pids = malloc (sizeof (pid_t));
      n = pids != NULL && c->init.status != CONTAINERD__V1__TYPES__STATUS__STOPPED ? 1 : 0;
      if (n == 1)
        pids[0] = c->init.pid;
    }
  infos = calloc (n + 1, sizeof (*infos));
  ptrs = calloc (n + 1, sizeof (*ptrs));
  if (infos == NULL || ptrs == NULL)
    return kc_ttrpc_call_error (call, KC_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n; i++)
    {
      containerd__v1__types__process_info__init (&infos[i]);
      infos[i].pid = (uint32_t) pids[i];
      ptrs[i] = &infos[i];
    }
  resp.processes = ptrs;
  resp.n_processes = n;
  kc_ttrpc_call_reply (call, &resp.base);
}

static void
handle_unimplemented (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  kc_ttrpc_call_error (call, KC_UNIMPLEMENTED, "%s is not implemented by vmm-task", kc_ttrpc_call_method (call));
}

static void
handle_kill (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__KillRequest *req = msg;
  struct kc_vcontainer *c = NULL;
  struct kc_vproc *p = find_proc (userdata, req->id, req->exec_id, &c, &err);
  int ret = -1;

  if (p != NULL && req->signal >= (uint32_t) NSIG)
    kc_error_code (&err, KC_INVALID_ARGUMENT, "invalid signal %u", req->signal);
  else if (p != NULL)
    ret = req->all && p->exec_id == NULL ? kc_vcontainer_kill_all (c, (int) req->signal, &err)
                                         : kc_vcontainer_kill (c, p, (int) req->signal, &err);
  if (ret < 0)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, NULL);
}

static void
handle_exec (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_agent *a = userdata;
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__ExecProcessRequest *req = msg;
  struct kc_vcontainer *c = find_container (a, req->id, &err);
  int ret = -1;

  if (c != NULL && (req->spec == NULL || req->spec->value.len == 0))
    kc_error_code (&err, KC_INVALID_ARGUMENT, "exec `%s`: no process spec", req->exec_id);
  else if (c != NULL)
    ret = kc_vcontainer_exec (c, a->relay, req->exec_id, (const char *) req->spec->value.data, req->spec->value.len,
                              req->stdin, req->stdout, req->stderr, req->terminal, &err);
  if (ret < 0)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, NULL);
}

static void
handle_close_io (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_agent *a = userdata;
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__CloseIORequest *req = msg;
  struct kc_vproc *p = find_proc (a, req->id, req->exec_id, NULL, &err);

  if (p != NULL && req->stdin)
    kc_stdio_relay_close_stdin (a->relay, p->key);
  if (p == NULL)
    return fail (call, &err);
  kc_ttrpc_call_reply (call, NULL);
}

static void
handle_wait (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__WaitRequest *req = msg;
  struct kc_vproc *p = find_proc (userdata, req->id, req->exec_id, NULL, &err);

  if (p == NULL)
    return fail (call, &err);
  if (kc_task_wait_add (&p->waiters, call) < 0)
    return;
  if (p->status == CONTAINERD__V1__TYPES__STATUS__STOPPED)
    kc_vmm_service_proc_exited (p);
}

static void
handle_connect (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
  const Containerd__Task__V2__ConnectRequest *req = msg;
  struct kc_vcontainer *c = kc_agent_find (userdata, req->id);

  resp.shim_pid = (uint32_t) getpid ();
  resp.task_pid = c != NULL ? (uint32_t) c->init.pid : 0;
  resp.version = (char *) KC_VERSION;
  kc_ttrpc_call_reply (call, &resp.base);
}

/* Powers the VM off once the answer is out, unless a container still runs (runc-shim style:
   a Shutdown then is ignored; the host kills QEMU to force it). */
static void
handle_shutdown (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct kc_agent *a = userdata;

  kc_ttrpc_call_reply (call, NULL);
  if (kc_agent_any_alive (a))
    {
      kc_log_info ("shutdown ignored: a container is still running");
      return;
    }
  kc_log_info ("shutdown requested: powering off");
  a->power_off = 1;
  kc_agent_exit_soon (a);
}

static const struct kc_task_method methods[] = {
  KC_TASK_METHOD ("State", state_request, handle_state),
  KC_TASK_METHOD ("Create", create_task_request, handle_create),
  KC_TASK_METHOD ("Start", start_request, handle_start),
  KC_TASK_METHOD ("Delete", delete_request, handle_delete),
  KC_TASK_METHOD ("Pids", pids_request, handle_pids),
  KC_TASK_METHOD ("Pause", pause_request, kc_vmm_service_pause),
  KC_TASK_METHOD ("Resume", resume_request, kc_vmm_service_resume),
  { "Checkpoint", NULL, handle_unimplemented },
  KC_TASK_METHOD ("Kill", kill_request, handle_kill),
  KC_TASK_METHOD ("Exec", exec_process_request, handle_exec),
  { "ResizePty", NULL, handle_unimplemented },
  KC_TASK_METHOD ("CloseIO", close_iorequest, handle_close_io),
  { "Update", NULL, handle_unimplemented },
  KC_TASK_METHOD ("Wait", wait_request, handle_wait),
  KC_TASK_METHOD ("Stats", stats_request, kc_vmm_service_stats),
  KC_TASK_METHOD ("Connect", connect_request, handle_connect),
  KC_TASK_METHOD ("Shutdown", shutdown_request, handle_shutdown),
};

int
kc_vmm_service_register (struct kc_agent *a, kc_error_t *err)
{
  a->task_srv = (struct kc_task_server){ methods, sizeof (methods) / sizeof (methods[0]), a };
  return kc_task_server_register (a->srv, &a->task_srv, err);
}
