/* Publishes task events through containerd's ttrpc Events/Forward, one at a time so the order
   is kept, each retried up to five times with a growing back-off and a redial. */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "events.h"
#include "events_service.pb-c.h"
#include "log.h"
#include "ttrpc/ttrpc.h"

#define EVENTS_SERVICE     "containerd.services.events.ttrpc.v1.Events"
#define EVENT_TIMEOUT_NS   (5LL * 1000000000LL)
#define EVENT_MAX_ATTEMPTS 5

struct event_item
{
  struct event_item *next;
  uint8_t *payload; /* packed ForwardRequest */
  size_t len;
  char *topic;
  int attempts;
};

struct shim_events
{
  struct event_base *base;
  char *address;
  char *ns;
  kc_ttrpc_client *client;
  struct event_item *head, *tail;
  size_t count;
  int in_flight;
  struct event *retry_timer;
};

static void send_head (struct shim_events *ev);

static void
retry_cb (evutil_socket_t fd, short what, void *arg)
{
  send_head (arg);
}

struct shim_events *
shim_events_new (struct event_base *base, const char *ttrpc_address, const char *ns)
{
  struct shim_events *ev = calloc (1, sizeof (*ev));

  if (ev == NULL)
    return NULL;
  ev->base = base;
  ev->address = ttrpc_address && *ttrpc_address ? strdup (ttrpc_address) : NULL;
  ev->ns = strdup (ns ? ns : "");
  ev->retry_timer = evtimer_new (base, retry_cb, ev);
  return ev;
}

static void
item_free (struct event_item *it)
{
  free (it->payload);
  free (it->topic);
  free (it);
}

static void
pop_head (struct shim_events *ev)
{
  struct event_item *it = ev->head;

  ev->head = it->next;
  if (ev->head == NULL)
    ev->tail = NULL;
  ev->count--;
  item_free (it);
}

void
shim_events_free (struct shim_events *ev)
{
  if (ev == NULL)
    return;
  while (ev->head)
    pop_head (ev);
  if (ev->client)
    kc_ttrpc_client_free (ev->client);
  if (ev->retry_timer)
    event_free (ev->retry_timer);
  free (ev->address);
  free (ev->ns);
  free (ev);
}

size_t
shim_events_pending (struct shim_events *ev)
{
  return ev ? ev->count : 0;
}

static void
schedule_retry (struct shim_events *ev, int attempts)
{
  struct timeval tv = { attempts, 0 };
  evtimer_add (ev->retry_timer, &tv);
}

static void
forward_done (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct shim_events *ev = userdata;
  struct event_item *it = ev->head;

  ev->in_flight = 0;
  if (it == NULL)
    return;
  if (code == KC_OK)
    {
      pop_head (ev);
      send_head (ev);
      return;
    }
  if (++it->attempts >= EVENT_MAX_ATTEMPTS)
    {
      kc_log_warn ("dropping event %s after %d attempts: %s", it->topic, it->attempts, message);
      pop_head (ev);
      send_head (ev);
      return;
    }
  kc_log_debug ("event %s: %s (%s), retrying", it->topic, message, kc_code_name (code));
  schedule_retry (ev, it->attempts);
}

static int
ensure_client (struct shim_events *ev)
{
  kc_error_t err = NULL;

  if (ev->client != NULL && kc_ttrpc_client_connected (ev->client))
    return 0;
  if (ev->client != NULL)
    kc_ttrpc_client_free (ev->client);
  ev->client = kc_ttrpc_client_connect (ev->base, ev->address, &err);
  if (ev->client == NULL)
    {
      kc_log_debug ("connect to containerd events `%s`: %s", ev->address, err ? err->msg : "?");
      kc_error_free (&err);
      return -1;
    }
  kc_ttrpc_client_add_metadata (ev->client, "containerd-namespace-ttrpc", ev->ns);
  return 0;
}

static void
send_head (struct shim_events *ev)
{
  struct event_item *it = ev->head;
  kc_error_t err = NULL;

  if (it == NULL || ev->in_flight || evtimer_pending (ev->retry_timer, NULL))
    return;
  if (ensure_client (ev) < 0)
    {
      forward_done (KC_UNAVAILABLE, "cannot connect", NULL, 0, ev);
      return;
    }
  ev->in_flight = 1;
  if (kc_ttrpc_client_call_raw (ev->client, EVENTS_SERVICE, "Forward", it->payload, it->len, EVENT_TIMEOUT_NS,
                                forward_done, ev, &err)
      < 0)
    {
      ev->in_flight = 0;
      kc_log_debug ("forward %s: %s", it->topic, err ? err->msg : "?");
      kc_error_free (&err);
      forward_done (KC_UNAVAILABLE, "send failed", NULL, 0, ev);
    }
}

static struct event_item *
pack_event (const char *ns, const char *topic, const char *type_url, const ProtobufCMessage *msg)
{
  Containerd__Services__Events__Ttrpc__V1__ForwardRequest req
      = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
  Containerd__Services__Events__Ttrpc__V1__Envelope env = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  struct timespec now;
  struct event_item *it = calloc (1, sizeof (*it));

  if (it == NULL)
    return NULL;
  clock_gettime (CLOCK_REALTIME, &now);
  ts.seconds = now.tv_sec;
  ts.nanos = (int32_t) now.tv_nsec;
  any.type_url = (char *) type_url;
  any.value.len = protobuf_c_message_get_packed_size (msg);
  any.value.data = malloc (any.value.len + 1);
  if (any.value.data == NULL)
    goto fail;
  protobuf_c_message_pack (msg, any.value.data);
  env.timestamp = &ts;
  env.namespace_ = (char *) ns;
  env.topic = (char *) topic;
  env.event = &any;
  req.envelope = &env;
  it->len = protobuf_c_message_get_packed_size (&req.base);
  it->payload = malloc (it->len + 1);
  it->topic = strdup (topic);
  if (it->payload == NULL || it->topic == NULL)
    goto fail;
  protobuf_c_message_pack (&req.base, it->payload);
  free (any.value.data);
  return it;
fail:
  free (any.value.data);
  item_free (it);
  return NULL;
}

void
shim_events_publish (struct shim_events *ev, const char *topic, const char *type_url, const ProtobufCMessage *msg)
{
  struct event_item *it;

  if (ev == NULL)
    return;
  if (ev->address == NULL)
    {
      kc_log_debug ("no TTRPC_ADDRESS: event %s not published", topic);
      return;
    }
  it = pack_event (ev->ns, topic, type_url, msg);
  if (it == NULL)
    {
      kc_log_error ("event %s: out of memory", topic);
      return;
    }
  if (ev->tail)
    ev->tail->next = it;
  else
    ev->head = it;
  ev->tail = it;
  ev->count++;
  kc_log_debug ("event %s queued", topic);
  send_head (ev);
}
