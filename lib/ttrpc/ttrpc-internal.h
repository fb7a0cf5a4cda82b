/* Internals shared by the ttrpc frame codec, server, connections, calls and client; not for
   other modules (they use ttrpc.h). */
#ifndef KC_TTRPC_INTERNAL_H
#define KC_TTRPC_INTERNAL_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "rpc_status.pb-c.h"

/* Output above this stops reading from that peer until it drains (a slow reader cannot make
   us buffer without bound). */
#define KC_TTRPC_OUTPUT_HIGH (16u << 20)
#define KC_TTRPC_OUTPUT_LOW (4u << 20)

/* ---- frame reader (frame.c) ---- */

struct kc_ttrpc_frame_reader
{
  int discarding;
  uint32_t discard_left;
  struct kc_ttrpc_header discard_header;
};

enum
{
  KC_TTRPC_FRAME_NEED_MORE = 0,
  KC_TTRPC_FRAME_READY = 1,
  /* An oversized frame was read and thrown away; *h describes it, there is no data. */
  KC_TTRPC_FRAME_OVERSIZED = 2,
};

/* Next frame in `in`. On READY *data points at h->length bytes inside `in` (valid until
   kc_ttrpc_frame_consume). */
int kc_ttrpc_frame_next (struct kc_ttrpc_frame_reader *r, struct evbuffer *in, struct kc_ttrpc_header *h,
                         const uint8_t **data);
void kc_ttrpc_frame_consume (struct evbuffer *in, const struct kc_ttrpc_header *h);
/* Appends one frame whose data is msg serialized. Fails (RESOURCE_EXHAUSTED) when too big. */
int kc_ttrpc_frame_add_message (struct evbuffer *out, uint32_t stream_id, uint8_t type, uint8_t flags,
                                const ProtobufCMessage *msg, kc_error_t *err);
/* Appends a Response frame: status {code, message} (always present, as Go does) and payload.
   A too-big payload becomes RESOURCE_EXHAUSTED. */
int kc_ttrpc_frame_add_response (struct evbuffer *out, uint32_t stream_id, int code, const char *message,
                                 const uint8_t *payload, size_t len);
/* The Go wording of the oversized-message error, in buf. */
void kc_ttrpc_oversized_message (char *buf, size_t size, uint64_t length);
/* CLOCK_MONOTONIC now in ns. */
int64_t kc_ttrpc_now_ns (void);
/* timeout_ns as a timeval, clamped so huge values cannot overflow. */
struct timeval kc_ttrpc_timeval_from_ns (int64_t ns);

/* Makes writes to a hung-up peer fail with EPIPE instead of killing the process. */
void kc_ttrpc_disarm_sigpipe (void);

/* ---- server side (server.c, conn.c, call.c) ---- */

struct kc_ttrpc_method
{
  char *service;
  char *method;
  kc_ttrpc_handler_fn fn;
  void *userdata;
};

struct kc_ttrpc_listener
{
  struct kc_ttrpc_server *srv;
  int fd;
  struct event *ev;
  struct event *retry; /* re-arms accepting after EMFILE */
  struct kc_ttrpc_listener *next;
};

struct kc_ttrpc_conn
{
  struct kc_ttrpc_server *srv;
  struct bufferevent *bev;
  struct kc_ttrpc_frame_reader reader;
  uint32_t last_stream_id;
  pid_t peer_pid;
  int read_paused;
  struct kc_ttrpc_call *calls; /* open streams: not yet answered, not expired */
  struct kc_ttrpc_conn *prev, *next;
};

struct kc_ttrpc_server
{
  struct event_base *base;
  struct kc_ttrpc_method *methods;
  size_t n_methods;
  int require_same_user;
  struct kc_ttrpc_listener *listeners;
  struct kc_ttrpc_conn *conns;
  size_t n_conns;
  void (*closed_fn) (void *);
  void *closed_userdata;
};

struct kc_ttrpc_call
{
  struct kc_ttrpc_conn *conn; /* NULL once the stream is over for the peer (closed, expired) */
  Ttrpc__Request *req;
  uint32_t stream_id;
  pid_t peer_pid;
  int64_t deadline_ns; /* monotonic; 0 = none */
  struct event *deadline;
  int in_handler;
  int answered;
  struct kc_ttrpc_call *prev, *next;
};

const struct kc_ttrpc_method *kc_ttrpc_server_lookup (kc_ttrpc_server *srv, const char *service,
                                                      const char *method, int *service_known);
/* Wraps a connected fd; peer_pid from SO_PEERCRED when available. */
int kc_ttrpc_conn_new (kc_ttrpc_server *srv, int fd, kc_error_t *err);
void kc_ttrpc_conn_free (struct kc_ttrpc_conn *conn);
/* Queues a Response on the connection (and pauses reading if the peer is slow). */
void kc_ttrpc_conn_send_response (struct kc_ttrpc_conn *conn, uint32_t stream_id, int code, const char *message,
                                  const uint8_t *payload, size_t len);
/* Starts a call for a decoded Request (takes req) and runs its handler. */
void kc_ttrpc_call_start (struct kc_ttrpc_conn *conn, uint32_t stream_id, Ttrpc__Request *req,
                          const struct kc_ttrpc_method *m);
/* Ends the call's stream for the peer: unlinks it from conn and stops its deadline. */
void kc_ttrpc_call_detach (kc_ttrpc_call *call);

#endif
