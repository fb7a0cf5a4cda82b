/* Task events from relayed calls, in containerd's order: create → start → [oom →] exit → delete
   (exec-added → exec-started → exit for execs). The exit comes from the shim's own Wait issued
   after each successful Start, or from Delete's answer when that Wait has not returned yet. */
#include <stdlib.h>
#include <string.h>

#include "events.pb-c.h"
#include "log.h"
#include "task.pb-c.h"
#include "task_events.h"
#include "task_lost.h"
#include "task_oom.h"

#define TASKER_SERVICE "containerd.task.v2.Task"

struct own_wait
{
  struct shim *shim;
  char *container_id;
  char *exec_id;
  int retried;
};

static void own_wait_send (struct own_wait *w);

void
shim_task_publish_exit (struct shim *shim, struct shim_proc *p, uint32_t status, Google__Protobuf__Timestamp *at)
{
  Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;

  if (p == NULL || !p->started || p->exited)
    return;
  p->exited = 1;
  ev.container_id = p->container_id;
  ev.id = *p->exec_id ? p->exec_id : p->container_id;
  ev.pid = p->pid;
  ev.exit_status = status;
  ev.exited_at = at;
  kc_shim_publish (shim->lib, "/tasks/exit", "containerd.events.TaskExit", &ev.base);
}

/* A container (not exec) killed with SIGKILL may have been the OOM killer's: ask Stats first. */
static void
exit_or_oom_check (struct shim *shim, struct shim_proc *p, uint32_t status, Google__Protobuf__Timestamp *at)
{
  if (p != NULL && p->started && !p->exited && *p->exec_id == '\0' && status == SHIM_OOM_EXIT_STATUS
      && shim_oom_check (shim, p, status, at) == 0)
    return;
  shim_task_publish_exit (shim, p, status, at);
}

static void
own_wait_free (struct own_wait *w)
{
  free (w->container_id);
  free (w->exec_id);
  free (w);
}

static void
own_wait_retry_cb (evutil_socket_t fd, short what, void *arg)
{
  own_wait_send (arg);
}

static void
own_wait_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct own_wait *w = userdata;
  Containerd__Task__V2__WaitResponse *resp;

  if (code == KC_UNAVAILABLE && !w->retried && !kc_shim_exiting (w->shim->lib))
    {
      w->retried = 1;
      event_base_once (w->shim->base, -1, EV_TIMEOUT, own_wait_retry_cb, w, NULL);
      return;
    }
  if (code != KC_OK)
    {
      kc_log_debug ("wait %s/%s: %s", w->container_id, w->exec_id, message);
      if (code == KC_UNAVAILABLE && !kc_shim_exiting (w->shim->lib))
        shim_task_lost_exit (w->shim, shim_procs_find (&w->shim->procs, w->container_id, w->exec_id));
      own_wait_free (w);
      return;
    }
  resp = containerd__task__v2__wait_response__unpack (NULL, len, payload);
  if (resp != NULL)
    exit_or_oom_check (w->shim, shim_procs_find (&w->shim->procs, w->container_id, w->exec_id), resp->exit_status,
                       resp->exited_at);
  containerd__task__v2__wait_response__free_unpacked (resp, NULL);
  own_wait_free (w);
}

static void
own_wait_send (struct own_wait *w)
{
  Containerd__Task__V2__WaitRequest req = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
  kc_error_t err = NULL;
  kc_ttrpc_client *cl = shim_tasker (w->shim, &err);

  req.id = w->container_id;
  req.exec_id = w->exec_id;
  if (cl == NULL || kc_ttrpc_client_call (cl, TASKER_SERVICE, "Wait", &req.base, 0, own_wait_done, w, &err) < 0)
    {
      kc_log_warn ("cannot wait for %s/%s: %s", w->container_id, w->exec_id, err ? err->msg : "?");
      kc_error_free (&err);
      own_wait_free (w);
    }
}

static void
start_own_wait (struct shim *shim, const char *container_id, const char *exec_id)
{
  struct own_wait *w = calloc (1, sizeof (*w));

  if (w == NULL)
    return;
  w->shim = shim;
  w->container_id = strdup (container_id);
  w->exec_id = strdup (exec_id);
  if (w->container_id == NULL || w->exec_id == NULL)
    {
      own_wait_free (w);
      return;
    }
  own_wait_send (w);
}

static void
after_create (struct shim *shim, const uint8_t *req_data, size_t req_len, const uint8_t *reply, size_t reply_len)
{
  Containerd__Task__V2__CreateTaskRequest *req
      = containerd__task__v2__create_task_request__unpack (NULL, req_len, req_data);
  Containerd__Task__V2__CreateTaskResponse *resp
      = containerd__task__v2__create_task_response__unpack (NULL, reply_len, reply);
  Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
  Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
  struct shim_proc *p;

  if (req != NULL && resp != NULL)
    {
      p = shim_procs_add (&shim->procs, req->id, "");
      if (p != NULL)
        {
          p->pid = resp->pid;
          p->started = p->exited = 0;
        }
      io.stdin = req->stdin;
      io.stdout = req->stdout;
      io.stderr = req->stderr;
      io.terminal = req->terminal;
      ev.container_id = req->id;
      ev.bundle = req->bundle;
      ev.n_rootfs = req->n_rootfs;
      ev.rootfs = req->rootfs;
      ev.io = &io;
      ev.checkpoint = req->checkpoint;
      ev.pid = resp->pid;
      kc_shim_publish (shim->lib, "/tasks/create", "containerd.events.TaskCreate", &ev.base);
    }
  containerd__task__v2__create_task_request__free_unpacked (req, NULL);
  containerd__task__v2__create_task_response__free_unpacked (resp, NULL);
}

static void
after_start (struct shim *shim, const uint8_t *req_data, size_t req_len, const uint8_t *reply, size_t reply_len)
{
  Containerd__Task__V2__StartRequest *req = containerd__task__v2__start_request__unpack (NULL, req_len, req_data);
  Containerd__Task__V2__StartResponse *resp = containerd__task__v2__start_response__unpack (NULL, reply_len, reply);
  struct shim_proc *p;

  if (req != NULL && resp != NULL && (p = shim_procs_add (&shim->procs, req->id, req->exec_id)) != NULL)
    {
      p->pid = resp->pid;
      p->started = 1;
      p->exited = 0;
      if (*req->exec_id)
        {
          Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
          ev.container_id = req->id;
          ev.exec_id = req->exec_id;
          ev.pid = resp->pid;
          kc_shim_publish (shim->lib, "/tasks/exec-started", "containerd.events.TaskExecStarted", &ev.base);
        }
      else
        {
          Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
          ev.container_id = req->id;
          ev.pid = resp->pid;
          kc_shim_publish (shim->lib, "/tasks/start", "containerd.events.TaskStart", &ev.base);
        }
      start_own_wait (shim, req->id, req->exec_id);
    }
  containerd__task__v2__start_request__free_unpacked (req, NULL);
  containerd__task__v2__start_response__free_unpacked (resp, NULL);
}

static void
after_exec (struct shim *shim, const uint8_t *req_data, size_t req_len)
{
  Containerd__Task__V2__ExecProcessRequest *req
      = containerd__task__v2__exec_process_request__unpack (NULL, req_len, req_data);
  Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;

  if (req != NULL)
    {
      shim_procs_add (&shim->procs, req->id, req->exec_id);
      ev.container_id = req->id;
      ev.exec_id = req->exec_id;
      kc_shim_publish (shim->lib, "/tasks/exec-added", "containerd.events.TaskExecAdded", &ev.base);
    }
  containerd__task__v2__exec_process_request__free_unpacked (req, NULL);
}

void
shim_task_publish_delete (struct shim *shim, const char *container_id, const char *exec_id, uint32_t pid,
                          uint32_t status, Google__Protobuf__Timestamp *at)
{
  Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;

  /* Our own Wait may not have returned yet: the exit still goes first. */
  shim_task_publish_exit (shim, shim_procs_find (&shim->procs, container_id, exec_id), status, at);
  ev.container_id = (char *) container_id;
  ev.pid = pid;
  ev.exit_status = status;
  ev.exited_at = at;
  ev.id = (char *) exec_id;
  kc_shim_publish (shim->lib, "/tasks/delete", "containerd.events.TaskDelete", &ev.base);
  shim_procs_remove (&shim->procs, container_id, exec_id);
}

static void
after_delete (struct shim *shim, const uint8_t *req_data, size_t req_len, const uint8_t *reply, size_t reply_len)
{
  Containerd__Task__V2__DeleteRequest *req = containerd__task__v2__delete_request__unpack (NULL, req_len, req_data);
  Containerd__Task__V2__DeleteResponse *resp = containerd__task__v2__delete_response__unpack (NULL, reply_len, reply);
  struct shim_proc *p;

  if (req != NULL && resp != NULL)
    {
      p = shim_procs_find (&shim->procs, req->id, req->exec_id);
      if (p != NULL && p->oom_checking)
        shim_oom_hold_delete (p, resp->pid);
      else
        shim_task_publish_delete (shim, req->id, req->exec_id, resp->pid, resp->exit_status, resp->exited_at);
    }
  containerd__task__v2__delete_request__free_unpacked (req, NULL);
  containerd__task__v2__delete_response__free_unpacked (resp, NULL);
}

void
shim_task_events_after (struct shim *shim, const char *method, const uint8_t *req, size_t req_len, const uint8_t *reply,
                        size_t reply_len)
{
  if (strcmp (method, "Create") == 0)
    after_create (shim, req, req_len, reply, reply_len);
  else if (strcmp (method, "Start") == 0)
    after_start (shim, req, req_len, reply, reply_len);
  else if (strcmp (method, "Exec") == 0)
    after_exec (shim, req, req_len);
  else if (strcmp (method, "Delete") == 0)
    after_delete (shim, req, req_len, reply, reply_len);
}
