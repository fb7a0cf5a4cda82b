/* ttrpc client: unary calls over one connection, odd increasing stream ids, per-call deadline
   timers, exactly-once callbacks even when a callback frees the client. */
#include "ttrpc-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

struct kc_ttrpc_pending
{
  kc_ttrpc_client *cl;
  uint32_t stream_id;
  kc_ttrpc_reply_fn cb;
  void *userdata;
  struct event *timer;
  struct kc_ttrpc_pending *prev, *next;
};

struct kc_ttrpc_client
{
  struct event_base *base;
  struct bufferevent *bev; /* NULL once the connection dropped */
  struct kc_ttrpc_frame_reader reader;
  uint32_t next_stream_id;
  Ttrpc__KeyValue **metadata;
  size_t n_metadata;
  struct kc_ttrpc_pending *pending;
  void (*closed_fn) (void *);
  void *closed_userdata;
  /* A callback may free the client: frees inside a dispatch are finished when it unwinds. */
  int dispatch_depth;
  int freeing;
};

static void client_read_cb (struct bufferevent *bev, void *arg);
static void client_event_cb (struct bufferevent *bev, short what, void *arg);

kc_ttrpc_client *
kc_ttrpc_client_new_fd (struct event_base *base, int fd, kc_error_t *err)
{
  kc_ttrpc_client *cl;

  if (evutil_make_socket_nonblocking (fd) < 0 || evutil_make_socket_closeonexec (fd) < 0)
    {
      close (fd);
      kc_error (err, errno, "ttrpc client: set O_NONBLOCK|O_CLOEXEC");
      return NULL;
    }
  cl = calloc (1, sizeof (*cl));
  if (cl == NULL)
    {
      close (fd);
      kc_error (err, ENOMEM, "ttrpc client");
      return NULL;
    }
  kc_ttrpc_disarm_sigpipe ();
  cl->base = base;
  cl->next_stream_id = 1;
  cl->bev = bufferevent_socket_new (base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (cl->bev == NULL)
    {
      close (fd);
      free (cl);
      kc_error_code (err, KC_INTERNAL, "ttrpc client: bufferevent_socket_new failed");
      return NULL;
    }
  bufferevent_setcb (cl->bev, client_read_cb, NULL, client_event_cb, cl);
  bufferevent_enable (cl->bev, EV_READ | EV_WRITE);
  return cl;
}

kc_ttrpc_client *
kc_ttrpc_client_connect (struct event_base *base, const char *address, kc_error_t *err)
{
  int fd = kc_stream_dial (address, KC_TTRPC_DIAL_TIMEOUT_MS, err);

  if (fd < 0)
    {
      kc_error_wrap (err, "ttrpc connect");
      return NULL;
    }
  return kc_ttrpc_client_new_fd (base, fd, err);
}

static void
pending_unlink (kc_ttrpc_client *cl, struct kc_ttrpc_pending *p)
{
  if (p->prev)
    p->prev->next = p->next;
  else
    cl->pending = p->next;
  if (p->next)
    p->next->prev = p->prev;
  if (p->timer)
    event_free (p->timer);
  p->timer = NULL;
  p->prev = p->next = NULL;
}

static void
client_release (kc_ttrpc_client *cl)
{
  for (size_t i = 0; i < cl->n_metadata; i++)
    {
      free (cl->metadata[i]->key);
      free (cl->metadata[i]->value);
      free (cl->metadata[i]);
    }
  free (cl->metadata);
  free (cl);
}

/* Runs cb for p (already unlinked) and frees p; returns 0 when the client was freed meanwhile. */
static int
pending_complete (kc_ttrpc_client *cl, struct kc_ttrpc_pending *p, int code, const char *message,
                  const uint8_t *payload, size_t len)
{
  int alive;

  cl->dispatch_depth++;
  p->cb (code, message ? message : "", payload, len, p->userdata);
  free (p);
  cl->dispatch_depth--;
  alive = !cl->freeing;
  if (cl->freeing && cl->dispatch_depth == 0)
    client_release (cl);
  return alive;
}

/* Fails every pending call (the caller holds a dispatch reference). If a callback frees the
   client, the free cancels what is left instead. */
static void
fail_all_pending (kc_ttrpc_client *cl, int code, const char *message)
{
  while (cl->pending && !(cl->freeing && code != KC_CANCELLED))
    {
      struct kc_ttrpc_pending *p = cl->pending;
      pending_unlink (cl, p);
      p->cb (code, message, NULL, 0, p->userdata);
      free (p);
    }
}

void
kc_ttrpc_client_free (kc_ttrpc_client *cl)
{
  if (cl == NULL || cl->freeing)
    return;
  cl->freeing = 1;
  if (cl->bev)
    {
      bufferevent_free (cl->bev);
      cl->bev = NULL;
    }
  /* Callbacks run from here may call free again (ignored) or call (refused: not connected). */
  cl->dispatch_depth++;
  fail_all_pending (cl, KC_CANCELLED, "ttrpc: client closed");
  cl->dispatch_depth--;
  if (cl->dispatch_depth == 0)
    client_release (cl);
}

int
kc_ttrpc_client_add_metadata (kc_ttrpc_client *cl, const char *key, const char *value)
{
  Ttrpc__KeyValue **md, *kv;

  md = realloc (cl->metadata, (cl->n_metadata + 1) * sizeof (*md));
  if (md == NULL)
    return -1;
  cl->metadata = md;
  kv = malloc (sizeof (*kv));
  if (kv == NULL)
    return -1;
  ttrpc__key_value__init (kv);
  kv->key = strdup (key);
  kv->value = strdup (value);
  if (kv->key == NULL || kv->value == NULL)
    {
      free (kv->key);
      free (kv->value);
      free (kv);
      return -1;
    }
  /* Go lower-cases metadata keys; so do we, so servers can match either way. */
  for (char *c = kv->key; *c; c++)
    if (*c >= 'A' && *c <= 'Z')
      *c += 'a' - 'A';
  md[cl->n_metadata++] = kv;
  return 0;
}

void
kc_ttrpc_client_set_closed_cb (kc_ttrpc_client *cl, void (*fn) (void *), void *userdata)
{
  cl->closed_fn = fn;
  cl->closed_userdata = userdata;
}

int
kc_ttrpc_client_connected (kc_ttrpc_client *cl)
{
  return cl->bev != NULL && !cl->freeing;
}

static void
connection_lost (kc_ttrpc_client *cl)
{
  bufferevent_free (cl->bev);
  cl->bev = NULL;
  cl->dispatch_depth++;
  fail_all_pending (cl, KC_UNAVAILABLE, "ttrpc: closed");
  if (!cl->freeing && cl->closed_fn)
    cl->closed_fn (cl->closed_userdata);
  cl->dispatch_depth--;
  if (cl->freeing && cl->dispatch_depth == 0)
    client_release (cl);
}

static void
client_event_cb (struct bufferevent *bev, short what, void *arg)
{
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
    connection_lost (arg);
}

static struct kc_ttrpc_pending *
pending_take (kc_ttrpc_client *cl, uint32_t stream_id)
{
  for (struct kc_ttrpc_pending *p = cl->pending; p; p = p->next)
    if (p->stream_id == stream_id)
      {
        pending_unlink (cl, p);
        return p;
      }
  return NULL;
}

/* Delivers a decoded Response (NULL: undecodable) and frees it; returns 0 when the callback
   freed the client. */
static int
client_deliver (kc_ttrpc_client *cl, uint32_t stream_id, Ttrpc__Response *resp)
{
  struct kc_ttrpc_pending *p = pending_take (cl, stream_id);
  int alive = 1;

  if (p == NULL)
    ; /* a call that already timed out */
  else if (resp == NULL)
    alive = pending_complete (cl, p, KC_INTERNAL, "ttrpc: cannot decode the response", NULL, 0);
  else if (resp->status && resp->status->code != KC_OK)
    alive = pending_complete (cl, p, resp->status->code, resp->status->message, NULL, 0);
  else
    alive = pending_complete (cl, p, KC_OK, "", resp->payload.data, resp->payload.len);
  if (resp)
    ttrpc__response__free_unpacked (resp, NULL);
  return alive;
}

static void
client_read_cb (struct bufferevent *bev, void *arg)
{
  kc_ttrpc_client *cl = arg;
  struct evbuffer *in = bufferevent_get_input (bev);
  struct kc_ttrpc_header h;
  const uint8_t *data;
  int r;

  while ((r = kc_ttrpc_frame_next (&cl->reader, in, &h, &data)) != KC_TTRPC_FRAME_NEED_MORE)
    {
      Ttrpc__Response *resp;

      if (r == KC_TTRPC_FRAME_OVERSIZED)
        {
          struct kc_ttrpc_pending *p = h.type == KC_TTRPC_TYPE_RESPONSE ? pending_take (cl, h.stream_id) : NULL;
          char msg[128];

          kc_ttrpc_oversized_message (msg, sizeof msg, h.length);
          if (p && !pending_complete (cl, p, KC_RESOURCE_EXHAUSTED, msg, NULL, 0))
            return;
          continue;
        }
      if (h.type != KC_TTRPC_TYPE_RESPONSE)
        {
          kc_ttrpc_frame_consume (in, &h); /* no server streams: Data and unknown types ignored */
          continue;
        }
      /* Consume before the callback: it may free the client and this buffer with it. The
         unpacked Response owns copies of what the callback sees. */
      resp = ttrpc__response__unpack (NULL, h.length, data);
      kc_ttrpc_frame_consume (in, &h);
      if (!client_deliver (cl, h.stream_id, resp))
        return;
    }
}

static void
pending_deadline_cb (evutil_socket_t fd, short what, void *arg)
{
  struct kc_ttrpc_pending *p = arg;
  kc_ttrpc_client *cl = p->cl;

  pending_unlink (cl, p);
  pending_complete (cl, p, KC_DEADLINE_EXCEEDED, "context deadline exceeded", NULL, 0);
}

static int
send_request (kc_ttrpc_client *cl, uint32_t stream_id, const char *service, const char *method,
              const uint8_t *payload, size_t len, int64_t timeout_ns, kc_error_t *err)
{
  Ttrpc__Request req = TTRPC__REQUEST__INIT;

  req.service = (char *) service;
  req.method = (char *) method;
  req.payload.data = (uint8_t *) payload;
  req.payload.len = len;
  req.timeout_nano = timeout_ns;
  req.metadata = cl->metadata;
  req.n_metadata = cl->n_metadata;
  return kc_ttrpc_frame_add_message (bufferevent_get_output (cl->bev), stream_id, KC_TTRPC_TYPE_REQUEST, 0,
                                     &req.base, err);
}

int
kc_ttrpc_client_call_raw (kc_ttrpc_client *cl, const char *service, const char *method, const uint8_t *payload,
                          size_t len, int64_t timeout_ns, kc_ttrpc_reply_fn cb, void *userdata, kc_error_t *err)
{
  struct kc_ttrpc_pending *p;

  if (!kc_ttrpc_client_connected (cl))
    return kc_error_code (err, KC_UNAVAILABLE, "ttrpc call /%s/%s: ttrpc: closed", service, method);
  if (cl->next_stream_id > UINT32_MAX - 2)
    return kc_error_code (err, KC_RESOURCE_EXHAUSTED, "ttrpc call /%s/%s: stream ids exhausted", service, method);
  if (evbuffer_get_length (bufferevent_get_output (cl->bev)) > KC_TTRPC_OUTPUT_HIGH)
    return kc_error_code (err, KC_UNAVAILABLE, "ttrpc call /%s/%s: the server does not read its requests",
                          service, method);
  p = calloc (1, sizeof (*p));
  if (p == NULL)
    return kc_error (err, ENOMEM, "ttrpc call /%s/%s", service, method);
  p->cl = cl;
  p->cb = cb;
  p->userdata = userdata;
  p->stream_id = cl->next_stream_id;
  if (timeout_ns > 0)
    {
      struct timeval tv = kc_ttrpc_timeval_from_ns (timeout_ns);
      p->timer = evtimer_new (cl->base, pending_deadline_cb, p);
      if (p->timer == NULL || evtimer_add (p->timer, &tv) < 0)
        {
          if (p->timer)
            event_free (p->timer);
          free (p);
          return kc_error_code (err, KC_INTERNAL, "ttrpc call /%s/%s: cannot arm the deadline", service, method);
        }
    }
  if (send_request (cl, p->stream_id, service, method, payload, len, timeout_ns < 0 ? 0 : timeout_ns, err) < 0)
    {
      if (p->timer)
        event_free (p->timer);
      free (p);
      return kc_error_wrap (err, "ttrpc call /%s/%s", service, method);
    }
  cl->next_stream_id += 2;
  p->next = cl->pending;
  if (cl->pending)
    cl->pending->prev = p;
  cl->pending = p;
  return 0;
}

int
kc_ttrpc_client_call (kc_ttrpc_client *cl, const char *service, const char *method, const ProtobufCMessage *req,
                      int64_t timeout_ns, kc_ttrpc_reply_fn cb, void *userdata, kc_error_t *err)
{
  cleanup_free uint8_t *buf = NULL;
  size_t len = 0;

  if (req != NULL)
    {
      len = protobuf_c_message_get_packed_size (req);
      buf = malloc (len ? len : 1);
      if (buf == NULL)
        return kc_error (err, ENOMEM, "ttrpc call /%s/%s", service, method);
      protobuf_c_message_pack (req, buf);
    }
  return kc_ttrpc_client_call_raw (cl, service, method, buf, len, timeout_ns, cb, userdata, err);
}
