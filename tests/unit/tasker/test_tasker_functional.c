/* Functional test of kuasar-wasm-tasker: runs the built binary, builds WASI modules with clang-14,
   and drives the Task API over ttrpc (needs root for mounts and cgroups). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups_metrics.pb-c.h"
#include "cgroups_v2_metrics.pb-c.h"
#include "error.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

#define TIMEOUT_NS (15LL * 1000 * 1000 * 1000)

static char tmpdir[64];
static char sock[256];
static pid_t tasker_pid;
static const char *tasker_bin;

static const char hello_c[] = "#include <stdio.h>\n#include <stdlib.h>\n"
                              "int main (int argc, char **argv) {\n"
                              "  const char *g = getenv (\"GREETING\");\n"
                              "  printf (\"hello %s argc=%d\\n\", g ? g : \"-\", argc);\n"
                              "  fprintf (stderr, \"to stderr\\n\");\n"
                              "  return 3;\n}\n";
static const char sleeper_c[] = "#include <stdio.h>\n#include <unistd.h>\n"
                                "int main (void) { printf (\"sleeping\\n\"); fflush (stdout);\n"
                                "  for (;;) sleep (1); }\n";
static const char reader_c[] = "#include <stdio.h>\n"
                               "int main (void) { FILE *f = fopen (\"/data/msg.txt\", \"r\"); char b[64] = \"\";\n"
                               "  if (!f) return 7; fgets (b, sizeof b, f); printf (\"read:%s\", b); return 0; }\n";

/* hello_c exits 3; run_timed wants 0. */
static const char hello_c_ok[]
    = "#include <stdio.h>\n"
      "int main (int argc, char **argv) { printf (\"hello argc=%d\\n\", argc); return 0; }\n";

static const char alloc_c[] = "#include <stdlib.h>\n#include <string.h>\n#include <stdio.h>\n"
                              "char *keep[1024];\n"
                              "int main (void) { long sum = 0; for (int i = 0; i < 1024; i++) {\n"
                              "  keep[i] = malloc (1 << 20); if (!keep[i]) return 9;\n"
                              "  memset (keep[i], i + 1, 1 << 20); sum += keep[i][i * 7]; }\n"
                              "  printf (\"survived %ld\\n\", sum); return 0; }\n";

static void
write_file (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  ck_assert_msg (f != NULL, "open %s: %s", path, strerror (errno));
  fputs (text, f);
  fclose (f);
}

static void
build_module (const char *name, const char *src, const char *dst)
{
  char c_path[512], cmd[1536];

  snprintf (c_path, sizeof (c_path), "%s/%s.c", tmpdir, name);
  write_file (c_path, src);
  snprintf (cmd, sizeof (cmd), "clang-14 --target=wasm32-wasi -O2 -o '%s' '%s'", dst, c_path);
  ck_assert_msg (system (cmd) == 0, "clang-14 failed for %s", name);
}

/* <tmp>/<id>/config.json + rootfs/ with the module; returns the bundle path in out. */
static void
make_bundle (const char *id, const char *module_src, const char *args_json, const char *extra_json, char *out,
             size_t len)
{
  char path[512], json[2048];

  snprintf (out, len, "%s/%s", tmpdir, id);
  mkdir (out, 0755);
  snprintf (path, sizeof (path), "%s/rootfs", out);
  mkdir (path, 0755);
  if (module_src != NULL)
    {
      snprintf (path, sizeof (path), "%s/rootfs/app.wasm", out);
      build_module (id, module_src, path);
    }
  snprintf (json, sizeof (json),
            "{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":%s,\"env\":[\"GREETING=hi\"],\"cwd\":\"/\"},"
            "\"root\":{\"path\":\"rootfs\"}%s}",
            args_json, extra_json ? extra_json : "");
  snprintf (path, sizeof (path), "%s/config.json", out);
  write_file (path, json);
}

static void
make_fifo (const char *bundle, const char *name, char *out, size_t len, int *read_fd)
{
  snprintf (out, len, "%s/%s", bundle, name);
  ck_assert_int_eq (mkfifo (out, 0600), 0);
  if (read_fd != NULL)
    {
      *read_fd = open (out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      ck_assert_int_ge (*read_fd, 0);
    }
}

static int
rpc (const char *method, const ProtobufCMessage *req, uint8_t **reply, size_t *len, kc_error_t *err)
{
  uint8_t *r = NULL;
  size_t l = 0;
  int ret = kc_ttrpc_call_sync (sock, "containerd.task.v2.Task", method, req, TIMEOUT_NS, &r, &l, err);

  if (reply != NULL)
    {
      *reply = r;
      *len = l;
    }
  else
    free (r);
  return ret;
}

static void
rpc_ok (const char *method, const ProtobufCMessage *req, uint8_t **reply, size_t *len)
{
  kc_error_t err = NULL;
  int ret = rpc (method, req, reply, len, &err);
  ck_assert_msg (ret == 0, "%s: %s", method, err ? err->msg : "?");
}

static int
rpc_code (const char *method, const ProtobufCMessage *req, char *msg, size_t msglen)
{
  kc_error_t err = NULL;
  int code;

  if (rpc (method, req, NULL, NULL, &err) == 0)
    return 0;
  code = err->code;
  if (msg != NULL)
    snprintf (msg, msglen, "%s", err->msg);
  kc_error_free (&err);
  return code;
}

static uint32_t
create (const char *id, const char *bundle, const char *out, const char *errp, int terminal)
{
  Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  Containerd__Task__V2__CreateTaskResponse *resp;
  uint8_t *buf;
  size_t len;
  uint32_t pid;

  req.id = (char *) id;
  req.bundle = (char *) bundle;
  req.stdout = (char *) (out ? out : "");
  req.stderr = (char *) (errp ? errp : "");
  req.terminal = terminal;
  rpc_ok ("Create", &req.base, &buf, &len);
  resp = containerd__task__v2__create_task_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  pid = resp->pid;
  containerd__task__v2__create_task_response__free_unpacked (resp, NULL);
  free (buf);
  return pid;
}

static uint32_t
start (const char *id, const char *exec_id)
{
  Containerd__Task__V2__StartRequest req = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  Containerd__Task__V2__StartResponse *resp;
  uint8_t *buf;
  size_t len;
  uint32_t pid;

  req.id = (char *) id;
  req.exec_id = (char *) (exec_id ? exec_id : "");
  rpc_ok ("Start", &req.base, &buf, &len);
  resp = containerd__task__v2__start_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  pid = resp->pid;
  containerd__task__v2__start_response__free_unpacked (resp, NULL);
  free (buf);
  return pid;
}

static uint32_t
wait_exit (const char *id, const char *exec_id)
{
  Containerd__Task__V2__WaitRequest req = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
  Containerd__Task__V2__WaitResponse *resp;
  uint8_t *buf;
  size_t len;
  uint32_t status;

  req.id = (char *) id;
  req.exec_id = (char *) (exec_id ? exec_id : "");
  rpc_ok ("Wait", &req.base, &buf, &len);
  resp = containerd__task__v2__wait_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  ck_assert_ptr_nonnull (resp->exited_at);
  ck_assert_int_gt (resp->exited_at->seconds, 0);
  status = resp->exit_status;
  containerd__task__v2__wait_response__free_unpacked (resp, NULL);
  free (buf);
  return status;
}

static Containerd__Task__V2__StateResponse *
state (const char *id, const char *exec_id)
{
  Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  Containerd__Task__V2__StateResponse *resp;
  uint8_t *buf;
  size_t len;

  req.id = (char *) id;
  req.exec_id = (char *) (exec_id ? exec_id : "");
  rpc_ok ("State", &req.base, &buf, &len);
  resp = containerd__task__v2__state_response__unpack (NULL, len, buf);
  free (buf);
  ck_assert_ptr_nonnull (resp);
  return resp;
}

static int
kill_task (const char *id, const char *exec_id, int sig, char *msg, size_t msglen)
{
  Containerd__Task__V2__KillRequest req = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;

  req.id = (char *) id;
  req.exec_id = (char *) (exec_id ? exec_id : "");
  req.signal = (uint32_t) sig;
  return rpc_code ("Kill", &req.base, msg, msglen);
}

static uint32_t
delete_task (const char *id, const char *exec_id)
{
  Containerd__Task__V2__DeleteRequest req = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  Containerd__Task__V2__DeleteResponse *resp;
  uint8_t *buf;
  size_t len;
  uint32_t status;

  req.id = (char *) id;
  req.exec_id = (char *) (exec_id ? exec_id : "");
  rpc_ok ("Delete", &req.base, &buf, &len);
  resp = containerd__task__v2__delete_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  status = resp->exit_status;
  containerd__task__v2__delete_response__free_unpacked (resp, NULL);
  free (buf);
  return status;
}

/* The unified hierarchy only (cgroup v2): Stats answers io.containerd.cgroups.v2.Metrics. */
static int
host_is_v2 (void)
{
  return access ("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
}

/* Task.Stats of id, checked to carry type_url; the caller frees it. */
static Containerd__Task__V2__StatsResponse *
stats_response (const char *id, const char *type_url)
{
  Containerd__Task__V2__StatsRequest req = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
  Containerd__Task__V2__StatsResponse *resp;
  uint8_t *buf;
  size_t len;

  req.id = (char *) id;
  rpc_ok ("Stats", &req.base, &buf, &len);
  resp = containerd__task__v2__stats_response__unpack (NULL, len, buf);
  free (buf);
  ck_assert_ptr_nonnull (resp);
  ck_assert_ptr_nonnull (resp->stats);
  ck_assert_str_eq (resp->stats->type_url, type_url);
  return resp;
}

static Io__Containerd__Cgroups__V1__Metrics *
stats (const char *id)
{
  Containerd__Task__V2__StatsResponse *resp = stats_response (id, "io.containerd.cgroups.v1.Metrics");
  Io__Containerd__Cgroups__V1__Metrics *m
      = io__containerd__cgroups__v1__metrics__unpack (NULL, resp->stats->value.len, resp->stats->value.data);
  containerd__task__v2__stats_response__free_unpacked (resp, NULL);
  ck_assert_ptr_nonnull (m);
  return m;
}

static Io__Containerd__Cgroups__V2__Metrics *
stats_v2 (const char *id)
{
  Containerd__Task__V2__StatsResponse *resp = stats_response (id, "io.containerd.cgroups.v2.Metrics");
  Io__Containerd__Cgroups__V2__Metrics *m
      = io__containerd__cgroups__v2__metrics__unpack (NULL, resp->stats->value.len, resp->stats->value.data);
  containerd__task__v2__stats_response__free_unpacked (resp, NULL);
  ck_assert_ptr_nonnull (m);
  return m;
}

/* oom_kill of a v2 Stats (memory.events; 0 when the memory controller gives none). */
static uint64_t
oom_kills_v2 (const char *id)
{
  Io__Containerd__Cgroups__V2__Metrics *m = stats_v2 (id);
  uint64_t n = m->memory_events != NULL ? m->memory_events->oom_kill : 0;
  io__containerd__cgroups__v2__metrics__free_unpacked (m, NULL);
  return n;
}

static void
read_all (int fd, char *buf, size_t len)
{
  size_t off = 0;
  struct pollfd pfd = { .fd = fd, .events = POLLIN };

  while (off + 1 < len && poll (&pfd, 1, 5000) > 0)
    {
      ssize_t n = read (fd, buf + off, len - 1 - off);
      if (n <= 0)
        break;
      off += (size_t) n;
    }
  buf[off] = '\0';
}

/* With cache_dir, the tasker AOT-compiles modules (--precompile --cache-dir). */
static pid_t
spawn_tasker (const char *id, const char *socket_path, const char *cache_dir)
{
  int pipefd[2];
  char fdarg[16], dir[256], line[16] = "";
  pid_t pid;
  struct pollfd pfd;

  ck_assert_int_eq (pipe (pipefd), 0);
  snprintf (fdarg, sizeof (fdarg), "%d", pipefd[1]);
  snprintf (dir, sizeof (dir), "%s", tmpdir);
  pid = fork ();
  ck_assert_int_ge (pid, 0);
  if (pid == 0)
    {
      close (pipefd[0]);
      /* A failed assertion ends the test process without teardown: the tasker then gets SIGTERM
         and cleans up after itself. */
      prctl (PR_SET_PDEATHSIG, SIGTERM);
      if (cache_dir != NULL)
        execl (tasker_bin, tasker_bin, "--id", id, "--dir", dir, "--socket", socket_path, "--ready-fd", fdarg,
               "--log-level", "debug", "--precompile", "--cache-dir", cache_dir, (char *) NULL);
      else
        execl (tasker_bin, tasker_bin, "--id", id, "--dir", dir, "--socket", socket_path, "--ready-fd", fdarg,
               "--log-level", "debug", (char *) NULL);
      _exit (127);
    }
  close (pipefd[1]);
  pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
  ck_assert_int_eq (poll (&pfd, 1, 10000), 1);
  ck_assert_int_eq (read (pipefd[0], line, sizeof (line) - 1), 6);
  ck_assert_str_eq (line, "ready\n");
  close (pipefd[0]);
  return pid;
}

static int
wait_pid_timeout (pid_t pid, int seconds, int *status)
{
  for (int i = 0; i < seconds * 100; i++)
    {
      pid_t r = waitpid (pid, status, WNOHANG);
      if (r == pid)
        return 0;
      usleep (10000);
    }
  return -1;
}

static void
setup (void)
{
  tasker_bin = getenv ("KC_TASKER_BIN");
  ck_assert_msg (tasker_bin != NULL, "KC_TASKER_BIN is not set");
  ck_assert_msg (geteuid () == 0, "the tasker functional test must run as root (mounts, cgroups)");
  ck_assert_msg (system ("command -v clang-14 >/dev/null") == 0, "clang-14 is missing (needed to build WASI modules)");
  snprintf (tmpdir, sizeof (tmpdir), "/tmp/kc-tasker-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (tmpdir));
  snprintf (sock, sizeof (sock), "%s/task.sock", tmpdir);
  tasker_pid = spawn_tasker ("ft-sandbox", sock, NULL);
}

static void
teardown (void)
{
  char cmd[128];
  int status;

  if (tasker_pid > 0 && waitpid (tasker_pid, &status, WNOHANG) == 0)
    {
      /* SIGTERM lets it remove its cgroups and socket; SIGKILL only if it hangs. */
      kill (tasker_pid, SIGTERM);
      if (wait_pid_timeout (tasker_pid, 15, &status) == 0)
        ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0, "tasker exit status %d", status);
      else
        kill (tasker_pid, SIGKILL);
      waitpid (tasker_pid, &status, 0);
    }
  snprintf (cmd, sizeof (cmd), "rm -rf '%s'", tmpdir);
  if (system (cmd) != 0)
    fprintf (stderr, "cleanup of %s failed\n", tmpdir);
}

START_TEST (hello_runs_with_stdio_and_exit_code)
{
  char bundle[256], out[300], errp[300], buf[256];
  int out_fd, err_fd;
  Containerd__Task__V2__StateResponse *st;
  uint32_t pid;

  make_bundle ("hello", hello_c, "[\"/app.wasm\",\"x\"]", NULL, bundle, sizeof (bundle));
  make_fifo (bundle, "stdout", out, sizeof (out), &out_fd);
  make_fifo (bundle, "stderr", errp, sizeof (errp), &err_fd);
  pid = create ("hello", bundle, out, errp, 0);
  ck_assert_uint_gt (pid, 0);
  st = state ("hello", NULL);
  ck_assert_int_eq (st->status, CONTAINERD__V1__TYPES__STATUS__CREATED);
  ck_assert_uint_eq (st->pid, pid);
  ck_assert_str_eq (st->bundle, bundle);
  containerd__task__v2__state_response__free_unpacked (st, NULL);
  ck_assert_uint_eq (start ("hello", NULL), pid);
  ck_assert_uint_eq (wait_exit ("hello", NULL), 3);
  read_all (out_fd, buf, sizeof (buf));
  ck_assert_str_eq (buf, "hello hi argc=2\n");
  read_all (err_fd, buf, sizeof (buf));
  ck_assert_str_eq (buf, "to stderr\n");
  st = state ("hello", NULL);
  ck_assert_int_eq (st->status, CONTAINERD__V1__TYPES__STATUS__STOPPED);
  ck_assert_uint_eq (st->exit_status, 3);
  containerd__task__v2__state_response__free_unpacked (st, NULL);
  /* Waiting again after the exit answers at once. */
  ck_assert_uint_eq (wait_exit ("hello", NULL), 3);
  ck_assert_int_eq (kill_task ("hello", NULL, SIGTERM, buf, sizeof (buf)), KC_NOT_FOUND);
  ck_assert_uint_eq (delete_task ("hello", NULL), 3);
  {
    Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
    req.id = (char *) "hello";
    ck_assert_int_eq (rpc_code ("State", &req.base, NULL, 0), KC_NOT_FOUND);
  }
  close (out_fd);
  close (err_fd);
}
END_TEST

START_TEST (sleeper_sigterm_pids_exec_pause)
{
  char bundle[256], out[300], buf[256];
  int out_fd;
  uint32_t pid;
  Containerd__Task__V2__StateResponse *st;

  make_bundle ("sleeper", sleeper_c, "[\"./app.wasm\"]", NULL, bundle, sizeof (bundle));
  make_fifo (bundle, "stdout", out, sizeof (out), &out_fd);
  pid = create ("sleeper", bundle, out, NULL, 0);
  ck_assert_uint_eq (start ("sleeper", NULL), pid);
  read_all (out_fd, buf, 10);
  ck_assert_str_eq (buf, "sleeping\n");

  {
    Containerd__Task__V2__PidsRequest req = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
    Containerd__Task__V2__PidsResponse *resp;
    uint8_t *rb;
    size_t len;
    int found = 0;
    req.id = (char *) "sleeper";
    rpc_ok ("Pids", &req.base, &rb, &len);
    resp = containerd__task__v2__pids_response__unpack (NULL, len, rb);
    ck_assert_ptr_nonnull (resp);
    ck_assert_uint_gt (resp->n_processes, 0);
    for (size_t i = 0; i < resp->n_processes; i++)
      found |= resp->processes[i]->pid == pid;
    ck_assert (found);
    containerd__task__v2__pids_response__free_unpacked (resp, NULL);
    free (rb);
  }

  /* Exec: a second module of the container, from its rootfs. */
  {
    char hb[512], spec[256], eout[300];
    int eout_fd;
    Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;

    snprintf (hb, sizeof (hb), "%s/rootfs/hello.wasm", bundle);
    build_module ("exechello", hello_c, hb);
    snprintf (spec, sizeof (spec), "{\"args\":[\"/hello.wasm\"],\"env\":[\"GREETING=exec\"],\"cwd\":\"/\"}");
    make_fifo (bundle, "exec-stdout", eout, sizeof (eout), &eout_fd);
    any.type_url = (char *) "types.containerd.io/opencontainers/runtime-spec/1/Process";
    any.value.data = (uint8_t *) spec;
    any.value.len = strlen (spec);
    req.id = (char *) "sleeper";
    req.exec_id = (char *) "e1";
    req.stdout = eout;
    req.spec = &any;
    rpc_ok ("Exec", &req.base, NULL, NULL);
    ck_assert_int_eq (rpc_code ("Exec", &req.base, NULL, 0), KC_ALREADY_EXISTS);
    ck_assert_uint_gt (start ("sleeper", "e1"), 0);
    ck_assert_uint_eq (wait_exit ("sleeper", "e1"), 3);
    read_all (eout_fd, buf, sizeof (buf));
    ck_assert_str_eq (buf, "hello exec argc=1\n");
    st = state ("sleeper", "e1");
    ck_assert_str_eq (st->exec_id, "e1");
    ck_assert_int_eq (st->status, CONTAINERD__V1__TYPES__STATUS__STOPPED);
    containerd__task__v2__state_response__free_unpacked (st, NULL);
    ck_assert_uint_eq (delete_task ("sleeper", "e1"), 3);
    close (eout_fd);
  }

  /* Pause and resume through the freezer. */
  {
    Containerd__Task__V2__PauseRequest req = CONTAINERD__TASK__V2__PAUSE_REQUEST__INIT;
    Containerd__Task__V2__ResumeRequest rreq = CONTAINERD__TASK__V2__RESUME_REQUEST__INIT;
    req.id = rreq.id = (char *) "sleeper";
    rpc_ok ("Pause", &req.base, NULL, NULL);
    st = state ("sleeper", NULL);
    ck_assert_int_eq (st->status, CONTAINERD__V1__TYPES__STATUS__PAUSED);
    containerd__task__v2__state_response__free_unpacked (st, NULL);
    rpc_ok ("Resume", &rreq.base, NULL, NULL);
    st = state ("sleeper", NULL);
    ck_assert_int_eq (st->status, CONTAINERD__V1__TYPES__STATUS__RUNNING);
    containerd__task__v2__state_response__free_unpacked (st, NULL);
  }

  /* Delete of a running container is refused; Shutdown is ignored while it lives. */
  {
    Containerd__Task__V2__DeleteRequest req = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
    Containerd__Task__V2__ShutdownRequest sreq = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    req.id = (char *) "sleeper";
    ck_assert_int_eq (rpc_code ("Delete", &req.base, NULL, 0), KC_FAILED_PRECONDITION);
    rpc_ok ("Shutdown", &sreq.base, NULL, NULL);
    usleep (200 * 1000);
    ck_assert_int_eq (waitpid (tasker_pid, NULL, WNOHANG), 0);
  }

  ck_assert_int_eq (kill_task ("sleeper", NULL, SIGTERM, NULL, 0), 0);
  ck_assert_uint_eq (wait_exit ("sleeper", NULL), 143);
  ck_assert_uint_eq (delete_task ("sleeper", NULL), 143);
  close (out_fd);
}
END_TEST

static void
exec_process (const char *id, const char *exec_id, const char *spec, const char *out, const char *errp)
{
  Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;

  any.type_url = (char *) "types.containerd.io/opencontainers/runtime-spec/1/Process";
  any.value.data = (uint8_t *) spec;
  any.value.len = strlen (spec);
  req.id = (char *) id;
  req.exec_id = (char *) exec_id;
  req.stdout = (char *) (out ? out : "");
  req.stderr = (char *) (errp ? errp : "");
  req.spec = &any;
  rpc_ok ("Exec", &req.base, NULL, NULL);
}

/* containerd opens its end of an exec's FIFOs in a goroutine, often after Exec has reached the
   tasker and, under load, after a short exec would have ended: its output and its EOF must still
   reach that late reader (held read-write, they were lost and ExecSync hung: test_load.py), and a
   reader that comes between Exec and Start must not see EOF first. */
START_TEST (exec_output_reaches_a_late_reader)
{
  char bundle[256], hb[512], out[300], errp[300], buf[256];
  const char *spec = "{\"args\":[\"/hello.wasm\"],\"env\":[\"GREETING=late\"],\"cwd\":\"/\"}";
  int out_fd, err_fd;

  make_bundle ("late", sleeper_c, "[\"/app.wasm\"]", NULL, bundle, sizeof (bundle));
  snprintf (hb, sizeof (hb), "%s/rootfs/hello.wasm", bundle);
  build_module ("latehello", hello_c, hb);
  create ("late", bundle, NULL, NULL, 0);
  start ("late", NULL);

  make_fifo (bundle, "e1-stdout", out, sizeof (out), NULL);
  make_fifo (bundle, "e1-stderr", errp, sizeof (errp), NULL);
  exec_process ("late", "e1", spec, out, errp);
  ck_assert_uint_gt (start ("late", "e1"), 0);
  usleep (500 * 1000); /* hello is done in a few ms: it must wait for its readers */
  out_fd = open (out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  err_fd = open (errp, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ck_assert_int_ge (out_fd, 0);
  ck_assert_int_ge (err_fd, 0);
  read_all (out_fd, buf, sizeof (buf)); /* to EOF: no writer may be left behind */
  ck_assert_str_eq (buf, "hello late argc=1\n");
  read_all (err_fd, buf, sizeof (buf));
  ck_assert_str_eq (buf, "to stderr\n");
  ck_assert_uint_eq (wait_exit ("late", "e1"), 3);
  ck_assert_uint_eq (delete_task ("late", "e1"), 3);
  close (out_fd);
  close (err_fd);

  /* The reader comes between Exec and Start: no EOF before the output. */
  make_fifo (bundle, "e2-stdout", out, sizeof (out), NULL);
  exec_process ("late", "e2", spec, out, NULL);
  out_fd = open (out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ck_assert_int_ge (out_fd, 0);
  start ("late", "e2");
  read_all (out_fd, buf, sizeof (buf));
  ck_assert_str_eq (buf, "hello late argc=1\n");
  ck_assert_uint_eq (wait_exit ("late", "e2"), 3);
  ck_assert_uint_eq (delete_task ("late", "e2"), 3);
  close (out_fd);

  /* Nobody ever reads: the exec waits, and Kill still ends it. */
  make_fifo (bundle, "e3-stdout", out, sizeof (out), NULL);
  exec_process ("late", "e3", spec, out, NULL);
  start ("late", "e3");
  usleep (200 * 1000);
  ck_assert_int_eq (kill_task ("late", "e3", SIGKILL, NULL, 0), 0);
  ck_assert_uint_eq (wait_exit ("late", "e3"), 137);
  ck_assert_uint_eq (delete_task ("late", "e3"), 137);

  ck_assert_int_eq (kill_task ("late", NULL, SIGKILL, NULL, 0), 0);
  ck_assert_uint_eq (wait_exit ("late", NULL), 137);
  delete_task ("late", NULL);
}
END_TEST

START_TEST (bad_input_is_rejected)
{
  char bundle[256], msg[512], path[512];
  Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;

  /* A module that is not wasm. */
  make_bundle ("notwasm", NULL, "[\"/app.wasm\"]", NULL, bundle, sizeof (bundle));
  snprintf (path, sizeof (path), "%s/rootfs/app.wasm", bundle);
  write_file (path, "#!/bin/sh\necho hi\n");
  req.id = (char *) "notwasm";
  req.bundle = bundle;
  ck_assert_int_eq (rpc_code ("Create", &req.base, msg, sizeof (msg)), KC_INVALID_ARGUMENT);
  ck_assert_msg (strstr (msg, "/app.wasm: not a WebAssembly module") != NULL, "message: %s", msg);

  /* A busybox image: `sh` is found in the default PATH, and it is no wasm. */
  make_bundle ("busybox", NULL, "[\"sh\",\"-c\",\"echo no\"]", NULL, bundle, sizeof (bundle));
  snprintf (path, sizeof (path), "%s/rootfs/bin", bundle);
  mkdir (path, 0755);
  snprintf (path, sizeof (path), "%s/rootfs/bin/busybox", bundle);
  write_file (path, "\177ELF\2\1\1");
  snprintf (path, sizeof (path), "%s/rootfs/bin/sh", bundle);
  ck_assert_int_eq (symlink ("/bin/busybox", path), 0);
  req.id = (char *) "busybox";
  req.bundle = bundle;
  ck_assert_int_eq (rpc_code ("Create", &req.base, msg, sizeof (msg)), KC_INVALID_ARGUMENT);
  ck_assert_msg (strstr (msg, "/bin/sh: not a WebAssembly module (starts with 7f 45 4c 46, not 00 61 73 6d): "
                              "kuasar-wasm runs WASI modules only")
                     != NULL,
                 "message: %s", msg);
  ck_assert_msg (strstr (msg, "//") == NULL, "message: %s", msg);
  make_bundle ("nopath", NULL, "[\"app.wasm\"]", NULL, bundle, sizeof (bundle));
  req.id = (char *) "nopath";
  req.bundle = bundle;
  ck_assert_int_eq (rpc_code ("Create", &req.base, msg, sizeof (msg)), KC_INVALID_ARGUMENT);
  ck_assert_msg (strstr (msg, "app.wasm: not found in the rootfs (PATH=/usr/local/sbin:") != NULL, "message: %s", msg);

  /* A missing module. */
  make_bundle ("missing", NULL, "[\"/nope.wasm\"]", NULL, bundle, sizeof (bundle));
  req.id = (char *) "missing";
  req.bundle = bundle;
  ck_assert_int_eq (rpc_code ("Create", &req.base, msg, sizeof (msg)), KC_INVALID_ARGUMENT);

  /* Broken config.json. */
  make_bundle ("badjson", NULL, "[\"/app.wasm\"]", NULL, bundle, sizeof (bundle));
  snprintf (path, sizeof (path), "%s/config.json", bundle);
  write_file (path, "{\"process\": {\"args\": [");
  req.id = (char *) "badjson";
  req.bundle = bundle;
  ck_assert_int_eq (rpc_code ("Create", &req.base, msg, sizeof (msg)), KC_INVALID_ARGUMENT);
  ck_assert_msg (strstr (msg, "invalid JSON") != NULL, "message: %s", msg);

  /* A terminal. */
  make_bundle ("tty", hello_c, "[\"/app.wasm\"]", NULL, bundle, sizeof (bundle));
  req.id = (char *) "tty";
  req.bundle = bundle;
  req.terminal = 1;
  ck_assert_int_eq (rpc_code ("Create", &req.base, msg, sizeof (msg)), KC_INVALID_ARGUMENT);
  req.terminal = 0;

  /* Bad ids, unknown ids, a duplicate, garbage payloads. */
  req.id = (char *) "../x";
  ck_assert_int_eq (rpc_code ("Create", &req.base, msg, sizeof (msg)), KC_INVALID_ARGUMENT);
  req.id = (char *) "tty";
  ck_assert_uint_gt (create ("tty", bundle, NULL, NULL, 0), 0);
  ck_assert_int_eq (rpc_code ("Create", &req.base, msg, sizeof (msg)), KC_ALREADY_EXISTS);
  {
    Containerd__Task__V2__DeleteRequest d = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
    d.id = (char *) "nobody";
    ck_assert_int_eq (rpc_code ("Delete", &d.base, NULL, 0), KC_NOT_FOUND);
    ck_assert_int_eq (kill_task ("nobody", NULL, SIGKILL, NULL, 0), KC_NOT_FOUND);
    ck_assert_int_eq (kill_task ("tty", "nope", SIGKILL, NULL, 0), KC_NOT_FOUND);
  }
  {
    uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
    kc_error_t err = NULL;
    uint8_t *r = NULL;
    size_t l;
    Google__Protobuf__Any raw = GOOGLE__PROTOBUF__ANY__INIT;
    /* An Any whose bytes are junk as a CreateTaskRequest: field 2 with wrong wire type. */
    raw.value.data = junk;
    raw.value.len = sizeof (junk);
    ck_assert_int_eq (
        kc_ttrpc_call_sync (sock, "containerd.task.v2.Task", "Create", &raw.base, TIMEOUT_NS, &r, &l, &err), -1);
    kc_error_free (&err);
    free (r);
  }
  /* Delete of a created, never started container kills its child. */
  ck_assert_uint_eq (delete_task ("tty", NULL), 137);
}
END_TEST

START_TEST (connect_v3_and_shutdown)
{
  Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  Containerd__Task__V2__ConnectResponse *resp;
  Containerd__Task__V2__ShutdownRequest sreq = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
  kc_error_t err = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  int status;
  struct stat st;

  req.id = (char *) "not-created-yet";
  ck_assert_int_eq (
      kc_ttrpc_call_sync (sock, "containerd.task.v3.Task", "Connect", &req.base, TIMEOUT_NS, &buf, &len, &err), 0);
  resp = containerd__task__v2__connect_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  ck_assert_uint_eq (resp->shim_pid, (uint32_t) tasker_pid);
  ck_assert_uint_eq (resp->task_pid, 0);
  containerd__task__v2__connect_response__free_unpacked (resp, NULL);
  free (buf);
  rpc_ok ("Shutdown", &sreq.base, NULL, NULL);
  ck_assert_int_eq (wait_pid_timeout (tasker_pid, 10, &status), 0);
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  tasker_pid = 0;
  ck_assert_int_ne (stat (sock, &st), 0);
}
END_TEST

START_TEST (sigterm_stops_containers)
{
  char bundle[256];
  int status;
  struct stat st;

  make_bundle ("s2", sleeper_c, "[\"/app.wasm\"]", NULL, bundle, sizeof (bundle));
  create ("s2", bundle, NULL, NULL, 0);
  start ("s2", NULL);
  ck_assert_int_eq (access ("/sys/fs/cgroup/memory/kuasar-wasm/ft-sandbox/s2", F_OK) == 0
                        || access ("/sys/fs/cgroup/kuasar-wasm/ft-sandbox/s2", F_OK) == 0,
                    1);
  kill (tasker_pid, SIGTERM);
  ck_assert_int_eq (wait_pid_timeout (tasker_pid, 12, &status), 0);
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  tasker_pid = 0;
  ck_assert_int_ne (stat (sock, &st), 0);
  ck_assert_int_ne (access ("/sys/fs/cgroup/memory/kuasar-wasm/ft-sandbox", F_OK), 0);
  ck_assert_int_ne (access ("/sys/fs/cgroup/kuasar-wasm/ft-sandbox", F_OK), 0);
}
END_TEST

START_TEST (bind_mount_volume_and_rootfs_mount)
{
  char bundle[256], out[300], buf[256], vol[300], path[512], extra[1536], lower[300];
  int out_fd;
  Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  Containerd__Types__Mount m = CONTAINERD__TYPES__MOUNT__INIT, *mp = &m;
  char *opts[] = { (char *) "rbind", (char *) "ro" };

  /* The module lives in a directory bind-mounted onto rootfs by the Create's rootfs mounts. */
  snprintf (lower, sizeof (lower), "%s/layer", tmpdir);
  mkdir (lower, 0755);
  snprintf (path, sizeof (path), "%s/app.wasm", lower);
  build_module ("reader", reader_c, path);
  snprintf (vol, sizeof (vol), "%s/vol", tmpdir);
  mkdir (vol, 0755);
  snprintf (path, sizeof (path), "%s/msg.txt", vol);
  write_file (path, "volume!\n");
  snprintf (extra, sizeof (extra),
            ",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
            "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"rbind\",\"ro\"]},"
            "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"%s/msg.txt\",\"options\":[\"rbind\"]},"
            "{\"destination\":\"/gone\",\"type\":\"bind\",\"source\":\"%s/nope\",\"options\":[\"rbind\"]}]",
            vol, vol, vol);
  make_bundle ("reader", NULL, "[\"/app.wasm\"]", extra, bundle, sizeof (bundle));
  make_fifo (bundle, "stdout", out, sizeof (out), &out_fd);
  m.type = (char *) "bind";
  m.source = lower;
  m.options = opts;
  m.n_options = 2;
  req.id = (char *) "reader";
  req.bundle = bundle;
  req.stdout = out;
  req.rootfs = &mp;
  req.n_rootfs = 1;
  rpc_ok ("Create", &req.base, NULL, NULL);
  start ("reader", NULL);
  ck_assert_uint_eq (wait_exit ("reader", NULL), 0);
  /* Nothing but the module's output: file binds are not preopened, WasmEdge logs nothing. */
  read_all (out_fd, buf, sizeof (buf));
  ck_assert_str_eq (buf, "read:volume!\n");
  delete_task ("reader", NULL);
  /* Delete unmounted the rootfs. */
  snprintf (path, sizeof (path), "%s/rootfs/app.wasm", bundle);
  ck_assert_int_ne (access (path, F_OK), 0);
  close (out_fd);
}
END_TEST

START_TEST (memory_limit_oom_is_137)
{
  char bundle[256];
  Containerd__Task__V2__StateResponse *st;

  make_bundle ("oom", alloc_c, "[\"/app.wasm\"]", ",\"linux\":{\"resources\":{\"memory\":{\"limit\":134217728}}}",
               bundle, sizeof (bundle));
  create ("oom", bundle, NULL, NULL, 0);
  start ("oom", NULL);
  ck_assert_uint_eq (wait_exit ("oom", NULL), 137);
  st = state ("oom", NULL);
  ck_assert_uint_eq (st->exit_status, 137);
  containerd__task__v2__state_response__free_unpacked (st, NULL);
  /* What the shim asks after an exit 137: was it the OOM killer? */
  if (host_is_v2 ())
    ck_assert_uint_ge (oom_kills_v2 ("oom"), 1);
  else
    {
      Io__Containerd__Cgroups__V1__Metrics *m = stats ("oom");
      ck_assert_ptr_nonnull (m->memory_oom_control);
      ck_assert_uint_ge (m->memory_oom_control->oom_kill, 1);
      ck_assert_uint_eq (m->memory->usage->limit, 134217728);
      ck_assert_uint_ge (m->memory->usage->failcnt, 1);
      io__containerd__cgroups__v1__metrics__free_unpacked (m, NULL);
    }
  ck_assert_uint_eq (delete_task ("oom", NULL), 137);
}
END_TEST

static void
check_sleeper_stats_v2 (const char *id)
{
  Io__Containerd__Cgroups__V2__Metrics *m = stats_v2 (id);
  ck_assert_ptr_nonnull (m->memory);
  ck_assert_uint_gt (m->memory->usage, 0);
  ck_assert_ptr_nonnull (m->pids);
  ck_assert_uint_ge (m->pids->current, 1);
  ck_assert_ptr_nonnull (m->cpu);
  ck_assert_uint_gt (m->cpu->usage_usec, 0);
  io__containerd__cgroups__v2__metrics__free_unpacked (m, NULL);
}

START_TEST (stats_of_a_running_sleeper)
{
  char bundle[256], out[300], buf[64];
  int out_fd;
  Io__Containerd__Cgroups__V1__Metrics *m;
  Containerd__Task__V2__StatsRequest req = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;

  make_bundle ("st", sleeper_c, "[\"/app.wasm\"]", NULL, bundle, sizeof (bundle));
  make_fifo (bundle, "stdout", out, sizeof (out), &out_fd);
  create ("st", bundle, out, NULL, 0);
  start ("st", NULL);
  read_all (out_fd, buf, 10);
  ck_assert_str_eq (buf, "sleeping\n");
  if (host_is_v2 ())
    {
      check_sleeper_stats_v2 ("st");
      ck_assert_int_eq (kill_task ("st", NULL, SIGKILL, NULL, 0), 0);
      ck_assert_uint_eq (wait_exit ("st", NULL), 137);
      ck_assert_uint_eq (oom_kills_v2 ("st"), 0); /* a plain SIGKILL is no OOM kill */
      delete_task ("st", NULL);
      close (out_fd);
      return;
    }
  m = stats ("st");
  ck_assert_ptr_nonnull (m->memory);
  ck_assert_ptr_nonnull (m->memory->usage);
  ck_assert_uint_gt (m->memory->usage->usage, 0);
  ck_assert_uint_gt (m->memory->usage->limit, 0);
  ck_assert_ptr_nonnull (m->memory_oom_control);
  ck_assert_uint_eq (m->memory_oom_control->oom_kill, 0);
  ck_assert_ptr_nonnull (m->pids);
  ck_assert_uint_ge (m->pids->current, 1);
  ck_assert_ptr_nonnull (m->cpu);
  ck_assert_ptr_nonnull (m->cpu->usage);
  ck_assert_uint_gt (m->cpu->usage->total, 0);
  ck_assert_uint_gt (m->cpu->usage->n_per_cpu, 0);
  io__containerd__cgroups__v1__metrics__free_unpacked (m, NULL);
  req.id = (char *) "nobody";
  ck_assert_int_eq (rpc_code ("Stats", &req.base, NULL, 0), KC_NOT_FOUND);
  ck_assert_int_eq (kill_task ("st", NULL, SIGKILL, NULL, 0), 0);
  ck_assert_uint_eq (wait_exit ("st", NULL), 137);
  /* Exited, not deleted: still answered, and a plain SIGKILL is no OOM kill. */
  m = stats ("st");
  ck_assert_ptr_nonnull (m->memory_oom_control);
  ck_assert_uint_eq (m->memory_oom_control->oom_kill, 0);
  io__containerd__cgroups__v1__metrics__free_unpacked (m, NULL);
  delete_task ("st", NULL);
  ck_assert_int_eq (rpc_code ("Stats", &req.base, NULL, 0), KC_NOT_FOUND);
  close (out_fd);
}
END_TEST

static const char fib_c[] = "#include <stdio.h>\n"
                            "static int fib (int n) { return n < 2 ? n : fib (n - 1) + fib (n - 2); }\n"
                            "int main (void) { printf (\"fib(30)=%d\\n\", fib (30)); return 0; }\n";

static double
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* Creates, starts and deletes id from bundle; its stdout goes to out (read back). Returns the
   milliseconds from Start to the exit. */
static double
run_timed (const char *id, const char *bundle, int run, char *out, size_t len)
{
  char path[512], uri[520];
  double t0, ms;
  int fd;
  ssize_t n;

  snprintf (path, sizeof (path), "%s/out-%d.txt", bundle, run);
  snprintf (uri, sizeof (uri), "file://%s", path);
  create (id, bundle, uri, NULL, 0);
  t0 = now_ms ();
  start (id, NULL);
  ck_assert_uint_eq (wait_exit (id, NULL), 0);
  ms = now_ms () - t0;
  delete_task (id, NULL);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge (fd, 0);
  n = read (fd, out, len - 1);
  close (fd);
  out[n > 0 ? n : 0] = '\0';
  return ms;
}

/* <cache>/<sha256 of the bundle's module>.so */
static void
cache_file (const char *cache, const char *bundle, char *out, size_t len)
{
  char cmd[600], hex[65] = "";
  FILE *f;

  snprintf (cmd, sizeof (cmd), "sha256sum '%s/rootfs/app.wasm'", bundle);
  f = popen (cmd, "r");
  ck_assert_ptr_nonnull (f);
  ck_assert_int_eq (fscanf (f, "%64s", hex), 1);
  pclose (f);
  snprintf (out, len, "%s/%s.so", cache, hex);
}

/* Interpreted run, then two AOT runs (compile + cache hit); returns the three times. */
static void
measure (const char *name, const char *src, const char *aot_sock, const char *cache, double ms[3])
{
  char bundle[256], so[512], out[3][256], plain_sock[256];
  struct stat st1, st2;

  make_bundle (name, src, "[\"/app.wasm\"]", NULL, bundle, sizeof (bundle));
  ms[0] = run_timed (name, bundle, 0, out[0], sizeof (out[0]));
  snprintf (plain_sock, sizeof (plain_sock), "%s", sock);
  snprintf (sock, sizeof (sock), "%s", aot_sock);
  cache_file (cache, bundle, so, sizeof (so));
  ck_assert_int_eq (access (so, F_OK), -1);
  ms[1] = run_timed (name, bundle, 1, out[1], sizeof (out[1]));
  ck_assert_msg (stat (so, &st1) == 0, "no cache file %s", so);
  ms[2] = run_timed (name, bundle, 2, out[2], sizeof (out[2]));
  ck_assert_int_eq (stat (so, &st2), 0);
  snprintf (sock, sizeof (sock), "%s", plain_sock);
  ck_assert (st1.st_mtim.tv_sec == st2.st_mtim.tv_sec && st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
  ck_assert_uint_eq (st1.st_ino, st2.st_ino);
  ck_assert_str_eq (out[1], out[0]);
  ck_assert_str_eq (out[2], out[0]);
}

START_TEST (precompile_caches_by_sha256)
{
  char aot_sock[256], cache[256], cmd[1024];
  double hello[3], fib[3];
  pid_t aot_pid;
  int status;

  snprintf (aot_sock, sizeof (aot_sock), "%s/aot.sock", tmpdir);
  snprintf (cache, sizeof (cache), "%s/cache", tmpdir);
  aot_pid = spawn_tasker ("ft-aot", aot_sock, cache);
  measure ("hello-aot", hello_c_ok, aot_sock, cache, hello);
  measure ("fib", fib_c, aot_sock, cache, fib);
  /* Exactly the two compiled modules, no temporary leftovers. */
  snprintf (cmd, sizeof (cmd), "test $(ls '%s' | wc -l) -eq 2 && ! ls '%s' | grep -q tmp", cache, cache);
  ck_assert_int_eq (system (cmd), 0);
  fprintf (stderr,
           "AOT timing, Start to exit (ms): hello interpreted %.1f, AOT first run (compile) %.1f, AOT cached %.1f; "
           "fib(30) interpreted %.1f, AOT first run (compile) %.1f, AOT cached %.1f\n",
           hello[0], hello[1], hello[2], fib[0], fib[1], fib[2]);
  kill (aot_pid, SIGTERM);
  ck_assert_int_eq (wait_pid_timeout (aot_pid, 15, &status), 0);
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("tasker-functional");
  TCase *tc = tcase_create ("tasker");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, hello_runs_with_stdio_and_exit_code);
  tcase_add_test (tc, sleeper_sigterm_pids_exec_pause);
  tcase_add_test (tc, exec_output_reaches_a_late_reader);
  tcase_add_test (tc, bad_input_is_rejected);
  tcase_add_test (tc, connect_v3_and_shutdown);
  tcase_add_test (tc, sigterm_stops_containers);
  tcase_add_test (tc, bind_mount_volume_and_rootfs_mount);
  tcase_add_test (tc, memory_limit_oom_is_137);
  tcase_add_test (tc, stats_of_a_running_sleeper);
  suite_add_tcase (s, tc);
  tc = tcase_create ("aot");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 240);
  tcase_add_test (tc, precompile_caches_by_sha256);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
