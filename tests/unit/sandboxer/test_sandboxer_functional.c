/* Functional test: runs the built wasm-sandboxer on a temp --listen/--dir with a fake tasker
   (fake_tasker.sh) and drives the Controller over gRPC, including a kill -9 recovery; then with
   the real tasker: Metrics and the reclaim after a SIGKILLed tasker. KC_SANDBOXER_BIN,
   KC_FAKE_TASKER and KC_TASKER_BIN come from meson. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "cgroup_stats.h"
#include "cgroups_metrics.pb-c.h"
#include "cri_pod.pb-c.h"
#include "sandbox_controller.pb-c.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

#define PATH(m)    "/containerd.services.sandbox.v1.Controller/" m
#define TIMEOUT_NS (20LL * 1000000000)

static char tmpdir[64], sock[128], target[160], state_dir[128];
static pid_t daemon_pid = -1;
static const char *daemon_tasker; /* NULL: the fake one */

static int status (const char *id, char *state, size_t state_len, uint32_t *pid);

static void
start_daemon (void)
{
  char log_path[160], config[160];
  snprintf (log_path, sizeof (log_path), "%s/daemon.log", tmpdir);
  snprintf (config, sizeof (config), "%s/config.toml", tmpdir);
  unlink (sock); /* stale after a kill -9: wait for the new one */
  daemon_pid = fork ();
  ck_assert_int_ge (daemon_pid, 0);
  if (daemon_pid == 0)
    {
      int fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2 (fd, 2);
      execl (getenv ("KC_SANDBOXER_BIN"), "wasm-sandboxer", "--listen", sock, "--dir", state_dir, "--tasker",
             daemon_tasker ? daemon_tasker : getenv ("KC_FAKE_TASKER"), "--log-level", "debug", "--config", config,
             (char *) NULL);
      _exit (127);
    }
  for (int i = 0; i < 500 && access (sock, F_OK) < 0; i++)
    usleep (10000);
  ck_assert_int_eq (access (sock, F_OK), 0);
  /* The socket file appears at bind(), a moment before listen(). */
  char state[64];
  int code = KC_UNAVAILABLE;
  for (int i = 0; i < 100 && code == KC_UNAVAILABLE; i++)
    if ((code = status ("probe", state, sizeof (state), NULL)) == KC_UNAVAILABLE)
      usleep (20000);
  ck_assert_int_eq (code, KC_NOT_FOUND);
}

static int
stop_daemon (int sig)
{
  int status = -1;
  if (daemon_pid > 0)
    {
      kill (daemon_pid, sig);
      waitpid (daemon_pid, &status, 0);
      daemon_pid = -1;
    }
  return status;
}

static void
setup (void)
{
  /* Taskers orphaned by a killed sandboxer come to us, so teardown can reap them. */
  prctl (PR_SET_CHILD_SUBREAPER, 1);
  strcpy (tmpdir, "/tmp/kc-sbfunc-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (tmpdir));
  snprintf (sock, sizeof (sock), "%s/s.sock", tmpdir);
  snprintf (target, sizeof (target), "unix://%s", sock);
  snprintf (state_dir, sizeof (state_dir), "%s/state", tmpdir);
  char config[160];
  const char *text = "# test config\nlog_level = \"debug\"\n[wasm]\nstop_timeout_secs = 3\nunknown_key = 1\n";
  cleanup_error kc_error_t err = NULL;
  snprintf (config, sizeof (config), "%s/config.toml", tmpdir);
  ck_assert_int_eq (kc_write_file_atomic (config, text, strlen (text), 0600, &err), 0);
  start_daemon ();
}

/* Kills whatever fake tasker is left (their pids are in the records) and removes the tree. */
static void
teardown (void)
{
  stop_daemon (SIGKILL);
  char cmd[512];
  snprintf (cmd, sizeof (cmd),
            "cat %s/*/sandbox.json 2>/dev/null | sed -n 's/.*\"pid\": *\\([0-9][0-9]*\\).*/\\1/p' "
            "| while read p; do [ \"$p\" -gt 0 ] && kill -9 $p 2>/dev/null; done; true",
            state_dir);
  if (system (cmd) < 0)
    perror ("system");
  cleanup_error kc_error_t err = NULL;
  kc_rm_rf (tmpdir, &err);
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
}

/* One call; returns the status code; *reply gets the payload on OK. */
static int
call (const char *path, const ProtobufCMessage *req, uint8_t **reply, size_t *len, char *msg, size_t msg_len)
{
  cleanup_error kc_error_t err = NULL;
  uint8_t *buf = NULL;
  size_t n = 0;
  int ret = kc_grpc_call_sync (target, path, req, "k8s.io", TIMEOUT_NS, &buf, &n, &err);
  if (msg)
    snprintf (msg, msg_len, "%s", ret < 0 ? err->msg : "");
  if (reply)
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
  return call (PATH ("Create"), &req.base, NULL, NULL, NULL, 0);
}

static int
start (const char *id, uint32_t *pid, char *msg, size_t msg_len)
{
  Containerd__Services__Sandbox__V1__ControllerStartRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_START_REQUEST__INIT;
  uint8_t *buf;
  size_t len;
  req.sandbox_id = (char *) id;
  int code = call (PATH ("Start"), &req.base, &buf, &len, msg, msg_len);
  if (code != KC_OK)
    return code;
  Containerd__Services__Sandbox__V1__ControllerStartResponse *resp
      = containerd__services__sandbox__v1__controller_start_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  char want[256];
  snprintf (want, sizeof (want), "ttrpc+unix://%s/%s/task.sock", state_dir, id);
  ck_assert_str_eq (resp->address, want);
  ck_assert_uint_eq (resp->version, 2);
  ck_assert_ptr_nonnull (resp->created_at);
  ck_assert_uint_gt (resp->pid, 0);
  snprintf (want, sizeof (want), "%s/%s", state_dir, id);
  ck_assert_uint_eq (resp->n_labels, 1);
  ck_assert_str_eq (resp->labels[0]->key, "kuasar.io/sandbox-dir");
  ck_assert_str_eq (resp->labels[0]->value, want);
  if (pid)
    *pid = resp->pid;
  containerd__services__sandbox__v1__controller_start_response__free_unpacked (resp, NULL);
  free (buf);
  return code;
}

/* Status: returns the code; fills state and pid. */
static int
status (const char *id, char *state, size_t state_len, uint32_t *pid)
{
  Containerd__Services__Sandbox__V1__ControllerStatusRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  uint8_t *buf;
  size_t len;
  req.sandbox_id = (char *) id;
  req.verbose = 1;
  int code = call (PATH ("Status"), &req.base, &buf, &len, NULL, 0);
  if (code != KC_OK)
    return code;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse *resp
      = containerd__services__sandbox__v1__controller_status_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  snprintf (state, state_len, "%s", resp->state);
  ck_assert_str_eq (resp->sandbox_id, id);
  /* the sandbox dir for a vmm shim on kernel vsock, then the verbose info */
  ck_assert_uint_eq (resp->n_info, 2);
  ck_assert_str_eq (resp->info[0]->key, "kuasar.io/sandbox-dir");
  ck_assert_ptr_nonnull (strstr (resp->info[0]->value, id));
  ck_assert_str_eq (resp->info[1]->key, "info");
  ck_assert_ptr_nonnull (strstr (resp->info[1]->value, "\"dir\""));
  if (pid)
    *pid = resp->pid;
  containerd__services__sandbox__v1__controller_status_response__free_unpacked (resp, NULL);
  free (buf);
  return code;
}

static int
stop (const char *id, uint32_t timeout)
{
  Containerd__Services__Sandbox__V1__ControllerStopRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STOP_REQUEST__INIT;
  req.sandbox_id = (char *) id;
  req.timeout_secs = timeout;
  return call (PATH ("Stop"), &req.base, NULL, NULL, NULL, 0);
}

static int
wait_exit (const char *id, uint32_t *exit_status)
{
  Containerd__Services__Sandbox__V1__ControllerWaitRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_WAIT_REQUEST__INIT;
  uint8_t *buf;
  size_t len;
  req.sandbox_id = (char *) id;
  int code = call (PATH ("Wait"), &req.base, &buf, &len, NULL, 0);
  if (code != KC_OK)
    return code;
  Containerd__Services__Sandbox__V1__ControllerWaitResponse *resp
      = containerd__services__sandbox__v1__controller_wait_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  ck_assert_ptr_nonnull (resp->exited_at);
  ck_assert_int_gt (resp->exited_at->seconds, 0);
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
  return call (PATH ("Shutdown"), &req.base, NULL, NULL, NULL, 0);
}

/* 1 while pid runs; a zombie (its reaper may be slow after a restart) counts as gone. */
static int
alive (uint32_t pid)
{
  char path[64], buf[512];
  snprintf (path, sizeof (path), "/proc/%u/stat", pid);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return 0;
  size_t n = fread (buf, 1, sizeof (buf) - 1, f);
  fclose (f);
  buf[n] = '\0';
  char *p = strrchr (buf, ')');
  return p != NULL && p[1] == ' ' && p[2] != 'Z';
}

struct waiter
{
  const char *id;
  int code;
  uint32_t exit_status;
};

static void *
wait_thread (void *arg)
{
  struct waiter *w = arg;
  w->code = wait_exit (w->id, &w->exit_status);
  return NULL;
}

START_TEST (lifecycle)
{
  char state[64], path[256];
  uint32_t pid = 0, spid = 0, code = 99;
  ck_assert_int_eq (create ("pod-a"), KC_OK);
  ck_assert_int_eq (status ("pod-a", state, sizeof (state), &spid), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");
  ck_assert_int_eq (start ("pod-a", &pid, NULL, 0), KC_OK);
  ck_assert (alive (pid));
  ck_assert_int_eq (status ("pod-a", state, sizeof (state), &spid), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_READY");
  ck_assert_uint_eq (spid, pid);
  ck_assert_int_eq (start ("pod-a", NULL, NULL, 0), KC_FAILED_PRECONDITION);

  /* Wait stays pending until Stop makes the tasker exit. */
  struct waiter w = { "pod-a", -1, 99 };
  pthread_t th;
  ck_assert_int_eq (pthread_create (&th, NULL, wait_thread, &w), 0);
  usleep (300000);
  ck_assert_int_eq (w.code, -1);
  ck_assert_int_eq (stop ("pod-a", 5), KC_OK);
  pthread_join (th, NULL);
  ck_assert_int_eq (w.code, KC_OK);
  ck_assert_uint_eq (w.exit_status, 0);
  ck_assert (!alive (pid));

  ck_assert_int_eq (status ("pod-a", state, sizeof (state), &spid), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");
  ck_assert_int_eq (stop ("pod-a", 0), KC_OK); /* idempotent */
  ck_assert_int_eq (wait_exit ("pod-a", &code), KC_OK);
  ck_assert_uint_eq (code, 0);
  ck_assert_int_eq (shutdown_sandbox ("pod-a"), KC_OK);
  ck_assert_int_eq (status ("pod-a", state, sizeof (state), NULL), KC_NOT_FOUND);
  snprintf (path, sizeof (path), "%s/pod-a", state_dir);
  ck_assert_int_eq (access (path, F_OK), -1);
  snprintf (path, sizeof (path), "%s/.pod-a.removing", state_dir);
  ck_assert_int_eq (access (path, F_OK), -1);
}
END_TEST

START_TEST (shutdown_running)
{
  uint32_t pid = 0;
  ck_assert_int_eq (create ("pod-b"), KC_OK);
  ck_assert_int_eq (start ("pod-b", &pid, NULL, 0), KC_OK);
  ck_assert_int_eq (shutdown_sandbox ("pod-b"), KC_OK);
  ck_assert (!alive (pid));
  ck_assert_int_eq (shutdown_sandbox ("pod-b"), KC_NOT_FOUND);
  /* The id can be reused once shut down. */
  ck_assert_int_eq (create ("pod-b"), KC_OK);
}
END_TEST

START_TEST (errors)
{
  char state[64], msg[512];
  char long_id[140];
  ck_assert_int_eq (status ("nope", state, sizeof (state), NULL), KC_NOT_FOUND);
  ck_assert_int_eq (stop ("nope", 0), KC_NOT_FOUND);
  ck_assert_int_eq (shutdown_sandbox ("nope"), KC_NOT_FOUND);
  ck_assert_int_eq (start ("nope", NULL, NULL, 0), KC_NOT_FOUND);
  ck_assert_int_eq (create (""), KC_INVALID_ARGUMENT);
  ck_assert_int_eq (create (".."), KC_INVALID_ARGUMENT);
  ck_assert_int_eq (create ("a/b"), KC_INVALID_ARGUMENT);
  ck_assert_int_eq (status ("../etc", state, sizeof (state), NULL), KC_INVALID_ARGUMENT);
  memset (long_id, 'x', 129);
  long_id[129] = '\0';
  ck_assert_int_eq (create (long_id), KC_INVALID_ARGUMENT);
  ck_assert_int_eq (create ("dup"), KC_OK);
  ck_assert_int_eq (create ("dup"), KC_ALREADY_EXISTS);
  /* A tasker that fails: the error names its log and quotes its last line. */
  ck_assert_int_eq (create ("fail-1"), KC_OK);
  ck_assert_int_ne (start ("fail-1", NULL, msg, sizeof (msg)), KC_OK);
  ck_assert_ptr_nonnull (strstr (msg, "fail-1/tasker.log"));
  ck_assert_ptr_nonnull (strstr (msg, "fake tasker: cannot start fail-1"));
  ck_assert_int_eq (status ("fail-1", state, sizeof (state), NULL), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");
  /* Garbage payload: INVALID_ARGUMENT, and the daemon lives on. */
  Containerd__Services__Sandbox__V1__ControllerStatusRequest bogus
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  bogus.sandbox_id = "dup";
  ck_assert_int_eq (call (PATH ("Create"), &bogus.base, NULL, NULL, NULL, 0), KC_ALREADY_EXISTS);
  ck_assert_int_eq (status ("dup", state, sizeof (state), NULL), KC_OK);
}
END_TEST

START_TEST (recovery)
{
  char state[64];
  uint32_t pid = 0, pid2 = 0, code = 99;
  ck_assert_int_eq (create ("pod-r"), KC_OK);
  ck_assert_int_eq (start ("pod-r", &pid, NULL, 0), KC_OK);
  ck_assert_int_eq (create ("pod-dead"), KC_OK);
  ck_assert_int_eq (start ("pod-dead", &pid2, NULL, 0), KC_OK);
  stop_daemon (SIGKILL);
  ck_assert (alive (pid));
  kill ((pid_t) pid2, SIGKILL); /* dies while the sandboxer is away */
  usleep (200000);
  /* a corrupted record is skipped, not fatal */
  char path[256];
  cleanup_error kc_error_t err = NULL;
  snprintf (path, sizeof (path), "%s/junk", state_dir);
  ck_assert_int_eq (kc_mkdir_p (path, 0700, &err), 0);
  snprintf (path, sizeof (path), "%s/junk/sandbox.json", state_dir);
  ck_assert_int_eq (kc_write_file_atomic (path, "{oops", 5, 0600, &err), 0);
  /* a Create interrupted before its first save leaves an empty dir: cleaned up */
  snprintf (path, sizeof (path), "%s/unborn", state_dir);
  ck_assert_int_eq (kc_mkdir_p (path, 0700, &err), 0);
  /* a Shutdown killed inside its removal leaves <dir>/.<id>.removing: finished at start */
  char leftover[256];
  snprintf (leftover, sizeof (leftover), "%s/.pod-gone.removing/containers", state_dir);
  ck_assert_int_eq (kc_mkdir_p (leftover, 0700, &err), 0);
  snprintf (leftover, sizeof (leftover), "%s/.pod-gone.removing", state_dir);
  snprintf (path, sizeof (path), "%s/junk/sandbox.json", state_dir);
  start_daemon ();
  ck_assert_int_ne (access (leftover, F_OK), 0);
  ck_assert_int_eq (create ("unborn"), KC_OK);
  ck_assert_int_eq (status ("pod-r", state, sizeof (state), &pid2), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_READY");
  ck_assert_uint_eq (pid2, pid);
  ck_assert_int_eq (status ("pod-dead", state, sizeof (state), NULL), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");
  ck_assert_int_eq (status ("junk", state, sizeof (state), NULL), KC_NOT_FOUND);
  ck_assert_int_eq (access (path, F_OK), 0);
  ck_assert_int_eq (stop ("pod-r", 5), KC_OK);
  ck_assert_int_eq (wait_exit ("pod-r", &code), KC_OK);
  ck_assert_uint_eq (code, 0);
  ck_assert (!alive (pid));
}
END_TEST

START_TEST (sigterm_leaves_taskers)
{
  char state[64];
  uint32_t pid = 0, pid2 = 0;
  ck_assert_int_eq (create ("pod-t"), KC_OK);
  ck_assert_int_eq (start ("pod-t", &pid, NULL, 0), KC_OK);
  int st = stop_daemon (SIGTERM);
  ck_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0);
  ck_assert (alive (pid));
  start_daemon ();
  ck_assert_int_eq (status ("pod-t", state, sizeof (state), &pid2), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_READY");
  ck_assert_uint_eq (pid2, pid);
  ck_assert_int_eq (shutdown_sandbox ("pod-t"), KC_OK);
}
END_TEST

START_TEST (stop_escalates_and_misc)
{
  char state[64], path[256];
  uint32_t pid = 0, code = 0;
  ck_assert_int_eq (create ("stubborn-1"), KC_OK);
  ck_assert_int_eq (start ("stubborn-1", &pid, NULL, 0), KC_OK);
  ck_assert_int_eq (stop ("stubborn-1", 1), KC_OK);
  ck_assert (!alive (pid));
  ck_assert_int_eq (wait_exit ("stubborn-1", &code), KC_OK);
  ck_assert_uint_eq (code, 128 + SIGKILL);

  /* Update stores extensions; Metrics is not implemented; Platform is the host's. */
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = "kuasar.tasks";
  any.value.data = (uint8_t *) "\x01\x02";
  any.value.len = 2;
  Containerd__Types__Sandbox__ExtensionsEntry ext = CONTAINERD__TYPES__SANDBOX__EXTENSIONS_ENTRY__INIT,
                                              *exts[1] = { &ext };
  ext.key = "tasks";
  ext.value = &any;
  Containerd__Types__Sandbox sandbox = CONTAINERD__TYPES__SANDBOX__INIT;
  sandbox.sandbox_id = "stubborn-1";
  sandbox.n_extensions = 1;
  sandbox.extensions = exts;
  char *fields[1] = { "extensions.tasks" };
  Containerd__Services__Sandbox__V1__ControllerUpdateRequest up
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_UPDATE_REQUEST__INIT;
  up.sandbox_id = "stubborn-1";
  up.sandbox = &sandbox;
  up.n_fields = 1;
  up.fields = fields;
  ck_assert_int_eq (call (PATH ("Update"), &up.base, NULL, NULL, NULL, 0), KC_OK);
  char *json = NULL;
  size_t len;
  cleanup_error kc_error_t err = NULL;
  snprintf (path, sizeof (path), "%s/stubborn-1/sandbox.json", state_dir);
  ck_assert_int_eq (kc_read_file (path, &json, &len, &err), 0);
  ck_assert_ptr_nonnull (strstr (json, "0102"));
  free (json);
  up.sandbox_id = "nope";
  ck_assert_int_eq (call (PATH ("Update"), &up.base, NULL, NULL, NULL, 0), KC_NOT_FOUND);

  Containerd__Services__Sandbox__V1__ControllerMetricsRequest mreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_METRICS_REQUEST__INIT;
  mreq.sandbox_id = "stubborn-1";
  ck_assert_int_eq (call (PATH ("Metrics"), &mreq.base, NULL, NULL, NULL, 0), KC_FAILED_PRECONDITION);
  mreq.sandbox_id = "nope";
  ck_assert_int_eq (call (PATH ("Metrics"), &mreq.base, NULL, NULL, NULL, 0), KC_NOT_FOUND);

  Containerd__Services__Sandbox__V1__ControllerPlatformRequest preq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_PLATFORM_REQUEST__INIT;
  uint8_t *buf;
  preq.sandbox_id = "stubborn-1";
  ck_assert_int_eq (call (PATH ("Platform"), &preq.base, &buf, &len, NULL, 0), KC_OK);
  Containerd__Services__Sandbox__V1__ControllerPlatformResponse *presp
      = containerd__services__sandbox__v1__controller_platform_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (presp);
  ck_assert_ptr_nonnull (presp->platform);
  ck_assert_str_eq (presp->platform->os, "linux");
  ck_assert_int_gt (strlen (presp->platform->architecture), 0);
  containerd__services__sandbox__v1__controller_platform_response__free_unpacked (presp, NULL);
  free (buf);
  ck_assert_int_eq (status ("stubborn-1", state, sizeof (state), NULL), KC_OK);
}
END_TEST

/* The number after `"key":` in a JSON text, or -1. */
static long long
json_number (const char *json, const char *key)
{
  char quoted[64];
  snprintf (quoted, sizeof (quoted), "\"%s\"", key);
  const char *p = strstr (json, quoted);
  if (p == NULL)
    return -1;
  p += strlen (quoted);
  while (*p == ' ' || *p == ':')
    p++;
  return strtoll (p, NULL, 10);
}

/* Create keeps the CRI pod config's linux.resources and linux.overhead in sandbox.json. */
START_TEST (create_keeps_pod_resources)
{
  Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
  res.memory_limit_in_bytes = 268435456;
  res.cpu_quota = 150000;
  res.cpu_period = 100000;
  res.cpu_shares = 1536;
  Runtime__V1__LinuxContainerResources ovh = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
  ovh.memory_limit_in_bytes = 33554432;
  ovh.cpu_quota = -1;
  Runtime__V1__LinuxPodSandboxConfig linux_cfg = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
  linux_cfg.resources = &res;
  linux_cfg.overhead = &ovh;
  Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
  cfg.hostname = "sized";
  cfg.linux = &linux_cfg;
  uint8_t buf[256];
  size_t n = runtime__v1__pod_sandbox_config__pack (&cfg, buf);
  ck_assert_uint_lt (n, sizeof (buf));
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = "type.googleapis.com/runtime.v1.PodSandboxConfig";
  any.value.data = buf;
  any.value.len = n;
  Containerd__Services__Sandbox__V1__ControllerCreateRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_CREATE_REQUEST__INIT;
  req.sandbox_id = "sized-1";
  req.netns_path = "";
  req.options = &any;
  ck_assert_int_eq (call (PATH ("Create"), &req.base, NULL, NULL, NULL, 0), KC_OK);
  ck_assert_int_eq (create ("plain-1"), KC_OK);

  char path[256], *json = NULL;
  size_t len;
  cleanup_error kc_error_t err = NULL;
  snprintf (path, sizeof (path), "%s/sized-1/sandbox.json", state_dir);
  ck_assert_int_eq (kc_read_file (path, &json, &len, &err), 0);
  ck_assert_int_eq (json_number (json, "memory_limit_bytes"), 268435456);
  ck_assert_int_eq (json_number (json, "overhead_memory_limit_bytes"), 33554432);
  ck_assert_int_eq (json_number (json, "cpu_quota"), 150000);
  ck_assert_int_eq (json_number (json, "cpu_period"), 100000);
  free (json);
  json = NULL;
  snprintf (path, sizeof (path), "%s/plain-1/sandbox.json", state_dir);
  ck_assert_int_eq (kc_read_file (path, &json, &len, &err), 0);
  ck_assert_int_eq (json_number (json, "memory_limit_bytes"), 0);
  ck_assert_int_eq (json_number (json, "cpu_quota"), 0);
  free (json);
  ck_assert_int_eq (shutdown_sandbox ("sized-1"), KC_OK);
  ck_assert_int_eq (shutdown_sandbox ("plain-1"), KC_OK);
}
END_TEST

START_TEST (ready_timeout)
{
  char state[64], msg[512];
  time_t before = time (NULL);
  ck_assert_int_eq (create ("hang-1"), KC_OK);
  ck_assert_int_eq (start ("hang-1", NULL, msg, sizeof (msg)), KC_DEADLINE_EXCEEDED);
  ck_assert_int_ge (time (NULL) - before, 9);
  ck_assert_ptr_nonnull (strstr (msg, "fake tasker: hanging"));
  ck_assert_int_eq (status ("hang-1", state, sizeof (state), NULL), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");
  /* The loop was never blocked meanwhile. */
  ck_assert_int_eq (create ("after-hang"), KC_OK);
}
END_TEST

START_TEST (bad_flags)
{
  char cmd[512];
  snprintf (cmd, sizeof (cmd), "%s --bogus 2>/dev/null", getenv ("KC_SANDBOXER_BIN"));
  int st = system (cmd);
  ck_assert (WIFEXITED (st) && WEXITSTATUS (st) == 2);
  snprintf (cmd, sizeof (cmd), "%s --help >/dev/null", getenv ("KC_SANDBOXER_BIN"));
  st = system (cmd);
  ck_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0);
}
END_TEST

/* ---- With the real kuasar-wasm-tasker (root, clang-14): Metrics, reclaim after SIGKILL. ---- */

static const char sleeper_c[] = "#include <unistd.h>\\nint main (void) { for (;;) sleep (1); }\\n";

static void
setup_real (void)
{
  ck_assert_msg (geteuid () == 0, "the real-tasker tests need root (mounts, cgroups)");
  ck_assert_msg (system ("command -v clang-14 >/dev/null") == 0, "clang-14 is missing (WASI modules)");
  daemon_tasker = getenv ("KC_TASKER_BIN");
  ck_assert_ptr_nonnull (daemon_tasker);
  setup ();
}

static void
teardown_real (void)
{
  teardown ();
  daemon_tasker = NULL;
}

/* <tmp>/<cid>/{config.json,rootfs/} and <tmp>/<cid>-layer/app.wasm, bind-mounted onto rootfs by
   the Create, so the tasker makes (and records) a mount. */
static void
make_container_bundle (const char *cid, char *bundle, size_t len, char *layer, size_t llen)
{
  char cmd[1024], path[512];
  snprintf (bundle, len, "%s/%s", tmpdir, cid);
  snprintf (layer, llen, "%s/%s-layer", tmpdir, cid);
  snprintf (cmd, sizeof (cmd),
            "mkdir -p %s/rootfs %s && printf '%s' > %s/s.c && "
            "clang-14 --target=wasm32-wasi -O2 -o %s/app.wasm %s/s.c",
            bundle, layer, sleeper_c, tmpdir, layer, tmpdir);
  ck_assert_int_eq (system (cmd), 0);
  const char *json = "{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"/app.wasm\"],\"cwd\":\"/\"},"
                     "\"root\":{\"path\":\"rootfs\"}}";
  cleanup_error kc_error_t err = NULL;
  snprintf (path, sizeof (path), "%s/config.json", bundle);
  ck_assert_int_eq (kc_write_file_atomic (path, json, strlen (json), 0644, &err), 0);
}

static void
task_call (const char *sid, const char *method, const ProtobufCMessage *req, uint8_t **reply, size_t *len)
{
  char task_sock[256];
  cleanup_error kc_error_t err = NULL;
  snprintf (task_sock, sizeof (task_sock), "%s/%s/task.sock", state_dir, sid);
  int ret = kc_ttrpc_call_sync (task_sock, "containerd.task.v2.Task", method, req, TIMEOUT_NS, reply, len, &err);
  ck_assert_msg (ret == 0, "%s: %s", method, err ? err->msg : "?");
}

/* A started sandbox running one started sleeper container cid; returns the container's pid. */
static pid_t
run_sleeper (const char *sid, const char *cid, uint32_t *tasker_pid, char *bundle, size_t len)
{
  char layer[256];
  Containerd__Task__V2__CreateTaskRequest creq = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  Containerd__Task__V2__StartRequest sreq = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  Containerd__Types__Mount m = CONTAINERD__TYPES__MOUNT__INIT, *mp = &m;
  char *opts[] = { (char *) "rbind", (char *) "ro" };
  uint8_t *buf = NULL;
  size_t n;

  ck_assert_int_eq (create (sid), KC_OK);
  ck_assert_int_eq (start (sid, tasker_pid, NULL, 0), KC_OK);
  make_container_bundle (cid, bundle, len, layer, sizeof (layer));
  m.type = (char *) "bind";
  m.source = layer;
  m.options = opts;
  m.n_options = 2;
  creq.id = (char *) cid;
  creq.bundle = bundle;
  creq.rootfs = &mp;
  creq.n_rootfs = 1;
  task_call (sid, "Create", &creq.base, &buf, &n);
  Containerd__Task__V2__CreateTaskResponse *cresp = containerd__task__v2__create_task_response__unpack (NULL, n, buf);
  ck_assert_ptr_nonnull (cresp);
  pid_t pid = (pid_t) cresp->pid;
  containerd__task__v2__create_task_response__free_unpacked (cresp, NULL);
  free (buf);
  sreq.id = (char *) cid;
  task_call (sid, "Start", &sreq.base, &buf, &n);
  free (buf);
  return pid;
}

static int
mounted (const char *mount_point)
{
  char line[4096], needle[600];
  int found = 0;
  snprintf (needle, sizeof (needle), " %s ", mount_point);
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  ck_assert_ptr_nonnull (f);
  while (!found && fgets (line, sizeof (line), f) != NULL)
    found = strstr (line, needle) != NULL;
  fclose (f);
  return found;
}

static int
pod_cgroup_exists (const char *sid)
{
  static const char *const ctl[] = { "memory", "cpu", "cpuacct", "pids", "freezer" };
  char path[256];
  for (size_t i = 0; i < sizeof (ctl) / sizeof (ctl[0]); i++)
    {
      snprintf (path, sizeof (path), "/sys/fs/cgroup/%s/kuasar-wasm/%s", ctl[i], sid);
      if (access (path, F_OK) == 0)
        return 1;
    }
  return 0;
}

/* Nothing of sid's container is left: process, rootfs mount, cgroups, record. */
static void
assert_reclaimed (const char *sid, pid_t cpid, const char *bundle)
{
  char rootfs[300], record[300];
  snprintf (rootfs, sizeof (rootfs), "%s/rootfs", bundle);
  snprintf (record, sizeof (record), "%s/%s/containers", state_dir, sid);
  ck_assert_msg (!alive ((uint32_t) cpid), "container process %d survived", (int) cpid);
  ck_assert_msg (!mounted (rootfs), "%s is still mounted", rootfs);
  ck_assert_msg (!pod_cgroup_exists (sid), "the cgroup of %s is left", sid);
  ck_assert_int_ne (access (record, F_OK), 0);
}

static void
check_metrics (const char *sid)
{
  Containerd__Services__Sandbox__V1__ControllerMetricsRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_METRICS_REQUEST__INIT;
  uint8_t *buf;
  size_t len;
  req.sandbox_id = (char *) sid;
  ck_assert_int_eq (call (PATH ("Metrics"), &req.base, &buf, &len, NULL, 0), KC_OK);
  Containerd__Services__Sandbox__V1__ControllerMetricsResponse *resp
      = containerd__services__sandbox__v1__controller_metrics_response__unpack (NULL, len, buf);
  ck_assert_ptr_nonnull (resp);
  ck_assert_ptr_nonnull (resp->metrics);
  ck_assert_str_eq (resp->metrics->id, sid);
  ck_assert_int_gt (resp->metrics->timestamp->seconds, 0);
  if (kc_cgroup_root_is_v2 ("/sys/fs/cgroup"))
    {
      ck_assert_str_eq (resp->metrics->data->type_url, "io.containerd.cgroups.v2.Metrics");
      Io__Containerd__Cgroups__V2__Metrics *m = io__containerd__cgroups__v2__metrics__unpack (
          NULL, resp->metrics->data->value.len, resp->metrics->data->value.data);
      ck_assert_ptr_nonnull (m);
      ck_assert_ptr_nonnull (m->memory);
      ck_assert_uint_gt (m->memory->usage, 0);
      ck_assert_uint_gt (m->memory->usage_limit, 0);
      ck_assert_ptr_nonnull (m->pids);
      ck_assert_uint_ge (m->pids->current, 1);
      ck_assert_ptr_nonnull (m->cpu);
      ck_assert_uint_gt (m->cpu->usage_usec, 0);
      io__containerd__cgroups__v2__metrics__free_unpacked (m, NULL);
    }
  else
    {
      ck_assert_str_eq (resp->metrics->data->type_url, "io.containerd.cgroups.v1.Metrics");
      Io__Containerd__Cgroups__V1__Metrics *m = io__containerd__cgroups__v1__metrics__unpack (
          NULL, resp->metrics->data->value.len, resp->metrics->data->value.data);
      ck_assert_ptr_nonnull (m);
      ck_assert_ptr_nonnull (m->memory);
      ck_assert_uint_gt (m->memory->usage->usage, 0);
      ck_assert_uint_gt (m->memory->usage->limit, 0);
      ck_assert_ptr_nonnull (m->pids);
      ck_assert_uint_ge (m->pids->current, 1);
      ck_assert_ptr_nonnull (m->cpu);
      io__containerd__cgroups__v1__metrics__free_unpacked (m, NULL);
    }
  containerd__services__sandbox__v1__controller_metrics_response__free_unpacked (resp, NULL);
  free (buf);
}

START_TEST (metrics_and_reclaim_after_sigkill)
{
  char bundle[256], rootfs[300];
  uint32_t tpid = 0, code = 0;
  pid_t cpid = run_sleeper ("rt-kill", "c1", &tpid, bundle, sizeof (bundle));
  snprintf (rootfs, sizeof (rootfs), "%s/rootfs", bundle);
  ck_assert (mounted (rootfs));
  ck_assert (pod_cgroup_exists ("rt-kill"));
  check_metrics ("rt-kill");

  ck_assert_int_eq (kill ((pid_t) tpid, SIGKILL), 0);
  ck_assert_int_eq (wait_exit ("rt-kill", &code), KC_OK);
  ck_assert_uint_eq (code, 128 + SIGKILL);
  assert_reclaimed ("rt-kill", cpid, bundle);
  Containerd__Services__Sandbox__V1__ControllerMetricsRequest mreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_METRICS_REQUEST__INIT;
  mreq.sandbox_id = "rt-kill";
  ck_assert_int_eq (call (PATH ("Metrics"), &mreq.base, NULL, NULL, NULL, 0), KC_FAILED_PRECONDITION);

  /* Shutdown SIGKILLs the tasker too. */
  cpid = run_sleeper ("rt-shut", "c2", &tpid, bundle, sizeof (bundle));
  ck_assert_int_eq (shutdown_sandbox ("rt-shut"), KC_OK);
  assert_reclaimed ("rt-shut", cpid, bundle);
}
END_TEST

START_TEST (recovery_reclaims_dead_tasker)
{
  char bundle[256], state[64];
  uint32_t tpid = 0;
  pid_t cpid = run_sleeper ("rt-rec", "c3", &tpid, bundle, sizeof (bundle));
  stop_daemon (SIGKILL);
  ck_assert_int_eq (kill ((pid_t) tpid, SIGKILL), 0);
  for (int i = 0; i < 200 && alive (tpid); i++)
    usleep (10000);
  start_daemon ();
  ck_assert_int_eq (status ("rt-rec", state, sizeof (state), NULL), KC_OK);
  ck_assert_str_eq (state, "SANDBOX_NOTREADY");
  assert_reclaimed ("rt-rec", cpid, bundle);
  ck_assert_int_eq (shutdown_sandbox ("rt-rec"), KC_OK);
}
END_TEST

int
main (void)
{
  kc_log_init ("test", KC_LOG_ERROR);
  signal (SIGPIPE, SIG_IGN);
  Suite *s = suite_create ("sandboxer-functional");
  TCase *tc = tcase_create ("daemon");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, lifecycle);
  tcase_add_test (tc, shutdown_running);
  tcase_add_test (tc, errors);
  tcase_add_test (tc, recovery);
  tcase_add_test (tc, sigterm_leaves_taskers);
  tcase_add_test (tc, stop_escalates_and_misc);
  tcase_add_test (tc, create_keeps_pod_resources);
  tcase_add_test (tc, ready_timeout);
  tcase_add_test (tc, bad_flags);
  suite_add_tcase (s, tc);
  TCase *rt = tcase_create ("real-tasker");
  tcase_add_checked_fixture (rt, setup_real, teardown_real);
  tcase_set_timeout (rt, 120);
  tcase_add_test (rt, metrics_and_reclaim_after_sigkill);
  tcase_add_test (rt, recovery_reclaims_dead_tasker);
  suite_add_tcase (s, rt);
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
