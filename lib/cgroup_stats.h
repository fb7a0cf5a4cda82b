/* io.containerd.cgroups.v1.Metrics of a v1 cgroup (memory, OOM control, cpu, pids) read from the
   controllers' files, as containerd/cgroups' stats/v1 fills them: tasker Stats, sandboxer Metrics. */
#ifndef KC_CGROUP_STATS_H
#define KC_CGROUP_STATS_H

#include <stdint.h>

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

/* 1 when root ("/sys/fs/cgroup") is a v2 unified hierarchy. */
int kc_cgroup_root_is_v2 (const char *root);
/* Reads "<root>/<controller>/<rel>" of each v1 controller (v2: UNIMPLEMENTED). Missing controllers
   or files leave their fields out or zero; m is always safe to release. */
int kc_cgroup_metrics_read (const char *root, const char *rel, int v2, struct kc_cgroup_metrics *m, kc_error_t *err);
void kc_cgroup_metrics_release (struct kc_cgroup_metrics *m);

/* "user N\nsystem M\n" of cpuacct.stat, in USER_HZ ticks, to nanoseconds. */
uint64_t kc_cgroup_ticks_to_ns (uint64_t ticks, long hz);

#endif
