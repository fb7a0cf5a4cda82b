/* What the shim answers for a tasker that died: see task_lost.h. */
#include <string.h>
#include <time.h>

#include "log.h"
#include "task.pb-c.h"
#include "task_events.h"
#include "task_lost.h"

static void
now (Google__Protobuf__Timestamp *ts)
{
  struct timespec t;

  clock_gettime (CLOCK_REALTIME, &t);
  ts->seconds = t.tv_sec;
  ts->nanos = (int32_t) t.tv_nsec;
}

void
shim_task_lost_exit (struct shim *shim, struct shim_proc *p)
{
  Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

  if (p == NULL || !p->started || p->exited)
    return;
  now (&at);
  kc_log_warn ("tasker of sandbox %s is gone: %s/%s reported killed", shim->id, p->container_id, p->exec_id);
  shim_task_publish_exit (shim, p, SHIM_LOST_EXIT_STATUS, &at);
}

static void
answer_wait (struct shim *shim, kc_ttrpc_call *call, struct shim_proc *p)
{
  Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
  Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

  shim_task_lost_exit (shim, p);
  now (&at);
  resp.exit_status = SHIM_LOST_EXIT_STATUS;
  resp.exited_at = &at;
  kc_ttrpc_call_reply (call, &resp.base);
}

static void
answer_delete (struct shim *shim, kc_ttrpc_call *call, struct shim_proc *p, const char *id, const char *exec_id)
{
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

  now (&at);
  resp.pid = p->pid;
  resp.exit_status = SHIM_LOST_EXIT_STATUS;
  resp.exited_at = &at;
  kc_ttrpc_call_reply (call, &resp.base);
  shim_task_publish_delete (shim, id, exec_id, resp.pid, resp.exit_status, &at);
}

int
shim_task_lost_answer (struct shim *shim, kc_ttrpc_call *call, const char *method, const uint8_t *payload, size_t len)
{
  /* Wait, Delete, Kill and State requests all start with id = 1, exec_id = 2 (Kill: exec_id = 2). */
  Containerd__Task__V2__WaitRequest *req = containerd__task__v2__wait_request__unpack (NULL, len, payload);
  struct shim_proc *p;
  int ret = 0;

  if (req == NULL || method == NULL)
    {
      containerd__task__v2__wait_request__free_unpacked (req, NULL);
      return -1;
    }
  p = shim_procs_find (&shim->procs, req->id, req->exec_id);
  if (strcmp (method, "Wait") == 0 && p != NULL)
    answer_wait (shim, call, p);
  else if (strcmp (method, "Delete") == 0 && p != NULL)
    answer_delete (shim, call, p, req->id, req->exec_id);
  else if (strcmp (method, "Kill") == 0 || strcmp (method, "State") == 0 || strcmp (method, "Delete") == 0)
    kc_ttrpc_call_error (call, KC_NOT_FOUND, "%s `%s`: the sandbox's tasker is gone", method, req->id);
  else
    ret = -1;
  containerd__task__v2__wait_request__free_unpacked (req, NULL);
  return ret;
}
