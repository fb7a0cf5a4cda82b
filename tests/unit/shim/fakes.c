/* In-process fakes for the shim tests: sandboxer, tasker and containerd's Events service. */
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events_service.pb-c.h"
#include "fakes.h"
#include "grpc/kc_grpc.h"
#include "sandbox_controller.pb-c.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

#define CTRL     "/containerd.services.sandbox.v1.Controller/"
#define FAKE_PID 42
#define TASK_PID 100

struct fakes fk;
static struct event_base *base;
static kc_grpc_server *sandboxer;
static kc_ttrpc_server *tasker;
static kc_ttrpc_server *events;
static pthread_t thread;
static kc_grpc_call *held_wait;
static kc_ttrpc_call *held_task_waits[8];
static int n_held_task_waits;
static int container_exited;

static void
now_ts (Google__Protobuf__Timestamp *ts)
{
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  ts->seconds = now.tv_sec;
  ts->nanos = (int32_t) now.tv_nsec;
}

/* ---- sandboxer ---- */

static int
known (kc_grpc_call *call, const char *id)
{
  if (fk.created && strcmp (id, "pod1") == 0)
    return 1;
  kc_grpc_call_error (call, 5, "sandbox %s not found", id);
  return 0;
}

static void
sb_create (kc_grpc_call *call, const uint8_t *p, size_t n, void *ud)
{
  Containerd__Services__Sandbox__V1__ControllerCreateRequest *r
      = containerd__services__sandbox__v1__controller_create_request__unpack (NULL, n, p);
  Containerd__Services__Sandbox__V1__ControllerCreateResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_CREATE_RESPONSE__INIT;
  const char *ns = kc_grpc_call_metadata (call, "containerd-namespace");

  pthread_mutex_lock (&fk.lock);
  fk.created = 1;
  snprintf (fk.create_netns, sizeof (fk.create_netns), "%s", r->netns_path);
  snprintf (fk.create_ns, sizeof (fk.create_ns), "%s", ns ? ns : "");
  snprintf (fk.create_options_type, sizeof (fk.create_options_type), "%s", r->options ? r->options->type_url : "");
  pthread_mutex_unlock (&fk.lock);
  resp.sandbox_id = r->sandbox_id;
  kc_grpc_call_reply (call, &resp.base);
  containerd__services__sandbox__v1__controller_create_request__free_unpacked (r, NULL);
}

static void
sb_start (kc_grpc_call *call, const uint8_t *p, size_t n, void *ud)
{
  Containerd__Services__Sandbox__V1__ControllerStartRequest *r
      = containerd__services__sandbox__v1__controller_start_request__unpack (NULL, n, p);
  Containerd__Services__Sandbox__V1__ControllerStartResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_START_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  char addr[160];

  if (known (call, r->sandbox_id))
    {
      now_ts (&ts);
      snprintf (addr, sizeof (addr), "ttrpc+unix://%s", fk.tasker_sock);
      resp.sandbox_id = r->sandbox_id;
      resp.pid = FAKE_PID;
      resp.created_at = &ts;
      resp.address = addr;
      resp.version = 2;
      kc_grpc_call_reply (call, &resp.base);
    }
  containerd__services__sandbox__v1__controller_start_request__free_unpacked (r, NULL);
}

static void
sb_status (kc_grpc_call *call, const uint8_t *p, size_t n, void *ud)
{
  Containerd__Services__Sandbox__V1__ControllerStatusRequest *r
      = containerd__services__sandbox__v1__controller_status_request__unpack (NULL, n, p);
  Containerd__Services__Sandbox__V1__ControllerStatusResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_RESPONSE__INIT;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse__InfoEntry e
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_RESPONSE__INFO_ENTRY__INIT;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse__InfoEntry *ep = &e;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

  if (known (call, r->sandbox_id))
    {
      now_ts (&ts);
      e.key = (char *) "engine";
      e.value = (char *) "fake";
      resp.sandbox_id = r->sandbox_id;
      resp.pid = FAKE_PID;
      resp.state = fk.stopped ? (char *) "SANDBOX_NOTREADY" : (char *) "SANDBOX_READY";
      resp.created_at = &ts;
      resp.n_info = 1;
      resp.info = &ep;
      kc_grpc_call_reply (call, &resp.base);
    }
  containerd__services__sandbox__v1__controller_status_request__free_unpacked (r, NULL);
}

static void
answer_wait (void)
{
  Containerd__Services__Sandbox__V1__ControllerWaitResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_WAIT_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

  if (held_wait == NULL)
    return;
  now_ts (&ts);
  resp.exit_status = 0;
  resp.exited_at = &ts;
  kc_grpc_call_reply (held_wait, &resp.base);
  held_wait = NULL;
}

static void
sb_wait (kc_grpc_call *call, const uint8_t *p, size_t n, void *ud)
{
  if (held_wait != NULL)
    kc_grpc_call_error (held_wait, 1, "superseded");
  held_wait = call;
  if (fk.stopped)
    answer_wait ();
}

static void
sb_stop (kc_grpc_call *call, const uint8_t *p, size_t n, void *ud)
{
  Containerd__Services__Sandbox__V1__ControllerStopResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STOP_RESPONSE__INIT;
  pthread_mutex_lock (&fk.lock);
  fk.stopped = 1;
  pthread_mutex_unlock (&fk.lock);
  answer_wait ();
  kc_grpc_call_reply (call, &resp.base);
}

static void
sb_shutdown (kc_grpc_call *call, const uint8_t *p, size_t n, void *ud)
{
  pthread_mutex_lock (&fk.lock);
  fk.shutdown = 1;
  pthread_mutex_unlock (&fk.lock);
  kc_grpc_call_error (call, 5, "already gone"); /* NOT_FOUND must be fine for the shim */
}

static void
sb_platform (kc_grpc_call *call, const uint8_t *p, size_t n, void *ud)
{
  Containerd__Services__Sandbox__V1__ControllerPlatformResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_PLATFORM_RESPONSE__INIT;
  Containerd__Types__Platform pl = CONTAINERD__TYPES__PLATFORM__INIT;
  pl.os = (char *) "linux";
  pl.architecture = (char *) "amd64";
  resp.platform = &pl;
  kc_grpc_call_reply (call, &resp.base);
}

/* ---- tasker ---- */

static void
note_task_call (kc_ttrpc_call *call)
{
  pthread_mutex_lock (&fk.lock);
  strncat (fk.task_calls, kc_ttrpc_call_method (call), sizeof (fk.task_calls) - strlen (fk.task_calls) - 2);
  strcat (fk.task_calls, ",");
  pthread_mutex_unlock (&fk.lock);
}

static void
reply_wait (kc_ttrpc_call *call)
{
  Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  now_ts (&ts);
  resp.exit_status = 137;
  resp.exited_at = &ts;
  kc_ttrpc_call_reply (call, &resp.base);
}

static void
task_handler (kc_ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
  const char *m = kc_ttrpc_call_method (call);

  note_task_call (call);
  if (strcmp (m, "Connect") == 0)
    kc_ttrpc_call_error (call, 5, "container not found");
  else if (strcmp (m, "Create") == 0 || strcmp (m, "Start") == 0)
    {
      Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
      resp.pid = TASK_PID; /* StartResponse has the same wire form */
      container_exited = 0;
      kc_ttrpc_call_reply (call, &resp.base);
    }
  else if (strcmp (m, "Wait") == 0)
    {
      if (container_exited)
        reply_wait (call);
      else if (n_held_task_waits < 8)
        held_task_waits[n_held_task_waits++] = call;
    }
  else if (strcmp (m, "Kill") == 0)
    {
      container_exited = 1;
      kc_ttrpc_call_reply (call, NULL);
      for (int i = 0; i < n_held_task_waits; i++)
        reply_wait (held_task_waits[i]);
      n_held_task_waits = 0;
    }
  else if (strcmp (m, "Delete") == 0)
    {
      Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
      Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
      now_ts (&ts);
      resp.pid = TASK_PID;
      resp.exit_status = 137;
      resp.exited_at = &ts;
      kc_ttrpc_call_reply (call, &resp.base);
    }
  else
    kc_ttrpc_call_reply (call, NULL);
}

/* ---- containerd events ---- */

static void
events_forward (kc_ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
  Containerd__Services__Events__Ttrpc__V1__ForwardRequest *r
      = containerd__services__events__ttrpc__v1__forward_request__unpack (NULL, n, p);

  pthread_mutex_lock (&fk.lock);
  if (r != NULL && r->envelope != NULL && fk.n_events < FAKE_MAX_EVENTS)
    {
      snprintf (fk.topics[fk.n_events], sizeof (fk.topics[0]), "%s", r->envelope->topic);
      snprintf (fk.event_types[fk.n_events], sizeof (fk.event_types[0]), "%s",
                r->envelope->event ? r->envelope->event->type_url : "");
      snprintf (fk.event_ns[fk.n_events], sizeof (fk.event_ns[0]), "%s", r->envelope->namespace_);
      fk.n_events++;
    }
  pthread_mutex_unlock (&fk.lock);
  containerd__services__events__ttrpc__v1__forward_request__free_unpacked (r, NULL);
  kc_ttrpc_call_reply (call, NULL);
}

int
fakes_event_count (void)
{
  int n;
  pthread_mutex_lock (&fk.lock);
  n = fk.n_events;
  pthread_mutex_unlock (&fk.lock);
  return n;
}

static void *
loop_thread (void *arg)
{
  event_base_dispatch (base);
  return NULL;
}

void
fakes_start (void)
{
  static const char *const task_methods[]
      = { "Connect", "Create", "Start", "Wait", "Kill", "Delete", "State", "Pids", "Shutdown" };
  struct
  {
    const char *m;
    kc_grpc_handler_fn fn;
  } sb[] = { { "Create", sb_create }, { "Start", sb_start },       { "Status", sb_status },    { "Wait", sb_wait },
             { "Stop", sb_stop },     { "Shutdown", sb_shutdown }, { "Platform", sb_platform } };
  kc_error_t err = NULL;
  char path[128];

  evthread_use_pthreads ();
  pthread_mutex_init (&fk.lock, NULL);
  snprintf (fk.dir, sizeof (fk.dir), "/tmp/kc-shim-fakes-XXXXXX");
  if (mkdtemp (fk.dir) == NULL)
    abort ();
  snprintf (fk.sandboxer_sock, sizeof (fk.sandboxer_sock), "%s/sandboxer.sock", fk.dir);
  snprintf (fk.tasker_sock, sizeof (fk.tasker_sock), "%s/task.sock", fk.dir);
  snprintf (fk.events_sock, sizeof (fk.events_sock), "%s/events.sock", fk.dir);
  base = event_base_new ();
  sandboxer = kc_grpc_server_new (base);
  for (size_t i = 0; i < sizeof (sb) / sizeof (sb[0]); i++)
    {
      snprintf (path, sizeof (path), CTRL "%s", sb[i].m);
      if (kc_grpc_server_register (sandboxer, path, sb[i].fn, NULL, &err) < 0)
        abort ();
    }
  if (kc_grpc_server_start (sandboxer, fk.sandboxer_sock, &err) < 0)
    abort ();
  tasker = kc_ttrpc_server_new (base);
  for (size_t i = 0; i < sizeof (task_methods) / sizeof (task_methods[0]); i++)
    kc_ttrpc_server_register (tasker, "containerd.task.v2.Task", task_methods[i], task_handler, NULL, &err);
  if (kc_ttrpc_server_listen_path (tasker, fk.tasker_sock, &err) < 0)
    abort ();
  events = kc_ttrpc_server_new (base);
  kc_ttrpc_server_register (events, "containerd.services.events.ttrpc.v1.Events", "Forward", events_forward, NULL,
                            &err);
  if (kc_ttrpc_server_listen_path (events, fk.events_sock, &err) < 0)
    abort ();
  pthread_create (&thread, NULL, loop_thread, NULL);
}

void
fakes_stop (void)
{
  event_base_loopbreak (base);
  pthread_join (thread, NULL);
}
