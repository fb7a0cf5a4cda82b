/* A server-side call: its deadline, the handler's (possibly late) answer, metadata lookup. */
#include "ttrpc-internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "log.h"

static void
call_free (kc_ttrpc_call *call)
{
  if (call->deadline)
    event_free (call->deadline);
  ttrpc__request__free_unpacked (call->req, NULL);
  free (call);
}

void
kc_ttrpc_call_detach (kc_ttrpc_call *call)
{
  struct kc_ttrpc_conn *conn = call->conn;

  if (call->deadline)
    {
      event_free (call->deadline);
      call->deadline = NULL;
    }
  if (conn == NULL)
    return;
  if (call->prev)
    call->prev->next = call->next;
  else
    conn->calls = call->next;
  if (call->next)
    call->next->prev = call->prev;
  call->prev = call->next = NULL;
  call->conn = NULL;
}

static void
call_deadline_cb (evutil_socket_t fd, short what, void *arg)
{
  kc_ttrpc_call *call = arg;

  /* The server answers for the late handler; its own answer will be dropped. */
  kc_ttrpc_conn_send_response (call->conn, call->stream_id, KC_DEADLINE_EXCEEDED, "context deadline exceeded", NULL,
                               0);
  kc_ttrpc_call_detach (call);
}

static int
call_arm_deadline (kc_ttrpc_call *call, struct event_base *base, int64_t timeout_ns)
{
  struct timeval tv = kc_ttrpc_timeval_from_ns (timeout_ns);
  int64_t now = kc_ttrpc_now_ns ();

  /* timeout_nano comes from the peer: no signed overflow on absurd values */
  call->deadline_ns = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
  call->deadline = evtimer_new (base, call_deadline_cb, call);
  if (call->deadline == NULL)
    return -1;
  return evtimer_add (call->deadline, &tv);
}

void
kc_ttrpc_call_start (struct kc_ttrpc_conn *conn, uint32_t stream_id, Ttrpc__Request *req,
                     const struct kc_ttrpc_method *m)
{
  kc_ttrpc_call *call = calloc (1, sizeof (*call));

  if (call == NULL)
    {
      ttrpc__request__free_unpacked (req, NULL);
      kc_ttrpc_conn_send_response (conn, stream_id, KC_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
      return;
    }
  call->conn = conn;
  call->req = req;
  call->stream_id = stream_id;
  call->peer_pid = conn->peer_pid;
  call->next = conn->calls;
  if (conn->calls)
    conn->calls->prev = call;
  conn->calls = call;
  if (req->timeout_nano > 0 && call_arm_deadline (call, conn->srv->base, req->timeout_nano) < 0)
    {
      kc_ttrpc_call_error (call, KC_RESOURCE_EXHAUSTED, "cannot arm the call deadline");
      return;
    }
  /* The request (and so payload) stays ours until the handler returned, even if it answered. */
  call->in_handler = 1;
  m->fn (call, req->payload.data, req->payload.len, m->userdata);
  call->in_handler = 0;
  if (call->answered)
    call_free (call);
}

static void
call_answer (kc_ttrpc_call *call, int code, const char *message, const uint8_t *payload, size_t len)
{
  if (call->answered)
    {
      kc_log_error ("ttrpc: %s answered twice", call->req->method);
      return;
    }
  call->answered = 1;
  if (call->conn)
    {
      kc_ttrpc_conn_send_response (call->conn, call->stream_id, code, message, payload, len);
      kc_ttrpc_call_detach (call);
    }
  if (!call->in_handler)
    call_free (call);
}

void
kc_ttrpc_call_reply_raw (kc_ttrpc_call *call, const uint8_t *payload, size_t len)
{
  call_answer (call, KC_OK, "", payload, len);
}

void
kc_ttrpc_call_reply (kc_ttrpc_call *call, const ProtobufCMessage *msg)
{
  size_t len;
  uint8_t *buf;

  if (msg == NULL)
    {
      call_answer (call, KC_OK, "", NULL, 0);
      return;
    }
  len = protobuf_c_message_get_packed_size (msg);
  buf = malloc (len ? len : 1);
  if (buf == NULL)
    {
      call_answer (call, KC_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
      return;
    }
  protobuf_c_message_pack (msg, buf);
  call_answer (call, KC_OK, "", buf, len);
  free (buf);
}

void
kc_ttrpc_call_error (kc_ttrpc_call *call, int code, const char *fmt, ...)
{
  char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  /* code 0 would read as success to the peer; an error must stay an error. */
  call_answer (call, code == KC_OK ? KC_UNKNOWN : code, msg ? msg : "out of memory", NULL, 0);
  free (msg);
}

void
kc_ttrpc_call_fail (kc_ttrpc_call *call, const kc_error_t *err)
{
  if (err == NULL || *err == NULL)
    {
      kc_ttrpc_call_error (call, KC_UNKNOWN, "unknown error");
      return;
    }
  kc_ttrpc_call_error (call, (*err)->code, "%s", (*err)->msg ? (*err)->msg : "");
}

const char *
kc_ttrpc_call_metadata (kc_ttrpc_call *call, const char *key)
{
  for (size_t i = 0; i < call->req->n_metadata; i++)
    if (strcasecmp (call->req->metadata[i]->key, key) == 0)
      return call->req->metadata[i]->value;
  return NULL;
}

int64_t
kc_ttrpc_call_timeout_ns (kc_ttrpc_call *call)
{
  int64_t left;

  if (call->deadline_ns == 0)
    return 0;
  left = call->deadline_ns - kc_ttrpc_now_ns ();
  return left > 0 ? left : 1; /* 0 would mean "no deadline" */
}

int
kc_ttrpc_call_alive (kc_ttrpc_call *call)
{
  return call->conn != NULL && !call->answered;
}

const char *
kc_ttrpc_call_method (kc_ttrpc_call *call)
{
  return call->req->method;
}

pid_t
kc_ttrpc_call_peer_pid (kc_ttrpc_call *call)
{
  return call->peer_pid;
}
