/* The Task methods served from the container's guest cgroup: Stats (io.containerd.cgroups.v1
   Metrics via lib/cgroup_stats), Pause and Resume (v1 freezer). */
#include <errno.h>
#include <stdlib.h>

#include "agent.h"
#include "cgroup_stats.h"
#include "cleanup.h"
#include "guest_cgroup.h"
#include "log.h"
#include "task.pb-c.h"

static struct kc_vcontainer *
cgroup_container (struct kc_agent *a, const char *id, kc_error_t *err)
{
  struct kc_vcontainer *c = kc_agent_find (a, id);

  if (c == NULL)
    kc_error_code (err, KC_NOT_FOUND, "container `%s` not found", id);
  else if (!c->has_cgroup)
    kc_error_code (err, KC_FAILED_PRECONDITION, "container `%s` has no cgroup in the guest", id);
  return c != NULL && c->has_cgroup ? c : NULL;
}

static void
fail (kc_ttrpc_call *call, kc_error_t *err)
{
  kc_log_info ("%s: %s (%s)", kc_ttrpc_call_method (call), (*err)->msg, kc_code_name ((*err)->code));
  kc_ttrpc_call_fail (call, err);
}

/* Packs m as the Any containerd decodes for a cgroup v1 task and replies with it. */
static void
reply_metrics (kc_ttrpc_call *call, struct kc_cgroup_metrics *m)
{
  Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  size_t len = io__containerd__cgroups__v1__metrics__get_packed_size (&m->metrics);
  cleanup_free uint8_t *buf = malloc (len + 1);

  if (buf == NULL)
    return kc_ttrpc_call_error (call, KC_RESOURCE_EXHAUSTED, "out of memory");
  any.type_url = (char *) KC_CGROUP_METRICS_TYPE_URL;
  any.value.len = io__containerd__cgroups__v1__metrics__pack (&m->metrics, buf);
  any.value.data = buf;
  resp.stats = &any;
  kc_ttrpc_call_reply (call, &resp.base);
}

void
kc_vmm_service_stats (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  cleanup_error kc_error_t err = NULL;
  Containerd__Task__V2__StatsRequest *req = containerd__task__v2__stats_request__unpack (NULL, len, payload);
  struct kc_cgroup_metrics m = { 0 };
  cleanup_free char *rel = NULL;
  int ret = -1;

  if (req == NULL)
    return kc_ttrpc_call_error (call, KC_INVALID_ARGUMENT, "cannot decode the request");
  if (cgroup_container (userdata, req->id, &err) != NULL && (rel = kc_gcg_rel (req->id)) != NULL)
    ret = kc_cgroup_metrics_read (KC_GCG_ROOT, rel, 0, &m, &err);
  else if (err == NULL)
    kc_error (&err, ENOMEM, "stats");
  containerd__task__v2__stats_request__free_unpacked (req, NULL);
  if (ret == 0)
    reply_metrics (call, &m);
  else
    fail (call, &err);
  kc_cgroup_metrics_release (&m);
}

static void
pause_or_resume (kc_ttrpc_call *call, struct kc_agent *a, const char *id, int pause)
{
  cleanup_error kc_error_t err = NULL;
  struct kc_vcontainer *c = cgroup_container (a, id, &err);

  if (c == NULL || kc_vcontainer_pause (c, pause, &err) < 0)
    return fail (call, &err);
  kc_log_info ("%s container %s", pause ? "paused" : "resumed", id);
  kc_ttrpc_call_reply (call, NULL);
}

void
kc_vmm_service_pause (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  Containerd__Task__V2__PauseRequest *req = containerd__task__v2__pause_request__unpack (NULL, len, payload);

  if (req == NULL)
    return kc_ttrpc_call_error (call, KC_INVALID_ARGUMENT, "cannot decode the request");
  pause_or_resume (call, userdata, req->id, 1);
  containerd__task__v2__pause_request__free_unpacked (req, NULL);
}

void
kc_vmm_service_resume (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  Containerd__Task__V2__ResumeRequest *req = containerd__task__v2__resume_request__unpack (NULL, len, payload);

  if (req == NULL)
    return kc_ttrpc_call_error (call, KC_INVALID_ARGUMENT, "cannot decode the request");
  pause_or_resume (call, userdata, req->id, 0);
  containerd__task__v2__resume_request__free_unpacked (req, NULL);
}
