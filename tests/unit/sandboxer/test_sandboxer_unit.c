/* Unit tests of the sandboxer core's pure parts: TOML subset, config, ids, store, fsutil. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "proc.h"
#include "sandbox_id.h"
#include "store.h"
#include "toml.h"

static char tmpdir[64];

static void
setup_tmp (void)
{
  strcpy (tmpdir, "/tmp/kc-sbunit-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (tmpdir));
}

static void
teardown_tmp (void)
{
  cleanup_error kc_error_t err = NULL;
  kc_rm_rf (tmpdir, &err);
}

static int
count_key (const char *table, const char *key, const struct kc_toml_value *v, int line, void *userdata, kc_error_t *err)
{
  (*(int *) userdata)++;
  return 0;
}

static int
toml_error (const char *text, const char *expect)
{
  cleanup_error kc_error_t err = NULL;
  int n = 0;
  int ret = kc_toml_parse (text, strlen (text), count_key, &n, &err);
  if (ret == 0)
    return 0;
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  if (strstr (err->msg, expect) == NULL)
    ck_abort_msg ("`%s`: error `%s` lacks `%s`", text, err->msg, expect);
  return 1;
}

START_TEST (toml_valid)
{
  const char *text = "# comment\n"
                     "log_level = \"debug\" # trailing\n"
                     "\n"
                     "[wasm]\r\n"
                     "precompile = true\n"
                     "cache_dir = '/var/cache/k'\n"
                     "stop_timeout_secs = 1_5\n"
                     "[ a . b ]\n"
                     "neg = -3\n"
                     "esc = \"a\\\"b\\u00e9\\n\"\n";
  struct kc_config cfg;
  cleanup_error kc_error_t err = NULL;
  kc_config_init (&cfg);
  ck_assert_int_eq (kc_config_parse (&cfg, "wasm", text, strlen (text), &err), 0);
  ck_assert_int_eq (cfg.log_level, KC_LOG_DEBUG);
  ck_assert_int_eq (cfg.precompile, 1);
  ck_assert_str_eq (cfg.cache_dir, "/var/cache/k");
  ck_assert_uint_eq (cfg.stop_timeout_secs, 15);
  kc_config_free (&cfg);
  int n = 0;
  ck_assert_int_eq (kc_toml_parse (text, strlen (text), count_key, &n, &err), 0);
  ck_assert_int_eq (n, 6);
  ck_assert_int_eq (kc_toml_parse ("", 0, count_key, &n, &err), 0);
}
END_TEST

START_TEST (toml_invalid)
{
  ck_assert (toml_error ("a = 1\nb = \n", "line 2:"));
  ck_assert (toml_error ("a = \"open\n", "line 1: unterminated string"));
  ck_assert (toml_error ("\n\n[[x]]\n", "line 3: arrays of tables"));
  ck_assert (toml_error ("a = [1, 2]\n", "line 1: arrays and inline tables"));
  ck_assert (toml_error ("a = 1.5\n", "line 1: only decimal integers"));
  ck_assert (toml_error ("a = 1\na = 2\n", "line 2: duplicate key `a`"));
  ck_assert (toml_error ("[t]\n[t]\n", "line 2: duplicate table"));
  ck_assert (toml_error ("a.b = 1\n", "line 1: dotted keys"));
  ck_assert (toml_error ("\"q\" = 1\n", "quoted keys"));
  ck_assert (toml_error ("a = 1 x\n", "unexpected text"));
  ck_assert (toml_error ("a = tru\n", "bad value"));
  ck_assert (toml_error ("[a.]\n", "bad table name"));
  ck_assert (toml_error ("a = \"\\q\"\n", "unknown escape"));
  ck_assert (toml_error ("a = 99999999999999999999\n", "out of range"));
  ck_assert (toml_error ("a = 007\n", "leading zeros"));
  ck_assert (toml_error ("a = \"\\ud800\"\n", "code point"));
  ck_assert (toml_error ("a = \"\"\"x\"\"\"\n", "multi-line"));
  ck_assert (toml_error ("= 1\n", "key expected"));
  static const char nul[] = "a = 1\nb\0 = 2\n";
  cleanup_error kc_error_t err = NULL;
  int n = 0;
  ck_assert_int_eq (kc_toml_parse (nul, sizeof (nul) - 1, count_key, &n, &err), -1);
  ck_assert_ptr_nonnull (strstr (err->msg, "line 2: NUL"));
}
END_TEST

START_TEST (config_types_and_unknown_keys)
{
  struct kc_config cfg;
  cleanup_error kc_error_t err = NULL;
  kc_config_init (&cfg);
  const char *ok = "unknown = 1\n[wasm]\nother = \"x\"\n[elsewhere]\nk = true\n";
  ck_assert_int_eq (kc_config_parse (&cfg, "wasm", ok, strlen (ok), &err), 0);
  ck_assert_uint_eq (cfg.stop_timeout_secs, KC_CONFIG_DEFAULT_STOP_TIMEOUT);
  ck_assert_int_eq (cfg.log_level, -1);
  const char *bad[] = { "[wasm]\nprecompile = 1\n", "[wasm]\nstop_timeout_secs = 0\n", "log_level = \"loud\"\n",
                        "[wasm]\ncache_dir = \"relative\"\n", "log_level = 3\n" };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      ck_assert_int_eq (kc_config_parse (&cfg, "wasm", bad[i], strlen (bad[i]), &err), -1);
      ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
      ck_assert_ptr_nonnull (strstr (err->msg, "line "));
    }
  kc_config_free (&cfg);
}
END_TEST

static int
id_ok (const char *id)
{
  cleanup_error kc_error_t err = NULL;
  int ret = kc_sandbox_id_validate (id, strlen (id), &err);
  if (ret < 0)
    ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  return ret == 0;
}

START_TEST (sandbox_ids)
{
  char long_id[200];
  ck_assert (id_ok ("abc"));
  ck_assert (id_ok ("0a_b.c-d"));
  ck_assert (!id_ok (""));
  ck_assert (!id_ok ("."));
  ck_assert (!id_ok (".."));
  ck_assert (!id_ok ("a/b"));
  ck_assert (!id_ok ("-a"));
  ck_assert (!id_ok ("_a"));
  ck_assert (!id_ok ("a b"));
  ck_assert (!id_ok ("é"));
  memset (long_id, 'a', 128);
  long_id[128] = '\0';
  ck_assert (id_ok (long_id));
  long_id[128] = 'a';
  long_id[129] = '\0';
  ck_assert (!id_ok (long_id));
  cleanup_error kc_error_t err = NULL;
  ck_assert_int_eq (kc_sandbox_id_validate ("ab\0c", 4, &err), -1);
  /* field 1 = "ab\0c", field 2 varint 1, then field 1 again = "xy" (last wins) */
  static const uint8_t nul_req[] = { 0x0a, 4, 'a', 'b', 0, 'c', 0x10, 1 };
  ck_assert_int_eq (kc_pb_field_len (nul_req, sizeof (nul_req), 1), 4);
  ck_assert_int_eq (kc_sandbox_id_check_request ("ab", nul_req, sizeof (nul_req), &err), -1);
  ck_assert_ptr_nonnull (strstr (err->msg, "NUL"));
  static const uint8_t two[] = { 0x0a, 1, 'a', 0x0a, 2, 'x', 'y' };
  ck_assert_int_eq (kc_pb_field_len (two, sizeof (two), 1), 2);
  ck_assert_int_eq (kc_sandbox_id_check_request ("xy", two, sizeof (two), &err), 0);
  static const uint8_t truncated[] = { 0x0a, 9, 'a' };
  ck_assert_int_eq (kc_pb_field_len (truncated, sizeof (truncated), 1), -1);
}
END_TEST

START_TEST (store_round_trip)
{
  struct kc_sandbox_record r, back;
  cleanup_error kc_error_t err = NULL;
  kc_sandbox_record_init (&r);
  r.id = strdup ("pod1");
  r.state = KC_SANDBOX_READY;
  r.netns_path = strdup ("/var/run/netns/x");
  r.address = strdup ("ttrpc+unix:///x/task.sock");
  r.created_at_ns = 1700000000123456789LL;
  r.pid = 4242;
  r.pid_start_time = 987654321ULL;
  r.exit_status = 137;
  r.memory_limit_bytes = 268435456;
  r.overhead_memory_limit_bytes = 1048577;
  r.cpu_quota = 150000;
  r.cpu_period = 100000;
  json_object_object_add (r.annotations, "k", json_object_new_string ("v"));
  ck_assert_int_eq (kc_store_save (tmpdir, &r, &err), 0);
  ck_assert_int_eq (kc_store_load (tmpdir, &back, &err), 0);
  ck_assert_str_eq (back.id, "pod1");
  ck_assert_int_eq (back.state, KC_SANDBOX_READY);
  ck_assert_str_eq (back.netns_path, "/var/run/netns/x");
  ck_assert_str_eq (back.address, r.address);
  ck_assert_ptr_null (back.hostname);
  ck_assert (back.created_at_ns == r.created_at_ns);
  ck_assert_int_eq (back.pid, 4242);
  ck_assert (back.pid_start_time == 987654321ULL);
  ck_assert_uint_eq (back.exit_status, 137);
  ck_assert (back.memory_limit_bytes == 268435456);
  ck_assert (back.overhead_memory_limit_bytes == 1048577);
  ck_assert (back.cpu_quota == 150000);
  ck_assert (back.cpu_period == 100000);
  json_object *v;
  ck_assert (json_object_object_get_ex (back.annotations, "k", &v));
  ck_assert_str_eq (json_object_get_string (v), "v");
  struct stat st;
  char path[256];
  snprintf (path, sizeof (path), "%s/sandbox.json", tmpdir);
  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);
  kc_sandbox_record_clear (&r);
  kc_sandbox_record_clear (&back);
}
END_TEST

static void
write_record (const char *text)
{
  char path[256];
  cleanup_error kc_error_t err = NULL;
  snprintf (path, sizeof (path), "%s/sandbox.json", tmpdir);
  ck_assert_int_eq (kc_write_file_atomic (path, text, strlen (text), 0600, &err), 0);
}

/* A record written before the pod's resources were kept loads with them unset. */
START_TEST (store_record_without_resources)
{
  struct kc_sandbox_record r;
  cleanup_error kc_error_t err = NULL;
  write_record ("{\"version\": 1, \"id\": \"old\", \"state\": \"ready\", \"created_at_ns\": 1, "
                "\"exited_at_ns\": 0, \"pid\": 1, \"pid_start_time\": 1, \"exit_status\": 0}");
  ck_assert_int_eq (kc_store_load (tmpdir, &r, &err), 0);
  ck_assert_str_eq (r.id, "old");
  ck_assert (r.memory_limit_bytes == 0 && r.overhead_memory_limit_bytes == 0);
  ck_assert (r.cpu_quota == 0 && r.cpu_period == 0);
  kc_sandbox_record_clear (&r);
}
END_TEST

START_TEST (store_corrupted)
{
  const char *bad[] = {
    "",
    "{",
    "[]",
    "{\"id\": \"x\"}",
    "{\"id\": \"../x\", \"state\": \"ready\", \"created_at_ns\": 1, \"exited_at_ns\": 0, \"pid\": 1, "
    "\"pid_start_time\": 1, \"exit_status\": 0}",
    "{\"id\": \"x\", \"state\": \"dancing\", \"created_at_ns\": 1, \"exited_at_ns\": 0, \"pid\": 1, "
    "\"pid_start_time\": 1, \"exit_status\": 0}",
    "{\"id\": \"x\", \"state\": \"ready\", \"created_at_ns\": 1, \"exited_at_ns\": 0, \"pid\": -5, "
    "\"pid_start_time\": 1, \"exit_status\": 0}",
    "{\"id\": 7, \"state\": \"ready\"}",
    "{\"id\": \"x\", \"state\": \"ready\", \"created_at_ns\": 1, \"exited_at_ns\": 0, \"pid\": 1, "
    "\"pid_start_time\": 1, \"exit_status\": 0, \"annotations\": []}",
    "{\"id\": \"x\"} trailing",
    "{\"id\": \"x\", \"state\": \"ready\", \"created_at_ns\": 1, \"exited_at_ns\": 0, \"pid\": 1, "
    "\"pid_start_time\": 1, \"exit_status\": 0, \"memory_limit_bytes\": -1}",
    "{\"id\": \"x\", \"state\": \"ready\", \"created_at_ns\": 1, \"exited_at_ns\": 0, \"pid\": 1, "
    "\"pid_start_time\": 1, \"exit_status\": 0, \"cpu_quota\": \"1\"}",
  };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      struct kc_sandbox_record r;
      cleanup_error kc_error_t err = NULL;
      write_record (bad[i]);
      if (kc_store_load (tmpdir, &r, &err) == 0)
        ck_abort_msg ("record %zu was accepted", i);
      ck_assert_int_eq (err->code, KC_DATA_LOSS);
      kc_sandbox_record_clear (&r);
    }
}
END_TEST

START_TEST (fsutil_basics)
{
  char path[256], *buf = NULL;
  size_t len;
  cleanup_error kc_error_t err = NULL;
  snprintf (path, sizeof (path), "%s/a/b/c", tmpdir);
  ck_assert_int_eq (kc_mkdir_p (path, 0755, &err), 0);
  ck_assert_int_eq (kc_mkdir_p (path, 0755, &err), 0);
  snprintf (path, sizeof (path), "%s/a/b/c/f", tmpdir);
  ck_assert_int_eq (kc_write_file_atomic (path, "hello", 5, 0640, &err), 0);
  ck_assert_int_eq (kc_write_file_atomic (path, "hi", 2, 0640, &err), 0);
  ck_assert_int_eq (kc_read_file (path, &buf, &len, &err), 0);
  ck_assert_uint_eq (len, 2);
  ck_assert_str_eq (buf, "hi");
  free (buf);
  ck_assert_int_eq (kc_mkdir_p (path, 0755, &err), -1);
  snprintf (path, sizeof (path), "%s/a/link", tmpdir);
  ck_assert_int_eq (symlink ("/etc", path), 0);
  snprintf (path, sizeof (path), "%s/a", tmpdir);
  ck_assert_int_eq (kc_rm_rf (path, &err), 0);
  ck_assert_int_eq (access (path, F_OK), -1);
  ck_assert_int_eq (access ("/etc/hostname", F_OK) == 0 || access ("/etc", F_OK) == 0, 1);
  ck_assert_int_eq (kc_rm_rf (path, &err), 0);
  ck_assert_int_eq (kc_read_file (path, &buf, &len, &err), -1);
  ck_assert_int_eq (err->code, KC_NOT_FOUND);
}
END_TEST

START_TEST (proc_start_time_and_last_line)
{
  unsigned long long t1 = 0, t2 = 0;
  cleanup_error kc_error_t err = NULL;
  ck_assert_int_eq (kc_proc_start_time (getpid (), &t1, &err), 0);
  ck_assert_int_eq (kc_proc_start_time (getpid (), &t2, &err), 0);
  ck_assert (t1 > 0 && t1 == t2);
  ck_assert_int_eq (kc_proc_start_time (0x3ffffff0, &t1, &err), -1);
  ck_assert_int_eq (err->code, KC_NOT_FOUND);
  char path[256], last[64];
  snprintf (path, sizeof (path), "%s/log", tmpdir);
  const char *text = "first\nsecond line\n\n";
  cleanup_error kc_error_t werr = NULL;
  ck_assert_int_eq (kc_write_file_atomic (path, text, strlen (text), 0600, &werr), 0);
  kc_file_last_line (path, last, sizeof (last));
  ck_assert_str_eq (last, "second line");
  kc_file_last_line ("/nonexistent", last, sizeof (last));
  ck_assert_str_eq (last, "");
}
END_TEST

/* The log lines kc_log_file_tail writes for text (stderr captured into a file). */
static char *
tail_logged (const char *text, int max_lines)
{
  char path[256], out[256];
  static char got[8192];
  cleanup_error kc_error_t err = NULL;
  size_t len = 0;
  char *buf = NULL;
  snprintf (path, sizeof (path), "%s/tail-in", tmpdir);
  snprintf (out, sizeof (out), "%s/tail-out", tmpdir);
  ck_assert_int_eq (kc_write_file_atomic (path, text, strlen (text), 0600, &err), 0);
  int saved = dup (2), fd = open (out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert (saved >= 0 && fd >= 0);
  dup2 (fd, 2);
  kc_log_file_tail ("pfx", path, max_lines);
  dup2 (saved, 2);
  close (saved), close (fd);
  ck_assert_int_eq (kc_read_file (out, &buf, &len, &err), 0);
  snprintf (got, sizeof (got), "%s", buf);
  free (buf);
  return got;
}

START_TEST (log_file_tail_copies_last_lines)
{
  char *got = tail_logged ("one\ntwo\nthree\nfour\n", 2);
  ck_assert_ptr_null (strstr (got, "pfx: two"));
  ck_assert_ptr_nonnull (strstr (got, "pfx: three"));
  ck_assert_ptr_nonnull (strstr (got, "pfx: four"));
  got = tail_logged ("only line without newline", 5);
  ck_assert_ptr_nonnull (strstr (got, "pfx: only line without newline"));
  got = tail_logged ("a\nb\n", 10);
  ck_assert (strstr (got, "pfx: a") != NULL && strstr (got, "pfx: b") != NULL);
  kc_log_file_tail ("pfx", "/nonexistent", 3); /* nothing, no crash */
}
END_TEST

int
main (void)
{
  kc_log_init ("test", KC_LOG_ERROR);
  Suite *s = suite_create ("sandboxer");
  TCase *tc = tcase_create ("core");
  tcase_add_checked_fixture (tc, setup_tmp, teardown_tmp);
  tcase_add_test (tc, toml_valid);
  tcase_add_test (tc, toml_invalid);
  tcase_add_test (tc, config_types_and_unknown_keys);
  tcase_add_test (tc, sandbox_ids);
  tcase_add_test (tc, store_round_trip);
  tcase_add_test (tc, store_record_without_resources);
  tcase_add_test (tc, store_corrupted);
  tcase_add_test (tc, fsutil_basics);
  tcase_add_test (tc, proc_start_time_and_last_line);
  tcase_add_test (tc, log_file_tail_copies_last_lines);
  suite_add_tcase (s, tc);
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
