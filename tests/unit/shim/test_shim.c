/* Unit tests of the shim binary: serve mode against in-process fakes (sandboxer, tasker,
   containerd Events), and the `start` / `delete` actions. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cri_pod.pb-c.h"
#include "fakes.h"
#include "runtime_sandbox.pb-c.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

#define SB   "containerd.runtime.sandbox.v1.Sandbox"
#define TASK "containerd.task.v2.Task"
#define SEC  1000000000LL

static const char *shim_bin;

struct shim_proc
{
  pid_t pid;
  char sock[160];
  char bundle[300];
  char root[300];
};

static void
mkdirs (const char *path)
{
  char buf[256];
  snprintf (buf, sizeof (buf), "mkdir -p '%s'", path);
  ck_assert_int_eq (system (buf), 0);
}

/* Starts the shim in serve mode with a listener on fd 3, the bundle laid out as containerd does. */
static void
spawn_shim (struct shim_proc *sp, const char *tag, const char *sandboxer)
{
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  char work[400], target[400], env_sb[200], env_ev[200];
  int fd;

  snprintf (sp->sock, sizeof (sp->sock), "%s/%s.sock", fk.dir, tag);
  snprintf (sp->bundle, sizeof (sp->bundle), "%s/%s-state/io.containerd.runtime.v2.task/testns/pod1", fk.dir, tag);
  snprintf (sp->root, sizeof (sp->root), "%s/%s-root", fk.dir, tag);
  snprintf (target, sizeof (target), "%s/io.containerd.runtime.v2.task/testns/pod1", sp->root);
  snprintf (work, sizeof (work), "%s/work", sp->bundle);
  mkdirs (sp->bundle);
  mkdirs (target);
  unlink (work);
  ck_assert_int_eq (symlink (target, work), 0);
  strcpy (sun.sun_path, sp->sock);
  fd = socket (AF_UNIX, SOCK_STREAM, 0);
  ck_assert_int_eq (bind (fd, (struct sockaddr *) &sun, sizeof (sun)), 0);
  ck_assert_int_eq (listen (fd, 16), 0);
  snprintf (env_sb, sizeof (env_sb), "KUASAR_WASM_SANDBOXER_ADDRESS=unix://%s", sandboxer);
  snprintf (env_ev, sizeof (env_ev), "TTRPC_ADDRESS=%s", fk.events_sock);
  sp->pid = fork ();
  ck_assert_int_ge (sp->pid, 0);
  if (sp->pid == 0)
    {
      char *envp[] = { env_sb, env_ev, NULL };
      dup2 (fd, 3);
      if (chdir (sp->bundle) < 0)
        _exit (126);
      execle (shim_bin, shim_bin, "-namespace", "testns", "-id", "pod1", "-address", "/run/test-containerd.sock",
              "-bundle", sp->bundle, "-socket", sp->sock, "-debug", (char *) NULL, envp);
      _exit (127);
    }
  close (fd);
}

static int
reap_within (pid_t pid, int ms, int *status)
{
  for (int i = 0; i < ms / 10; i++)
    {
      if (waitpid (pid, status, WNOHANG) == pid)
        return 1;
      usleep (10000);
    }
  return 0;
}

/* One call; returns the status code, *msg the error message (or ""), *out the reply. */
static int
call (struct shim_proc *sp, const char *svc, const char *method, const ProtobufCMessage *req, int64_t timeout,
      uint8_t **out, size_t *out_len, char *msg, size_t msg_size)
{
  kc_error_t err = NULL;
  uint8_t *reply = NULL;
  size_t len = 0;
  char addr[200];
  int code = 0;

  snprintf (addr, sizeof (addr), "unix://%s", sp->sock);
  if (kc_ttrpc_call_sync (addr, svc, method, req, timeout, &reply, &len, &err) < 0)
    {
      code = err->code;
      if (msg)
        snprintf (msg, msg_size, "%s", err->msg);
      kc_error_free (&err);
    }
  else if (msg)
    msg[0] = '\0';
  if (out)
    {
      *out = reply;
      *out_len = len;
    }
  else
    free (reply);
  return code;
}

static int
status_call (struct shim_proc *sp, const char *id, char *msg,
             Containerd__Runtime__Sandbox__V1__SandboxStatusResponse **resp)
{
  Containerd__Runtime__Sandbox__V1__SandboxStatusRequest req
      = CONTAINERD__RUNTIME__SANDBOX__V1__SANDBOX_STATUS_REQUEST__INIT;
  uint8_t *out = NULL;
  size_t len = 0;
  int code;

  req.sandbox_id = (char *) id;
  code = call (sp, SB, "SandboxStatus", &req.base, 5 * SEC, &out, &len, msg, 512);
  if (resp)
    *resp = code == 0 ? containerd__runtime__sandbox__v1__sandbox_status_response__unpack (NULL, len, out) : NULL;
  free (out);
  return code;
}

struct waiter
{
  struct shim_proc *sp;
  volatile int done;
  int code;
};

static void *
wait_sandbox_thread (void *arg)
{
  struct waiter *w = arg;
  Containerd__Runtime__Sandbox__V1__WaitSandboxRequest req
      = CONTAINERD__RUNTIME__SANDBOX__V1__WAIT_SANDBOX_REQUEST__INIT;
  req.sandbox_id = (char *) "pod1";
  w->code = call (w->sp, SB, "WaitSandbox", &req.base, 0, NULL, NULL, NULL, 0);
  w->done = 1;
  return NULL;
}

static void
create_sandbox (struct shim_proc *sp, const char *id, int expect)
{
  Containerd__Runtime__Sandbox__V1__CreateSandboxRequest req
      = CONTAINERD__RUNTIME__SANDBOX__V1__CREATE_SANDBOX_REQUEST__INIT;
  Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
  Google__Protobuf__Any opts = GOOGLE__PROTOBUF__ANY__INIT;
  uint8_t buf[256];
  char msg[512];

  cfg.hostname = (char *) "wasm-pod";
  opts.type_url = (char *) "runtime.v1.PodSandboxConfig";
  opts.value.data = buf;
  opts.value.len = runtime__v1__pod_sandbox_config__pack (&cfg, buf);
  req.sandbox_id = (char *) id;
  req.bundle_path = sp->bundle;
  req.options = &opts;
  req.netns_path = (char *) "/var/run/netns/cni-test";
  ck_assert_int_eq (call (sp, SB, "CreateSandbox", &req.base, 5 * SEC, NULL, NULL, msg, sizeof (msg)), expect);
}

static void
read_file_into (const char *path, char *buf, size_t size)
{
  FILE *f = fopen (path, "r");
  size_t n = 0;
  buf[0] = '\0';
  if (f)
    {
      n = fread (buf, 1, size - 1, f);
      fclose (f);
    }
  buf[n] = '\0';
}

static void
task_calls_pod_lifecycle (struct shim_proc *sp)
{
  Containerd__Task__V2__ConnectRequest conn = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  Containerd__Task__V2__CreateTaskRequest create = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  Containerd__Task__V2__StartRequest start = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  Containerd__Task__V2__KillRequest kill_req = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
  Containerd__Task__V2__WaitRequest wait = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
  Containerd__Task__V2__DeleteRequest del = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  Containerd__Task__V2__ShutdownRequest shut = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
  Containerd__Task__V2__ConnectResponse *cr;
  Containerd__Task__V2__CreateTaskResponse *ctr;
  Containerd__Task__V2__WaitResponse *wr;
  uint8_t *out;
  size_t len;

  /* Connect before Create: answered by the shim itself. */
  conn.id = (char *) "c1";
  ck_assert_int_eq (call (sp, TASK, "Connect", &conn.base, 5 * SEC, &out, &len, NULL, 0), 0);
  cr = containerd__task__v2__connect_response__unpack (NULL, len, out);
  ck_assert_ptr_nonnull (cr);
  ck_assert_uint_eq (cr->shim_pid, (unsigned) sp->pid);
  containerd__task__v2__connect_response__free_unpacked (cr, NULL);
  free (out);

  create.id = (char *) "c1";
  create.bundle = (char *) "/tmp/c1-bundle";
  create.stdout = (char *) "/tmp/c1-stdout";
  ck_assert_int_eq (call (sp, TASK, "Create", &create.base, 5 * SEC, &out, &len, NULL, 0), 0);
  ctr = containerd__task__v2__create_task_response__unpack (NULL, len, out);
  ck_assert_uint_eq (ctr->pid, 100);
  containerd__task__v2__create_task_response__free_unpacked (ctr, NULL);
  free (out);
  start.id = (char *) "c1";
  ck_assert_int_eq (call (sp, TASK, "Start", &start.base, 5 * SEC, NULL, NULL, NULL, 0), 0);
  /* containerd's per-container Shutdown must not end the pod's shim. */
  shut.id = (char *) "c1";
  ck_assert_int_eq (call (sp, TASK, "Shutdown", &shut.base, 3 * SEC, NULL, NULL, NULL, 0), 0);
  usleep (200000);
  ck_assert_int_eq (waitpid (sp->pid, NULL, WNOHANG), 0);
  kill_req.id = (char *) "c1";
  kill_req.signal = 9;
  ck_assert_int_eq (call (sp, TASK, "Kill", &kill_req.base, 5 * SEC, NULL, NULL, NULL, 0), 0);
  wait.id = (char *) "c1";
  ck_assert_int_eq (call (sp, TASK, "Wait", &wait.base, 5 * SEC, &out, &len, NULL, 0), 0);
  wr = containerd__task__v2__wait_response__unpack (NULL, len, out);
  ck_assert_uint_eq (wr->exit_status, 137);
  containerd__task__v2__wait_response__free_unpacked (wr, NULL);
  free (out);
  del.id = (char *) "c1";
  ck_assert_int_eq (call (sp, TASK, "Delete", &del.base, 5 * SEC, NULL, NULL, NULL, 0), 0);
}

START_TEST (test_serve_pod_lifecycle)
{
  struct shim_proc sp;
  Containerd__Runtime__Sandbox__V1__SandboxStatusResponse *st;
  Containerd__Runtime__Sandbox__V1__StartSandboxRequest start
      = CONTAINERD__RUNTIME__SANDBOX__V1__START_SANDBOX_REQUEST__INIT;
  Containerd__Runtime__Sandbox__V1__StartSandboxResponse *sr;
  Containerd__Runtime__Sandbox__V1__PlatformRequest plat = CONTAINERD__RUNTIME__SANDBOX__V1__PLATFORM_REQUEST__INIT;
  Containerd__Runtime__Sandbox__V1__PlatformResponse *pr;
  Containerd__Runtime__Sandbox__V1__StopSandboxRequest stop
      = CONTAINERD__RUNTIME__SANDBOX__V1__STOP_SANDBOX_REQUEST__INIT;
  Containerd__Runtime__Sandbox__V1__ShutdownSandboxRequest shut
      = CONTAINERD__RUNTIME__SANDBOX__V1__SHUTDOWN_SANDBOX_REQUEST__INIT;
  struct waiter w = { 0 };
  pthread_t wt;
  char msg[512], path[400], text[256];
  const char *want[] = { "/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete" };
  uint8_t *out;
  size_t len;
  int status;

  spawn_shim (&sp, "pod", fk.sandboxer_sock);
  /* unknown sandbox: the sandboxer's NOT_FOUND passes through */
  ck_assert_int_eq (status_call (&sp, "pod1", msg, NULL), 5);
  /* another pod's id: INVALID_ARGUMENT */
  ck_assert_int_eq (status_call (&sp, "pod2", msg, NULL), 3);
  create_sandbox (&sp, "pod2", 3);
  /* undecodable (field 1 a varint, not the id string): INVALID_ARGUMENT naming the request type */
  {
    Containerd__Runtime__Sandbox__V1__WaitSandboxResponse bad
        = CONTAINERD__RUNTIME__SANDBOX__V1__WAIT_SANDBOX_RESPONSE__INIT;
    bad.exit_status = 7;
    ck_assert_int_eq (call (&sp, SB, "CreateSandbox", &bad.base, 5 * SEC, NULL, NULL, msg, sizeof (msg)), 3);
    ck_assert_msg (strstr (msg, "cannot decode CreateSandboxRequest") != NULL, "message: %s", msg);
    ck_assert_int_eq (call (&sp, SB, "PingSandbox", &bad.base, 5 * SEC, NULL, NULL, msg, sizeof (msg)), 3);
    ck_assert_msg (strstr (msg, "cannot decode PingRequest") != NULL, "message: %s", msg);
  }

  create_sandbox (&sp, "pod1", 0);
  pthread_mutex_lock (&fk.lock);
  ck_assert_str_eq (fk.create_netns, "/var/run/netns/cni-test");
  ck_assert_str_eq (fk.create_ns, "testns");
  ck_assert_str_eq (fk.create_options_type, "runtime.v1.PodSandboxConfig");
  pthread_mutex_unlock (&fk.lock);
  snprintf (path, sizeof (path), "%s/io.containerd.grpc.v1.cri/sandboxes/pod1/hostname", sp.root);
  read_file_into (path, text, sizeof (text));
  ck_assert_str_eq (text, "wasm-pod\n");
  snprintf (path, sizeof (path), "%s/io.containerd.grpc.v1.cri/sandboxes/pod1/resolv.conf", sp.root);
  ck_assert_int_eq (access (path, F_OK), 0);

  start.sandbox_id = (char *) "pod1";
  ck_assert_int_eq (call (&sp, SB, "StartSandbox", &start.base, 5 * SEC, &out, &len, NULL, 0), 0);
  sr = containerd__runtime__sandbox__v1__start_sandbox_response__unpack (NULL, len, out);
  ck_assert_uint_eq (sr->pid, 42);
  ck_assert_ptr_nonnull (sr->created_at);
  containerd__runtime__sandbox__v1__start_sandbox_response__free_unpacked (sr, NULL);
  free (out);

  w.sp = &sp;
  pthread_create (&wt, NULL, wait_sandbox_thread, &w);
  usleep (300000);
  ck_assert_int_eq (w.done, 0); /* WaitSandbox stays pending while the pod lives */

  ck_assert_int_eq (status_call (&sp, "pod1", msg, &st), 0);
  ck_assert_str_eq (st->sandbox_id, "pod1");
  ck_assert_str_eq (st->state, "SANDBOX_READY");
  ck_assert_uint_eq (st->pid, 42);
  ck_assert_uint_eq (st->n_info, 1);
  ck_assert_ptr_nonnull (st->created_at);
  containerd__runtime__sandbox__v1__sandbox_status_response__free_unpacked (st, NULL);

  plat.sandbox_id = (char *) "pod1";
  ck_assert_int_eq (call (&sp, SB, "Platform", &plat.base, 5 * SEC, &out, &len, NULL, 0), 0);
  pr = containerd__runtime__sandbox__v1__platform_response__unpack (NULL, len, out);
  ck_assert_str_eq (pr->platform->os, "linux");
  containerd__runtime__sandbox__v1__platform_response__free_unpacked (pr, NULL);
  free (out);

  task_calls_pod_lifecycle (&sp);
  for (int i = 0; i < 200 && fakes_event_count () < 4; i++)
    usleep (10000);
  pthread_mutex_lock (&fk.lock);
  ck_assert_int_eq (fk.n_events, 4);
  for (int i = 0; i < 4; i++)
    {
      ck_assert_str_eq (fk.topics[i], want[i]);
      ck_assert_str_eq (fk.event_ns[i], "testns");
    }
  ck_assert_str_eq (fk.event_types[2], "containerd.events.TaskExit");
  pthread_mutex_unlock (&fk.lock);

  stop.sandbox_id = (char *) "pod1";
  ck_assert_int_eq (call (&sp, SB, "StopSandbox", &stop.base, 5 * SEC, NULL, NULL, NULL, 0), 0);
  pthread_join (wt, NULL);
  ck_assert_int_eq (w.code, 0);

  shut.sandbox_id = (char *) "pod1";
  ck_assert_int_eq (call (&sp, SB, "ShutdownSandbox", &shut.base, 5 * SEC, NULL, NULL, NULL, 0), 0);
  ck_assert_int_eq (reap_within (sp.pid, 3000, &status), 1);
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  ck_assert_int_eq (access (sp.sock, F_OK), -1);
  snprintf (path, sizeof (path), "%s/io.containerd.grpc.v1.cri/sandboxes/pod1", sp.root);
  ck_assert_int_eq (access (path, F_OK), -1);
}
END_TEST

START_TEST (test_sandboxer_down)
{
  struct shim_proc sp;
  char missing[200], msg[512];
  int status;

  snprintf (missing, sizeof (missing), "%s/no-sandboxer.sock", fk.dir);
  spawn_shim (&sp, "down", missing);
  ck_assert_int_eq (status_call (&sp, "pod1", msg, NULL), 14);
  ck_assert_ptr_nonnull (strstr (msg, missing));
  create_sandbox (&sp, "pod1", 14);
  /* the shim survives and still answers */
  ck_assert_int_eq (status_call (&sp, "pod1", msg, NULL), 14);
  kill (sp.pid, SIGTERM);
  ck_assert_int_eq (reap_within (sp.pid, 3000, &status), 1);
}
END_TEST

/* A failed Create, then containerd's one ShutdownSandbox while the sandboxer is down: the shim
   waits for it (within the call's deadline) and fails, stays while its bundle is there (a
   containerd restart) and exits once containerd removed the bundle. */
START_TEST (test_orphan_after_failed_create)
{
  struct shim_proc sp;
  Containerd__Runtime__Sandbox__V1__ShutdownSandboxRequest shut
      = CONTAINERD__RUNTIME__SANDBOX__V1__SHUTDOWN_SANDBOX_REQUEST__INIT;
  char missing[200], msg[512], cmd[400];
  struct timespec t0, t1;
  int status, code;

  snprintf (missing, sizeof (missing), "%s/no-sandboxer-orphan.sock", fk.dir);
  spawn_shim (&sp, "orphan", missing);
  create_sandbox (&sp, "pod1", 14);
  shut.sandbox_id = (char *) "pod1";
  clock_gettime (CLOCK_MONOTONIC, &t0);
  code = call (&sp, SB, "ShutdownSandbox", &shut.base, SEC, NULL, NULL, msg, sizeof (msg));
  clock_gettime (CLOCK_MONOTONIC, &t1);
  ck_assert_msg (code == 4 || code == 14, "ShutdownSandbox: %d %s", code, msg);
  ck_assert_int_ge ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 500);
  ck_assert_int_eq (reap_within (sp.pid, 2500, &status), 0);
  snprintf (cmd, sizeof (cmd), "rm -rf '%s'", sp.bundle);
  ck_assert_int_eq (system (cmd), 0);
  ck_assert_int_eq (reap_within (sp.pid, 10000, &status), 1);
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}
END_TEST

/* Runs the binary with cwd = bundle, combined stdout+stderr captured until EOF. */
static int
run_action (const char *bundle, const char *id, const char *action, char *out, size_t size, size_t *out_len,
            int merge_stderr)
{
  int p[2];
  pid_t pid;
  size_t n = 0;
  ssize_t r;
  int status;

  ck_assert_int_eq (pipe (p), 0);
  pid = fork ();
  if (pid == 0)
    {
      int null_fd = open ("/dev/null", O_RDONLY);
      dup2 (null_fd, 0);
      dup2 (p[1], 1);
      dup2 (merge_stderr ? p[1] : null_fd, 2);
      close (p[0]);
      if (chdir (bundle) < 0)
        _exit (126);
      execl (shim_bin, shim_bin, "-namespace", "testns", "-address", "/run/kc-shim-unit-test.sock", "-id", id,
             "-bundle", bundle, action, (char *) NULL);
      _exit (127);
    }
  close (p[1]);
  alarm (10); /* a daemon holding the pipe would hang us: fail instead */
  while (n < size - 1 && (r = read (p[0], out + n, size - 1 - n)) > 0)
    n += (size_t) r;
  alarm (0);
  close (p[0]);
  out[n] = '\0';
  *out_len = n;
  waitpid (pid, &status, 0);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* The pid of the daemon serving addr, from its local Connect answer (no tasker is reachable). */
static pid_t
daemon_pid (const char *addr)
{
  struct shim_proc sp;
  Containerd__Task__V2__ConnectRequest conn = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  Containerd__Task__V2__ConnectResponse *cr;
  uint8_t *out = NULL;
  size_t len = 0;
  pid_t pid = 0;

  snprintf (sp.sock, sizeof (sp.sock), "%s", addr + 7);
  conn.id = (char *) "probe";
  if (call (&sp, TASK, "Connect", &conn.base, 5 * SEC, &out, &len, NULL, 0) == 0
      && (cr = containerd__task__v2__connect_response__unpack (NULL, len, out)) != NULL)
    {
      pid = (pid_t) cr->shim_pid;
      containerd__task__v2__connect_response__free_unpacked (cr, NULL);
    }
  free (out);
  return pid;
}

START_TEST (test_start_join_delete)
{
  char bundle[200], cbundle[200], out[512], out2[512], addr_file[300], text[512], cfg[300];
  size_t len;
  pid_t daemon;
  FILE *f;
  Containerd__Task__V2__DeleteResponse *dr;

  snprintf (bundle, sizeof (bundle), "%s/start-bundle", fk.dir);
  snprintf (cbundle, sizeof (cbundle), "%s/container-bundle", fk.dir);
  mkdirs (bundle);
  mkdirs (cbundle);
  setenv ("KUASAR_WASM_SANDBOXER_ADDRESS", "/nonexistent/sandboxer.sock", 1);
  ck_assert_int_eq (run_action (bundle, "podS", "start", out, sizeof (out), &len, 1), 0);
  ck_assert_msg (strncmp (out, "unix:///run/containerd/s/", 25) == 0 && len == 25 + 64, "start printed `%s`", out);
  snprintf (addr_file, sizeof (addr_file), "%s/address", bundle);
  read_file_into (addr_file, text, sizeof (text));
  ck_assert_str_eq (text, out);
  daemon = daemon_pid (out);
  ck_assert_int_gt (daemon, 0);

  /* a container of the pod (2.x per-container start) joins the pod's socket */
  snprintf (cfg, sizeof (cfg), "%s/config.json", cbundle);
  f = fopen (cfg, "w");
  fputs ("{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"podS\"}}", f);
  fclose (f);
  ck_assert_int_eq (run_action (cbundle, "ctr1", "start", out2, sizeof (out2), &len, 1), 0);
  ck_assert_str_eq (out2, out);
  ck_assert_int_eq (daemon_pid (out), daemon);

  /* delete of the container leaves the pod's shim alone */
  ck_assert_int_eq (run_action (cbundle, "ctr1", "delete", out2, sizeof (out2), &len, 0), 0);
  ck_assert_int_eq (daemon_pid (out), daemon);
  dr = containerd__task__v2__delete_response__unpack (NULL, len, (uint8_t *) out2);
  ck_assert_ptr_nonnull (dr);
  ck_assert_uint_eq (dr->exit_status, 137);
  ck_assert_ptr_nonnull (dr->exited_at);
  containerd__task__v2__delete_response__free_unpacked (dr, NULL);

  kill (daemon, SIGTERM);
  for (int i = 0; i < 300 && kill (daemon, 0) == 0; i++)
    usleep (10000);
  ck_assert_int_eq (access (out + 7, F_OK), -1);
  unsetenv ("KUASAR_WASM_SANDBOXER_ADDRESS");
}
END_TEST

START_TEST (test_delete_without_daemon)
{
  char bundle[200], out[512];
  size_t len;
  struct timespec t0, t1;
  Containerd__Task__V2__DeleteResponse *dr;

  snprintf (bundle, sizeof (bundle), "%s/dead-bundle", fk.dir);
  mkdirs (bundle);
  setenv ("KUASAR_WASM_SANDBOXER_ADDRESS", "/nonexistent/sandboxer.sock", 1);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  /* containerd reads stdout alone (stderr is logged): it must hold only the DeleteResponse */
  ck_assert_int_eq (run_action (bundle, "podD", "delete", out, sizeof (out), &len, 0), 0);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  ck_assert_int_lt (t1.tv_sec - t0.tv_sec, 5);
  dr = containerd__task__v2__delete_response__unpack (NULL, len, (uint8_t *) out);
  ck_assert_ptr_nonnull (dr);
  ck_assert_uint_eq (dr->pid, 0);
  ck_assert_uint_eq (dr->exit_status, 137);
  ck_assert_ptr_nonnull (dr->exited_at);
  containerd__task__v2__delete_response__free_unpacked (dr, NULL);
  unsetenv ("KUASAR_WASM_SANDBOXER_ADDRESS");
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("shim");
  TCase *tc = tcase_create ("shim");
  SRunner *sr;
  int failed;

  shim_bin = getenv ("SHIM_BIN");
  if (shim_bin == NULL)
    {
      fprintf (stderr, "SHIM_BIN not set\n");
      return 1;
    }
  if (geteuid () != 0)
    {
      fprintf (stderr, "skipped: needs root (shim sockets in /run/containerd/s, shm tmpfs)\n");
      return 77;
    }
  signal (SIGPIPE, SIG_IGN);
  fakes_start ();
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_serve_pod_lifecycle);
  tcase_add_test (tc, test_sandboxer_down);
  tcase_add_test (tc, test_orphan_after_failed_create);
  tcase_add_test (tc, test_start_join_delete);
  tcase_add_test (tc, test_delete_without_daemon);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_set_fork_status (sr, CK_NOFORK);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  fakes_stop ();
  return failed == 0 ? 0 : 1;
}
