/* Private parts of the grpc bridge: completion tags, the cq-thread-to-loop hand-off and
   payload conversion shared by the server and the client. */
#ifndef KC_GRPC_INTERNAL_H
#define KC_GRPC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include <grpc/grpc.h>
#include <grpc/byte_buffer.h>

#include "kc_grpc.h"

/* One pending grpc operation; fn runs on the loop thread with the completion's ok flag. */
struct kc_grpc_tag
{
  void (*fn) (struct kc_grpc_tag *tag, int ok);
  struct kc_grpc_tag *next;
  int ok;
};

/* A completion queue, the thread that polls it and the eventfd that wakes the loop. Tags run
   one at a time, so a tag may free the bridge's owner (and the bridge) safely. */
struct kc_grpc_bridge
{
  grpc_completion_queue *cq;
  struct event *ev;
  int efd;
  int refs; /* loop thread only: the owner + running dispatches */
  bool dead;
  pthread_t thread;
  bool thread_started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct kc_grpc_tag *head;
  struct kc_grpc_tag **tail;
};

struct kc_grpc_bridge *kc_grpc_bridge_new (struct event_base *base, kc_error_t *err);
/* Blocks until at least one tag completed, then runs one. */
void kc_grpc_bridge_wait (struct kc_grpc_bridge *b);
/* Shuts the queue down (all operations must be finished or cancelled), joins the thread, runs
   the remaining tags and frees everything. */
void kc_grpc_bridge_free (struct kc_grpc_bridge *b);

/* protobuf-c message -> new byte buffer (NULL msg: empty payload). NULL on allocation failure. */
grpc_byte_buffer *kc_grpc_pack (const ProtobufCMessage *msg);
/* Flattens a received byte buffer into a malloc'ed copy; returns -1 on allocation failure. */
int kc_grpc_flatten (grpc_byte_buffer *bb, uint8_t **out, size_t *len);
/* malloc'ed NUL-terminated copy of a slice, or NULL. */
char *kc_grpc_slice_strdup (grpc_slice s);
/* Deadline from now + timeout_ns (0: none). */
gpr_timespec kc_grpc_deadline (int64_t timeout_ns);

/* Listening socket: bound at path with mode 0600, accepts peers of our own uid only, hands
   each accepted fd to grpc core. */
struct kc_grpc_listener;
struct kc_grpc_listener *kc_grpc_listen (struct event_base *base, const char *path, grpc_server *server,
                                         kc_error_t *err);
void kc_grpc_listener_free (struct kc_grpc_listener *l);

#endif
