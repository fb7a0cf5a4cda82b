/* The pod cgroup the vmm backend puts QEMU in (sandboxer/common/pod_cgroup.h): layout and the
   child's join before exec on fake v1/v2 trees, then a real one (root): a spawned process is in
   it, Metrics reads it, removal kills what is left and removes the directories. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_stats.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "pod_cgroup.h"
#include "proc.h"

static char tmpdir[64];

static void
setup_tmp (void)
{
  strcpy (tmpdir, "/tmp/kc-podcg-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (tmpdir));
}

static void
teardown_tmp (void)
{
  cleanup_error kc_error_t err = NULL;
  kc_rm_rf (tmpdir, &err);
}

static void
touch (const char *fmt, const char *a, const char *b)
{
  char path[4096], dir[4096];
  snprintf (path, sizeof (path), fmt, a, b);
  snprintf (dir, sizeof (dir), "%s", path);
  *strrchr (dir, '/') = '\0';
  ck_assert_int_eq (kc_mkdir_p (dir, 0755, NULL), 0);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ck_assert_int_ge (fd, 0);
  close (fd);
}

static char *
slurp (const char *fmt, const char *a, const char *b)
{
  char path[4096];
  char *text = NULL;
  size_t len = 0;
  snprintf (path, sizeof (path), fmt, a, b);
  return kc_read_file (path, &text, &len, NULL) < 0 ? NULL : text;
}

/* Runs argv through kc_proc_spawn_in_cgroup and returns its exit status. */
static int
run_joined (const struct kc_pod_cgroup_join *join, const char *log)
{
  char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "exit 0", NULL };
  struct kc_spawned child;
  int status = 0;
  cleanup_error kc_error_t err = NULL;
  ck_assert_int_eq (kc_proc_spawn_in_cgroup (argv, log, -1, join, &child, &err), 0);
  ck_assert_int_eq (waitpid (child.pid, &status, 0), child.pid);
  close (child.pidfd);
  close (child.ready_fd);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

START_TEST (refuses_unplain_paths)
{
  static const char *const bad[] = { "", "/", "..", "a/../b", "./x", "a/.", "kube//..", NULL };
  struct kc_pod_cgroup_join join = { .n = 0 };
  for (size_t i = 0; bad[i] != NULL; i++)
    {
      cleanup_error kc_error_t err = NULL;
      ck_assert_int_lt (kc_pod_cgroup_create (tmpdir, bad[i], &join, &err), 0);
      ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
      ck_assert_uint_eq (join.n, 0);
      ck_assert_int_eq (kc_pod_cgroup_remove (tmpdir, bad[i], 0), 0);
    }
}
END_TEST

START_TEST (fake_v1_child_joins_before_exec)
{
  char log[128];
  cleanup_error kc_error_t err = NULL;
  struct kc_pod_cgroup_join join = { .n = 0 };
  /* memory, cpu, pids present; cpuacct and freezer missing: skipped. The files a kernel would
     make on mkdir are made here first. */
  static const char *const present[] = { "memory", "cpu", "pids" };
  for (size_t i = 0; i < 3; i++)
    touch ("%s/%s/kube/pod1/sb1/cgroup.procs", tmpdir, present[i]);
  ck_assert_int_eq (kc_pod_cgroup_create (tmpdir, "/kube/pod1/sb1", &join, &err), 0);
  ck_assert_uint_eq (join.n, 3);
  for (size_t i = 0; i < join.n; i++)
    ck_assert_int_ge (join.fds[i], 10);
  snprintf (log, sizeof (log), "%s/child.log", tmpdir);
  ck_assert_int_eq (run_joined (&join, log), 0);
  for (size_t i = 0; i < 3; i++)
    {
      cleanup_free char *procs = slurp ("%s/%s/kube/pod1/sb1/cgroup.procs", tmpdir, present[i]);
      ck_assert_ptr_nonnull (procs);
      ck_assert_str_eq (procs, "0"); /* "0": the writer itself, i.e. the child before its exec */
    }
  kc_pod_cgroup_join_close (&join);
  ck_assert_uint_eq (join.n, 0);

  /* A join that cannot be written fails the child before exec, said in its log. */
  join.fds[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  join.n = 1;
  ck_assert_int_eq (run_joined (&join, log), 127);
  cleanup_free char *text = slurp ("%s/%s", tmpdir, "child.log");
  ck_assert_ptr_nonnull (strstr (text, "joining the pod cgroup failed"));
  kc_pod_cgroup_join_close (&join);

  /* Removal: the directories go (the fake cgroup.procs files first: a kernel has none to rmdir). */
  for (size_t i = 0; i < 3; i++)
    {
      char path[4096];
      snprintf (path, sizeof (path), "%s/%s/kube/pod1/sb1/cgroup.procs", tmpdir, present[i]);
      unlink (path);
    }
  ck_assert_int_eq (kc_pod_cgroup_remove (tmpdir, "kube/pod1/sb1", 0), 0);
  for (size_t i = 0; i < 3; i++)
    {
      char path[4096];
      snprintf (path, sizeof (path), "%s/%s/kube/pod1/sb1", tmpdir, present[i]);
      ck_assert_int_ne (access (path, F_OK), 0);
      snprintf (path, sizeof (path), "%s/%s/kube/pod1", tmpdir, present[i]);
      ck_assert_int_eq (access (path, F_OK), 0); /* kubelet's parent stays */
    }
}
END_TEST

START_TEST (fake_v2_one_directory_parents_delegate)
{
  cleanup_error kc_error_t err = NULL;
  struct kc_pod_cgroup_join join = { .n = 0 };
  touch ("%s/%s", tmpdir, "cgroup.controllers");
  touch ("%s/%s", tmpdir, "cgroup.subtree_control");
  touch ("%s/%s/cgroup.subtree_control", tmpdir, "kube");
  touch ("%s/%s/cgroup.subtree_control", tmpdir, "kube/pod2");
  touch ("%s/%s/cgroup.procs", tmpdir, "kube/pod2/sb2");
  touch ("%s/%s/cgroup.subtree_control", tmpdir, "kube/pod2/sb2");
  ck_assert_int_eq (kc_pod_cgroup_create (tmpdir, "kube/pod2/sb2", &join, &err), 0);
  ck_assert_uint_eq (join.n, 1);
  kc_pod_cgroup_join_close (&join);
  static const char *const parents[] = { "", "/kube", "/kube/pod2" };
  for (size_t i = 0; i < 3; i++)
    {
      cleanup_free char *text = slurp ("%s%s/cgroup.subtree_control", tmpdir, parents[i]);
      ck_assert_str_eq (text, "+memory +cpu +pids");
    }
  /* The pod directory holds QEMU itself: it must not enable controllers for children. */
  cleanup_free char *own = slurp ("%s/%s/cgroup.subtree_control", tmpdir, "kube/pod2/sb2");
  ck_assert_str_eq (own, "");
}
END_TEST

START_TEST (real_cgroup_holds_the_child_then_goes)
{
  char rel[128], parent[64], log[128], want[192];
  cleanup_error kc_error_t err = NULL;
  struct kc_pod_cgroup_join join = { .n = 0 };
  struct kc_spawned child;
  ck_assert_msg (geteuid () == 0, "the real pod cgroup test needs root");
  int v2 = kc_cgroup_root_is_v2 ("/sys/fs/cgroup");
  snprintf (parent, sizeof (parent), "kc-unit-podcg-%d", (int) getpid ());
  snprintf (rel, sizeof (rel), "%s/sb", parent);
  ck_assert_msg (kc_pod_cgroup_create ("/sys/fs/cgroup", rel, &join, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_uint_ge (join.n, 1);
  snprintf (log, sizeof (log), "%s/sleep.log", tmpdir);
  char *argv[] = { (char *) "/bin/sleep", (char *) "1000", NULL };
  ck_assert_int_eq (kc_proc_spawn_in_cgroup (argv, log, -1, &join, &child, &err), 0);
  kc_pod_cgroup_join_close (&join);
  close (child.ready_fd);
  char self[64];
  snprintf (self, sizeof (self), "%d", (int) child.pid);
  snprintf (want, sizeof (want), v2 ? "0::/%s\n" : "memory:/%s\n", rel);
  /* The spawn returns at fork: give the child the moment it needs to join and exec. */
  cleanup_free char *cg = NULL;
  for (int i = 0; i < 500 && (cg == NULL || strstr (cg, want) == NULL); i++)
    {
      free (cg);
      usleep (i == 0 ? 0 : 10000);
      cg = slurp ("/proc/%s/%s", self, "cgroup");
    }
  ck_assert_msg (strstr (cg, want) != NULL, "%s not in %s", want, cg);
  if (!v2)
    {
      /* Joined is not yet exec'd: what sleep touches after its exec is charged here. */
      struct kc_cgroup_metrics m = { 0 };
      for (int i = 0; i < 200 && m.mem_usage.usage == 0; i++)
        {
          kc_cgroup_metrics_release (&m);
          usleep (i == 0 ? 0 : 10000);
          ck_assert_int_eq (kc_cgroup_metrics_read ("/sys/fs/cgroup", rel, 0, &m, &err), 0);
        }
      ck_assert_uint_gt (m.mem_usage.usage, 0);
      ck_assert_uint_eq (m.pids.current, 1);
      kc_cgroup_metrics_release (&m);
    }
  /* Our child, so it turns into a zombie: gone from cgroup.procs all the same. */
  ck_assert_int_eq (kc_pod_cgroup_remove ("/sys/fs/cgroup", rel, 100), 1); /* sleep outlives the grace */
  int status;
  ck_assert_int_eq (waitpid (child.pid, &status, 0), child.pid);
  ck_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  close (child.pidfd);
  static const char *const ctl[] = { "", "memory/", "cpu/", "cpuacct/", "pids/", "freezer/" };
  for (size_t i = 0; i < sizeof (ctl) / sizeof (ctl[0]); i++)
    {
      char path[4096];
      snprintf (path, sizeof (path), "/sys/fs/cgroup/%s%s", ctl[i], rel);
      ck_assert_msg (access (path, F_OK) != 0, "%s left", path);
      snprintf (path, sizeof (path), "/sys/fs/cgroup/%s%s", ctl[i], parent);
      rmdir (path); /* the test's stand-in for kubelet's parent */
    }
  ck_assert_int_eq (kc_pod_cgroup_remove ("/sys/fs/cgroup", rel, 100), 0); /* idempotent */
}
END_TEST

int
main (void)
{
  kc_log_init ("test-pod-cgroup", KC_LOG_ERROR);
  Suite *s = suite_create ("pod_cgroup");
  TCase *tc = tcase_create ("pod_cgroup");
  tcase_add_checked_fixture (tc, setup_tmp, teardown_tmp);
  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, refuses_unplain_paths);
  tcase_add_test (tc, fake_v1_child_joins_before_exec);
  tcase_add_test (tc, fake_v2_one_directory_parents_delegate);
  tcase_add_test (tc, real_cgroup_holds_the_child_then_goes);
  suite_add_tcase (s, tc);
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
