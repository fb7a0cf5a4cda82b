/* OOM kills: a container whose init exits with 137 is asked for its Stats; when its cgroup's
   memory_oom_control.oom_kill says the OOM killer struck, /tasks/oom is published before
   /tasks/exit (containerd's CRI then reports reason OOMKilled). */
#ifndef SHIM_TASK_OOM_H
#define SHIM_TASK_OOM_H

#include <stdint.h>

#include "gp_any.pb-c.h"
#include "shim.h"

#define SHIM_OOM_EXIT_STATUS 137

/* Holds p's exit event and asks the tasker's Stats; the events follow its answer (or its
   failure). -1 when no check could be started: publish the exit at once then. */
int shim_oom_check (struct shim *shim, struct shim_proc *p, uint32_t status, Google__Protobuf__Timestamp *at);
/* Delete answered while p's check is in flight: its event is published after the exit. */
void shim_oom_hold_delete (struct shim_proc *p, uint32_t pid);
/* 1 when the packed io.containerd.cgroups.v1.Metrics (memory_oom_control.oom_kill) or v2.Metrics
   (memory_events.oom_kill) in a StatsResponse counts an OOM kill. */
int shim_oom_stats_say_killed (const uint8_t *reply, size_t len);

#endif
