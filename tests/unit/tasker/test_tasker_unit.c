/* Unit tests of the wasm tasker's pure parts: OCI spec parsing, mount options, exit statuses, the
   wasm magic check and cgroup value formatting; args[0] lookup in test_tasker_module.c. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_stats.h" /* lib/ */
#include "container.h"
#include "containerd_task_types.pb-c.h"
#include "module.h"
#include "mount.h"
#include "preopen.h"
#include "process.h"
#include "task_server.h" /* lib/ */
#include "spec.h"
#include "test_tasker_module.h"

static int
parse (const char *json, struct kc_oci_spec *spec, kc_error_t *err)
{
  return kc_oci_spec_parse (json, strlen (json), spec, err);
}

START_TEST (spec_full)
{
  struct kc_oci_spec spec;
  kc_error_t err = NULL;
  const char *json
      = "{\"process\":{\"args\":[\"/app.wasm\",\"-v\"],\"env\":[\"A=1\",\"B=2\"],\"cwd\":\"/work\"},"
        "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
        "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/host/data\",\"options\":[\"rbind\",\"ro\"]},"
        "{\"destination\":\"/etc/hosts\",\"source\":\"/h\",\"options\":[\"bind\"]}],"
        "\"linux\":{\"resources\":{\"memory\":{\"limit\":67108864},\"cpu\":{\"quota\":50000,\"period\":100000,"
        "\"shares\":512}}}}\n";

  ck_assert_int_eq (parse (json, &spec, &err), 0);
  ck_assert_uint_eq (spec.process.nargs, 2);
  ck_assert_str_eq (spec.process.args[0], "/app.wasm");
  ck_assert_str_eq (spec.process.args[1], "-v");
  ck_assert_ptr_null (spec.process.args[2]);
  ck_assert_uint_eq (spec.process.nenv, 2);
  ck_assert_str_eq (spec.process.env[1], "B=2");
  ck_assert_str_eq (spec.process.cwd, "/work");
  ck_assert_uint_eq (spec.nmounts, 2);
  ck_assert_str_eq (spec.mounts[0].destination, "/data");
  ck_assert_str_eq (spec.mounts[0].source, "/host/data");
  ck_assert_str_eq (spec.mounts[1].destination, "/etc/hosts");
  ck_assert (spec.resources.has_memory_limit);
  ck_assert_int_eq (spec.resources.memory_limit, 67108864);
  ck_assert_int_eq (spec.resources.cpu_quota, 50000);
  ck_assert_uint_eq (spec.resources.cpu_period, 100000);
  ck_assert_uint_eq (spec.resources.cpu_shares, 512);
  kc_oci_spec_free (&spec);
}
END_TEST

START_TEST (spec_minimal_defaults)
{
  struct kc_oci_spec spec;
  kc_error_t err = NULL;

  ck_assert_int_eq (parse ("{\"process\":{\"args\":[\"a.wasm\"]},\"linux\":{}}", &spec, &err), 0);
  ck_assert_str_eq (spec.process.cwd, "/");
  ck_assert_uint_eq (spec.process.nenv, 0);
  ck_assert_ptr_nonnull (spec.process.env);
  ck_assert_uint_eq (spec.nmounts, 0);
  ck_assert (!spec.resources.has_memory_limit);
  ck_assert (!spec.resources.has_cpu_quota);
  kc_oci_spec_free (&spec);
  ck_assert_int_eq (
      parse ("{\"process\":{\"args\":[\"a\"]},\"linux\":{\"resources\":{\"memory\":{\"limit\":null}}}}", &spec, &err),
      0);
  ck_assert (!spec.resources.has_memory_limit);
  kc_oci_spec_free (&spec);
}
END_TEST

static void
expect_bad (const char *json, const char *fragment)
{
  struct kc_oci_spec spec;
  kc_error_t err = NULL;

  ck_assert_int_eq (parse (json, &spec, &err), -1);
  ck_assert_ptr_nonnull (err);
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  ck_assert_msg (strstr (err->msg, fragment) != NULL, "`%s` lacks `%s`", err->msg, fragment);
  kc_error_free (&err);
}

START_TEST (spec_errors)
{
  expect_bad ("", "invalid JSON");
  expect_bad ("{\"process\":", "invalid JSON");
  expect_bad ("{} trailing", "invalid JSON");
  expect_bad ("[1,2]", "not a JSON object");
  expect_bad ("{}", "process is missing");
  expect_bad ("{\"process\":3}", "process is not an object");
  expect_bad ("{\"process\":{}}", "process.args is missing or empty");
  expect_bad ("{\"process\":{\"args\":[]}}", "process.args is missing or empty");
  expect_bad ("{\"process\":{\"args\":\"x\"}}", "process.args is not an array");
  expect_bad ("{\"process\":{\"args\":[1]}}", "process.args[0] is not a string");
  expect_bad ("{\"process\":{\"args\":[\"\"]}}", "process.args[0] is empty");
  expect_bad ("{\"process\":{\"args\":[\"a\"],\"env\":{}}}", "process.env is not an array");
  expect_bad ("{\"process\":{\"args\":[\"a\"],\"env\":[null]}}", "process.env[0] is not a string");
  expect_bad ("{\"process\":{\"args\":[\"a\"],\"cwd\":1}}", "process.cwd is not a string");
  expect_bad ("{\"process\":{\"args\":[\"a\"]},\"mounts\":{}}", "mounts is not an array");
  expect_bad ("{\"process\":{\"args\":[\"a\"]},\"linux\":5}", "linux is not an object");
  expect_bad ("{\"process\":{\"args\":[\"a\"]},\"mounts\":[{\"source\":\"/x\"}]}", "mounts[0].destination");
  expect_bad ("{\"process\":{\"args\":[\"a\"]},\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}}",
              "resources.memory.limit is not an integer");
  expect_bad ("{\"process\":{\"args\":[\"a\"]},\"linux\":{\"resources\":{\"cpu\":{\"shares\":-1}}}}",
              "resources.cpu.shares is negative");
}
END_TEST

START_TEST (process_and_resources_alone)
{
  struct kc_oci_process proc;
  struct kc_oci_resources res;
  kc_error_t err = NULL;
  const char *p = "{\"args\":[\"/x.wasm\"],\"env\":[\"K=V\"],\"cwd\":\"/\"}";
  const char *r = "{\"memory\":{\"limit\":-1},\"cpu\":{\"quota\":-1}}";

  ck_assert_int_eq (kc_oci_process_parse (p, strlen (p), &proc, &err), 0);
  ck_assert_str_eq (proc.args[0], "/x.wasm");
  kc_oci_process_free (&proc);
  ck_assert_int_eq (kc_oci_resources_parse (r, strlen (r), &res, &err), 0);
  ck_assert_int_eq (res.memory_limit, -1);
  ck_assert_int_eq (res.cpu_quota, -1);
  ck_assert_int_eq (kc_oci_process_parse ("{", 1, &proc, &err), -1);
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  kc_error_free (&err);
}
END_TEST

START_TEST (mount_options)
{
  char *opts[] = { "rbind", "ro", "nosuid", "rprivate", "lowerdir=/a:/b", "upperdir=/u", "rw", "defaults", "" };
  unsigned long flags, prop;
  char *data = NULL;
  kc_error_t err = NULL;

  ck_assert_int_eq (kc_mount_options_parse (opts, 4, &flags, &prop, &data, &err), 0);
  ck_assert_uint_eq (flags, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID);
  ck_assert_uint_eq (prop, MS_PRIVATE | MS_REC);
  ck_assert_str_eq (data, "");
  free (data);
  ck_assert_int_eq (kc_mount_options_parse (opts, 9, &flags, &prop, &data, &err), 0);
  ck_assert_uint_eq (flags, MS_BIND | MS_REC | MS_NOSUID); /* rw cleared ro */
  ck_assert_str_eq (data, "lowerdir=/a:/b,upperdir=/u");
  free (data);
  {
    char *loop[] = { "loop" };
    ck_assert_int_eq (kc_mount_options_parse (loop, 1, &flags, &prop, &data, &err), -1);
    ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
    kc_error_free (&err);
  }
}
END_TEST

START_TEST (exit_statuses)
{
  ck_assert_uint_eq (kc_task_exit_status (0), 0);
  ck_assert_uint_eq (kc_task_exit_status (3 << 8), 3);
  ck_assert_uint_eq (kc_task_exit_status (255 << 8), 255);
  ck_assert_uint_eq (kc_task_exit_status (SIGTERM), 143);
  ck_assert_uint_eq (kc_task_exit_status (SIGKILL), 137);
  ck_assert_uint_eq (kc_task_exit_status (SIGKILL | 0x80), 137); /* core dumped */
}
END_TEST

static pid_t
fork_sleeper (void)
{
  pid_t pid = fork ();
  ck_assert_int_ge (pid, 0);
  if (pid == 0)
    for (;;)
      pause ();
  return pid;
}

/* Delete of a created process: killed and reaped at once, except in a paused container (a v1
   frozen process would not die before a thaw: waiting would hang the tasker). */
START_TEST (kill_created)
{
  struct kc_container c;
  struct kc_proc p;
  int wstatus;

  memset (&c, 0, sizeof (c));
  memset (&p, 0, sizeof (p));
  p.start_fd = -1;
  p.status = CONTAINERD__V1__TYPES__STATUS__RUNNING;
  ck_assert_int_eq (kc_proc_kill_created (&c, &p), 0); /* only a created one */
  p.pid = fork_sleeper ();
  p.status = CONTAINERD__V1__TYPES__STATUS__CREATED;
  ck_assert_int_eq (kc_proc_kill_created (&c, &p), 1);
  ck_assert_int_eq (p.status, CONTAINERD__V1__TYPES__STATUS__STOPPED);
  ck_assert_uint_eq (p.exit_status, 137);
  ck_assert_int_eq (waitpid (p.pid, &wstatus, WNOHANG), -1); /* already reaped */

  c.paused = 1;
  p.pid = fork_sleeper ();
  p.status = CONTAINERD__V1__TYPES__STATUS__CREATED;
  ck_assert_int_eq (kc_proc_kill_created (&c, &p), 1);
  ck_assert_int_eq (p.status, CONTAINERD__V1__TYPES__STATUS__STOPPED);
  ck_assert_uint_eq (p.exit_status, 137);
  ck_assert_int_eq (waitpid (p.pid, &wstatus, 0), p.pid); /* left to the SIGCHLD reaper */
  ck_assert (WIFSIGNALED (wstatus) && WTERMSIG (wstatus) == SIGKILL);
}
END_TEST

START_TEST (wasm_magic)
{
  kc_error_t err = NULL;
  const unsigned char wasm[] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
  const unsigned char elf[] = { 0x7f, 'E', 'L', 'F' };

  ck_assert_int_eq (kc_wasm_magic_check (wasm, sizeof (wasm), "/m.wasm", &err), 0);
  ck_assert_int_eq (kc_wasm_magic_check (elf, sizeof (elf), "/bin/sh", &err), -1);
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  ck_assert_str_eq (err->msg, "/bin/sh: not a WebAssembly module (starts with 7f 45 4c 46, not 00 61 73 6d): "
                              "kuasar-wasm runs WASI modules only");
  kc_error_free (&err);
  ck_assert_int_eq (kc_wasm_magic_check (wasm, 2, "/short", &err), -1);
  ck_assert_str_eq (err->msg, "/short: not a WebAssembly module (2 bytes long): kuasar-wasm runs WASI modules only");
  kc_error_free (&err);
}
END_TEST

START_TEST (ids_and_limits)
{
  kc_error_t err = NULL;
  char buf[32];

  ck_assert_int_eq (kc_task_id_check ("id", "c1", &err), 0);
  ck_assert_int_eq (kc_task_id_check ("id", "", &err), -1);
  kc_error_free (&err);
  ck_assert_int_eq (kc_task_id_check ("id", "..", &err), -1);
  kc_error_free (&err);
  ck_assert_int_eq (kc_task_id_check ("id", "a/b", &err), -1);
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  kc_error_free (&err);
  kc_cgroup_format_limit (-1, 0, buf, sizeof (buf));
  ck_assert_str_eq (buf, "-1");
  kc_cgroup_format_limit (-1, 1, buf, sizeof (buf));
  ck_assert_str_eq (buf, "max");
  kc_cgroup_format_limit (1048576, 1, buf, sizeof (buf));
  ck_assert_str_eq (buf, "1048576");
}
END_TEST

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

/* A fake v1 tree: memory (no memsw), cpuacct without usage_user/sys, cpu.stat, pids "max". */
START_TEST (stats_from_a_fake_v1_tree)
{
  char root[] = "/tmp/kc-cgstats-XXXXXX", dir[256], cmd[300];
  struct kc_cgroup cg;
  struct kc_cgroup_metrics m;
  kc_error_t err = NULL;
  long hz = sysconf (_SC_CLK_TCK);

  ck_assert_ptr_nonnull (mkdtemp (root));
  ck_assert_int_eq (kc_cgroup_init (&cg, root, "p/s/c", &err), 0);
  snprintf (cmd, sizeof (cmd), "mkdir -p %s/memory/p/s/c %s/cpuacct/p/s/c %s/cpu/p/s/c %s/pids/p/s/c", root, root, root,
            root);
  ck_assert_int_eq (system (cmd), 0);
  snprintf (dir, sizeof (dir), "%s/memory/p/s/c", root);
  put (dir, "memory.usage_in_bytes", "4096\n");
  put (dir, "memory.limit_in_bytes", "134217728\n");
  put (dir, "memory.max_usage_in_bytes", "8192\n");
  put (dir, "memory.failcnt", "3\n");
  put (dir, "memory.stat",
       "cache 10\nrss 20\nmapped_file 4\npgfault 5\npgmajfault 1\ninactive_anon 2\n"
       "active_anon 3\ninactive_file 6\nactive_file 7\nunevictable 8\ntotal_cache 11\n"
       "total_rss 21\ntotal_inactive_file 61\n");
  put (dir, "memory.oom_control", "oom_kill_disable 0\nunder_oom 1\noom_kill 2\n");
  snprintf (dir, sizeof (dir), "%s/cpuacct/p/s/c", root);
  put (dir, "cpuacct.usage", "5000\n");
  put (dir, "cpuacct.usage_percpu", "1000 4000 \n");
  put (dir, "cpuacct.stat", "user 3\nsystem 1\n");
  snprintf (dir, sizeof (dir), "%s/cpu/p/s/c", root);
  put (dir, "cpu.stat", "nr_periods 9\nnr_throttled 2\nthrottled_time 777\n");
  snprintf (dir, sizeof (dir), "%s/pids/p/s/c", root);
  put (dir, "pids.current", "2\n");
  put (dir, "pids.max", "max\n");

  ck_assert_int_eq (kc_cgroup_metrics_read (cg.root, cg.rel, cg.v2, &m, &err), 0);
  ck_assert_ptr_eq (m.metrics.memory, &m.memory);
  ck_assert_uint_eq (m.memory.usage->usage, 4096);
  ck_assert_uint_eq (m.memory.usage->limit, 134217728);
  ck_assert_uint_eq (m.memory.usage->max, 8192);
  ck_assert_uint_eq (m.memory.usage->failcnt, 3);
  ck_assert_ptr_null (m.memory.swap);
  ck_assert_uint_eq (m.memory.rss, 20);
  ck_assert_uint_eq (m.memory.pg_maj_fault, 1);
  ck_assert_uint_eq (m.memory.total_inactive_file, 61);
  ck_assert_uint_eq (m.metrics.memory_oom_control->under_oom, 1);
  ck_assert_uint_eq (m.metrics.memory_oom_control->oom_kill, 2);
  ck_assert_uint_eq (m.metrics.memory_oom_control->oom_kill_disable, 0);
  ck_assert_uint_eq (m.cpu_usage.total, 5000);
  ck_assert_uint_eq (m.cpu_usage.user, kc_cgroup_ticks_to_ns (3, hz));
  ck_assert_uint_eq (m.cpu_usage.kernel, kc_cgroup_ticks_to_ns (1, hz));
  ck_assert_uint_eq (m.cpu_usage.n_per_cpu, 2);
  ck_assert_uint_eq (m.cpu_usage.per_cpu[1], 4000);
  ck_assert_uint_eq (m.metrics.cpu->throttling->throttled_time, 777);
  ck_assert_uint_eq (m.metrics.pids->current, 2);
  ck_assert_uint_eq (m.metrics.pids->limit, 0);
  ck_assert_uint_gt (io__containerd__cgroups__v1__metrics__get_packed_size (&m.metrics), 0);
  kc_cgroup_metrics_release (&m);
  ck_assert_uint_eq (kc_cgroup_ticks_to_ns (3, 100), 30000000);
  /* v2 (the v2 mapping itself: unit-cgroup-stats): "<root>/<rel>", the v2 message. */
  cg.v2 = 1;
  snprintf (cmd, sizeof (cmd), "mkdir -p %s/p/s/c", root);
  ck_assert_int_eq (system (cmd), 0);
  snprintf (dir, sizeof (dir), "%s/p/s/c", root);
  put (dir, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
  put (dir, "cpu.stat", "usage_usec 12\nuser_usec 8\nsystem_usec 4\n");
  ck_assert_int_eq (kc_cgroup_metrics_read (cg.root, cg.rel, cg.v2, &m, &err), 0);
  ck_assert_int_eq (m.unified, 1);
  ck_assert_str_eq (kc_cgroup_metrics_type_url (&m), KC_CGROUP2_METRICS_TYPE_URL);
  ck_assert_uint_eq (m.v2.memory_events.oom_kill, 1);
  ck_assert_uint_eq (m.v2.cpu.usage_usec, 12);
  kc_cgroup_metrics_release (&m);
  kc_cgroup_release (&cg);
  snprintf (cmd, sizeof (cmd), "rm -rf %s", root);
  ck_assert_int_eq (system (cmd), 0);
}
END_TEST

START_TEST (preopens_only_directories)
{
  struct kc_oci_mount mounts[] = { { (char *) "/data", (char *) "/tmp", (char *) "bind" },
                                   { (char *) "/etc/hosts", (char *) "/etc/hostname", (char *) "bind" },
                                   { (char *) "/gone", (char *) "/nonexistent/kc", (char *) "bind" } };
  char **pre;
  size_t n;
  kc_error_t err = NULL;

  ck_assert_int_eq (kc_preopens_build ("/b/rootfs", mounts, 3, &pre, &n, &err), 0);
  ck_assert_uint_eq (n, 2);
  ck_assert_str_eq (pre[0], "/:/b/rootfs");
  ck_assert_str_eq (pre[1], "/data:/tmp");
  ck_assert_ptr_null (pre[2]);
  kc_preopens_free (pre);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("tasker");
  TCase *tc = tcase_create ("pure");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, spec_full);
  tcase_add_test (tc, spec_minimal_defaults);
  tcase_add_test (tc, spec_errors);
  tcase_add_test (tc, process_and_resources_alone);
  tcase_add_test (tc, mount_options);
  tcase_add_test (tc, exit_statuses);
  tcase_add_test (tc, kill_created);
  tcase_add_test (tc, wasm_magic);
  tcase_add_test (tc, ids_and_limits);
  tcase_add_test (tc, stats_from_a_fake_v1_tree);
  tcase_add_test (tc, preopens_only_directories);
  suite_add_tcase (s, tc);
  suite_add_tcase (s, kc_test_module_tcase ());
  suite_add_tcase (s, kc_test_argv_tcase ());
  suite_add_tcase (s, kc_test_record_tcase ());
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
