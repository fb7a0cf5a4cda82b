/* Task.Stats of a v1 container cgroup: io.containerd.cgroups.v1.Metrics (memory, OOM control, cpu,
   pids) read from the controllers' files, as containerd/cgroups' stats/v1 fills them. */
#ifndef KC_TASKER_CGROUP_STATS_H
#define KC_TASKER_CGROUP_STATS_H

#include "cgroup.h"
#include "cgroups_metrics.pb-c.h"
#include "error.h"

#define KC_CGROUP_METRICS_TYPE_URL "io.containerd.cgroups.v1.Metrics"

/* Every message of a Metrics, held in place; metrics points at the others after a read. */
struct kc_cgroup_metrics
{
  Io__Containerd__Cgroups__V1__Metrics metrics;
  Io__Containerd__Cgroups__V1__PidsStat pids;
  Io__Containerd__Cgroups__V1__CPUStat cpu;
  Io__Containerd__Cgroups__V1__CPUUsage cpu_usage;
  Io__Containerd__Cgroups__V1__Throttle throttling;
  Io__Containerd__Cgroups__V1__MemoryStat memory;
  Io__Containerd__Cgroups__V1__MemoryEntry mem_usage, mem_swap, mem_kernel;
  Io__Containerd__Cgroups__V1__MemoryOomControl oom;
  uint64_t *per_cpu; /* owned */
};

/* Reads cg (v1 only: UNIMPLEMENTED on v2). Missing controllers or files leave their fields out or
   zero; m is always safe to release. */
int kc_cgroup_metrics_read (const struct kc_cgroup *cg, struct kc_cgroup_metrics *m, kc_error_t *err);
void kc_cgroup_metrics_release (struct kc_cgroup_metrics *m);

/* "user N\nsystem M\n" of cpuacct.stat, in USER_HZ ticks, to nanoseconds. */
uint64_t kc_cgroup_ticks_to_ns (uint64_t ticks, long hz);

#endif
