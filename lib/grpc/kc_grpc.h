/* A bridge over grpc C core for unary calls with protobuf-c payloads. One completion-queue
   thread per process polls grpc and hands every result to the libevent loop, so handlers and
   callbacks run on the loop thread like everything else, and a call can stay pending for
   hours (WaitSandbox) without a blocked thread. Each server and each client owns one completion
   queue and its thread. Fork safety: between fork and exec a child must not touch grpc (it would
   share the parent's epoll set); a process that forks grpc users must not have called grpc. */
#ifndef KC_GRPC_H
#define KC_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"

/* ---- server ---- */

typedef struct kc_grpc_server kc_grpc_server;
typedef struct kc_grpc_call kc_grpc_call;

/* Same contract as ttrpc handlers: answer exactly once, now or later, from the loop thread. */
typedef void (*kc_grpc_handler_fn) (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata);

kc_grpc_server *kc_grpc_server_new (struct event_base *base);
/* path is the full HTTP/2 path, "/containerd.services.sandbox.v1.Controller/Create". */
int kc_grpc_server_register (kc_grpc_server *srv, const char *path, kc_grpc_handler_fn fn, void *userdata,
                             kc_error_t *err);
/* Listens on a unix socket path (stale socket removed; mode 0600); peers with another uid are
   refused. Starts the completion-queue thread. */
int kc_grpc_server_start (kc_grpc_server *srv, const char *unix_path, kc_error_t *err);
/* Stops accepting, cancels pending calls (their handlers' later answers are dropped), joins the
   thread, frees everything. */
void kc_grpc_server_free (kc_grpc_server *srv);

void kc_grpc_call_reply (kc_grpc_call *call, const ProtobufCMessage *msg);
void kc_grpc_call_error (kc_grpc_call *call, int code, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
void kc_grpc_call_fail (kc_grpc_call *call, const kc_error_t *err);
/* First value of a request metadata key, e.g. "containerd-namespace" (malloc'ed copy held by the
   call; valid until the call is answered), or NULL. */
const char *kc_grpc_call_metadata (kc_grpc_call *call, const char *key);
/* 1 while the client has not cancelled and the deadline has not passed. */
int kc_grpc_call_alive (kc_grpc_call *call);

/* ---- client ---- */

typedef struct kc_grpc_client kc_grpc_client;
typedef void (*kc_grpc_reply_fn) (int code, const char *message, const uint8_t *payload, size_t len,
                                  void *userdata);

/* target: "unix:///path" or a plain path. The channel connects lazily and reconnects by itself. */
kc_grpc_client *kc_grpc_client_new (struct event_base *base, const char *target, kc_error_t *err);
/* Cancels pending calls (their callbacks get KC_CANCELLED on the loop) and frees. */
void kc_grpc_client_free (kc_grpc_client *cl);
/* namespace: sent as metadata containerd-namespace when non-NULL. timeout_ns 0 = none.
   wait_for_ready: queue the call while the server is down instead of failing it. cb always runs
   exactly once, on the loop thread, never from within this function. Returns -1 (cb never
   called) only on bad arguments or when the call cannot be started. UNAVAILABLE messages start
   with "connect to <target>: ". */
int kc_grpc_client_call (kc_grpc_client *cl, const char *path, const ProtobufCMessage *req, const char *namespace_,
                         int64_t timeout_ns, int wait_for_ready, kc_grpc_reply_fn cb, void *userdata,
                         kc_error_t *err);

/* One call on a private loop (tests, CLI). On OK *reply is malloc'ed (may be NULL, len 0). */
int kc_grpc_call_sync (const char *target, const char *path, const ProtobufCMessage *req, const char *namespace_,
                       int64_t timeout_ns, uint8_t **reply, size_t *reply_len, kc_error_t *err);

#endif
