/* Boot test of the vmm guest: QEMU microvm with our vmlinux + initramfs, then the Task API over
   the "agent" port (Connect/Create/Start/Wait/Exec/Pids/Stats/Pause/Resume/Kill/Delete/Shutdown,
   a memory limit and an OOM kill in the guest cgroup) and container output read from the
   "stdio" port through the mux decoder. Prints the boot-to-agent time. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cgroups_metrics.pb-c.h"
#include "stdio_mux.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

#define SEC        1000000000LL
#define KERNEL_DIR "/opt/kuasar-c/guest-kernel"

static struct event_base *base;
static kc_ttrpc_client *cl;
static char tmp[64];
static pid_t qemu = -1;
static struct kc_mux_decoder dec;
static char out_text[8192];
static int closes_seen;

#define CHECK(cond, ...)                                                                                               \
  do                                                                                                                   \
    if (!(cond))                                                                                                       \
      {                                                                                                                \
        fprintf (stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                          \
        fprintf (stderr, __VA_ARGS__);                                                                                 \
        fprintf (stderr, "\n");                                                                                        \
        cleanup_and_exit (1);                                                                                          \
      }                                                                                                                \
  while (0)

static void
cleanup_and_exit (int code)
{
  char cmd[300];

  if (qemu > 0)
    kill (qemu, SIGKILL), waitpid (qemu, NULL, 0);
  if (code != 0)
    {
      snprintf (cmd, sizeof (cmd), "tail -n 30 %s/console.log >&2", tmp);
      if (system (cmd) != 0)
        fprintf (stderr, "(no console log)\n");
    }
  snprintf (cmd, sizeof (cmd), "rm -rf %s", tmp);
  if (system (cmd) != 0)
    fprintf (stderr, "cannot remove %s\n", tmp);
  exit (code);
}

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
write_text (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  CHECK (f != NULL && fputs (text, f) >= 0 && fclose (f) == 0, "write %s", path);
}

#define C2_LIMIT (32 * 1024 * 1024)

/* extra is "" or a JSON member (with its leading comma) for config.json's top level. */
static void
make_container (const char *id, const char *script, const char *extra)
{
  char path[256], json[2048];

  snprintf (path, sizeof (path), "%s/shared/%s/rootfs/bin", tmp, id);
  CHECK (system ((snprintf (json, sizeof (json),
                            "mkdir -p %s && cp /bin/busybox %s/ && for a in sh echo sleep cat; "
                            "do ln -sf busybox %s/$a; done",
                            path, path, path),
                  json))
             == 0,
         "rootfs of %s", id);
  snprintf (json, sizeof (json),
            "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\",\"-c\",\"%s\"],\"env\":[\"PATH=/bin\"],"
            "\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}},\"root\":{\"path\":\"rootfs\"},\"hostname\":\"%s\","
            "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
            "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/var/lib/nowhere/hosts\","
            "\"options\":[\"rbind\",\"ro\"]}]%s}",
            script, id, extra);
  snprintf (path, sizeof (path), "%s/shared/%s/config.json", tmp, id);
  write_text (path, json);
}

static pid_t
start_qemu (void)
{
  char kernel[] = KERNEL_DIR "/vmlinux", append[] = "console=ttyS0 quiet panic=-1 reboot=t tsc_early_khz=1000000 "
                                                    "tsc=reliable no_timer_check lpj=1000000";
  char serial[512], agent[512], stdio[512], fsdev[512];
  const char *initrd = getenv ("KC_GUEST_INITRD");
  pid_t pid;

  snprintf (serial, sizeof (serial), "file:%s/console.log", tmp);
  snprintf (agent, sizeof (agent), "socket,id=agent,path=%s/agent.sock,server=on,wait=off", tmp);
  snprintf (stdio, sizeof (stdio), "socket,id=stdio,path=%s/stdio.sock,server=on,wait=off", tmp);
  snprintf (fsdev, sizeof (fsdev), "local,id=shared,path=%s/shared,security_model=none", tmp);
  char *argv[] = { "qemu-system-x86_64",
                   "-M",
                   "microvm,pit=on,pic=on,rtc=on",
                   "-accel",
                   "tcg",
                   "-cpu",
                   "max",
                   "-m",
                   "256",
                   "-smp",
                   "1",
                   "-nodefaults",
                   "-no-user-config",
                   "-nographic",
                   "-serial",
                   serial,
                   "-kernel",
                   kernel,
                   "-initrd",
                   (char *) initrd,
                   "-append",
                   append,
                   "-device",
                   "virtio-serial-device",
                   "-chardev",
                   agent,
                   "-device",
                   "virtserialport,chardev=agent,name=agent",
                   "-chardev",
                   stdio,
                   "-device",
                   "virtserialport,chardev=stdio,name=stdio",
                   "-fsdev",
                   fsdev,
                   "-device",
                   "virtio-9p-device,fsdev=shared,mount_tag=kuasar",
                   "-no-reboot",
                   NULL };
  pid = fork ();
  if (pid == 0)
    {
      execvp (argv[0], argv);
      _exit (127);
    }
  return pid;
}

static int
unix_connect (const char *name, double deadline)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd;

  snprintf (sa.sun_path, sizeof (sa.sun_path), "%s/%s", tmp, name);
  while (now_s () < deadline)
    {
      fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (connect (fd, (struct sockaddr *) &sa, sizeof (sa)) == 0)
        return fd;
      close (fd);
      usleep (20000);
    }
  return -1;
}

static int
on_frame (const struct kc_mux_frame *f, void *userdata)
{
  size_t used = strlen (out_text);

  if (f->kind == KC_MUX_CLOSE)
    closes_seen++;
  else if (used + f->data_len + f->key_len + 4 < sizeof (out_text))
    snprintf (out_text + used, sizeof (out_text) - used, "[%.*s]%.*s", (int) f->key_len, f->key, (int) f->data_len,
              (const char *) f->data);
  return 0;
}

static void
on_stdio (evutil_socket_t fd, short what, void *arg)
{
  uint8_t buf[4096];
  ssize_t n = read (fd, buf, sizeof (buf));

  if (n > 0)
    CHECK (kc_mux_decoder_feed (&dec, buf, (size_t) n, on_frame, NULL, NULL) == 0, "stdio stream decodes");
}

struct reply
{
  int done, code;
  char message[512];
  uint8_t *payload;
  size_t len;
};

static void
on_reply (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct reply *r = userdata;

  r->done = 1;
  r->code = code;
  snprintf (r->message, sizeof (r->message), "%s", message);
  r->payload = malloc (len + 1);
  memcpy (r->payload, payload, len);
  r->len = len;
}

static void
run_until (int *flag, double timeout)
{
  double deadline = now_s () + timeout;
  while (!*flag && now_s () < deadline)
    event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep (1000);
}

static void
call_async (const char *method, const ProtobufCMessage *req, struct reply *r, double timeout)
{
  kc_error_t err = NULL;
  memset (r, 0, sizeof (*r));
  CHECK (kc_ttrpc_client_call (cl, "containerd.task.v2.Task", method, req, (int64_t) (timeout * SEC), on_reply, r, &err)
             == 0,
         "send %s", method);
}

static struct reply
call (const char *method, const ProtobufCMessage *req, double timeout)
{
  struct reply r;
  call_async (method, req, &r, timeout);
  run_until (&r.done, timeout + 1);
  CHECK (r.done && r.code == 0, "%s: code %d %s", method, r.code, r.message);
  return r;
}

/* Boots and waits for Connect to answer; 0 on success with the time taken. */
static int
boot (double *ready_s)
{
  struct reply r;
  Containerd__Task__V2__ConnectRequest creq = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  double t0 = now_s ();
  int afd;

  qemu = start_qemu ();
  afd = unix_connect ("agent.sock", t0 + 5);
  CHECK (afd >= 0, "connect agent.sock");
  cl = kc_ttrpc_client_new_fd (base, afd, NULL);
  CHECK (cl != NULL, "ttrpc client");
  creq.id = "c1";
  call_async ("Connect", &creq.base, &r, 20);
  run_until (&r.done, 21);
  if (r.done && r.code == 0)
    {
      *ready_s = now_s () - t0;
      return 0;
    }
  fprintf (stderr, "boot did not answer in 20 s (%s): retrying once\n", r.done ? r.message : "no reply");
  kc_ttrpc_client_free (cl);
  kill (qemu, SIGKILL), waitpid (qemu, NULL, 0);
  unlink ((snprintf (r.message, sizeof (r.message), "%s/agent.sock", tmp), r.message));
  return -1;
}

static uint32_t
run_container (const char *id, const char *expect)
{
  Containerd__Task__V2__CreateTaskRequest cr = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  Containerd__Task__V2__StartRequest sr = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  Containerd__Task__V2__WaitRequest wr = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
  Containerd__Task__V2__DeleteRequest dr = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  Containerd__Task__V2__WaitResponse *w;
  struct reply r, wait_r;
  char bundle[128];
  int before = closes_seen;
  uint32_t status;

  snprintf (bundle, sizeof (bundle), "/run/kuasar/shared/%s", id);
  cr.id = (char *) id, cr.bundle = bundle, cr.stdout = "/host/fifo/stdout", cr.stderr = "/host/fifo/stderr";
  r = call ("Create", &cr.base, 30);
  free (r.payload);
  wr.id = (char *) id;
  call_async ("Wait", &wr.base, &wait_r, 60);
  sr.id = (char *) id;
  r = call ("Start", &sr.base, 10);
  free (r.payload);
  run_until (&wait_r.done, 30);
  CHECK (wait_r.done && wait_r.code == 0, "Wait %s", id);
  w = containerd__task__v2__wait_response__unpack (NULL, wait_r.len, wait_r.payload);
  status = w->exit_status;
  containerd__task__v2__wait_response__free_unpacked (w, NULL);
  free (wait_r.payload);
  {
    int want = before + 2;
    int *flag = &want;
    double deadline = now_s () + 10;
    while (closes_seen < *flag && now_s () < deadline)
      event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep (1000);
  }
  CHECK (strstr (out_text, expect) != NULL, "output of %s has `%s`: `%s`", id, expect, out_text);
  dr.id = (char *) id;
  r = call ("Delete", &dr.base, 10);
  free (r.payload);
  return status;
}

/* Stats of the running c2: its guest cgroup's limit, some memory in use, at least its init. */
static void
check_stats (const char *id)
{
  Containerd__Task__V2__StatsRequest req = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
  Containerd__Task__V2__StatsResponse *resp;
  Io__Containerd__Cgroups__V1__Metrics *m;
  struct reply r;

  req.id = (char *) id;
  r = call ("Stats", &req.base, 10);
  resp = containerd__task__v2__stats_response__unpack (NULL, r.len, r.payload);
  CHECK (resp != NULL && resp->stats != NULL && strcmp (resp->stats->type_url, "io.containerd.cgroups.v1.Metrics") == 0,
         "Stats answers a v1 Metrics Any");
  m = io__containerd__cgroups__v1__metrics__unpack (NULL, resp->stats->value.len, resp->stats->value.data);
  CHECK (m != NULL && m->memory != NULL && m->memory->usage != NULL, "Metrics has memory usage");
  CHECK (m->memory->usage->limit == C2_LIMIT, "memory limit %llu, want %d",
         (unsigned long long) m->memory->usage->limit, C2_LIMIT);
  CHECK (m->memory->usage->usage > 0, "memory usage > 0");
  CHECK (m->pids != NULL && m->pids->current >= 1, "pids.current >= 1");
  printf ("stats of %s: memory %llu / %llu, pids %llu\n", id, (unsigned long long) m->memory->usage->usage,
          (unsigned long long) m->memory->usage->limit, (unsigned long long) m->pids->current);
  io__containerd__cgroups__v1__metrics__free_unpacked (m, NULL);
  containerd__task__v2__stats_response__free_unpacked (resp, NULL);
  free (r.payload);
}

static int
state_of (const char *id)
{
  Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  Containerd__Task__V2__StateResponse *resp;
  struct reply r;
  int status;

  req.id = (char *) id;
  r = call ("State", &req.base, 10);
  resp = containerd__task__v2__state_response__unpack (NULL, r.len, r.payload);
  CHECK (resp != NULL, "State decodes");
  status = (int) resp->status;
  containerd__task__v2__state_response__free_unpacked (resp, NULL);
  free (r.payload);
  return status;
}

/* The guest freezer: Pause → PAUSED, Resume → RUNNING. */
static void
pause_resume (const char *id)
{
  Containerd__Task__V2__PauseRequest pr = CONTAINERD__TASK__V2__PAUSE_REQUEST__INIT;
  Containerd__Task__V2__ResumeRequest rr = CONTAINERD__TASK__V2__RESUME_REQUEST__INIT;

  pr.id = (char *) id;
  free (call ("Pause", &pr.base, 10).payload);
  CHECK (state_of (id) == CONTAINERD__V1__TYPES__STATUS__PAUSED, "paused");
  rr.id = (char *) id;
  free (call ("Resume", &rr.base, 10).payload);
  CHECK (state_of (id) == CONTAINERD__V1__TYPES__STATUS__RUNNING, "running again");
}

static void
exec_in_running (void)
{
  Containerd__Task__V2__CreateTaskRequest cr = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  Containerd__Task__V2__StartRequest sr = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  Containerd__Task__V2__ExecProcessRequest er = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
  Containerd__Task__V2__WaitRequest wr = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
  Containerd__Task__V2__PidsRequest pr = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
  Containerd__Task__V2__KillRequest kr = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
  Containerd__Task__V2__DeleteRequest dr = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
  const char *pspec = "{\"args\":[\"sh\",\"-c\",\"echo exec-ok $(busybox hostname); exit 3\"],"
                      "\"env\":[\"PATH=/bin\"],\"cwd\":\"/\"}";
  Containerd__Task__V2__WaitResponse *w;
  Containerd__Task__V2__PidsResponse *pids;
  struct reply r, wait_r;

  cr.id = "c2", cr.bundle = "/run/kuasar/shared/c2", cr.stdout = "/host/fifo/c2";
  free (call ("Create", &cr.base, 30).payload);
  sr.id = "c2";
  free (call ("Start", &sr.base, 10).payload);
  er.id = "c2", er.exec_id = "e1", er.stdout = "/host/fifo/e1";
  spec.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
  spec.value.data = (uint8_t *) pspec, spec.value.len = strlen (pspec);
  er.spec = &spec;
  free (call ("Exec", &er.base, 30).payload);
  wr.id = "c2", wr.exec_id = "e1";
  call_async ("Wait", &wr.base, &wait_r, 30);
  sr.exec_id = "e1";
  free (call ("Start", &sr.base, 10).payload);
  run_until (&wait_r.done, 30);
  CHECK (wait_r.done && wait_r.code == 0, "Wait exec");
  w = containerd__task__v2__wait_response__unpack (NULL, wait_r.len, wait_r.payload);
  CHECK (w->exit_status == 3, "exec exit status %u, want 3", w->exit_status);
  containerd__task__v2__wait_response__free_unpacked (w, NULL);
  free (wait_r.payload);
  run_until (&(int){ 0 }, 0.5);
  CHECK (strstr (out_text, "[c2/e1]exec-ok c2") != NULL, "exec output: `%s`", out_text);
  pr.id = "c2";
  r = call ("Pids", &pr.base, 10);
  pids = containerd__task__v2__pids_response__unpack (NULL, r.len, r.payload);
  CHECK (pids != NULL && pids->n_processes >= 1, "Pids of a running container is not empty");
  containerd__task__v2__pids_response__free_unpacked (pids, NULL);
  free (r.payload);
  check_stats ("c2");
  pause_resume ("c2");
  dr.id = "c2", dr.exec_id = "e1";
  free (call ("Delete", &dr.base, 10).payload);
  wr.exec_id = "";
  call_async ("Wait", &wr.base, &wait_r, 30);
  kr.id = "c2", kr.signal = SIGKILL, kr.all = 1;
  free (call ("Kill", &kr.base, 10).payload);
  run_until (&wait_r.done, 30);
  w = containerd__task__v2__wait_response__unpack (NULL, wait_r.len, wait_r.payload);
  CHECK (w != NULL && w->exit_status == 137, "killed container exits 137");
  containerd__task__v2__wait_response__free_unpacked (w, NULL);
  free (wait_r.payload);
  dr.exec_id = "";
  free (call ("Delete", &dr.base, 10).payload);
}

int
main (void)
{
  Containerd__Task__V2__ShutdownRequest shr = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
  double ready = 0, t0;
  int sfd, status;
  struct event *ev;

  signal (SIGPIPE, SIG_IGN);
  alarm (240);
  if (access (KERNEL_DIR "/vmlinux", R_OK) < 0 || getenv ("KC_GUEST_INITRD") == NULL
      || access (getenv ("KC_GUEST_INITRD"), R_OK) < 0)
    {
      fprintf (stderr, "FAIL: no guest kernel in %s or no initramfs: run scripts/setup-vmm.sh, then rebuild\n",
               KERNEL_DIR);
      return 1;
    }
  snprintf (tmp, sizeof (tmp), "/tmp/kc-vmm-boot.XXXXXX");
  CHECK (mkdtemp (tmp) != NULL, "mkdtemp");
  make_container ("c1", "echo hello from the vm; exit 7", "");
  make_container ("c2", "sleep 100", ",\"linux\":{\"resources\":{\"memory\":{\"limit\":33554432}}}");
  make_container ("c3", "x=0123456789; while true; do x=$x$x; done",
                  ",\"linux\":{\"resources\":{\"memory\":{\"limit\":16777216},\"cpu\":{\"quota\":50000,"
                  "\"period\":100000,\"shares\":512}}}");
  base = event_base_new ();
  kc_mux_decoder_init (&dec);
  if (boot (&ready) < 0)
    CHECK (boot (&ready) == 0, "the VM booted on the second try");
  printf ("boot to agent ready: %.2f s (TCG)\n", ready);
  sfd = unix_connect ("stdio.sock", now_s () + 5);
  CHECK (sfd >= 0, "connect stdio.sock");
  ev = event_new (base, sfd, EV_READ | EV_PERSIST, on_stdio, NULL);
  event_add (ev, NULL);
  t0 = now_s ();
  CHECK (run_container ("c1", "[c1]hello from the vm") == 7, "c1 exits with 7");
  printf ("create..delete of c1: %.2f s\n", now_s () - t0);
  exec_in_running ();
  t0 = now_s ();
  CHECK (run_container ("c3", "") == 137, "c3 is OOM-killed under its 16 MiB limit (exit 137)");
  printf ("OOM of c3: %.2f s\n", now_s () - t0);
  free (call ("Shutdown", &shr.base, 10).payload);
  t0 = now_s ();
  while (waitpid (qemu, &status, WNOHANG) == 0 && now_s () - t0 < 15)
    usleep (20000);
  CHECK (now_s () - t0 < 15, "QEMU exits after Shutdown");
  printf ("shutdown to QEMU exit: %.2f s\n", now_s () - t0);
  qemu = -1;
  event_free (ev);
  kc_ttrpc_client_free (cl);
  event_base_free (base);
  printf ("ok\n");
  cleanup_and_exit (0);
}
