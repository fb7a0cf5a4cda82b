/* OOM kills told by the tasker's Task.Stats (io.containerd.cgroups.v1.Metrics
   memory_oom_control.oom_kill, or v2.Metrics memory_events.oom_kill): checked when a container's
   init exits with 137, before its exit event goes out. */
#include <stdlib.h>
#include <string.h>

#include "cgroups_metrics.pb-c.h"
#include "cgroups_v2_metrics.pb-c.h"
#include "events.pb-c.h"
#include "log.h"
#include "task.pb-c.h"
#include "task_events.h"
#include "task_oom.h"

#define TASKER_SERVICE       "containerd.task.v2.Task"
#define METRICS_V1_TYPE      "io.containerd.cgroups.v1.Metrics"
#define METRICS_V2_TYPE      "io.containerd.cgroups.v2.Metrics"
#define OOM_STATS_TIMEOUT_NS (2LL * 1000000000LL)

struct oom_check
{
  struct shim *shim;
  char *container_id;
};

/* The Metrics version named by type_url (with or without a type.googleapis.com/ prefix), 0 if none. */
static int
metrics_version (const char *type_url)
{
  const char *slash = type_url ? strrchr (type_url, '/') : NULL;
  const char *name = slash ? slash + 1 : type_url;

  if (name == NULL)
    return 0;
  return strcmp (name, METRICS_V1_TYPE) == 0 ? 1 : strcmp (name, METRICS_V2_TYPE) == 0 ? 2 : 0;
}

static int
v1_says_killed (const ProtobufCBinaryData *value)
{
  Io__Containerd__Cgroups__V1__Metrics *m
      = io__containerd__cgroups__v1__metrics__unpack (NULL, value->len, value->data);
  int killed = m != NULL && m->memory_oom_control != NULL && m->memory_oom_control->oom_kill > 0;

  io__containerd__cgroups__v1__metrics__free_unpacked (m, NULL);
  return killed;
}

static int
v2_says_killed (const ProtobufCBinaryData *value)
{
  Io__Containerd__Cgroups__V2__Metrics *m
      = io__containerd__cgroups__v2__metrics__unpack (NULL, value->len, value->data);
  int killed = m != NULL && m->memory_events != NULL && m->memory_events->oom_kill > 0;

  io__containerd__cgroups__v2__metrics__free_unpacked (m, NULL);
  return killed;
}

int
shim_oom_stats_say_killed (const uint8_t *reply, size_t len)
{
  Containerd__Task__V2__StatsResponse *resp = containerd__task__v2__stats_response__unpack (NULL, len, reply);
  int killed = 0;

  if (resp != NULL && resp->stats != NULL)
    switch (metrics_version (resp->stats->type_url))
      {
      case 1:
        killed = v1_says_killed (&resp->stats->value);
        break;
      case 2:
        killed = v2_says_killed (&resp->stats->value);
        break;
      }
  containerd__task__v2__stats_response__free_unpacked (resp, NULL);
  return killed;
}

static void
publish_oom (struct shim *shim, const char *container_id)
{
  Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;

  ev.container_id = (char *) container_id;
  kc_log_info ("container %s was OOM killed", container_id);
  kc_shim_publish (shim->lib, "/tasks/oom", "containerd.events.TaskOOM", &ev.base);
}

/* The held events, in order: exit, then the delete answered meanwhile (if any). */
static void
release (struct shim *shim, struct shim_proc *p)
{
  Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  char *id;

  p->oom_checking = 0;
  at.seconds = p->exited_sec;
  at.nanos = p->exited_nsec;
  shim_task_publish_exit (shim, p, p->exit_status, &at);
  if (!p->delete_pending)
    return;
  id = strdup (p->container_id);
  if (id != NULL)
    shim_task_publish_delete (shim, id, "", p->delete_pid, p->exit_status, &at);
  free (id);
}

static void
stats_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct oom_check *c = userdata;
  struct shim_proc *p = shim_procs_find (&c->shim->procs, c->container_id, "");

  if (code != KC_OK)
    kc_log_debug ("stats of %s after its exit: %s", c->container_id, message);
  else if (shim_oom_stats_say_killed (payload, len))
    publish_oom (c->shim, c->container_id);
  if (p != NULL && p->oom_checking)
    release (c->shim, p);
  free (c->container_id);
  free (c);
}

int
shim_oom_check (struct shim *shim, struct shim_proc *p, uint32_t status, Google__Protobuf__Timestamp *at)
{
  Containerd__Task__V2__StatsRequest req = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
  kc_error_t err = NULL;
  kc_ttrpc_client *cl = shim_tasker (shim, &err);
  struct oom_check *c = calloc (1, sizeof (*c));

  if (cl == NULL || c == NULL || (c->container_id = strdup (p->container_id)) == NULL)
    goto fail;
  c->shim = shim;
  req.id = p->container_id;
  if (kc_ttrpc_client_call (cl, TASKER_SERVICE, "Stats", &req.base, OOM_STATS_TIMEOUT_NS, stats_done, c, &err) < 0)
    goto fail;
  p->oom_checking = 1;
  p->exit_status = status;
  p->exited_sec = at ? at->seconds : 0;
  p->exited_nsec = at ? at->nanos : 0;
  p->delete_pending = 0;
  return 0;
fail:
  kc_log_debug ("no OOM check for %s: %s", p->container_id, err ? err->msg : "out of memory");
  kc_error_free (&err);
  if (c)
    free (c->container_id);
  free (c);
  return -1;
}

void
shim_oom_hold_delete (struct shim_proc *p, uint32_t pid)
{
  p->delete_pending = 1;
  p->delete_pid = pid;
}
