/* One server connection: reads frames, enforces the stream-id rules of PROTOCOLS.md 1.5,
   routes Requests to handlers, queues Responses with back-pressure. */
#include "ttrpc-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

static void conn_read_cb (struct bufferevent *bev, void *arg);
static void conn_write_cb (struct bufferevent *bev, void *arg);
static void conn_event_cb (struct bufferevent *bev, short what, void *arg);

static pid_t
peer_pid_of (int fd)
{
  struct ucred cred;
  socklen_t len = sizeof cred;

  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
    return 0;
  return cred.pid;
}

int
kc_ttrpc_conn_new (kc_ttrpc_server *srv, int fd, kc_error_t *err)
{
  struct kc_ttrpc_conn *conn;

  if (evutil_make_socket_nonblocking (fd) < 0 || evutil_make_socket_closeonexec (fd) < 0)
    {
      close (fd);
      return kc_error (err, errno, "ttrpc connection: set O_NONBLOCK|O_CLOEXEC");
    }
  conn = calloc (1, sizeof (*conn));
  if (conn == NULL)
    {
      close (fd);
      return kc_error (err, ENOMEM, "ttrpc connection");
    }
  conn->srv = srv;
  conn->peer_pid = peer_pid_of (fd);
  conn->bev = bufferevent_socket_new (srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (conn->bev == NULL)
    {
      close (fd);
      free (conn);
      return kc_error_code (err, KC_INTERNAL, "ttrpc connection: bufferevent_socket_new failed");
    }
  bufferevent_setcb (conn->bev, conn_read_cb, conn_write_cb, conn_event_cb, conn);
  bufferevent_setwatermark (conn->bev, EV_WRITE, KC_TTRPC_OUTPUT_LOW, 0);
  bufferevent_enable (conn->bev, EV_READ | EV_WRITE);
  conn->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = conn;
  srv->conns = conn;
  srv->n_conns++;
  return 0;
}

/* Closes the connection. Calls still held by handlers stay valid; their answers are dropped. */
void
kc_ttrpc_conn_free (struct kc_ttrpc_conn *conn)
{
  kc_ttrpc_server *srv = conn->srv;

  while (conn->calls)
    kc_ttrpc_call_detach (conn->calls);
  bufferevent_free (conn->bev);
  if (conn->prev)
    conn->prev->next = conn->next;
  else
    srv->conns = conn->next;
  if (conn->next)
    conn->next->prev = conn->prev;
  srv->n_conns--;
  free (conn);
  if (srv->closed_fn)
    srv->closed_fn (srv->closed_userdata);
}

void
kc_ttrpc_conn_send_response (struct kc_ttrpc_conn *conn, uint32_t stream_id, int code, const char *message,
                             const uint8_t *payload, size_t len)
{
  struct evbuffer *out = bufferevent_get_output (conn->bev);

  if (kc_ttrpc_frame_add_response (out, stream_id, code, message, payload, len) < 0)
    kc_log_warn ("ttrpc: cannot queue the response of stream %u", stream_id);
  /* The peer does not read its answers: stop taking new requests until it does. */
  if (!conn->read_paused && evbuffer_get_length (out) > KC_TTRPC_OUTPUT_HIGH)
    {
      conn->read_paused = 1;
      bufferevent_disable (conn->bev, EV_READ);
    }
}

static void
conn_write_cb (struct bufferevent *bev, void *arg)
{
  struct kc_ttrpc_conn *conn = arg;

  if (conn->read_paused && evbuffer_get_length (bufferevent_get_output (bev)) <= KC_TTRPC_OUTPUT_LOW)
    {
      conn->read_paused = 0;
      bufferevent_enable (bev, EV_READ);
      /* Frames that arrived while paused are already buffered: handle them now. */
      conn_read_cb (bev, conn);
    }
}

static void
conn_event_cb (struct bufferevent *bev, short what, void *arg)
{
  struct kc_ttrpc_conn *conn = arg;

  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
    kc_ttrpc_conn_free (conn);
}

static struct kc_ttrpc_call *
conn_find_call (struct kc_ttrpc_conn *conn, uint32_t stream_id)
{
  for (struct kc_ttrpc_call *c = conn->calls; c; c = c->next)
    if (c->stream_id == stream_id)
      return c;
  return NULL;
}

static void
conn_handle_request (struct kc_ttrpc_conn *conn, const struct kc_ttrpc_header *h, const uint8_t *data)
{
  const struct kc_ttrpc_method *m;
  Ttrpc__Request *req;
  int service_known;

  if (h->stream_id <= conn->last_stream_id)
    {
      kc_ttrpc_conn_send_response (conn, h->stream_id, KC_INVALID_ARGUMENT,
                                   "StreamID cannot be re-used and must increment", NULL, 0);
      return;
    }
  conn->last_stream_id = h->stream_id;
  req = ttrpc__request__unpack (NULL, h->length, data);
  if (req == NULL)
    {
      kc_ttrpc_conn_send_response (conn, h->stream_id, KC_INVALID_ARGUMENT,
                                   "unmarshal request error: proto: cannot parse invalid wire-format data", NULL, 0);
      return;
    }
  m = kc_ttrpc_server_lookup (conn->srv, req->service, req->method, &service_known);
  if (m == NULL)
    {
      char msg[256];
      snprintf (msg, sizeof msg, service_known ? "method %s" : "service %s",
                service_known ? req->method : req->service);
      kc_ttrpc_conn_send_response (conn, h->stream_id, KC_UNIMPLEMENTED, msg, NULL, 0);
      ttrpc__request__free_unpacked (req, NULL);
      return;
    }
  kc_ttrpc_call_start (conn, h->stream_id, req, m);
}

static void
conn_handle_frame (struct kc_ttrpc_conn *conn, const struct kc_ttrpc_header *h, const uint8_t *data)
{
  if (h->type != KC_TTRPC_TYPE_REQUEST && h->type != KC_TTRPC_TYPE_DATA)
    return; /* Responses and unknown types: ignored for future compatibility, as Go does */
  if (h->stream_id % 2 != 1)
    {
      kc_ttrpc_conn_send_response (conn, h->stream_id, KC_INVALID_ARGUMENT,
                                   "StreamID must be odd for client initiated streams", NULL, 0);
      return;
    }
  if (h->type == KC_TTRPC_TYPE_REQUEST)
    conn_handle_request (conn, h, data);
  else if (conn_find_call (conn, h->stream_id) == NULL)
    kc_ttrpc_conn_send_response (conn, h->stream_id, KC_INVALID_ARGUMENT, "StreamID is no longer active", NULL, 0);
  /* Data on an open unary stream carries nothing we use: dropped. */
}

static void
conn_read_cb (struct bufferevent *bev, void *arg)
{
  struct kc_ttrpc_conn *conn = arg;
  struct evbuffer *in = bufferevent_get_input (bev);
  struct kc_ttrpc_header h;
  const uint8_t *data;
  int r;

  while (!conn->read_paused && (r = kc_ttrpc_frame_next (&conn->reader, in, &h, &data)) != KC_TTRPC_FRAME_NEED_MORE)
    {
      if (r == KC_TTRPC_FRAME_OVERSIZED)
        {
          char msg[128];
          kc_ttrpc_oversized_message (msg, sizeof msg, h.length);
          kc_ttrpc_conn_send_response (conn, h.stream_id, KC_RESOURCE_EXHAUSTED, msg, NULL, 0);
          continue;
        }
      conn_handle_frame (conn, &h, data);
      kc_ttrpc_frame_consume (in, &h);
    }
}
