/* Unit tests of the small shared helpers: log line framing, kc_mkdir_p input checks, the
   start-pipe release of task_server. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "task_server.h"

/* A line too long for the log buffer is cut but still one line: no NUL byte, ends with \n. */
START_TEST (log_truncated_line_ends_with_newline)
{
  static char ident[9000], got[16384];
  int p[2], saved;
  ssize_t n;

  memset (ident, 'i', sizeof ident - 1);
  ck_assert_int_eq (pipe2 (p, O_CLOEXEC), 0);
  saved = dup (STDERR_FILENO);
  dup2 (p[1], STDERR_FILENO);
  kc_log_init (ident, KC_LOG_INFO);
  kc_log_info ("hello");
  kc_log_init ("kuasar", KC_LOG_INFO);
  dup2 (saved, STDERR_FILENO);
  close (saved);
  close (p[1]);
  n = read (p[0], got, sizeof got);
  close (p[0]);
  ck_assert_int_gt (n, 100);
  ck_assert_ptr_null (memchr (got, '\0', n));
  ck_assert_int_eq (got[n - 1], '\n');
  ck_assert_ptr_null (memchr (got, '\n', n - 1));
}
END_TEST

START_TEST (mkdir_p_empty_path_refused)
{
  kc_error_t err = NULL;

  ck_assert_int_eq (kc_mkdir_p ("", 0755, &err), -1);
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  kc_error_free (&err);
}
END_TEST

/* The write's errno is reported, not whatever close left behind. */
START_TEST (start_release_reports_write_errno)
{
  kc_error_t err = NULL;
  int p[2];

  signal (SIGPIPE, SIG_IGN);
  ck_assert_int_eq (pipe2 (p, O_CLOEXEC), 0);
  close (p[0]);
  ck_assert_int_eq (kc_task_start_release (&p[1], &err), -1);
  ck_assert_int_eq (p[1], -1);
  ck_assert_int_eq (err->errno_, EPIPE);
  kc_error_free (&err);
  ck_assert_int_eq (kc_task_start_release (&p[1], &err), -1);
  ck_assert_int_eq (err->code, KC_FAILED_PRECONDITION);
  kc_error_free (&err);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("common");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, log_truncated_line_ends_with_newline);
  tcase_add_test (tc, mkdir_p_empty_path_refused);
  tcase_add_test (tc, start_release_reports_write_errno);
  suite_add_tcase (s, tc);
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
