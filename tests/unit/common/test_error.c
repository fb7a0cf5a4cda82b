/* Unit tests of lib/error: codes derived from errno, context wrapping, moves. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

START_TEST (errno_maps_to_code)
{
  kc_error_t err = NULL;
  ck_assert_int_eq (kc_error (&err, ENOENT, "open `%s`", "/x"), -1);
  ck_assert_int_eq (err->code, KC_NOT_FOUND);
  ck_assert_str_eq (err->msg, "open `/x`: No such file or directory");
  kc_error_free (&err);
  ck_assert_ptr_null (err);
}
END_TEST

START_TEST (wrap_adds_context)
{
  kc_error_t err = NULL;
  kc_error_code (&err, KC_INVALID_ARGUMENT, "bad id");
  kc_error_wrap (&err, "create sandbox `%s`", "p1");
  ck_assert_str_eq (err->msg, "create sandbox `p1`: bad id");
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  ck_assert_str_eq (kc_code_name (err->code), "INVALID_ARGUMENT");
  kc_error_free (&err);
}
END_TEST

START_TEST (move_and_null_safety)
{
  kc_error_t a = NULL, b = NULL;
  ck_assert_int_eq (kc_error_wrap (&a, "nothing"), -1);
  ck_assert_ptr_null (a);
  kc_error_code (&a, KC_INTERNAL, "x");
  kc_error_move (&b, &a);
  ck_assert_ptr_null (a);
  ck_assert_str_eq (b->msg, "x");
  kc_error_free (&b);
  ck_assert_int_eq (kc_error (NULL, EIO, "ignored"), -1);
  ck_assert_str_eq (kc_code_name (99), "UNKNOWN");
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("error");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, errno_maps_to_code);
  tcase_add_test (tc, wrap_adds_context);
  tcase_add_test (tc, move_and_null_safety);
  suite_add_tcase (s, tc);
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
