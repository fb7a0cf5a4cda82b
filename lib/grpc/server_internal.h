/* Private layout of the grpc server and of one server call (server.c, call.c). */
#ifndef KC_GRPC_SERVER_INTERNAL_H
#define KC_GRPC_SERVER_INTERNAL_H

#include "grpc_internal.h"

struct kc_grpc_handler
{
  char *path;
  kc_grpc_handler_fn fn;
  void *userdata;
  struct kc_grpc_handler *next;
};

struct kc_grpc_server
{
  struct event_base *base;
  struct kc_grpc_bridge *bridge;
  grpc_server *gs;
  bool dying;
  bool shutdown_done;
  struct kc_grpc_tag shutdown_tag;
  struct kc_grpc_listener *listener;
  struct kc_grpc_handler *handlers;
  struct kc_grpc_call *calls; /* every call holding a grpc_call or an operation in flight */
};

struct kc_grpc_call
{
  kc_grpc_server *srv; /* NULL once grpc is done with the call (cancelled, answered, freed) */
  grpc_call *gc;
  grpc_call_details details;
  grpc_metadata_array md;
  grpc_byte_buffer *recv_bb;
  grpc_byte_buffer *send_bb; /* kept until the send batch completes */
  int cancelled;
  int ops; /* operations in flight */
  bool closed;
  bool answered;
  bool handler_owns;
  char *method;
  gpr_timespec deadline;
  size_t n_md;
  char **md_kv; /* key, value, key, value... */
  struct kc_grpc_tag t_req, t_recv, t_close, t_send;
  struct kc_grpc_call *prev, *next;
};

/* Frees grpc's share of the call once no operation is in flight, and the call itself once the
   handler does not hold it either. */
void kc_grpc_call_release (kc_grpc_call *call);

#endif
