/* io.containerd.cgroups.v1.Metrics of a v1 cgroup or io.containerd.cgroups.v2.Metrics of a v2 one,
   read from the controllers' files as containerd/cgroups fills them: tasker Stats, sandboxer Metrics. */
#ifndef KC_CGROUP_STATS_H
#define KC_CGROUP_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "cgroups_metrics.pb-c.h"
#include "cgroups_v2_metrics.pb-c.h"
#include "error.h"

#define KC_CGROUP_METRICS_TYPE_URL  "io.containerd.cgroups.v1.Metrics"
#define KC_CGROUP2_METRICS_TYPE_URL "io.containerd.cgroups.v2.Metrics"

/* Every message of a Metrics, held in place: after a read, `metrics` (v1) or `v2.metrics` (when
   `unified`) points at the others. */
struct kc_cgroup_metrics
{
  int unified; /* the v2 message was read */
  Io__Containerd__Cgroups__V1__Metrics metrics;
  Io__Containerd__Cgroups__V1__PidsStat pids;
  Io__Containerd__Cgroups__V1__CPUStat cpu;
  Io__Containerd__Cgroups__V1__CPUUsage cpu_usage;
  Io__Containerd__Cgroups__V1__Throttle throttling;
  Io__Containerd__Cgroups__V1__MemoryStat memory;
  Io__Containerd__Cgroups__V1__MemoryEntry mem_usage, mem_swap, mem_kernel;
  Io__Containerd__Cgroups__V1__MemoryOomControl oom;
  uint64_t *per_cpu; /* owned */
  struct
  {
    Io__Containerd__Cgroups__V2__Metrics metrics;
    Io__Containerd__Cgroups__V2__PidsStat pids;
    Io__Containerd__Cgroups__V2__CPUStat cpu;
    Io__Containerd__Cgroups__V2__MemoryStat memory;
    Io__Containerd__Cgroups__V2__MemoryEvents memory_events;
  } v2;
};

/* 1 when root ("/sys/fs/cgroup", or any directory in a cgroup2 mount) is in a v2 unified
   hierarchy: a cgroup2 file system, or (fake trees of the tests) it has cgroup.controllers. */
int kc_cgroup_root_is_v2 (const char *root);
/* v1: reads "<root>/<controller>/<rel>" of each v1 controller; missing controllers or files leave
   their messages out. v2: reads "<root>/<rel>" as containerd's cgroup2 manager does (pids, cpu and
   memory always present, a missing file gives 0, "max" gives UINT64_MAX; memory_events only when
   memory.events exists). m is always safe to release. */
int kc_cgroup_metrics_read (const char *root, const char *rel, int v2, struct kc_cgroup_metrics *m, kc_error_t *err);
void kc_cgroup_metrics_release (struct kc_cgroup_metrics *m);

/* The Any type URL of what was read (containerd's: no type.googleapis.com/ prefix). */
const char *kc_cgroup_metrics_type_url (const struct kc_cgroup_metrics *m);
/* The packed message (v1 or v2, as read), malloc'ed, its size in *len; NULL when out of memory. */
uint8_t *kc_cgroup_metrics_pack (const struct kc_cgroup_metrics *m, size_t *len);

/* "user N\nsystem M\n" of cpuacct.stat, in USER_HZ ticks, to nanoseconds. */
uint64_t kc_cgroup_ticks_to_ns (uint64_t ticks, long hz);

#endif
