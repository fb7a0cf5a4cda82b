/* Bad input to the built wasm-sandboxer (KC_SANDBOXER_BIN, fake tasker KC_FAKE_TASKER):
   - a broken or hostile --config (not TOML, wrong types, absurd values, a directory, 10 MiB,
     NUL bytes, binary garbage): the daemon exits non-zero (not by a signal), quickly, with one
     clear message naming the file and, for content errors, the line; it never listens.
   - corrupt sandbox.json records at recovery (truncated, wrong types, out-of-range numbers, not
     an object, a directory, a NUL byte, another sandbox's id, a bad id) are logged and skipped
     and left on disk; records naming the pid of an unrelated process (wrong start time) are
     marked NOTREADY without that process being signalled; good sandboxes are recovered as they
     were and the daemon serves on. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "grpc/kc_grpc.h"
#include "log.h"
#include "sandbox_controller.pb-c.h"

#define PATH(m)    "/containerd.services.sandbox.v1.Controller/" m
#define TIMEOUT_NS (20LL * 1000000000)
#define MIB        (1024 * 1024)

static char tmpdir[64], sock[128], target[160], state_dir[128], log_path[160];

static void
setup (void)
{
  prctl (PR_SET_CHILD_SUBREAPER, 1);
  strcpy (tmpdir, "/tmp/kc-sbbad-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (tmpdir));
  snprintf (sock, sizeof (sock), "%s/s.sock", tmpdir);
  snprintf (target, sizeof (target), "unix://%s", sock);
  snprintf (state_dir, sizeof (state_dir), "%s/state", tmpdir);
  snprintf (log_path, sizeof (log_path), "%s/daemon.log", tmpdir);
}

static void
teardown (void)
{
  cleanup_error kc_error_t err = NULL;
  kc_rm_rf (tmpdir, &err);
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
}

static pid_t
spawn_daemon (const char *config)
{
  pid_t pid = fork ();
  ck_assert_int_ge (pid, 0);
  if (pid == 0)
    {
      int fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      dup2 (fd, 1);
      dup2 (fd, 2);
      execl (getenv ("KC_SANDBOXER_BIN"), "wasm-sandboxer", "--listen", sock, "--dir", state_dir, "--tasker",
             getenv ("KC_FAKE_TASKER"), "--log-level", "debug", "--config", config, (char *) NULL);
      _exit (127);
    }
  return pid;
}

/* The whole daemon log (empty string when there is none); the caller frees it. */
static char *
read_log (void)
{
  char *buf = NULL;
  size_t len;
  cleanup_error kc_error_t err = NULL;
  if (kc_read_file (log_path, &buf, &len, &err) < 0)
    return strdup ("");
  return buf;
}

/* A sanitized daemon (ASan+UBSan build) reports on stderr, which is the log. */
static void
assert_no_sanitizer_report (const char *log)
{
  ck_assert_msg (strstr (log, "Sanitizer") == NULL && strstr (log, "runtime error:") == NULL,
                 "sanitizer report in the daemon log:\n%s", log);
}

/* ---- broken and hostile configs ---- */

struct config_case
{
  const char *name;
  const char *text; /* NULL: built by the test */
  size_t len;       /* 0: strlen (text) */
  const char *want; /* in the error line */
};

#define T(s) s, sizeof (s) - 1
static const struct config_case config_cases[] = {
  { "not-toml", T ("this is { not toml\n"), "line 1: " },
  { "not-toml-2", T ("# fine\n[wasm\nstop_timeout_secs = 3\n"), "line 2: " },
  { "json", T ("{\"wasm\": {\"stop_timeout_secs\": 3}}\n"), "line 1: " },
  { "string-for-int", T ("[wasm]\nstop_timeout_secs = \"ten\"\n"),
    "line 2: `stop_timeout_secs` must be an integer from 1 to 86400" },
  { "int-for-string", T ("log_level = 5\n"), "line 1: `log_level` must be a string" },
  { "string-for-bool", T ("[wasm]\nprecompile = \"yes\"\n"), "line 2: `precompile` must be true or false" },
  { "relative-cache-dir", T ("[wasm]\ncache_dir = \"cache\"\n"), "line 2: `cache_dir` must be an absolute path" },
  { "unknown-log-level", T ("log_level = \"loud\"\n"), "line 1: unknown log_level `loud`" },
  { "negative", T ("[wasm]\nstop_timeout_secs = -1\n"),
    "line 2: `stop_timeout_secs` must be an integer from 1 to 86400" },
  { "zero", T ("[wasm]\nstop_timeout_secs = 0\n"), "line 2: `stop_timeout_secs` must be an integer from 1 to 86400" },
  { "too-big", T ("[wasm]\nstop_timeout_secs = 86401\n"),
    "line 2: `stop_timeout_secs` must be an integer from 1 to 86400" },
  { "overflow", T ("\n\n[wasm]\nstop_timeout_secs = 99999999999999999999\n"), "line 4: integer out of range" },
  { "int64-min", T ("[wasm]\nstop_timeout_secs = -9223372036854775808\n"), "line 2: " },
  { "duplicate", T ("[wasm]\nstop_timeout_secs = 3\nstop_timeout_secs = 4\n"), "line 3: " },
  { "unterminated", T ("log_level = \"debug\n"), "line 1: " },
  { "nul-byte", T ("[wasm]\nstop_timeout_secs\0 = 3\n"), "line 2: NUL byte" },
  { "nul-only", T ("\0\0\0\0"), "line 1: NUL byte" },
  { "binary", T ("\x7f\x45LF\x02\x01\x01\xff\xfe\n\x80\x81"), "line 1: " },
  { "huge-line", NULL, 0, "line 1: line too long" },
  { "huge-comments-then-bad", NULL, 0, "line 1048577: `stop_timeout_secs` must be an integer" },
  { "directory", NULL, 0, "is not a regular file" },
  { "missing", NULL, 0, "No such file or directory" },
};

static void
write_config (const struct config_case *c, char *path, size_t path_len)
{
  cleanup_error kc_error_t err = NULL;
  snprintf (path, path_len, "%s/%s.toml", tmpdir, c->name);
  if (strcmp (c->name, "directory") == 0)
    {
      ck_assert_int_eq (mkdir (path, 0700), 0);
      return;
    }
  if (strcmp (c->name, "missing") == 0)
    return;
  if (c->text != NULL)
    {
      ck_assert_int_eq (kc_write_file_atomic (path, c->text, c->len ? c->len : strlen (c->text), 0600, &err), 0);
      return;
    }
  /* 10 MiB: one line without a newline, or 1 Mi 10-byte comment lines then a bad value. */
  size_t len = 10 * MIB;
  cleanup_free char *buf = malloc (len + 64);
  ck_assert_ptr_nonnull (buf);
  if (strcmp (c->name, "huge-line") == 0)
    memset (buf, 'a', len);
  else
    {
      for (size_t i = 0; i < len; i += 10)
        memcpy (buf + i, "# comment\n", 10);
      const char *tail = "[wasm]\nstop_timeout_secs = true\n";
      memcpy (buf + len - 10, tail, strlen (tail)); /* the last comment line becomes [wasm] */
      len += strlen (tail) - 10;
    }
  ck_assert_int_eq (kc_write_file_atomic (path, buf, len, 0600, &err), 0);
}

START_TEST (broken_configs)
{
  for (size_t i = 0; i < sizeof (config_cases) / sizeof (config_cases[0]); i++)
    {
      const struct config_case *c = &config_cases[i];
      char path[256];
      write_config (c, path, sizeof (path));
      unlink (log_path);
      struct timespec t0, t1;
      clock_gettime (CLOCK_MONOTONIC, &t0);
      pid_t pid = spawn_daemon (path);
      int st = 0, waited = 0;
      for (int tries = 0; tries < 3000 && (waited = waitpid (pid, &st, WNOHANG)) == 0; tries++)
        usleep (10000);
      if (waited == 0)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &st, 0);
          cleanup_free char *log = read_log ();
          ck_abort_msg ("config %s: the daemon still runs after 30 s; log:\n%s", c->name, log);
        }
      clock_gettime (CLOCK_MONOTONIC, &t1);
      cleanup_free char *log = read_log ();
      ck_assert_msg (WIFEXITED (st), "config %s: killed by signal %d; log:\n%s", c->name,
                     WIFSIGNALED (st) ? WTERMSIG (st) : 0, log);
      ck_assert_msg (WEXITSTATUS (st) != 127, "config %s: KC_SANDBOXER_BIN did not run", c->name);
      ck_assert_msg (WEXITSTATUS (st) == 1, "config %s: exit %d, want 1; log:\n%s", c->name, WEXITSTATUS (st), log);
      assert_no_sanitizer_report (log);
      ck_assert_msg (strstr (log, c->want) != NULL, "config %s: no `%s` in the log:\n%s", c->name, c->want, log);
      ck_assert_msg (strstr (log, path) != NULL, "config %s: the message does not name %s:\n%s", c->name, path, log);
      ck_assert_msg (strstr (log, "level=error") != NULL, "config %s: not logged as an error:\n%s", c->name, log);
      ck_assert_msg (strlen (log) < 4096, "config %s: %zu bytes of log (the file echoed?)", c->name, strlen (log));
      ck_assert_msg (access (sock, F_OK) != 0, "config %s: the daemon listened", c->name);
      double secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
      ck_assert_msg (secs < 20, "config %s: took %.1f s to fail", c->name, secs);
    }
}
END_TEST

/* ---- corrupt records at recovery ---- */

static int
call (const char *path, const ProtobufCMessage *req, uint8_t **reply, size_t *len)
{
  cleanup_error kc_error_t err = NULL;
  uint8_t *buf = NULL;
  size_t n = 0;
  int ret = kc_grpc_call_sync (target, path, req, "k8s.io", TIMEOUT_NS, &buf, &n, &err);
  if (reply && ret == 0)
    {
      *reply = buf;
      *len = n;
    }
  else
    free (buf);
  return ret < 0 ? err->code : KC_OK;
}

static int
create (const char *id)
{
  Containerd__Services__Sandbox__V1__ControllerCreateRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_CREATE_REQUEST__INIT;
  req.sandbox_id = (char *) id;
  req.netns_path = "";
  return call (PATH ("Create"), &req.base, NULL, NULL);
}

static int
start (const char *id, uint32_t *pid)
{
  Containerd__Services__Sandbox__V1__ControllerStartRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_START_REQUEST__INIT;
  uint8_t *buf;
  size_t len;
  req.sandbox_id = (char *) id;
  int code = call (PATH ("Start"), &req.base, &buf, &len);
  if (code != KC_OK)
    return code;
  Containerd__Services__Sandbox__V1__ControllerStartResponse *resp
      = containerd__services__sandbox__v1__controller_start_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  *pid = resp->pid;
  containerd__services__sandbox__v1__controller_start_response__free_unpacked (resp, NULL);
  free (buf);
  return code;
}

static int
status (const char *id, char *state, size_t state_len, uint32_t *pid)
{
  Containerd__Services__Sandbox__V1__ControllerStatusRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  uint8_t *buf;
  size_t len;
  req.sandbox_id = (char *) id;
  int code = call (PATH ("Status"), &req.base, &buf, &len);
  if (code != KC_OK)
    return code;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse *resp
      = containerd__services__sandbox__v1__controller_status_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  snprintf (state, state_len, "%s", resp->state);
  if (pid)
    *pid = resp->pid;
  containerd__services__sandbox__v1__controller_status_response__free_unpacked (resp, NULL);
  free (buf);
  return code;
}

static int
wait_exit (const char *id, uint32_t *exit_status)
{
  Containerd__Services__Sandbox__V1__ControllerWaitRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_WAIT_REQUEST__INIT;
  uint8_t *buf;
  size_t len;
  req.sandbox_id = (char *) id;
  int code = call (PATH ("Wait"), &req.base, &buf, &len);
  if (code != KC_OK)
    return code;
  Containerd__Services__Sandbox__V1__ControllerWaitResponse *resp
      = containerd__services__sandbox__v1__controller_wait_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  *exit_status = resp->exit_status;
  containerd__services__sandbox__v1__controller_wait_response__free_unpacked (resp, NULL);
  free (buf);
  return code;
}

static int
shutdown_sandbox (const char *id)
{
  Containerd__Services__Sandbox__V1__ControllerShutdownRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_SHUTDOWN_REQUEST__INIT;
  req.sandbox_id = (char *) id;
  return call (PATH ("Shutdown"), &req.base, NULL, NULL);
}

static pid_t
start_serving (const char *config)
{
  unlink (sock);
  pid_t pid = spawn_daemon (config);
  char state[64];
  int code = KC_UNAVAILABLE;
  for (int i = 0; i < 1000 && code == KC_UNAVAILABLE; i++)
    {
      if (waitpid (pid, NULL, WNOHANG) == pid)
        {
          cleanup_free char *log = read_log ();
          ck_abort_msg ("the daemon exited at startup; log:\n%s", log);
        }
      if (access (sock, F_OK) < 0 || (code = status ("probe", state, sizeof (state), NULL)) == KC_UNAVAILABLE)
        usleep (20000);
    }
  ck_assert_int_eq (code, KC_NOT_FOUND);
  return pid;
}

static int
alive (pid_t pid)
{
  char path[64], buf[512];
  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return 0;
  size_t n = fread (buf, 1, sizeof (buf) - 1, f);
  fclose (f);
  buf[n] = '\0';
  char *p = strrchr (buf, ')');
  return p != NULL && p[1] == ' ' && p[2] != 'Z';
}

/* An unrelated process standing in for a tasker: `sleep 300`, in its own process group. */
static pid_t
spawn_bystander (void)
{
  pid_t pid = fork ();
  ck_assert_int_ge (pid, 0);
  if (pid == 0)
    {
      setpgid (0, 0);
      execlp ("sleep", "sleep", "300", (char *) NULL);
      _exit (127);
    }
  return pid;
}

/* A well-formed record for `id` (state, pid, start time as JSON text) with `extra` fields. */
static char *
record (const char *id, const char *state, const char *pid, const char *start_time, const char *extra)
{
  char *s = NULL;
  ck_assert_int_ge (asprintf (&s,
                              "{\"version\": 1, \"id\": \"%s\", \"state\": \"%s\", \"netns_path\": \"\", "
                              "\"created_at_ns\": 1700000000000000000, \"exited_at_ns\": 0, \"pid\": %s, "
                              "\"pid_start_time\": %s, \"exit_status\": 0, \"annotations\": {}, "
                              "\"extensions\": {}%s}",
                              id, state, pid, start_time, extra),
                    0);
  return s;
}

static void
put_record (const char *dir_name, const char *text, size_t len)
{
  char path[256];
  cleanup_error kc_error_t err = NULL;
  snprintf (path, sizeof (path), "%s/%s", state_dir, dir_name);
  ck_assert_int_eq (kc_mkdir_p (path, 0700, &err), 0);
  snprintf (path, sizeof (path), "%s/%s/sandbox.json", state_dir, dir_name);
  ck_assert_int_eq (kc_write_file_atomic (path, text, len ? len : strlen (text), 0600, &err), 0);
}

struct bad_record
{
  const char *dir;
  char *text;
  size_t len;
  char *before; /* the file as written, to check it is left untouched */
};

START_TEST (corrupt_records_at_recovery)
{
  char config[256], state[64], pidtxt[32];
  cleanup_error kc_error_t err = NULL;
  snprintf (config, sizeof (config), "%s/config.toml", tmpdir);
  ck_assert_int_eq (kc_write_file_atomic (config, "[wasm]\nstop_timeout_secs = 3\n", 29, 0600, &err), 0);

  /* Two good sandboxes: one READY (its fake tasker lives on), one only created. */
  pid_t daemon = start_serving (config);
  uint32_t good_pid = 0, pid = 0;
  ck_assert_int_eq (create ("good-ready"), KC_OK);
  ck_assert_int_eq (start ("good-ready", &good_pid), KC_OK);
  ck_assert_int_eq (create ("good-created"), KC_OK);
  kill (daemon, SIGKILL);
  waitpid (daemon, NULL, 0);

  pid_t bystander = spawn_bystander (), bystander2 = spawn_bystander ();
  char *template = NULL;
  size_t tlen;
  char good_path[256];
  snprintf (good_path, sizeof (good_path), "%s/good-ready/sandbox.json", state_dir);
  ck_assert_int_eq (kc_read_file (good_path, &template, &tlen, &err), 0);
  ck_assert_uint_gt (tlen, 40);

  struct bad_record bad[] = {
    { "truncated", NULL, 0, NULL },
    { "empty", strdup (""), 0, NULL },
    { "not-object", strdup ("[1, 2, 3]"), 0, NULL },
    { "pid-string", record ("pid-string", "ready", "\"123\"", "1", ""), 0, NULL },
    { "pid-huge", record ("pid-huge", "ready", "99999999999999999999", "1", ""), 0, NULL },
    { "pid-negative", record ("pid-negative", "ready", "-1", "1", ""), 0, NULL },
    { "pid-float", record ("pid-float", "ready", "1.5", "1", ""), 0, NULL },
    { "start-negative", record ("start-negative", "ready", "1", "-5", ""), 0, NULL },
    { "state-unknown", record ("state-unknown", "zombie", "1", "1", ""), 0, NULL },
    { "state-int", record ("state-int", "1\", \"state\": 2, \"x\": \"", "1", "1", ""), 0, NULL },
    { "id-missing", strdup ("{\"state\": \"ready\", \"pid\": 1}"), 0, NULL },
    { "id-other", record ("good-ready", "ready", "1", "1", ""), 0, NULL },
    { "id-bad", record ("../etc", "ready", "1", "1", ""), 0, NULL },
    { "annotations-array", record ("annotations-array", "ready", "1", "1", ", \"annotations\": [1]"), 0, NULL },
    { "nul-byte", NULL, 0, NULL },
  };
  size_t nbad = sizeof (bad) / sizeof (bad[0]);
  bad[0].text = strndup (template, tlen / 2);
  bad[nbad - 1].text = strdup (template);
  bad[nbad - 1].len = tlen;
  bad[nbad - 1].text[tlen / 3] = '\0';
  for (size_t i = 0; i < nbad; i++)
    {
      ck_assert_ptr_nonnull (bad[i].text);
      bad[i].len = bad[i].len ? bad[i].len : strlen (bad[i].text);
      if (strcmp (bad[i].dir, "empty") == 0)
        put_record (bad[i].dir, "", 0), bad[i].len = 0;
      else
        put_record (bad[i].dir, bad[i].text, bad[i].len);
    }
  /* sandbox.json is a directory */
  char path[256];
  snprintf (path, sizeof (path), "%s/json-dir/sandbox.json", state_dir);
  ck_assert_int_eq (kc_mkdir_p (path, 0700, &err), 0);
  /* Unrelated live processes under a READY and a CREATED (interrupted Start) record, with the
     wrong start time: not our taskers, so never signalled. */
  snprintf (pidtxt, sizeof (pidtxt), "%d", (int) bystander);
  cleanup_free char *imp = record ("imposter-ready", "ready", pidtxt, "12345", "");
  put_record ("imposter-ready", imp, 0);
  snprintf (pidtxt, sizeof (pidtxt), "%d", (int) bystander2);
  cleanup_free char *imp2 = record ("imposter-created", "created", pidtxt, "12345", "");
  put_record ("imposter-created", imp2, 0);
  /* A READY record with the max pid: no such process. */
  cleanup_free char *gone = record ("gone-ready", "ready", "1073741823", "1", "");
  put_record ("gone-ready", gone, 0);

  unlink (log_path);
  daemon = start_serving (config);
  cleanup_free char *log = read_log ();

  /* The good ones are as they were. */
  ck_assert_int_eq (status ("good-ready", state, sizeof (state), &pid), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_READY");
  ck_assert_uint_eq (pid, good_pid);
  ck_assert (alive ((pid_t) good_pid));
  ck_assert_int_eq (status ("good-created", state, sizeof (state), NULL), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");

  /* Every bad record: skipped with an error naming its dir, and left on disk as it was. */
  for (size_t i = 0; i < nbad; i++)
    {
      char needle[300];
      ck_assert_msg (status (bad[i].dir, state, sizeof (state), NULL) == KC_NOT_FOUND, "%s was recovered (%s)",
                     bad[i].dir, state);
      snprintf (needle, sizeof (needle), "skipping %s/%s", state_dir, bad[i].dir);
      ck_assert_msg (strstr (log, needle) != NULL, "no `%s` in the log:\n%s", needle, log);
      snprintf (path, sizeof (path), "%s/%s/sandbox.json", state_dir, bad[i].dir);
      char *now = NULL;
      size_t nlen = 0;
      cleanup_error kc_error_t rerr = NULL;
      ck_assert_msg (kc_read_file (path, &now, &nlen, &rerr) == 0, "%s: %s", bad[i].dir, rerr ? rerr->msg : "");
      ck_assert_msg (nlen == bad[i].len && memcmp (now, bad[i].text, nlen) == 0, "%s was rewritten", bad[i].dir);
      free (now);
      free (bad[i].text);
    }
  ck_assert_int_eq (status ("json-dir", state, sizeof (state), NULL), KC_NOT_FOUND);
  ck_assert_ptr_nonnull (strstr (log, "/json-dir"));

  /* The imposters are reported exited, and the processes they named were left alone. */
  uint32_t code = 0;
  ck_assert_int_eq (status ("imposter-ready", state, sizeof (state), NULL), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");
  ck_assert_int_eq (wait_exit ("imposter-ready", &code), KC_OK);
  ck_assert_uint_eq (code, 255);
  ck_assert_int_eq (status ("imposter-created", state, sizeof (state), NULL), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");
  ck_assert_int_eq (status ("gone-ready", state, sizeof (state), NULL), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");
  usleep (300000);
  ck_assert_msg (alive (bystander), "the unrelated process under a READY record was signalled");
  ck_assert_msg (alive (bystander2), "the unrelated process under a CREATED record was signalled");
  ck_assert_int_eq (shutdown_sandbox ("imposter-ready"), KC_OK);
  ck_assert_int_eq (shutdown_sandbox ("imposter-created"), KC_OK);
  ck_assert (alive (bystander) && alive (bystander2));

  /* It serves on: new sandboxes, and the good one stops normally. */
  uint32_t new_pid = 0;
  ck_assert_int_eq (create ("after"), KC_OK);
  ck_assert_int_eq (start ("after", &new_pid), KC_OK);
  ck_assert_int_eq (shutdown_sandbox ("after"), KC_OK);
  ck_assert_int_eq (shutdown_sandbox ("good-ready"), KC_OK);
  ck_assert (!alive ((pid_t) good_pid));
  ck_assert (!alive ((pid_t) new_pid));
  ck_assert_int_eq (kill (daemon, SIGTERM), 0);
  int st = 0;
  waitpid (daemon, &st, 0);
  ck_assert_msg (WIFEXITED (st) && WEXITSTATUS (st) == 0, "daemon status %#x", st);
  cleanup_free char *final_log = read_log ();
  assert_no_sanitizer_report (final_log);
  free (template);
  kill (bystander, SIGKILL);
  kill (bystander2, SIGKILL);
}
END_TEST

int
main (void)
{
  kc_log_init ("test", KC_LOG_ERROR);
  signal (SIGPIPE, SIG_IGN);
  Suite *s = suite_create ("sandboxer-badinput");
  TCase *tc = tcase_create ("badinput");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, broken_configs);
  tcase_add_test (tc, corrupt_records_at_recovery);
  suite_add_tcase (s, tc);
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
