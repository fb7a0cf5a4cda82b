/* containerd.runtime.sandbox.v1.Sandbox: each call checked against the shim's own id and relayed
   to the sandboxer's gRPC Controller; WaitSandbox stays pending and survives sandboxer
   restarts; ShutdownSandbox cleans the pod's files and ends the daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri_pod.pb-c.h"
#include "log.h"
#include "sandbox_keys.h"
#include "orphan.h"
#include "pod_files.h"
#include "runtime_sandbox.pb-c.h"
#include "sandbox_controller.pb-c.h"
#include "shim.h"
#include "task_server.h"

#define SANDBOX_SERVICE           "containerd.runtime.sandbox.v1.Sandbox"
#define CONTROLLER_PATH           "/containerd.services.sandbox.v1.Controller/"
#define ADDRESS_LOOKUP_TIMEOUT_NS (2LL * 1000000000LL)
#define WAIT_RETRY_SECONDS        1
#define SHUTDOWN_UNSEEN_GRACE_NS  (5LL * 1000000000LL)

/* One Sandbox call in flight towards the sandboxer. */
struct sb_call
{
  struct shim *shim;
  kc_ttrpc_call *call;
  int wait_for_ready;
  struct event *retry;
  struct sb_call *prev, *next; /* in shim->waits (WaitSandbox only) */
  int in_waits;
};

/* The string map entries of every message share this layout (key = 1, value = 2). */
struct kv_entry
{
  ProtobufCMessage base;
  char *key;
  char *value;
};

static struct sb_call *
sb_call_new (struct shim *shim, kc_ttrpc_call *call)
{
  struct sb_call *c = calloc (1, sizeof (*c));

  if (c == NULL)
    {
      kc_ttrpc_call_error (call, KC_RESOURCE_EXHAUSTED, "out of memory");
      return NULL;
    }
  c->shim = shim;
  c->call = call;
  /* Once the sandbox lives in the sandboxer, an unreachable sandboxer is taken for a restart:
     the call waits for it (within its deadline) instead of failing at once. */
  c->wait_for_ready = shim->sandbox_seen;
  return c;
}

static void
waits_remove (struct sb_call *c)
{
  if (!c->in_waits)
    return;
  if (c->prev)
    c->prev->next = c->next;
  else
    c->shim->waits = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->in_waits = 0;
}

static void
sb_call_free (struct sb_call *c)
{
  waits_remove (c);
  if (c->retry)
    event_free (c->retry);
  free (c);
}

static int64_t
short_timeout (kc_ttrpc_call *call)
{
  int64_t t = kc_ttrpc_call_timeout_ns (call);
  return t > 0 ? t : SHIM_DEFAULT_TIMEOUT_NS;
}

/* Answers the call with the sandboxer's error (naming its socket) and frees c. containerd may
   give the shim up after a failed call without telling it: watch for that (orphan.h). */
static void
sb_fail (struct sb_call *c, int code, const char *message)
{
  shim_orphan_watch (c->shim);
  kc_ttrpc_call_error (c->call, code, "sandboxer %s: %s", c->shim->sandboxer_address, message);
  sb_call_free (c);
}

static int
controller_call (struct sb_call *c, const char *method, const ProtobufCMessage *req, int64_t timeout_ns,
                 kc_grpc_reply_fn cb)
{
  char path[128];
  kc_error_t err = NULL;

  snprintf (path, sizeof (path), CONTROLLER_PATH "%s", method);
  if (kc_grpc_client_call (c->shim->sandboxer, path, req, c->shim->ns, timeout_ns, c->wait_for_ready, cb, c, &err) < 0)
    {
      sb_fail (c, KC_UNAVAILABLE, err ? err->msg : "call failed");
      kc_error_free (&err);
      return -1;
    }
  return 0;
}

/* INVALID_ARGUMENT unless id is this shim's sandbox. */
static int
check_id (struct shim *shim, kc_ttrpc_call *call, const char *id)
{
  if (id != NULL && strcmp (id, shim->id) == 0)
    return 0;
  kc_ttrpc_call_error (call, KC_INVALID_ARGUMENT, "sandbox id `%s` does not match this shim's sandbox `%s`",
                       id ? id : "", shim->id);
  return -1;
}

/* check_id, then the call towards the sandboxer; NULL when the call was answered already. */
static struct sb_call *
sb_begin (struct shim *shim, kc_ttrpc_call *call, const char *id)
{
  if (check_id (shim, call, id) < 0)
    return NULL;
  return sb_call_new (shim, call);
}

/* Copies a string map into entries of another message's map type (same wire layout). */
static struct kv_entry **
copy_map (void **from, size_t n, const ProtobufCMessageDescriptor *desc)
{
  /* One block: n + 1 pointers, then the n entries they point at. */
  struct kv_entry **out = calloc (1, (n + 1) * sizeof (*out) + n * sizeof (struct kv_entry));
  struct kv_entry *entries;

  if (out == NULL)
    return NULL;
  entries = (struct kv_entry *) (out + n + 1);
  for (size_t i = 0; i < n; i++)
    {
      struct kv_entry *src = from[i];
      protobuf_c_message_init (desc, &entries[i]);
      entries[i].key = src->key;
      entries[i].value = src->value;
      out[i] = &entries[i];
    }
  return out;
}

static void
free_map (struct kv_entry **m)
{
  free (m);
}

/* ---- CreateSandbox ---- */

static void
create_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sb_call *c = userdata;
  Containerd__Runtime__Sandbox__V1__CreateSandboxResponse resp
      = CONTAINERD__RUNTIME__SANDBOX__V1__CREATE_SANDBOX_RESPONSE__INIT;

  if (code != KC_OK)
    {
      sb_fail (c, code, message);
      return;
    }
  c->shim->sandbox_seen = 1;
  kc_ttrpc_call_reply (c->call, &resp.base);
  sb_call_free (c);
}

static Runtime__V1__PodSandboxConfig *
decode_pod_config (const Google__Protobuf__Any *options)
{
  if (options == NULL || options->type_url == NULL || strstr (options->type_url, "PodSandboxConfig") == NULL)
    return NULL;
  return runtime__v1__pod_sandbox_config__unpack (NULL, options->value.len, options->value.data);
}

static int
setup_pod_files (struct shim *shim, const Google__Protobuf__Any *options, kc_error_t *err)
{
  struct shim_pod_dirs dirs;
  Runtime__V1__PodSandboxConfig *config;
  int ret;

  if (shim_pod_dirs_get (shim->bundle, shim->id, &dirs, err) < 0)
    return -1;
  config = decode_pod_config (options);
  ret = shim_pod_files_setup (&dirs, config, err);
  runtime__v1__pod_sandbox_config__free_unpacked (config, NULL);
  shim_pod_dirs_free (&dirs);
  return ret;
}

static void
handle_create (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct shim *shim = userdata;
  const Containerd__Runtime__Sandbox__V1__CreateSandboxRequest *req = msg;
  Containerd__Services__Sandbox__V1__ControllerCreateRequest creq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_CREATE_REQUEST__INIT;
  struct kv_entry **ann;
  kc_error_t err = NULL;
  struct sb_call *c;

  if (check_id (shim, call, req->sandbox_id) < 0)
    return;
  if (setup_pod_files (shim, req->options, &err) < 0)
    {
      kc_error_wrap (&err, "CRI files of sandbox `%s`", shim->id);
      kc_ttrpc_call_fail (call, &err);
      kc_error_free (&err);
      return;
    }
  ann = copy_map ((void **) req->annotations, req->n_annotations,
                  &containerd__services__sandbox__v1__controller_create_request__annotations_entry__descriptor);
  if ((c = sb_call_new (shim, call)) != NULL)
    {
      creq.sandbox_id = req->sandbox_id;
      creq.n_rootfs = req->n_rootfs;
      creq.rootfs = req->rootfs;
      creq.options = req->options;
      creq.netns_path = req->netns_path;
      creq.n_annotations = ann ? req->n_annotations : 0;
      creq.annotations = (Containerd__Services__Sandbox__V1__ControllerCreateRequest__AnnotationsEntry **) ann;
      controller_call (c, "Create", &creq.base, short_timeout (call), create_done);
    }
  free_map (ann);
}

/* The sandbox dir a Status names in its info (KC_SANDBOX_DIR_KEY). */
static void
status_sandbox_dir (struct shim *shim, const Containerd__Services__Sandbox__V1__ControllerStatusResponse *sresp)
{
  for (size_t i = 0; i < sresp->n_info; i++)
    if (strcmp (sresp->info[i]->key, KC_SANDBOX_DIR_KEY) == 0)
      shim_set_sandbox_dir (shim, sresp->info[i]->value);
}

/* ---- StartSandbox ---- */

static void
start_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sb_call *c = userdata;
  Containerd__Services__Sandbox__V1__ControllerStartResponse *sresp;
  Containerd__Runtime__Sandbox__V1__StartSandboxResponse resp
      = CONTAINERD__RUNTIME__SANDBOX__V1__START_SANDBOX_RESPONSE__INIT;

  if (code != KC_OK)
    return sb_fail (c, code, message);
  sresp = containerd__services__sandbox__v1__controller_start_response__unpack (NULL, len, payload);
  if (sresp == NULL)
    return sb_fail (c, KC_INTERNAL, "undecodable ControllerStartResponse");
  shim_set_task_address (c->shim, sresp->address, sresp->version);
  for (size_t i = 0; i < sresp->n_labels; i++)
    if (strcmp (sresp->labels[i]->key, KC_SANDBOX_DIR_KEY) == 0)
      shim_set_sandbox_dir (c->shim, sresp->labels[i]->value);
  c->shim->sandbox_seen = 1;
  kc_log_info ("sandbox %s started: pid %u, task address %s", c->shim->id, sresp->pid,
               c->shim->task_address ? c->shim->task_address : "(none)");
  resp.pid = sresp->pid;
  resp.created_at = sresp->created_at;
  kc_ttrpc_call_reply (c->call, &resp.base);
  containerd__services__sandbox__v1__controller_start_response__free_unpacked (sresp, NULL);
  sb_call_free (c);
}

static void
handle_start (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Runtime__Sandbox__V1__StartSandboxRequest *req = msg;
  Containerd__Services__Sandbox__V1__ControllerStartRequest sreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_START_REQUEST__INIT;
  struct sb_call *c = sb_begin (userdata, call, req->sandbox_id);

  if (c == NULL)
    return;
  sreq.sandbox_id = req->sandbox_id;
  controller_call (c, "Start", &sreq.base, short_timeout (call), start_done);
}

/* ---- Platform ---- */

static void
platform_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sb_call *c = userdata;
  Containerd__Services__Sandbox__V1__ControllerPlatformResponse *presp = NULL;
  Containerd__Runtime__Sandbox__V1__PlatformResponse resp = CONTAINERD__RUNTIME__SANDBOX__V1__PLATFORM_RESPONSE__INIT;
  Containerd__Types__Platform local = CONTAINERD__TYPES__PLATFORM__INIT;

  if (code != KC_OK && code != KC_UNIMPLEMENTED)
    return sb_fail (c, code, message);
  if (code == KC_OK)
    presp = containerd__services__sandbox__v1__controller_platform_response__unpack (NULL, len, payload);
  if (presp != NULL && presp->platform != NULL && presp->platform->os && *presp->platform->os)
    resp.platform = presp->platform;
  else
    {
      local.os = (char *) "linux";
      local.architecture = (char *) "amd64";
      resp.platform = &local;
    }
  kc_ttrpc_call_reply (c->call, &resp.base);
  containerd__services__sandbox__v1__controller_platform_response__free_unpacked (presp, NULL);
  sb_call_free (c);
}

static void
handle_platform (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Runtime__Sandbox__V1__PlatformRequest *req = msg;
  Containerd__Services__Sandbox__V1__ControllerPlatformRequest preq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_PLATFORM_REQUEST__INIT;
  struct sb_call *c = sb_begin (userdata, call, req->sandbox_id);

  if (c == NULL)
    return;
  preq.sandbox_id = req->sandbox_id;
  controller_call (c, "Platform", &preq.base, short_timeout (call), platform_done);
}

/* ---- StopSandbox ---- */

static void
empty_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sb_call *c = userdata;

  if (code != KC_OK)
    return sb_fail (c, code, message);
  kc_ttrpc_call_reply (c->call, NULL);
  sb_call_free (c);
}

/* The sandbox is stopped: a WaitSandbox waiting to be retried (the sandboxer restarted) asks now
   rather than at its next tick, so containerd gets the exit status before ShutdownSandbox. */
static void
kick_waits (struct shim *shim)
{
  for (struct sb_call *w = shim->waits; w != NULL; w = w->next)
    if (w->retry != NULL && evtimer_pending (w->retry, NULL))
      event_active (w->retry, EV_TIMEOUT, 0);
}

static void
stop_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sb_call *c = userdata;

  if (code == KC_OK)
    kick_waits (c->shim);
  empty_done (code, message, payload, len, userdata);
}

static void
handle_stop (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Runtime__Sandbox__V1__StopSandboxRequest *req = msg;
  Containerd__Services__Sandbox__V1__ControllerStopRequest sreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STOP_REQUEST__INIT;
  struct sb_call *c = sb_begin (userdata, call, req->sandbox_id);
  int64_t timeout;

  if (c == NULL)
    return;
  sreq.sandbox_id = req->sandbox_id;
  sreq.timeout_secs = req->timeout_secs;
  timeout = kc_ttrpc_call_timeout_ns (call);
  if (timeout == 0)
    timeout = SHIM_DEFAULT_TIMEOUT_NS + (int64_t) req->timeout_secs * 1000000000LL;
  controller_call (c, "Stop", &sreq.base, timeout, stop_done);
}

/* ---- WaitSandbox ---- */

static void wait_send (struct sb_call *c);

static void
wait_retry_cb (evutil_socket_t fd, short what, void *arg)
{
  struct sb_call *c = arg;

  if (kc_shim_exiting (c->shim->lib))
    return sb_fail (c, KC_UNAVAILABLE, "the shim is shutting down");
  wait_send (c);
}

static void
wait_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sb_call *c = userdata;
  Containerd__Services__Sandbox__V1__ControllerWaitResponse *wresp;
  Containerd__Runtime__Sandbox__V1__WaitSandboxResponse resp
      = CONTAINERD__RUNTIME__SANDBOX__V1__WAIT_SANDBOX_RESPONSE__INIT;

  if (code == KC_UNAVAILABLE && !kc_shim_exiting (c->shim->lib) && kc_ttrpc_call_alive (c->call))
    {
      /* containerd takes a Wait error for the pod's exit: wait for the sandboxer to return. */
      struct timeval tv = { WAIT_RETRY_SECONDS, 0 };
      kc_log_warn ("WaitSandbox: sandboxer %s unavailable (%s), waiting for it", c->shim->sandboxer_address, message);
      c->wait_for_ready = 1;
      if (c->retry == NULL)
        c->retry = evtimer_new (c->shim->base, wait_retry_cb, c);
      evtimer_add (c->retry, &tv);
      return;
    }
  if (code != KC_OK)
    return sb_fail (c, code, message);
  wresp = containerd__services__sandbox__v1__controller_wait_response__unpack (NULL, len, payload);
  if (wresp == NULL)
    return sb_fail (c, KC_INTERNAL, "undecodable ControllerWaitResponse");
  resp.exit_status = wresp->exit_status;
  resp.exited_at = wresp->exited_at;
  kc_log_info ("sandbox %s exited with status %u", c->shim->id, wresp->exit_status);
  kc_ttrpc_call_reply (c->call, &resp.base);
  containerd__services__sandbox__v1__controller_wait_response__free_unpacked (wresp, NULL);
  sb_call_free (c);
}

static void
wait_send (struct sb_call *c)
{
  Containerd__Services__Sandbox__V1__ControllerWaitRequest wreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_WAIT_REQUEST__INIT;

  wreq.sandbox_id = (char *) c->shim->id;
  controller_call (c, "Wait", &wreq.base, 0, wait_done);
}

static void
handle_wait (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  struct shim *shim = userdata;
  const Containerd__Runtime__Sandbox__V1__WaitSandboxRequest *req = msg;
  struct sb_call *c = sb_begin (shim, call, req->sandbox_id);

  if (c == NULL)
    return;
  c->next = shim->waits;
  if (shim->waits)
    shim->waits->prev = c;
  shim->waits = c;
  c->in_waits = 1;
  wait_send (c);
}

/* ---- SandboxStatus / PingSandbox ---- */

static void
status_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sb_call *c = userdata;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse *sresp;
  Containerd__Runtime__Sandbox__V1__SandboxStatusResponse resp
      = CONTAINERD__RUNTIME__SANDBOX__V1__SANDBOX_STATUS_RESPONSE__INIT;
  struct kv_entry **info;

  if (code != KC_OK)
    return sb_fail (c, code, message);
  sresp = containerd__services__sandbox__v1__controller_status_response__unpack (NULL, len, payload);
  if (sresp == NULL)
    return sb_fail (c, KC_INTERNAL, "undecodable ControllerStatusResponse");
  if (c->shim->task_address == NULL)
    shim_set_task_address (c->shim, sresp->address, sresp->version);
  status_sandbox_dir (c->shim, sresp);
  c->shim->sandbox_seen = 1;
  info = copy_map ((void **) sresp->info, sresp->n_info,
                   &containerd__runtime__sandbox__v1__sandbox_status_response__info_entry__descriptor);
  resp.sandbox_id = *sresp->sandbox_id ? sresp->sandbox_id : (char *) c->shim->id;
  resp.pid = sresp->pid;
  resp.state = sresp->state;
  resp.n_info = info ? sresp->n_info : 0;
  resp.info = (Containerd__Runtime__Sandbox__V1__SandboxStatusResponse__InfoEntry **) info;
  resp.created_at = sresp->created_at;
  resp.exited_at = sresp->exited_at;
  resp.extra = sresp->extra;
  kc_ttrpc_call_reply (c->call, &resp.base);
  free_map (info);
  containerd__services__sandbox__v1__controller_status_response__free_unpacked (sresp, NULL);
  sb_call_free (c);
}

static void
handle_status (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Runtime__Sandbox__V1__SandboxStatusRequest *req = msg;
  Containerd__Services__Sandbox__V1__ControllerStatusRequest sreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  struct sb_call *c = sb_begin (userdata, call, req->sandbox_id);

  if (c == NULL)
    return;
  sreq.sandbox_id = req->sandbox_id;
  sreq.verbose = req->verbose;
  controller_call (c, "Status", &sreq.base, short_timeout (call), status_done);
}

static void
handle_ping (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Runtime__Sandbox__V1__PingRequest *req = msg;
  Containerd__Services__Sandbox__V1__ControllerStatusRequest sreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  struct sb_call *c = sb_begin (userdata, call, req->sandbox_id);

  if (c == NULL)
    return;
  sreq.sandbox_id = req->sandbox_id;
  controller_call (c, "Status", &sreq.base, short_timeout (call), empty_done);
}

/* ---- ShutdownSandbox ---- */

static void
shutdown_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sb_call *c = userdata;
  struct shim_pod_dirs dirs;
  kc_error_t err = NULL;

  if (code != KC_OK && code != KC_NOT_FOUND)
    return sb_fail (c, code, message);
  if (shim_pod_dirs_get (c->shim->bundle, c->shim->id, &dirs, &err) < 0 || shim_pod_files_cleanup (&dirs, &err) < 0)
    {
      kc_log_warn ("sandbox %s: %s", c->shim->id, err->msg);
      kc_error_free (&err);
    }
  shim_pod_dirs_free (&dirs);
  kc_log_info ("sandbox %s shut down", c->shim->id);
  kc_ttrpc_call_reply (c->call, NULL);
  shim_request_exit (c->shim);
  sb_call_free (c);
}

static void
handle_shutdown (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Runtime__Sandbox__V1__ShutdownSandboxRequest *req = msg;
  Containerd__Services__Sandbox__V1__ControllerShutdownRequest sreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_SHUTDOWN_REQUEST__INIT;
  struct sb_call *c = sb_begin (userdata, call, req->sandbox_id);
  int64_t timeout;

  if (c == NULL)
    return;
  /* After a failed Create containerd asks this once: a sandboxer restarting just then (it may
     hold the sandbox if only its answer was lost) still gets it, within a short grace so that
     RunPodSandbox still fails soon when the sandboxer is down for good. */
  timeout = short_timeout (call);
  if (!c->wait_for_ready && timeout > SHUTDOWN_UNSEEN_GRACE_NS)
    timeout = SHUTDOWN_UNSEEN_GRACE_NS;
  c->wait_for_ready = 1;
  sreq.sandbox_id = req->sandbox_id;
  controller_call (c, "Shutdown", &sreq.base, timeout, shutdown_done);
}

/* ---- SandboxMetrics ---- */

static void
metrics_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sb_call *c = userdata;
  Containerd__Services__Sandbox__V1__ControllerMetricsResponse *mresp;
  Containerd__Runtime__Sandbox__V1__SandboxMetricsResponse resp
      = CONTAINERD__RUNTIME__SANDBOX__V1__SANDBOX_METRICS_RESPONSE__INIT;

  if (code != KC_OK)
    return sb_fail (c, code, message);
  mresp = containerd__services__sandbox__v1__controller_metrics_response__unpack (NULL, len, payload);
  if (mresp == NULL)
    return sb_fail (c, KC_INTERNAL, "undecodable ControllerMetricsResponse");
  resp.metrics = mresp->metrics;
  kc_ttrpc_call_reply (c->call, &resp.base);
  containerd__services__sandbox__v1__controller_metrics_response__free_unpacked (mresp, NULL);
  sb_call_free (c);
}

static void
handle_metrics (kc_ttrpc_call *call, const void *msg, void *userdata)
{
  const Containerd__Runtime__Sandbox__V1__SandboxMetricsRequest *req = msg;
  Containerd__Services__Sandbox__V1__ControllerMetricsRequest mreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_METRICS_REQUEST__INIT;
  struct sb_call *c = sb_begin (userdata, call, req->sandbox_id);

  if (c == NULL)
    return;
  mreq.sandbox_id = req->sandbox_id;
  controller_call (c, "Metrics", &mreq.base, short_timeout (call), metrics_done);
}

/* ---- lazy task address (after a restart no StartSandbox was seen) ---- */

struct address_lookup
{
  struct shim *shim;
  shim_address_fn done;
  void *userdata;
};

static void
lookup_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct address_lookup *l = userdata;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse *sresp = NULL;

  if (code == KC_OK)
    {
      sresp = containerd__services__sandbox__v1__controller_status_response__unpack (NULL, len, payload);
      if (sresp != NULL)
        {
          shim_set_task_address (l->shim, sresp->address, sresp->version);
          status_sandbox_dir (l->shim, sresp);
        }
      containerd__services__sandbox__v1__controller_status_response__free_unpacked (sresp, NULL);
    }
  if (l->shim->task_address != NULL)
    l->done (l->shim, KC_OK, "", l->userdata);
  else if (code != KC_OK)
    {
      char *msg = NULL;
      if (asprintf (&msg, "sandboxer %s: %s", l->shim->sandboxer_address, message) < 0)
        msg = NULL;
      l->done (l->shim, code, msg ? msg : message, l->userdata);
      free (msg);
    }
  else
    l->done (l->shim, KC_UNAVAILABLE, "the sandbox has no task address (not started?)", l->userdata);
  free (l);
}

void
shim_task_address_resolve (struct shim *shim, shim_address_fn done, void *userdata)
{
  Containerd__Services__Sandbox__V1__ControllerStatusRequest sreq
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  struct address_lookup *l;
  kc_error_t err = NULL;

  if (shim->task_address != NULL)
    {
      done (shim, KC_OK, "", userdata);
      return;
    }
  l = calloc (1, sizeof (*l));
  if (l == NULL)
    {
      done (shim, KC_RESOURCE_EXHAUSTED, "out of memory", userdata);
      return;
    }
  l->shim = shim;
  l->done = done;
  l->userdata = userdata;
  sreq.sandbox_id = (char *) shim->id;
  if (kc_grpc_client_call (shim->sandboxer, CONTROLLER_PATH "Status", &sreq.base, shim->ns, ADDRESS_LOOKUP_TIMEOUT_NS,
                           0, lookup_done, l, &err)
      < 0)
    {
      done (shim, KC_UNAVAILABLE, err ? err->msg : "call failed", userdata);
      kc_error_free (&err);
      free (l);
    }
}

/* A table entry: the method name, its containerd.runtime.sandbox.v1 request type in snake case, the handler. */
#define SB_METHOD(name, req, fn)                                                                                       \
  {                                                                                                                    \
    name, &containerd__runtime__sandbox__v1__##req##__descriptor, fn                                                   \
  }

int
shim_sandbox_service_register (struct shim *shim, kc_error_t *err)
{
  /* Each request decoded by task_server's dispatch: undecodable input is answered
     INVALID_ARGUMENT "cannot decode <RequestType>" without reaching the handler. */
  static const struct kc_task_method methods[] = {
    SB_METHOD ("CreateSandbox", create_sandbox_request, handle_create),
    SB_METHOD ("StartSandbox", start_sandbox_request, handle_start),
    SB_METHOD ("Platform", platform_request, handle_platform),
    SB_METHOD ("StopSandbox", stop_sandbox_request, handle_stop),
    SB_METHOD ("WaitSandbox", wait_sandbox_request, handle_wait),
    SB_METHOD ("SandboxStatus", sandbox_status_request, handle_status),
    SB_METHOD ("PingSandbox", ping_request, handle_ping),
    SB_METHOD ("ShutdownSandbox", shutdown_sandbox_request, handle_shutdown),
    SB_METHOD ("SandboxMetrics", sandbox_metrics_request, handle_metrics),
  };

  shim->sandbox_srv = (struct kc_task_server){ methods, sizeof (methods) / sizeof (methods[0]), shim };
  return kc_task_server_register_service (shim->server, SANDBOX_SERVICE, &shim->sandbox_srv, err);
}
