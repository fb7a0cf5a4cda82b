/* Sandbox-level resources: the pod cgroup's usage for Controller.Metrics, and the backend's
   reclaim of what a dead tasker left behind. */
#include "sandboxer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"

char *
kc_pod_cgroup_rel (const char *dflt_parent, const struct kc_sandbox_record *rec)
{
  const char *parent = rec->cgroup_parent != NULL && rec->cgroup_parent[0] != '\0' ? rec->cgroup_parent : dflt_parent;
  char *rel = NULL;

  return asprintf (&rel, "%s/%s", parent, rec->id) < 0 ? NULL : rel;
}

int
kc_sandbox_metrics (struct kc_sandbox *sb, struct kc_cgroup_metrics *m, kc_error_t *err)
{
  const struct kc_backend *b = sb->owner->backend;
  cleanup_free char *rel = NULL;

  memset (m, 0, sizeof (*m));
  if (b->cgroup_parent == NULL)
    return kc_error_code (err, KC_UNIMPLEMENTED, "Metrics: the %s backend has no pod cgroup", b->name);
  if (!kc_sandbox_is_ready (sb))
    return kc_error_code (err, KC_FAILED_PRECONDITION, "sandbox `%s` is not running", sb->rec.id);
  if ((rel = kc_pod_cgroup_rel (b->cgroup_parent, &sb->rec)) == NULL)
    return kc_error (err, ENOMEM, "Metrics");
  return kc_cgroup_metrics_read (KC_CGROUP_ROOT, rel, kc_cgroup_root_is_v2 (KC_CGROUP_ROOT), m, err);
}

void
kc_sandbox_reclaim (struct kc_sandbox *sb)
{
  struct kc_sandboxer *sbx = sb->owner;

  if (sbx->backend->reclaim != NULL)
    sbx->backend->reclaim (&sbx->ctx, &sb->rec, sb->dir);
}
