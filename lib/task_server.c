/* The Task API server parts both the wasm tasker and vmm-task use (task_server.h): dispatch of
   decoded requests under v2 and v3, Wait queues, exit statuses and Stats answers. */
#include "task_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd_task_types.pb-c.h"
#include "log.h"

struct kc_task_waiter
{
  kc_ttrpc_call *call;
  struct kc_task_waiter *next;
};

static const struct kc_task_method *
method_of (const struct kc_task_server *ts, const char *name)
{
  for (size_t i = 0; i < ts->n_methods; i++)
    if (strcmp (ts->methods[i].name, name) == 0)
      return &ts->methods[i];
  return NULL;
}

static void
dispatch (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  struct kc_task_server *ts = userdata;
  const struct kc_task_method *m = method_of (ts, kc_ttrpc_call_method (call));
  ProtobufCMessage *req;

  if (m == NULL)
    return kc_ttrpc_call_error (call, KC_INTERNAL, "%s has no handler", kc_ttrpc_call_method (call));
  if (m->desc == NULL)
    return m->fn (call, NULL, ts->userdata);
  req = protobuf_c_message_unpack (m->desc, NULL, len, payload);
  if (req == NULL)
    return kc_ttrpc_call_error (call, KC_INVALID_ARGUMENT, "cannot decode %s", m->desc->short_name);
  m->fn (call, req, ts->userdata);
  protobuf_c_message_free_unpacked (req, NULL);
}

int
kc_task_server_register_service (kc_ttrpc_server *srv, const char *service, struct kc_task_server *ts, kc_error_t *err)
{
  for (size_t i = 0; i < ts->n_methods; i++)
    if (kc_ttrpc_server_register (srv, service, ts->methods[i].name, dispatch, ts, err) < 0)
      return kc_error_wrap (err, "register %s/%s", service, ts->methods[i].name);
  return 0;
}

int
kc_task_server_register (kc_ttrpc_server *srv, struct kc_task_server *ts, kc_error_t *err)
{
  static const char *const services[] = { "containerd.task.v2.Task", "containerd.task.v3.Task" };

  for (size_t s = 0; s < 2; s++)
    if (kc_task_server_register_service (srv, services[s], ts, err) < 0)
      return -1;
  return 0;
}

void
kc_task_fail (kc_ttrpc_call *call, kc_error_t *err, int level)
{
  kc_log (level, "%s: %s (%s)", kc_ttrpc_call_method (call), (*err)->msg, kc_code_name ((*err)->code));
  kc_ttrpc_call_fail (call, err);
  kc_error_free (err);
}

int
kc_task_id_check (const char *what, const char *id, kc_error_t *err)
{
  if (id == NULL || *id == '\0' || strcmp (id, ".") == 0 || strcmp (id, "..") == 0 || strchr (id, '/') != NULL
      || strlen (id) > 128)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "invalid %s `%s`", what, id != NULL ? id : "");
  return 0;
}

uint32_t
kc_task_exit_status (int wstatus)
{
  if (WIFEXITED (wstatus))
    return (uint32_t) WEXITSTATUS (wstatus);
  if (WIFSIGNALED (wstatus))
    return 128u + (uint32_t) WTERMSIG (wstatus);
  return 255;
}

int
kc_task_start_release (int *start_fd, kc_error_t *err)
{
  ssize_t n;
  int saved;

  if (*start_fd < 0)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "process already started");
  do
    n = write (*start_fd, "s", 1);
  while (n < 0 && errno == EINTR);
  saved = n < 0 ? errno : EIO;
  close (*start_fd);
  *start_fd = -1;
  if (n != 1)
    return kc_error (err, saved, "start process");
  return 0;
}

Google__Protobuf__Timestamp *
kc_task_exited_at (int status, const struct timespec *at, Google__Protobuf__Timestamp *ts)
{
  if (status != CONTAINERD__V1__TYPES__STATUS__STOPPED)
    return NULL;
  ts->seconds = at->tv_sec;
  ts->nanos = (int32_t) at->tv_nsec;
  return ts;
}

int
kc_task_wait_add (void **waiters, kc_ttrpc_call *call)
{
  struct kc_task_waiter *w = calloc (1, sizeof (*w));

  if (w == NULL)
    {
      kc_ttrpc_call_error (call, KC_RESOURCE_EXHAUSTED, "out of memory");
      return -1;
    }
  w->call = call;
  w->next = *waiters;
  *waiters = w;
  return 0;
}

void
kc_task_wait_answer (void **waiters, int status, uint32_t exit_status, const struct timespec *exited_at)
{
  struct kc_task_waiter *w = *waiters;

  *waiters = NULL;
  while (w != NULL)
    {
      struct kc_task_waiter *next = w->next;
      Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
      Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
      resp.exit_status = exit_status;
      resp.exited_at = kc_task_exited_at (status, exited_at, &ts);
      kc_ttrpc_call_reply (w->call, &resp.base);
      free (w);
      w = next;
    }
}

void
kc_task_reply_metrics (kc_ttrpc_call *call, struct kc_cgroup_metrics *m)
{
  Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  size_t len;
  cleanup_free uint8_t *buf = kc_cgroup_metrics_pack (m, &len);

  if (buf == NULL)
    return kc_ttrpc_call_error (call, KC_RESOURCE_EXHAUSTED, "out of memory");
  any.type_url = (char *) kc_cgroup_metrics_type_url (m);
  any.value.len = len;
  any.value.data = buf;
  resp.stats = &any;
  kc_ttrpc_call_reply (call, &resp.base);
}
