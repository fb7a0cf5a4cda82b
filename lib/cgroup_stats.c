/* The Metrics of a container's or a pod's cgroup: io.containerd.cgroups.v1.Metrics on v1 (memory,
   memory_oom_control, cpu from cpuacct + cpu.stat throttling, pids), io.containerd.cgroups.v2.Metrics
   on v2 (pids, cpu.stat, memory files, memory.events). */
#include "cgroup_stats.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"

/* "<root>/<controller>/<rel>", malloc'ed (NULL when out of memory). */
static char *
ctl_dir (const char *root, const char *controller, const char *rel)
{
  char *p = NULL;

  return asprintf (&p, "%s/%s/%s", root, controller, rel) < 0 ? NULL : p;
}

/* The whole of <dir>/<file> (small cgroup files), NUL-terminated; NULL when absent. */
static char *
slurp (const char *dir, const char *file)
{
  cleanup_free char *path = NULL;
  cleanup_file FILE *f = NULL;
  char *buf;
  size_t n;

  if (dir == NULL || asprintf (&path, "%s/%s", dir, file) < 0)
    return NULL;
  f = fopen (path, "re");
  if (f == NULL || (buf = malloc (16384)) == NULL)
    return NULL;
  n = fread (buf, 1, 16383, f);
  buf[n] = '\0';
  return buf;
}

/* A single number file; "max" (pids.max) and absent files give 0, *found tells them apart. */
static uint64_t
read_u64 (const char *dir, const char *file, int *found)
{
  cleanup_free char *text = slurp (dir, file);

  if (found != NULL)
    *found = text != NULL;
  return text != NULL ? strtoull (text, NULL, 10) : 0;
}

/* The value of "key N" lines (memory.stat, memory.oom_control, cpu.stat, cpuacct.stat). */
static uint64_t
keyed (const char *text, const char *key)
{
  size_t klen = strlen (key);
  const char *line = text;

  while (line != NULL && *line != '\0')
    {
      if (strncmp (line, key, klen) == 0 && line[klen] == ' ')
        return strtoull (line + klen + 1, NULL, 10);
      line = strchr (line, '\n');
      if (line != NULL)
        line++;
    }
  return 0;
}

uint64_t
kc_cgroup_ticks_to_ns (uint64_t ticks, long hz)
{
  if (hz <= 0)
    hz = 100;
  return ticks * (1000000000ull / (uint64_t) hz);
}

static int
read_entry (const char *dir, const char *prefix, Io__Containerd__Cgroups__V1__MemoryEntry *e)
{
  char file[96];
  int found;

  io__containerd__cgroups__v1__memory_entry__init (e);
  snprintf (file, sizeof (file), "%s.usage_in_bytes", prefix);
  e->usage = read_u64 (dir, file, &found);
  snprintf (file, sizeof (file), "%s.limit_in_bytes", prefix);
  e->limit = read_u64 (dir, file, NULL);
  snprintf (file, sizeof (file), "%s.max_usage_in_bytes", prefix);
  e->max = read_u64 (dir, file, NULL);
  snprintf (file, sizeof (file), "%s.failcnt", prefix);
  e->failcnt = read_u64 (dir, file, NULL);
  return found;
}

static void
read_memory_stat (const char *dir, Io__Containerd__Cgroups__V1__MemoryStat *s)
{
  cleanup_free char *t = slurp (dir, "memory.stat");

  if (t == NULL)
    return;
  s->cache = keyed (t, "cache");
  s->rss = keyed (t, "rss");
  s->mapped_file = keyed (t, "mapped_file");
  s->pg_fault = keyed (t, "pgfault");
  s->pg_maj_fault = keyed (t, "pgmajfault");
  s->inactive_anon = keyed (t, "inactive_anon");
  s->active_anon = keyed (t, "active_anon");
  s->inactive_file = keyed (t, "inactive_file");
  s->active_file = keyed (t, "active_file");
  s->unevictable = keyed (t, "unevictable");
  s->total_cache = keyed (t, "total_cache");
  s->total_rss = keyed (t, "total_rss");
  s->total_inactive_file = keyed (t, "total_inactive_file");
}

static void
read_memory (const char *root, const char *rel, struct kc_cgroup_metrics *m)
{
  cleanup_free char *dir = ctl_dir (root, "memory", rel);
  cleanup_free char *oom = slurp (dir, "memory.oom_control");

  if (!read_entry (dir, "memory", &m->mem_usage))
    return;
  read_memory_stat (dir, &m->memory);
  m->memory.usage = &m->mem_usage;
  if (read_entry (dir, "memory.memsw", &m->mem_swap))
    m->memory.swap = &m->mem_swap;
  if (read_entry (dir, "memory.kmem", &m->mem_kernel))
    m->memory.kernel = &m->mem_kernel;
  m->metrics.memory = &m->memory;
  if (oom == NULL)
    return;
  m->oom.oom_kill_disable = keyed (oom, "oom_kill_disable");
  m->oom.under_oom = keyed (oom, "under_oom");
  m->oom.oom_kill = keyed (oom, "oom_kill");
  m->metrics.memory_oom_control = &m->oom;
}

/* cpuacct.usage_percpu: space separated nanoseconds. */
static void
read_per_cpu (const char *dir, struct kc_cgroup_metrics *m)
{
  cleanup_free char *t = slurp (dir, "cpuacct.usage_percpu");
  size_t n = 0, cap = 0;
  char *end;

  for (char *s = t; s != NULL;)
    {
      uint64_t v = strtoull (s, &end, 10);
      if (end == s)
        break;
      if (n == cap)
        {
          uint64_t *p = realloc (m->per_cpu, (cap = cap ? cap * 2 : 8) * sizeof (uint64_t));
          if (p == NULL)
            break;
          m->per_cpu = p;
        }
      m->per_cpu[n++] = v;
      s = end;
    }
  m->cpu_usage.per_cpu = m->per_cpu;
  m->cpu_usage.n_per_cpu = m->per_cpu != NULL ? n : 0;
}

static void
read_cpu (const char *root, const char *rel, struct kc_cgroup_metrics *m)
{
  cleanup_free char *acct = ctl_dir (root, "cpuacct", rel);
  cleanup_free char *cpu = ctl_dir (root, "cpu", rel);
  cleanup_free char *stat = slurp (cpu, "cpu.stat");
  int found, found_user, found_sys;

  m->cpu_usage.total = read_u64 (acct, "cpuacct.usage", &found);
  if (found)
    {
      m->cpu_usage.user = read_u64 (acct, "cpuacct.usage_user", &found_user);
      m->cpu_usage.kernel = read_u64 (acct, "cpuacct.usage_sys", &found_sys);
      if (!found_user || !found_sys)
        {
          cleanup_free char *ticks = slurp (acct, "cpuacct.stat");
          long hz = sysconf (_SC_CLK_TCK);
          m->cpu_usage.user = ticks ? kc_cgroup_ticks_to_ns (keyed (ticks, "user"), hz) : 0;
          m->cpu_usage.kernel = ticks ? kc_cgroup_ticks_to_ns (keyed (ticks, "system"), hz) : 0;
        }
      read_per_cpu (acct, m);
      m->cpu.usage = &m->cpu_usage;
    }
  if (stat != NULL)
    {
      m->throttling.periods = keyed (stat, "nr_periods");
      m->throttling.throttled_periods = keyed (stat, "nr_throttled");
      m->throttling.throttled_time = keyed (stat, "throttled_time");
      m->cpu.throttling = &m->throttling;
    }
  if (m->cpu.usage != NULL || m->cpu.throttling != NULL)
    m->metrics.cpu = &m->cpu;
}

static void
read_pids (const char *root, const char *rel, struct kc_cgroup_metrics *m)
{
  cleanup_free char *dir = ctl_dir (root, "pids", rel);
  int found;

  m->pids.current = read_u64 (dir, "pids.current", &found);
  if (!found)
    return;
  m->pids.limit = read_u64 (dir, "pids.max", NULL); /* "max" → 0, as containerd */
  m->metrics.pids = &m->pids;
}

static void
metrics_init (struct kc_cgroup_metrics *m)
{
  memset (m, 0, sizeof (*m));
  io__containerd__cgroups__v1__metrics__init (&m->metrics);
  io__containerd__cgroups__v1__pids_stat__init (&m->pids);
  io__containerd__cgroups__v1__cpustat__init (&m->cpu);
  io__containerd__cgroups__v1__cpuusage__init (&m->cpu_usage);
  io__containerd__cgroups__v1__throttle__init (&m->throttling);
  io__containerd__cgroups__v1__memory_stat__init (&m->memory);
  io__containerd__cgroups__v1__memory_entry__init (&m->mem_usage);
  io__containerd__cgroups__v1__memory_entry__init (&m->mem_swap);
  io__containerd__cgroups__v1__memory_entry__init (&m->mem_kernel);
  io__containerd__cgroups__v1__memory_oom_control__init (&m->oom);
  io__containerd__cgroups__v2__metrics__init (&m->v2.metrics);
  io__containerd__cgroups__v2__pids_stat__init (&m->v2.pids);
  io__containerd__cgroups__v2__cpustat__init (&m->v2.cpu);
  io__containerd__cgroups__v2__memory_stat__init (&m->v2.memory);
  io__containerd__cgroups__v2__memory_events__init (&m->v2.memory_events);
}

/* v2 single-value files as containerd's getStatFileContentUint64: "max" is UINT64_MAX, an absent
   or unparsable file 0. */
static uint64_t
read_v2_value (const char *dir, const char *file)
{
  cleanup_free char *text = slurp (dir, file);

  if (text == NULL)
    return 0;
  if (strncmp (text, "max", 3) == 0 && (text[3] == '\n' || text[3] == '\0'))
    return UINT64_MAX;
  return strtoull (text, NULL, 10);
}

#define MEMSTAT(key) #key, offsetof(Io__Containerd__Cgroups__V2__MemoryStat, key)
/* memory.stat keys and their MemoryStat fields (the field names are the kernel's keys). */
static const struct
{
  const char *key;
  size_t offset;
} v2_memory_stat_keys[] = {
  { MEMSTAT (anon) },
  { MEMSTAT (file) },
  { MEMSTAT (kernel_stack) },
  { MEMSTAT (slab) },
  { MEMSTAT (sock) },
  { MEMSTAT (shmem) },
  { MEMSTAT (file_mapped) },
  { MEMSTAT (file_dirty) },
  { MEMSTAT (file_writeback) },
  { MEMSTAT (anon_thp) },
  { MEMSTAT (inactive_anon) },
  { MEMSTAT (active_anon) },
  { MEMSTAT (inactive_file) },
  { MEMSTAT (active_file) },
  { MEMSTAT (unevictable) },
  { MEMSTAT (slab_reclaimable) },
  { MEMSTAT (slab_unreclaimable) },
  { MEMSTAT (pgfault) },
  { MEMSTAT (pgmajfault) },
  { MEMSTAT (workingset_refault) },
  { MEMSTAT (workingset_activate) },
  { MEMSTAT (workingset_nodereclaim) },
  { MEMSTAT (pgrefill) },
  { MEMSTAT (pgscan) },
  { MEMSTAT (pgsteal) },
  { MEMSTAT (pgactivate) },
  { MEMSTAT (pgdeactivate) },
  { MEMSTAT (pglazyfree) },
  { MEMSTAT (pglazyfreed) },
  { MEMSTAT (thp_fault_alloc) },
  { MEMSTAT (thp_collapse_alloc) },
};
#undef MEMSTAT

static void
read_v2_memory (const char *dir, struct kc_cgroup_metrics *m)
{
  Io__Containerd__Cgroups__V2__MemoryStat *s = &m->v2.memory;
  cleanup_free char *stat = slurp (dir, "memory.stat");
  cleanup_free char *events = slurp (dir, "memory.events");

  for (size_t i = 0; stat != NULL && i < sizeof (v2_memory_stat_keys) / sizeof (v2_memory_stat_keys[0]); i++)
    *(uint64_t *) ((char *) s + v2_memory_stat_keys[i].offset) = keyed (stat, v2_memory_stat_keys[i].key);
  s->usage = read_v2_value (dir, "memory.current");
  s->usage_limit = read_v2_value (dir, "memory.max");
  s->max_usage = read_v2_value (dir, "memory.peak");
  s->swap_usage = read_v2_value (dir, "memory.swap.current");
  s->swap_limit = read_v2_value (dir, "memory.swap.max");
  s->swap_max_usage = read_v2_value (dir, "memory.swap.peak");
  m->v2.metrics.memory = s;
  /* The shim's OOM check reads oom_kill here; absent (no memory controller) means no message. */
  if (events == NULL)
    return;
  m->v2.memory_events.low = keyed (events, "low");
  m->v2.memory_events.high = keyed (events, "high");
  m->v2.memory_events.max = keyed (events, "max");
  m->v2.memory_events.oom = keyed (events, "oom");
  m->v2.memory_events.oom_kill = keyed (events, "oom_kill");
  m->v2.metrics.memory_events = &m->v2.memory_events;
}

static void
read_v2 (const char *dir, struct kc_cgroup_metrics *m)
{
  cleanup_free char *cpu = slurp (dir, "cpu.stat");

  m->unified = 1;
  m->v2.pids.current = read_v2_value (dir, "pids.current");
  m->v2.pids.limit = read_v2_value (dir, "pids.max");
  m->v2.metrics.pids = &m->v2.pids;
  if (cpu != NULL)
    {
      m->v2.cpu.usage_usec = keyed (cpu, "usage_usec");
      m->v2.cpu.user_usec = keyed (cpu, "user_usec");
      m->v2.cpu.system_usec = keyed (cpu, "system_usec");
      m->v2.cpu.nr_periods = keyed (cpu, "nr_periods");
      m->v2.cpu.nr_throttled = keyed (cpu, "nr_throttled");
      m->v2.cpu.throttled_usec = keyed (cpu, "throttled_usec");
    }
  m->v2.metrics.cpu = &m->v2.cpu;
  read_v2_memory (dir, m);
}

int
kc_cgroup_root_is_v2 (const char *root)
{
  cleanup_free char *probe = NULL;
  struct statfs fs;

  if (statfs (root, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
    return 1;
  return asprintf (&probe, "%s/cgroup.controllers", root) >= 0 && access (probe, F_OK) == 0;
}

int
kc_cgroup_metrics_read (const char *root, const char *rel, int v2, struct kc_cgroup_metrics *m, kc_error_t *err)
{
  metrics_init (m);
  if (v2)
    {
      cleanup_free char *dir = NULL;

      if (asprintf (&dir, "%s/%s", root, rel) < 0)
        return kc_error (err, ENOMEM, "cgroup stats");
      read_v2 (dir, m);
      return 0;
    }
  read_memory (root, rel, m);
  read_cpu (root, rel, m);
  read_pids (root, rel, m);
  return 0;
}

void
kc_cgroup_metrics_release (struct kc_cgroup_metrics *m)
{
  free (m->per_cpu);
  m->per_cpu = NULL;
}

const char *
kc_cgroup_metrics_type_url (const struct kc_cgroup_metrics *m)
{
  return m->unified ? KC_CGROUP2_METRICS_TYPE_URL : KC_CGROUP_METRICS_TYPE_URL;
}

uint8_t *
kc_cgroup_metrics_pack (const struct kc_cgroup_metrics *m, size_t *len)
{
  const ProtobufCMessage *msg = m->unified ? &m->v2.metrics.base : &m->metrics.base;
  uint8_t *buf = malloc (protobuf_c_message_get_packed_size (msg) + 1);

  *len = buf != NULL ? protobuf_c_message_pack (msg, buf) : 0;
  return buf;
}
