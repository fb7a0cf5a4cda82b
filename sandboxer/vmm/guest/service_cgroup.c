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
#include "task_server.h"

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
  kc_task_fail (call, err, KC_LOG_INFO);
}

void
kc_vmm_service_stats (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  cleanup_error kc_error_t err = NULL;
  const Containerd__Task__V2__StatsRequest *req = msg;
  struct kc_cgroup_metrics m = { 0 };
  cleanup_free char *rel = NULL;
  int ret = -1;

  if (cgroup_container (userdata, req->id, &err) != NULL && (rel = kc_gcg_rel (req->id)) != NULL)
    ret = kc_cgroup_metrics_read (KC_GCG_ROOT, rel, 0, &m, &err);
  else if (err == NULL)
    kc_error (&err, ENOMEM, "stats");
  if (ret == 0)
    kc_task_reply_metrics (call, &m);
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
kc_vmm_service_pause (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Task__V2__PauseRequest *req = msg;

  pause_or_resume (call, userdata, req->id, 1);
}

void
kc_vmm_service_resume (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Task__V2__ResumeRequest *req = msg;

  pause_or_resume (call, userdata, req->id, 0);
}
