/* Our ttrpc (PROTOCOLS.md §1) on libevent: frame codec, server and client.
   Everything runs on the caller's event_base thread; nothing here blocks, except
   kc_ttrpc_call_sync which runs a private event loop for one-shot CLI use. */
#ifndef KC_TTRPC_H
#define KC_TTRPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"

/* ---- frames ---- */

#define KC_TTRPC_HEADER_SIZE 10
#define KC_TTRPC_MAX_DATA (4u << 20)

enum
{
  KC_TTRPC_TYPE_REQUEST = 1,
  KC_TTRPC_TYPE_RESPONSE = 2,
  KC_TTRPC_TYPE_DATA = 3,
};

enum
{
  KC_TTRPC_FLAG_REMOTE_CLOSED = 1,
  KC_TTRPC_FLAG_REMOTE_OPEN = 2,
  KC_TTRPC_FLAG_NO_DATA = 4,
};

struct kc_ttrpc_header
{
  uint32_t length;
  uint32_t stream_id;
  uint8_t type;
  uint8_t flags;
};

void kc_ttrpc_header_encode (const struct kc_ttrpc_header *h, uint8_t out[KC_TTRPC_HEADER_SIZE]);
void kc_ttrpc_header_decode (const uint8_t in[KC_TTRPC_HEADER_SIZE], struct kc_ttrpc_header *h);

/* ---- server ---- */

typedef struct kc_ttrpc_server kc_ttrpc_server;
typedef struct kc_ttrpc_call kc_ttrpc_call;

/* A handler gets the raw method payload; it must eventually answer the call exactly once with
   kc_ttrpc_call_reply / _reply_raw / _error (now or later, from the loop thread). The call
   object stays valid until answered even if the peer went away or the deadline passed (the
   answer is then dropped). */
typedef void (*kc_ttrpc_handler_fn) (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata);

kc_ttrpc_server *kc_ttrpc_server_new (struct event_base *base);
void kc_ttrpc_server_free (kc_ttrpc_server *srv);
/* service is the full proto name ("containerd.task.v2.Task"), method the bare rpc name. */
int kc_ttrpc_server_register (kc_ttrpc_server *srv, const char *service, const char *method,
                              kc_ttrpc_handler_fn fn, void *userdata, kc_error_t *err);
/* Refuse connections whose SO_PEERCRED uid/gid differ from ours (on by default). */
void kc_ttrpc_server_set_require_same_user (kc_ttrpc_server *srv, int on);
/* Binds path (unlinking a stale socket), mode 0600, and listens. */
int kc_ttrpc_server_listen_path (kc_ttrpc_server *srv, const char *path, kc_error_t *err);
/* Takes ownership of a listening socket fd. */
int kc_ttrpc_server_listen_fd (kc_ttrpc_server *srv, int fd, kc_error_t *err);
/* Takes ownership of an already-connected stream fd (virtio-serial port, socketpair). */
int kc_ttrpc_server_add_conn_fd (kc_ttrpc_server *srv, int fd, kc_error_t *err);
/* Called whenever a connection closes; lets a daemon exit when its last client leaves. */
void kc_ttrpc_server_set_conn_closed_cb (kc_ttrpc_server *srv, void (*fn) (void *), void *userdata);
size_t kc_ttrpc_server_conn_count (kc_ttrpc_server *srv);

/* Answers OK with msg serialized (msg may be NULL: empty payload). Frees the call. */
void kc_ttrpc_call_reply (kc_ttrpc_call *call, const ProtobufCMessage *msg);
void kc_ttrpc_call_reply_raw (kc_ttrpc_call *call, const uint8_t *payload, size_t len);
/* Answers with a google.rpc.Status{code, message}. Frees the call. */
void kc_ttrpc_call_error (kc_ttrpc_call *call, int code, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
/* Answers with the code and message of *err. Frees the call. */
void kc_ttrpc_call_fail (kc_ttrpc_call *call, const kc_error_t *err);
/* First value of a metadata key (lower-case), or NULL. */
const char *kc_ttrpc_call_metadata (kc_ttrpc_call *call, const char *key);
/* Remaining time in ns before the caller's deadline; 0 = no deadline. */
int64_t kc_ttrpc_call_timeout_ns (kc_ttrpc_call *call);
/* 1 while the peer is connected and the deadline has not passed. */
int kc_ttrpc_call_alive (kc_ttrpc_call *call);
const char *kc_ttrpc_call_method (kc_ttrpc_call *call);
/* Peer pid from SO_PEERCRED (0 when unknown). */
pid_t kc_ttrpc_call_peer_pid (kc_ttrpc_call *call);

/* ---- client ---- */

typedef struct kc_ttrpc_client kc_ttrpc_client;

/* code is a kc_code; message is the status message (never NULL); payload is valid only during
   the callback. On a dropped connection every pending call gets KC_UNAVAILABLE; on its
   deadline KC_DEADLINE_EXCEEDED; on kc_ttrpc_client_free KC_CANCELLED. */
typedef void (*kc_ttrpc_reply_fn) (int code, const char *message, const uint8_t *payload, size_t len,
                                   void *userdata);

/* address: any form kc_stream_dial takes. A unix connect never blocks the loop for long; vsock
   and hvsock wait up to KC_TTRPC_DIAL_TIMEOUT_MS for the peer. */
kc_ttrpc_client *kc_ttrpc_client_connect (struct event_base *base, const char *address, kc_error_t *err);
kc_ttrpc_client *kc_ttrpc_client_new_fd (struct event_base *base, int fd, kc_error_t *err);
void kc_ttrpc_client_free (kc_ttrpc_client *cl);
/* Metadata sent with every request (e.g. containerd-namespace-ttrpc). */
int kc_ttrpc_client_add_metadata (kc_ttrpc_client *cl, const char *key, const char *value);
/* Called once when the connection drops (after pending calls were failed). */
void kc_ttrpc_client_set_closed_cb (kc_ttrpc_client *cl, void (*fn) (void *), void *userdata);
int kc_ttrpc_client_connected (kc_ttrpc_client *cl);
/* Sends a unary request; timeout_ns 0 = none. On success (0) cb is called exactly once, never
   from within this function. On -1 (not connected, request over 4 MiB, ...) *err says why and
   cb is never called. Callbacks may free the client. */
int kc_ttrpc_client_call (kc_ttrpc_client *cl, const char *service, const char *method, const ProtobufCMessage *req,
                          int64_t timeout_ns, kc_ttrpc_reply_fn cb, void *userdata, kc_error_t *err);
int kc_ttrpc_client_call_raw (kc_ttrpc_client *cl, const char *service, const char *method, const uint8_t *payload,
                              size_t len, int64_t timeout_ns, kc_ttrpc_reply_fn cb, void *userdata, kc_error_t *err);

/* One call on a private loop: connect, call, wait for the answer (or the timeout), disconnect.
   On OK *reply holds the payload (malloc'ed, caller frees; may be NULL with *reply_len 0). A
   non-OK status becomes *err with that code. */
int kc_ttrpc_call_sync (const char *address, const char *service, const char *method, const ProtobufCMessage *req,
                        int64_t timeout_ns, uint8_t **reply, size_t *reply_len, kc_error_t *err);

/* Parses the address forms of ARCHITECTURE.md: "unix", "vsock" or "hvsock" into *scheme and the
   rest (path, "cid:port", "path:port") into *rest (malloc'ed). Returns -1 on a bad address. */
int kc_address_parse (const char *address, char **scheme, char **rest, kc_error_t *err);

#define KC_TTRPC_DIAL_TIMEOUT_MS 2000
/* A connected stream socket (O_CLOEXEC; blocking except for unix) to address: /path,
   [ttrpc+]unix://path, [ttrpc+]vsock://cid:port (AF_VSOCK), [ttrpc+]hvsock://path:port (hybrid
   vsock: the unix socket, then `CONNECT <port>\n` answered by `OK ...\n` within timeout_ms).
   KC_UNAVAILABLE when nobody answers there. */
int kc_stream_dial (const char *address, int timeout_ms, kc_error_t *err);

#endif
