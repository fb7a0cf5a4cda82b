/* containerd.task.v2.Task: Create/Start/Wait/State/Kill/Delete/Connect/Shutdown on plain host
   processes, with the task events containerd expects (create, start, exit, delete in order). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "events.pb-c.h"
#include "log.h"
#include "task_service.h"

#define TASK_SERVICE "containerd.task.v2.Task"

struct skel
{
  struct kc_shim *shim;
  struct skel_container *containers;
};

typedef void (*method_fn) (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len);

static struct skel_container *
find (struct skel *s, const char *id)
{
  for (struct skel_container *c = s->containers; c; c = c->next)
    if (strcmp (c->id, id) == 0)
      return c;
  return NULL;
}

/* Unpacks a request of type T into req, or answers INVALID_ARGUMENT and returns. */
#define UNPACK(T, lower, req)                                                                                          \
  T *req = lower##__unpack (NULL, len, payload);                                                                       \
  if (req == NULL)                                                                                                     \
    {                                                                                                                  \
      kc_ttrpc_call_error (call, KC_INVALID_ARGUMENT, "bad request");                                                  \
      return;                                                                                                          \
    }

/* The container of req->id with an empty exec_id, or answers NOT_FOUND. */
static struct skel_container *
lookup (struct skel *s, kc_ttrpc_call *call, const char *id, const char *exec_id)
{
  struct skel_container *c = find (s, id);

  if (c == NULL || (exec_id != NULL && *exec_id))
    kc_ttrpc_call_error (call, KC_NOT_FOUND, "no process `%s` `%s`", id, exec_id ? exec_id : "");
  return c == NULL || (exec_id != NULL && *exec_id) ? NULL : c;
}

static void
on_exit_cb (struct kc_shim *shim, pid_t pid, int wait_status, void *userdata)
{
  struct skel_container *c = userdata;
  Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

  skel_container_exited (c, wait_status);
  ts.seconds = c->exited_sec;
  ts.nanos = c->exited_nsec;
  ev.container_id = ev.id = c->id;
  ev.pid = (uint32_t) pid;
  ev.exit_status = c->exit_status;
  ev.exited_at = &ts;
  kc_shim_publish (shim, "/tasks/exit", "containerd.events.TaskExit", &ev.base);
}

static void
task_create (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  UNPACK (Containerd__Task__V2__CreateTaskRequest, containerd__task__v2__create_task_request, req);
  Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
  Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
  kc_error_t err = NULL;
  struct skel_container *c = find (s, req->id) ? NULL : skel_container_create (req, &err);

  if (c == NULL)
    {
      if (err == NULL)
        kc_error_code (&err, KC_ALREADY_EXISTS, "container `%s` exists", req->id);
      kc_ttrpc_call_fail (call, &err);
      kc_error_free (&err);
      containerd__task__v2__create_task_request__free_unpacked (req, NULL);
      return;
    }
  kc_shim_watch_pid (s->shim, c->pid, on_exit_cb, c);
  c->next = s->containers;
  s->containers = c;
  resp.pid = (uint32_t) c->pid;
  kc_ttrpc_call_reply (call, &resp.base);
  ev.container_id = req->id;
  ev.bundle = req->bundle;
  ev.rootfs = req->rootfs;
  ev.n_rootfs = req->n_rootfs;
  ev.pid = resp.pid;
  kc_shim_publish (s->shim, "/tasks/create", "containerd.events.TaskCreate", &ev.base);
  containerd__task__v2__create_task_request__free_unpacked (req, NULL);
}

static void
task_start (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  UNPACK (Containerd__Task__V2__StartRequest, containerd__task__v2__start_request, req);
  Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
  Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
  struct skel_container *c = lookup (s, call, req->id, req->exec_id);
  kc_error_t err = NULL;

  if (c != NULL && skel_container_start (c, &err) < 0)
    {
      kc_ttrpc_call_fail (call, &err);
      kc_error_free (&err);
    }
  else if (c != NULL)
    {
      resp.pid = ev.pid = (uint32_t) c->pid;
      kc_ttrpc_call_reply (call, &resp.base);
      ev.container_id = c->id;
      kc_shim_publish (s->shim, "/tasks/start", "containerd.events.TaskStart", &ev.base);
    }
  containerd__task__v2__start_request__free_unpacked (req, NULL);
}

static void
task_wait (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  UNPACK (Containerd__Task__V2__WaitRequest, containerd__task__v2__wait_request, req);
  struct skel_container *c = lookup (s, call, req->id, req->exec_id);
  Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  kc_ttrpc_call **grown;

  containerd__task__v2__wait_request__free_unpacked (req, NULL);
  if (c == NULL)
    return;
  if (c->status == CONTAINERD__V1__TYPES__STATUS__STOPPED)
    {
      ts.seconds = c->exited_sec;
      ts.nanos = c->exited_nsec;
      resp.exit_status = c->exit_status;
      resp.exited_at = &ts;
      kc_ttrpc_call_reply (call, &resp.base);
      return;
    }
  grown = realloc (c->waiters, (c->n_waiters + 1) * sizeof (*grown));
  if (grown == NULL)
    {
      kc_ttrpc_call_error (call, KC_RESOURCE_EXHAUSTED, "out of memory");
      return;
    }
  c->waiters = grown;
  c->waiters[c->n_waiters++] = call;
}

static void
task_state (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  UNPACK (Containerd__Task__V2__StateRequest, containerd__task__v2__state_request, req);
  Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  struct skel_container *c = lookup (s, call, req->id, req->exec_id);

  if (c != NULL)
    {
      resp.id = c->id;
      resp.bundle = c->bundle;
      resp.pid = (uint32_t) c->pid;
      resp.status = c->status;
      resp.stdin = c->stdin_path;
      resp.stdout = c->stdout_path;
      resp.stderr = c->stderr_path;
      resp.exit_status = c->exit_status;
      ts.seconds = c->exited_sec;
      ts.nanos = c->exited_nsec;
      resp.exited_at = c->status == CONTAINERD__V1__TYPES__STATUS__STOPPED ? &ts : NULL;
      kc_ttrpc_call_reply (call, &resp.base);
    }
  containerd__task__v2__state_request__free_unpacked (req, NULL);
}

static void
task_kill (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  UNPACK (Containerd__Task__V2__KillRequest, containerd__task__v2__kill_request, req);
  struct skel_container *c = lookup (s, call, req->id, req->exec_id);

  if (c != NULL && c->status == CONTAINERD__V1__TYPES__STATUS__STOPPED)
    kc_ttrpc_call_error (call, KC_NOT_FOUND, "process already finished");
  else if (c != NULL && kill (req->all ? -c->pid : c->pid, (int) req->signal) < 0)
    kc_ttrpc_call_error (call, KC_NOT_FOUND, "kill %d: %s", (int) c->pid, strerror (errno));
  else if (c != NULL)
    kc_ttrpc_call_reply (call, NULL);
  containerd__task__v2__kill_request__free_unpacked (req, NULL);
}

/* Unlinks c from the list; the caller frees it. */
static void
unlink_container (struct skel *s, struct skel_container *c)
{
  for (struct skel_container **pc = &s->containers; *pc; pc = &(*pc)->next)
    if (*pc == c)
      {
        *pc = c->next;
        return;
      }
}

static void
task_delete (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  UNPACK (Containerd__Task__V2__DeleteRequest, containerd__task__v2__delete_request, req);
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  struct skel_container *c = lookup (s, call, req->id, req->exec_id);

  containerd__task__v2__delete_request__free_unpacked (req, NULL);
  if (c == NULL)
    return;
  if (c->status == CONTAINERD__V1__TYPES__STATUS__RUNNING)
    {
      kc_ttrpc_call_error (call, KC_FAILED_PRECONDITION, "container `%s` is running", c->id);
      return;
    }
  if (c->status != CONTAINERD__V1__TYPES__STATUS__STOPPED)
    kc_shim_unwatch_pid (s->shim, c->pid); /* never started: it exits on its own, unreported */
  ts.seconds = c->exited_sec;
  ts.nanos = c->exited_nsec;
  resp.pid = ev.pid = (uint32_t) c->pid;
  resp.exit_status = ev.exit_status = c->exit_status;
  resp.exited_at = ev.exited_at = &ts;
  ev.container_id = c->id;
  kc_ttrpc_call_reply (call, &resp.base);
  kc_shim_publish (s->shim, "/tasks/delete", "containerd.events.TaskDelete", &ev.base);
  unlink_container (s, c);
  skel_container_free (c);
}

static void
task_connect (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  UNPACK (Containerd__Task__V2__ConnectRequest, containerd__task__v2__connect_request, req);
  Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
  struct skel_container *c = find (s, req->id);

  resp.shim_pid = (uint32_t) getpid ();
  resp.task_pid = c ? (uint32_t) c->pid : 0;
  resp.version = (char *) KC_VERSION;
  kc_ttrpc_call_reply (call, &resp.base);
  containerd__task__v2__connect_request__free_unpacked (req, NULL);
}

/* containerd calls Shutdown after the last Delete: the shim goes away once nothing is left. */
static void
task_shutdown (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  kc_ttrpc_call_reply (call, NULL);
  if (s->containers == NULL)
    kc_shim_request_exit (s->shim);
}

static void
task_unimplemented (struct skel *s, kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  kc_ttrpc_call_error (call, KC_UNIMPLEMENTED, "%s is not supported by the skeleton shim", kc_ttrpc_call_method (call));
}

static const struct
{
  const char *name;
  method_fn fn;
} methods[] = {
  { "Create", task_create },
  { "Start", task_start },
  { "Wait", task_wait },
  { "State", task_state },
  { "Kill", task_kill },
  { "Delete", task_delete },
  { "Connect", task_connect },
  { "Shutdown", task_shutdown },
  { "Pids", task_unimplemented },
  { "Pause", task_unimplemented },
  { "Resume", task_unimplemented },
  { "Checkpoint", task_unimplemented },
  { "Exec", task_unimplemented },
  { "ResizePty", task_unimplemented },
  { "CloseIO", task_unimplemented },
  { "Update", task_unimplemented },
  { "Stats", task_unimplemented },
};

static void
dispatch (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  struct skel *s = userdata;
  const char *method = kc_ttrpc_call_method (call);

  kc_log_debug ("task %s", method);
  for (size_t i = 0; i < sizeof (methods) / sizeof (methods[0]); i++)
    if (strcmp (methods[i].name, method) == 0)
      {
        methods[i].fn (s, call, payload, len);
        return;
      }
  task_unimplemented (s, call, payload, len);
}

int
skel_task_service_register (kc_ttrpc_server *server, struct kc_shim *shim, kc_error_t *err)
{
  struct skel *s = calloc (1, sizeof (*s));

  if (s == NULL)
    return kc_error (err, ENOMEM, "skeleton");
  s->shim = shim;
  kc_shim_set_data (shim, s);
  for (size_t i = 0; i < sizeof (methods) / sizeof (methods[0]); i++)
    if (kc_ttrpc_server_register (server, TASK_SERVICE, methods[i].name, dispatch, s, err) < 0)
      return kc_error_wrap (err, "register %s/%s", TASK_SERVICE, methods[i].name);
  return 0;
}

void
skel_task_service_destroy (struct kc_shim *shim)
{
  struct skel *s = kc_shim_data (shim);

  while (s != NULL && s->containers != NULL)
    {
      struct skel_container *c = s->containers;
      s->containers = c->next;
      skel_container_free (c);
    }
  free (s);
}
