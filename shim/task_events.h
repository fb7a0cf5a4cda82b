/* Task events derived from relayed Task calls: create, start/exec-started, exec-added, exit (from
   the shim's own Wait after each Start) and delete, in containerd's order. */
#ifndef SHIM_TASK_EVENTS_H
#define SHIM_TASK_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "shim.h"
#include "gp_any.pb-c.h"

/* Called after the tasker answered method OK; req/reply are the raw payloads. */
void shim_task_events_after (struct shim *shim, const char *method, const uint8_t *req, size_t req_len,
                             const uint8_t *reply, size_t reply_len);

/* The exit event of p, once (nothing when p is NULL, not started or already exited). */
void shim_task_publish_exit (struct shim *shim, struct shim_proc *p, uint32_t status, Google__Protobuf__Timestamp *at);
/* The delete event of a process (exec_id "" = the container) and its exit first if still due. */
void shim_task_publish_delete (struct shim *shim, const char *container_id, const char *exec_id, uint32_t pid,
                               uint32_t status, Google__Protobuf__Timestamp *at);

#endif
