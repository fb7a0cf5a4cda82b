/* Task events derived from relayed Task calls: create, start/exec-started, exec-added, exit (from
   the shim's own Wait after each Start) and delete, in containerd's order. */
#ifndef SHIM_TASK_EVENTS_H
#define SHIM_TASK_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "shim.h"

/* Called after the tasker answered method OK; req/reply are the raw payloads. */
void shim_task_events_after (struct shim *shim, const char *method, const uint8_t *req, size_t req_len,
                             const uint8_t *reply, size_t reply_len);

#endif
