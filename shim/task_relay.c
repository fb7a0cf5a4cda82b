/* containerd.task.v2.Task (and v3, same handlers): every call relayed as raw bytes to the pod's
   tasker with the caller's remaining deadline, a dropped connection redialed once; Connect and
   Shutdown answered here when they must be, Wait/Delete/Kill/State when the tasker is gone. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"
#include "task.pb-c.h"
#include "task_events.h"
#include "task_lost.h"
#include "vmm.h"

#define TASKER_SERVICE "containerd.task.v2.Task"

static const char *const task_methods[] = {
  "State", "Create",    "Start",   "Delete", "Pids", "Pause", "Resume",  "Checkpoint", "Kill",
  "Exec",  "ResizePty", "CloseIO", "Update", "Wait", "Stats", "Connect", "Shutdown",
};

struct relay
{
  struct shim *shim;
  kc_ttrpc_call *call;
  const char *method;
  uint8_t *payload;
  size_t len;
  int redialed;
};

static void relay_send (struct relay *r);

static void
relay_free (struct relay *r)
{
  free (r->payload);
  free (r);
}

/* Connect for an id the tasker does not know (yet): what runc answers before Create. */
static void
connect_local (struct relay *r)
{
  Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;

  resp.shim_pid = (uint32_t) getpid ();
  resp.version = (char *) "2";
  kc_ttrpc_call_reply (r->call, &resp.base);
  relay_free (r);
}

static void
redial_cb (evutil_socket_t fd, short what, void *arg)
{
  relay_send (arg);
}

static void
relay_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct relay *r = userdata;
  struct shim *shim = r->shim;

  if (code == KC_UNAVAILABLE && !r->redialed && kc_ttrpc_call_alive (r->call))
    {
      /* The tasker connection dropped: redial once, outside this client's callback. */
      r->redialed = 1;
      event_base_once (shim->base, -1, EV_TIMEOUT, redial_cb, r, NULL);
      return;
    }
  shim_vmm_after (shim, r->method, r->payload, r->len, code);
  if (code != KC_OK && strcmp (r->method, "Connect") == 0)
    {
      connect_local (r);
      return;
    }
  if (code == KC_UNAVAILABLE && r->redialed
      && shim_task_lost_answer (shim, r->call, r->method, r->payload, r->len) == 0)
    {
      relay_free (r);
      return;
    }
  if (code != KC_OK)
    {
      kc_ttrpc_call_error (r->call, code, "%s", message);
      relay_free (r);
      return;
    }
  kc_ttrpc_call_reply_raw (r->call, payload, len);
  shim_task_events_after (shim, r->method, r->payload, r->len, payload, len);
  relay_free (r);
}

static void
relay_send (struct relay *r)
{
  kc_error_t err = NULL;
  kc_ttrpc_client *cl = shim_tasker (r->shim, &err);

  if (cl == NULL
      || kc_ttrpc_client_call_raw (cl, TASKER_SERVICE, r->method, r->payload, r->len,
                                   kc_ttrpc_call_timeout_ns (r->call), relay_done, r, &err)
             < 0)
    {
      if (strcmp (r->method, "Connect") == 0)
        {
          kc_error_free (&err);
          connect_local (r);
          return;
        }
      if (err->code != KC_UNAVAILABLE && err->code != KC_DEADLINE_EXCEEDED)
        err->code = KC_UNAVAILABLE;
      /* Nobody listens on the tasker's socket any more: the tasker is gone. */
      if (err->code == KC_UNAVAILABLE && shim_task_lost_answer (r->shim, r->call, r->method, r->payload, r->len) == 0)
        {
          kc_error_free (&err);
          relay_free (r);
          return;
        }
      kc_ttrpc_call_fail (r->call, &err);
      kc_error_free (&err);
      relay_free (r);
    }
}

static void
address_known (struct shim *shim, int code, const char *message, void *userdata)
{
  struct relay *r = userdata;
  kc_error_t err = NULL;

  if (code == KC_OK && shim_vmm_before (shim, r->method, &r->payload, &r->len, &err) < 0)
    {
      kc_ttrpc_call_fail (r->call, &err);
      kc_error_free (&err);
      relay_free (r);
      return;
    }
  if (code == KC_OK)
    {
      relay_send (r);
      return;
    }
  if (strcmp (r->method, "Connect") == 0)
    {
      connect_local (r);
      return;
    }
  kc_ttrpc_call_error (r->call, code, "no tasker for sandbox `%s`: %s", shim->id, message);
  relay_free (r);
}

/* Shutdown of a container must not end the pod's shim (2.x calls it per container). */
static void
handle_shutdown (struct shim *shim, kc_ttrpc_call *call)
{
  kc_ttrpc_call_reply (call, NULL);
  if (!shim->sandbox_seen)
    {
      kc_log_info ("Shutdown with no sandbox in this shim: exiting");
      shim_request_exit (shim);
    }
}

static void
handle_task (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  struct shim *shim = userdata;
  const char *method = kc_ttrpc_call_method (call);
  struct relay *r;

  if (strcmp (method, "Shutdown") == 0)
    {
      handle_shutdown (shim, call);
      return;
    }
  r = calloc (1, sizeof (*r));
  if (r == NULL || (len > 0 && (r->payload = malloc (len)) == NULL))
    {
      free (r);
      kc_ttrpc_call_error (call, KC_RESOURCE_EXHAUSTED, "out of memory");
      return;
    }
  r->shim = shim;
  r->call = call;
  r->len = len;
  if (len > 0)
    memcpy (r->payload, payload, len);
  for (size_t i = 0; i < sizeof (task_methods) / sizeof (task_methods[0]); i++)
    if (strcmp (task_methods[i], method) == 0)
      r->method = task_methods[i];
  kc_log_debug ("task %s (%zu bytes)", r->method, len);
  shim_task_address_resolve (shim, address_known, r);
}

int
shim_task_service_register (struct shim *shim, kc_error_t *err)
{
  static const char *const services[] = { "containerd.task.v2.Task", "containerd.task.v3.Task" };

  for (size_t s = 0; s < 2; s++)
    for (size_t i = 0; i < sizeof (task_methods) / sizeof (task_methods[0]); i++)
      if (kc_ttrpc_server_register (shim->server, services[s], task_methods[i], handle_task, shim, err) < 0)
        return kc_error_wrap (err, "register %s/%s", services[s], task_methods[i]);
  return 0;
}
