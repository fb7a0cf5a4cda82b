/* Unit tests of the example skeleton shim's container process (root: it chroots): a task
   deleted before Start must not leave its held process behind. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container.h"

/* waitpid with a deadline: 1 when pid exited within timeout_ms. */
static int
exited_within (pid_t pid, int timeout_ms)
{
  for (int i = 0; i < timeout_ms / 10; i++)
    {
      int status;
      if (waitpid (pid, &status, WNOHANG) == pid)
        return 1;
      usleep (10000);
    }
  return 0;
}

static void
make_bundle (char *dir, size_t size)
{
  char path[512];
  FILE *f;

  snprintf (dir, size, "/tmp/kc-skel-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (dir));
  snprintf (path, sizeof path, "%s/rootfs", dir);
  ck_assert_int_eq (mkdir (path, 0755), 0);
  snprintf (path, sizeof path, "%s/config.json", dir);
  f = fopen (path, "w");
  ck_assert_ptr_nonnull (f);
  fputs ("{\"process\":{\"args\":[\"/bin/true\"],\"env\":[],\"cwd\":\"/\"}}", f);
  fclose (f);
}

static void
remove_bundle (const char *dir)
{
  char cmd[600];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq (system (cmd), 0);
}

static struct skel_container *
create (const char *bundle, const char *id)
{
  Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  kc_error_t err = NULL;
  struct skel_container *c;

  req.id = (char *) id;
  req.bundle = (char *) bundle;
  c = skel_container_create (&req, &err);
  ck_assert_msg (c != NULL, "create: %s", err ? err->msg : "?");
  return c;
}

START_TEST (test_deleted_unstarted_exits)
{
  char bundle[64];
  struct skel_container *a, *b;
  pid_t pa, pb;

  if (geteuid () != 0)
    return; /* chroot needs root */
  make_bundle (bundle, sizeof bundle);
  /* Two held at once: b was forked while a's start pipe was open in the shim. */
  a = create (bundle, "a");
  b = create (bundle, "b");
  pa = a->pid;
  pb = b->pid;
  a->mounted = b->mounted = 0; /* nothing mounted: keep the bundle's rootfs dir as is */
  skel_container_free (a);
  ck_assert_msg (exited_within (pa, 3000), "a process deleted before Start is still held");
  skel_container_free (b);
  ck_assert_msg (exited_within (pb, 3000), "second process deleted before Start is still held");
  remove_bundle (bundle);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("skeleton-container");
  TCase *tc = tcase_create ("container");
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 20);
  tcase_add_test (tc, test_deleted_unstarted_exits);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
