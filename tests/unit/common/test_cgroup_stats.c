/* lib/cgroup_stats on cgroup v2: every field read from a fake unified tree, the packed Any (type URL,
   containerd's field numbers on the wire), missing files, and a real cgroup2 mount. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_stats.h"

static void
put (const char *dir, const char *file, const char *text)
{
  char path[512];
  FILE *f;

  snprintf (path, sizeof (path), "%s/%s", dir, file);
  f = fopen (path, "w");
  ck_assert_ptr_nonnull (f);
  fputs (text, f);
  fclose (f);
}

static void
remove_tree (const char *root)
{
  char cmd[600];

  snprintf (cmd, sizeof (cmd), "rm -rf '%s'", root);
  ck_assert_int_eq (system (cmd), 0);
}

/* A v2 cgroup directory "<root>/<rel>" with cgroup.controllers at the root, as on a v2 host. */
static void
make_fake_v2 (char *root, const char *rel, char *dir, size_t len)
{
  char cmd[600];

  ck_assert_ptr_nonnull (mkdtemp (root));
  put (root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  snprintf (dir, len, "%s/%s", root, rel);
  snprintf (cmd, sizeof (cmd), "mkdir -p '%s'", dir);
  ck_assert_int_eq (system (cmd), 0);
}

/* memory.stat as a 6.x kernel writes it, each value distinct (keys we do not map included). */
static const char memory_stat[] = "anon 1001\nfile 1002\nkernel 999\nkernel_stack 1003\npagetables 998\n"
                                  "sec_pagetables 0\npercpu 997\nsock 1005\nvmalloc 0\nshmem 1006\n"
                                  "zswap 0\nzswapped 0\nfile_mapped 1007\nfile_dirty 1008\n"
                                  "file_writeback 1009\nswapcached 0\nanon_thp 1010\nfile_thp 0\nshmem_thp 0\n"
                                  "inactive_anon 1011\nactive_anon 1012\ninactive_file 1013\nactive_file 1014\n"
                                  "unevictable 1015\nslab_reclaimable 1016\nslab_unreclaimable 1017\nslab 1004\n"
                                  "workingset_refault_anon 5\nworkingset_refault_file 6\n"
                                  "workingset_refault 1020\nworkingset_activate 1021\n"
                                  "workingset_restore_anon 0\nworkingset_nodereclaim 1022\npgscan 1024\n"
                                  "pgsteal 1025\npgscan_kswapd 0\npgrefill 1023\npgactivate 1026\n"
                                  "pgdeactivate 1027\npglazyfree 1028\npglazyfreed 1029\npgfault 1018\n"
                                  "pgmajfault 1019\nthp_fault_alloc 1030\nthp_collapse_alloc 1031\n";

START_TEST (v2_every_field_from_a_fake_tree)
{
  char root[] = "/tmp/kc-cg2stats-XXXXXX", dir[256];
  struct kc_cgroup_metrics m;
  kc_error_t err = NULL;

  make_fake_v2 (root, "kuasar-wasm/pod/c1", dir, sizeof (dir));
  ck_assert_int_eq (kc_cgroup_root_is_v2 (root), 1);
  put (dir, "memory.stat", memory_stat);
  put (dir, "memory.current", "4096\n");
  put (dir, "memory.max", "134217728\n");
  put (dir, "memory.peak", "8192\n");
  put (dir, "memory.swap.current", "512\n");
  put (dir, "memory.swap.max", "max\n");
  put (dir, "memory.swap.peak", "1024\n");
  put (dir, "memory.events", "low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 6\n");
  put (dir, "cpu.stat",
       "usage_usec 7000\nuser_usec 5000\nsystem_usec 2000\nnice_usec 9\ncore_sched.force_idle_usec 0\n"
       "nr_periods 11\nnr_throttled 12\nthrottled_usec 13\nnr_bursts 14\nburst_usec 15\n");
  put (dir, "pids.current", "2\n");
  put (dir, "pids.max", "64\n");

  ck_assert_int_eq (kc_cgroup_metrics_read (root, "kuasar-wasm/pod/c1", 1, &m, &err), 0);
  ck_assert_int_eq (m.unified, 1);
  ck_assert_str_eq (kc_cgroup_metrics_type_url (&m), "io.containerd.cgroups.v2.Metrics");
  ck_assert_ptr_eq (m.v2.metrics.pids, &m.v2.pids);
  ck_assert_ptr_eq (m.v2.metrics.cpu, &m.v2.cpu);
  ck_assert_ptr_eq (m.v2.metrics.memory, &m.v2.memory);
  ck_assert_ptr_eq (m.v2.metrics.memory_events, &m.v2.memory_events);
  /* The v1 message stays empty. */
  ck_assert_ptr_null (m.metrics.memory);
  ck_assert_ptr_null (m.metrics.cpu);
  ck_assert_ptr_null (m.metrics.pids);

  ck_assert_uint_eq (m.v2.pids.current, 2);
  ck_assert_uint_eq (m.v2.pids.limit, 64);

  ck_assert_uint_eq (m.v2.cpu.usage_usec, 7000);
  ck_assert_uint_eq (m.v2.cpu.user_usec, 5000);
  ck_assert_uint_eq (m.v2.cpu.system_usec, 2000);
  ck_assert_uint_eq (m.v2.cpu.nr_periods, 11);
  ck_assert_uint_eq (m.v2.cpu.nr_throttled, 12);
  ck_assert_uint_eq (m.v2.cpu.throttled_usec, 13);

  const Io__Containerd__Cgroups__V2__MemoryStat *s = &m.v2.memory;
  ck_assert_uint_eq (s->anon, 1001);
  ck_assert_uint_eq (s->file, 1002);
  ck_assert_uint_eq (s->kernel_stack, 1003);
  ck_assert_uint_eq (s->slab, 1004);
  ck_assert_uint_eq (s->sock, 1005);
  ck_assert_uint_eq (s->shmem, 1006);
  ck_assert_uint_eq (s->file_mapped, 1007);
  ck_assert_uint_eq (s->file_dirty, 1008);
  ck_assert_uint_eq (s->file_writeback, 1009);
  ck_assert_uint_eq (s->anon_thp, 1010);
  ck_assert_uint_eq (s->inactive_anon, 1011);
  ck_assert_uint_eq (s->active_anon, 1012);
  ck_assert_uint_eq (s->inactive_file, 1013);
  ck_assert_uint_eq (s->active_file, 1014);
  ck_assert_uint_eq (s->unevictable, 1015);
  ck_assert_uint_eq (s->slab_reclaimable, 1016);
  ck_assert_uint_eq (s->slab_unreclaimable, 1017);
  ck_assert_uint_eq (s->pgfault, 1018);
  ck_assert_uint_eq (s->pgmajfault, 1019);
  ck_assert_uint_eq (s->workingset_refault, 1020);
  ck_assert_uint_eq (s->workingset_activate, 1021);
  ck_assert_uint_eq (s->workingset_nodereclaim, 1022);
  ck_assert_uint_eq (s->pgrefill, 1023);
  ck_assert_uint_eq (s->pgscan, 1024);
  ck_assert_uint_eq (s->pgsteal, 1025);
  ck_assert_uint_eq (s->pgactivate, 1026);
  ck_assert_uint_eq (s->pgdeactivate, 1027);
  ck_assert_uint_eq (s->pglazyfree, 1028);
  ck_assert_uint_eq (s->pglazyfreed, 1029);
  ck_assert_uint_eq (s->thp_fault_alloc, 1030);
  ck_assert_uint_eq (s->thp_collapse_alloc, 1031);
  ck_assert_uint_eq (s->usage, 4096);
  ck_assert_uint_eq (s->usage_limit, 134217728);
  ck_assert_uint_eq (s->max_usage, 8192);
  ck_assert_uint_eq (s->swap_usage, 512);
  ck_assert_uint_eq (s->swap_limit, UINT64_MAX); /* "max", as containerd */
  ck_assert_uint_eq (s->swap_max_usage, 1024);

  ck_assert_uint_eq (m.v2.memory_events.low, 1);
  ck_assert_uint_eq (m.v2.memory_events.high, 2);
  ck_assert_uint_eq (m.v2.memory_events.max, 3);
  ck_assert_uint_eq (m.v2.memory_events.oom, 4);
  ck_assert_uint_eq (m.v2.memory_events.oom_kill, 5);

  /* Packed: the v2 message, decoded back to the same values. */
  size_t len = 0;
  uint8_t *buf = kc_cgroup_metrics_pack (&m, &len);
  ck_assert_ptr_nonnull (buf);
  ck_assert_uint_eq (len, io__containerd__cgroups__v2__metrics__get_packed_size (&m.v2.metrics));
  Io__Containerd__Cgroups__V2__Metrics *back = io__containerd__cgroups__v2__metrics__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (back);
  ck_assert_uint_eq (back->cpu->throttled_usec, 13);
  ck_assert_uint_eq (back->memory->thp_collapse_alloc, 1031);
  ck_assert_uint_eq (back->memory->swap_limit, UINT64_MAX);
  ck_assert_uint_eq (back->memory_events->oom_kill, 5);
  ck_assert_uint_eq (back->pids->limit, 64);
  io__containerd__cgroups__v2__metrics__free_unpacked (back, NULL);
  free (buf);
  kc_cgroup_metrics_release (&m);
  remove_tree (root);
}
END_TEST

/* No controller file at all (a v2 cgroup whose parent delegates nothing): zeros, not an error;
   pids, cpu and memory are sent all the same, memory_events is not. "max" limits are UINT64_MAX. */
START_TEST (v2_missing_files_give_zeros)
{
  char root[] = "/tmp/kc-cg2stats-XXXXXX", dir[256];
  struct kc_cgroup_metrics m;
  kc_error_t err = NULL;

  make_fake_v2 (root, "p/s", dir, sizeof (dir));
  ck_assert_int_eq (kc_cgroup_metrics_read (root, "p/s", 1, &m, &err), 0);
  ck_assert_ptr_null (err);
  ck_assert_ptr_nonnull (m.v2.metrics.pids);
  ck_assert_ptr_nonnull (m.v2.metrics.cpu);
  ck_assert_ptr_nonnull (m.v2.metrics.memory);
  ck_assert_ptr_null (m.v2.metrics.memory_events);
  ck_assert_uint_eq (m.v2.pids.current, 0);
  ck_assert_uint_eq (m.v2.pids.limit, 0);
  ck_assert_uint_eq (m.v2.cpu.usage_usec, 0);
  ck_assert_uint_eq (m.v2.memory.usage, 0);
  ck_assert_uint_eq (m.v2.memory.usage_limit, 0);
  ck_assert_uint_eq (m.v2.memory.anon, 0);
  kc_cgroup_metrics_release (&m);

  /* Only some: cpu.stat without the throttling lines (no cpu controller), "max" limits. */
  put (dir, "cpu.stat", "usage_usec 30\nuser_usec 20\nsystem_usec 10\n");
  put (dir, "memory.max", "max\n");
  put (dir, "pids.max", "max\n");
  put (dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
  ck_assert_int_eq (kc_cgroup_metrics_read (root, "p/s", 1, &m, &err), 0);
  ck_assert_uint_eq (m.v2.cpu.usage_usec, 30);
  ck_assert_uint_eq (m.v2.cpu.system_usec, 10);
  ck_assert_uint_eq (m.v2.cpu.nr_periods, 0);
  ck_assert_uint_eq (m.v2.memory.usage_limit, UINT64_MAX);
  ck_assert_uint_eq (m.v2.pids.limit, UINT64_MAX);
  ck_assert_ptr_nonnull (m.v2.metrics.memory_events);
  ck_assert_uint_eq (m.v2.memory_events.oom_kill, 0);
  kc_cgroup_metrics_release (&m);

  /* A directory that does not exist at all reads the same way (the caller checked the sandbox). */
  ck_assert_int_eq (kc_cgroup_metrics_read (root, "p/gone", 1, &m, &err), 0);
  ck_assert_uint_eq (m.v2.cpu.usage_usec, 0);
  kc_cgroup_metrics_release (&m);
  remove_tree (root);
}
END_TEST

/* Our field numbers are containerd/cgroups' cgroup2/stats/metrics.proto: Metrics{pids=1, cpu=2,
   memory=4, memory_events=8}, CPUStat.throttled_usec=6, MemoryStat{anon=1, usage=32,
   swap_usage=34, swap_max_usage=37}, MemoryEvents.oom_kill=5. Bytes written by hand. */
START_TEST (v2_wire_layout_is_containerds)
{
  Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
  Io__Containerd__Cgroups__V2__PidsStat pids = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
  Io__Containerd__Cgroups__V2__CPUStat cpu = IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT;
  Io__Containerd__Cgroups__V2__MemoryStat mem = IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
  Io__Containerd__Cgroups__V2__MemoryEvents ev = IO__CONTAINERD__CGROUPS__V2__MEMORY_EVENTS__INIT;
  static const uint8_t want[] = {
    0x0a, 0x04, 0x08, 0x03, 0x10, 0x40, /* 1 pids {current=3, limit=64} */
    0x12, 0x04, 0x08, 0x05, 0x30, 0x02, /* 2 cpu {usage_usec=5, throttled_usec=2} */
    0x22, 0x0c, 0x08, 0x01,             /* 4 memory {anon=1, */
    0x80, 0x02, 0x80, 0x20,             /*   usage(32)=4096, */
    0x90, 0x02, 0x07,                   /*   swap_usage(34)=7, */
    0xa8, 0x02, 0x09,                   /*   swap_max_usage(37)=9} */
    0x42, 0x02, 0x28, 0x01,             /* 8 memory_events {oom_kill=1} */
  };
  uint8_t got[64];
  size_t len;

  pids.current = 3;
  pids.limit = 64;
  cpu.usage_usec = 5;
  cpu.throttled_usec = 2;
  mem.anon = 1;
  mem.usage = 4096;
  mem.swap_usage = 7;
  mem.swap_max_usage = 9;
  ev.oom_kill = 1;
  m.pids = &pids;
  m.cpu = &cpu;
  m.memory = &mem;
  m.memory_events = &ev;
  len = io__containerd__cgroups__v2__metrics__pack (&m, got);
  ck_assert_uint_eq (len, sizeof (want));
  ck_assert_mem_eq (got, want, sizeof (want));

  /* And containerd's bytes decode into our fields. */
  Io__Containerd__Cgroups__V2__Metrics *back = io__containerd__cgroups__v2__metrics__unpack (NULL, sizeof (want), want);
  ck_assert_ptr_nonnull (back);
  ck_assert_uint_eq (back->pids->limit, 64);
  ck_assert_uint_eq (back->cpu->throttled_usec, 2);
  ck_assert_uint_eq (back->memory->usage, 4096);
  ck_assert_uint_eq (back->memory->swap_max_usage, 9);
  ck_assert_uint_eq (back->memory_events->oom_kill, 1);
  io__containerd__cgroups__v2__metrics__free_unpacked (back, NULL);
}
END_TEST

/* v1 reads stay v1: same type URL and message as before. */
START_TEST (v1_packs_as_v1)
{
  char root[] = "/tmp/kc-cg2stats-XXXXXX", dir[300], cmd[400];
  struct kc_cgroup_metrics m;
  kc_error_t err = NULL;

  ck_assert_ptr_nonnull (mkdtemp (root));
  ck_assert_int_eq (kc_cgroup_root_is_v2 (root), 0);
  snprintf (dir, sizeof (dir), "%s/pids/p/s", root);
  snprintf (cmd, sizeof (cmd), "mkdir -p '%s'", dir);
  ck_assert_int_eq (system (cmd), 0);
  put (dir, "pids.current", "3\n");
  ck_assert_int_eq (kc_cgroup_metrics_read (root, "p/s", 0, &m, &err), 0);
  ck_assert_int_eq (m.unified, 0);
  ck_assert_str_eq (kc_cgroup_metrics_type_url (&m), "io.containerd.cgroups.v1.Metrics");
  size_t len = 0;
  uint8_t *buf = kc_cgroup_metrics_pack (&m, &len);
  ck_assert_ptr_nonnull (buf);
  Io__Containerd__Cgroups__V1__Metrics *back = io__containerd__cgroups__v1__metrics__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (back);
  ck_assert_uint_eq (back->pids->current, 3);
  io__containerd__cgroups__v1__metrics__free_unpacked (back, NULL);
  free (buf);
  kc_cgroup_metrics_release (&m);
  remove_tree (root);
}
END_TEST

/* CPU time of the calling process, in microseconds. */
static long long
cpu_usec (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* A real cgroup2 mount (a hybrid host's v1-bound controllers are absent from it, but cpu.stat's
   usage lines and cgroup.procs are always there): a child burns 200 ms of CPU in our cgroup, which
   cpu.stat then shows; the files that are not there read as 0. */
START_TEST (v2_real_cgroup2_mount)
{
  char mnt[] = "/tmp/kc-cg2mnt-XXXXXX", rel[64], dir[256], procs[320], pidtext[32];
  struct kc_cgroup_metrics m;
  kc_error_t err = NULL;
  int go[2], status;
  pid_t child;
  FILE *f;

  ck_assert_msg (geteuid () == 0, "the real cgroup2 test needs root");
  ck_assert_ptr_nonnull (mkdtemp (mnt));
  ck_assert_msg (mount ("none", mnt, "cgroup2", 0, NULL) == 0, "mount cgroup2: %s", strerror (errno));
  ck_assert_int_eq (kc_cgroup_root_is_v2 (mnt), 1);
  snprintf (rel, sizeof (rel), "kc-unit-cg2-%d", (int) getpid ());
  snprintf (dir, sizeof (dir), "%s/%s", mnt, rel);
  ck_assert_msg (mkdir (dir, 0755) == 0, "mkdir %s: %s", dir, strerror (errno));
  ck_assert_int_eq (kc_cgroup_root_is_v2 (dir), 1);

  ck_assert_int_eq (pipe (go), 0);
  child = fork ();
  ck_assert_int_ge (child, 0);
  if (child == 0)
    {
      char c;
      volatile unsigned long spin = 0;
      close (go[1]);
      if (read (go[0], &c, 1) != 1)
        _exit (2);
      for (long long start = cpu_usec (); cpu_usec () - start < 200000;)
        spin++;
      _exit (0);
    }
  close (go[0]);
  snprintf (procs, sizeof (procs), "%s/cgroup.procs", dir);
  snprintf (pidtext, sizeof (pidtext), "%d", (int) child);
  f = fopen (procs, "w");
  ck_assert_ptr_nonnull (f);
  ck_assert_int_gt (fputs (pidtext, f), 0);
  ck_assert_int_eq (fclose (f), 0);
  ck_assert_int_eq (write (go[1], "g", 1), 1);
  close (go[1]);
  ck_assert_int_eq (waitpid (child, &status, 0), child);
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  ck_assert_int_eq (kc_cgroup_metrics_read (mnt, rel, kc_cgroup_root_is_v2 (mnt), &m, &err), 0);
  ck_assert_int_eq (m.unified, 1);
  ck_assert_uint_ge (m.v2.cpu.usage_usec, 150000);
  ck_assert_uint_ge (m.v2.cpu.user_usec + m.v2.cpu.system_usec, 150000);
  ck_assert_uint_le (m.v2.cpu.user_usec + m.v2.cpu.system_usec, m.v2.cpu.usage_usec + 20000);
  ck_assert_uint_eq (m.v2.pids.current, 0); /* the child has left (absent file: 0 too) */
  ck_assert_ptr_nonnull (m.v2.metrics.memory);
  size_t len = 0;
  uint8_t *buf = kc_cgroup_metrics_pack (&m, &len);
  ck_assert_ptr_nonnull (buf);
  Io__Containerd__Cgroups__V2__Metrics *back = io__containerd__cgroups__v2__metrics__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (back);
  ck_assert_uint_eq (back->cpu->usage_usec, m.v2.cpu.usage_usec);
  io__containerd__cgroups__v2__metrics__free_unpacked (back, NULL);
  free (buf);
  kc_cgroup_metrics_release (&m);

  ck_assert_msg (rmdir (dir) == 0, "rmdir %s: %s", dir, strerror (errno));
  ck_assert_int_eq (umount2 (mnt, MNT_DETACH), 0);
  ck_assert_int_eq (rmdir (mnt), 0);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("cgroup_stats");
  TCase *tc = tcase_create ("v2");
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, v2_every_field_from_a_fake_tree);
  tcase_add_test (tc, v2_missing_files_give_zeros);
  tcase_add_test (tc, v2_wire_layout_is_containerds);
  tcase_add_test (tc, v1_packs_as_v1);
  tcase_add_test (tc, v2_real_cgroup2_mount);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
