/* The unary grpc server: requests generic calls from grpc core, reads each request message and
   dispatches it by method path to a registered handler on the loop thread. */
#include "server_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define KC_GRPC_REQUESTS 16

#define CALL_OF(tag, member) ((kc_grpc_call *) ((char *) (tag) - offsetof (kc_grpc_call, member)))

static void arm (kc_grpc_server *srv);

static void
on_close (struct kc_grpc_tag *tag, int ok)
{
  kc_grpc_call *call = CALL_OF (tag, t_close);

  call->ops--;
  call->closed = true;
  if (call->cancelled && !call->answered)
    kc_log_debug ("grpc server: %s cancelled by the client or its deadline", call->method);
  kc_grpc_call_release (call);
}

static struct kc_grpc_handler *
find_handler (kc_grpc_server *srv, const char *path)
{
  for (struct kc_grpc_handler *h = srv->handlers; h != NULL; h = h->next)
    if (strcmp (h->path, path) == 0)
      return h;
  return NULL;
}

static void
dispatch (kc_grpc_call *call)
{
  struct kc_grpc_handler *h = find_handler (call->srv, call->method);
  uint8_t *payload = NULL;
  size_t len = 0;

  if (h == NULL)
    {
      kc_grpc_call_error (call, KC_UNIMPLEMENTED, "unknown method %s", call->method);
      return;
    }
  if (kc_grpc_flatten (call->recv_bb, &payload, &len) < 0)
    {
      kc_grpc_call_error (call, KC_RESOURCE_EXHAUSTED, "cannot read the request of %s", call->method);
      return;
    }
  call->handler_owns = true;
  h->fn (call, payload, len, h->userdata);
  free (payload);
}

static void
on_recv (struct kc_grpc_tag *tag, int ok)
{
  kc_grpc_call *call = CALL_OF (tag, t_recv);

  call->ops--;
  if (!ok || call->srv == NULL || call->srv->dying || call->closed)
    {
      call->answered = true;
      kc_grpc_call_release (call);
      return;
    }
  if (call->recv_bb == NULL)
    {
      kc_grpc_call_error (call, KC_INVALID_ARGUMENT, "%s: no request message", call->method);
      return;
    }
  dispatch (call);
}

static int
copy_request (kc_grpc_call *call)
{
  call->method = kc_grpc_slice_strdup (call->details.method);
  call->deadline = call->details.deadline;
  call->md_kv = calloc (2 * call->md.count + 1, sizeof (char *));
  if (call->method == NULL || call->md_kv == NULL)
    return -1;
  for (size_t i = 0; i < call->md.count; i++)
    {
      call->md_kv[2 * i] = kc_grpc_slice_strdup (call->md.metadata[i].key);
      call->md_kv[2 * i + 1] = kc_grpc_slice_strdup (call->md.metadata[i].value);
      call->n_md = i + 1;
      if (call->md_kv[2 * i] == NULL || call->md_kv[2 * i + 1] == NULL)
        return -1;
    }
  return 0;
}

static void
start_reading (kc_grpc_call *call)
{
  grpc_op op;

  memset (&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &call->cancelled;
  call->t_close.fn = on_close;
  if (grpc_call_start_batch (call->gc, &op, 1, &call->t_close, NULL) == GRPC_CALL_OK)
    call->ops++;
  memset (&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &call->recv_bb;
  call->t_recv.fn = on_recv;
  if (grpc_call_start_batch (call->gc, &op, 1, &call->t_recv, NULL) == GRPC_CALL_OK)
    call->ops++;
}

static void
on_request (struct kc_grpc_tag *tag, int ok)
{
  kc_grpc_call *call = CALL_OF (tag, t_req);
  kc_grpc_server *srv = call->srv;
  int copied = ok ? copy_request (call) : -1;

  call->ops--;
  grpc_call_details_destroy (&call->details);
  grpc_metadata_array_destroy (&call->md);
  if (!ok || srv->dying)
    {
      call->answered = true;
      kc_grpc_call_release (call);
      return;
    }
  arm (srv);
  if (copied < 0)
    {
      kc_grpc_call_error (call, KC_RESOURCE_EXHAUSTED, "out of memory");
      return;
    }
  start_reading (call);
  if (call->ops == 0)
    {
      call->answered = true;
      kc_grpc_call_release (call);
    }
}

static void
arm (kc_grpc_server *srv)
{
  kc_grpc_call *call = calloc (1, sizeof *call);
  grpc_call_error e;

  if (call == NULL)
    {
      kc_log_error ("grpc server: out of memory requesting a call");
      return;
    }
  call->srv = srv;
  grpc_call_details_init (&call->details);
  grpc_metadata_array_init (&call->md);
  call->t_req.fn = on_request;
  call->next = srv->calls;
  if (srv->calls != NULL)
    srv->calls->prev = call;
  srv->calls = call;
  e = grpc_server_request_call (srv->gs, &call->gc, &call->details, &call->md, srv->bridge->cq, srv->bridge->cq,
                                &call->t_req);
  if (e == GRPC_CALL_OK)
    {
      call->ops++;
      return;
    }
  kc_log_error ("grpc server: request a call: error %d", (int) e);
  grpc_call_details_destroy (&call->details);
  grpc_metadata_array_destroy (&call->md);
  call->answered = true;
  kc_grpc_call_release (call);
}

kc_grpc_server *
kc_grpc_server_new (struct event_base *base)
{
  kc_grpc_server *srv = calloc (1, sizeof *srv);

  if (srv != NULL)
    srv->base = base;
  return srv;
}

int
kc_grpc_server_register (kc_grpc_server *srv, const char *path, kc_grpc_handler_fn fn, void *userdata,
                         kc_error_t *err)
{
  struct kc_grpc_handler *h;

  if (srv == NULL || path == NULL || path[0] != '/' || fn == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "register grpc handler: bad arguments");
  if (find_handler (srv, path) != NULL)
    return kc_error_code (err, KC_ALREADY_EXISTS, "grpc handler for %s already registered", path);
  h = calloc (1, sizeof *h);
  if (h == NULL || (h->path = strdup (path)) == NULL)
    {
      free (h);
      return kc_error (err, ENOMEM, "register grpc handler %s", path);
    }
  h->fn = fn;
  h->userdata = userdata;
  h->next = srv->handlers;
  srv->handlers = h;
  return 0;
}

static void
on_shutdown (struct kc_grpc_tag *tag, int ok)
{
  kc_grpc_server *srv = (kc_grpc_server *) ((char *) tag - offsetof (kc_grpc_server, shutdown_tag));

  srv->shutdown_done = true;
}

int
kc_grpc_server_start (kc_grpc_server *srv, const char *unix_path, kc_error_t *err)
{
  if (srv == NULL || unix_path == NULL || srv->gs != NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "start grpc server: bad arguments or already started");
  srv->bridge = kc_grpc_bridge_new (srv->base, err);
  if (srv->bridge == NULL)
    return kc_error_wrap (err, "start grpc server on `%s`", unix_path);
  srv->gs = grpc_server_create (NULL, NULL);
  grpc_server_register_completion_queue (srv->gs, srv->bridge->cq, NULL);
  grpc_server_start (srv->gs);
  srv->listener = kc_grpc_listen (srv->base, unix_path, srv->gs, err);
  if (srv->listener == NULL)
    return kc_error_wrap (err, "start grpc server");
  for (int i = 0; i < KC_GRPC_REQUESTS; i++)
    arm (srv);
  return 0;
}

static void
stop_grpc (kc_grpc_server *srv)
{
  srv->shutdown_tag.fn = on_shutdown;
  grpc_server_shutdown_and_notify (srv->gs, srv->bridge->cq, &srv->shutdown_tag);
  grpc_server_cancel_all_calls (srv->gs);
  for (kc_grpc_call *c = srv->calls; c != NULL; c = c->next)
    if (c->gc != NULL)
      grpc_call_cancel (c->gc, NULL);
  while (!srv->shutdown_done || srv->calls != NULL)
    kc_grpc_bridge_wait (srv->bridge);
  grpc_server_destroy (srv->gs);
  srv->gs = NULL;
}

void
kc_grpc_server_free (kc_grpc_server *srv)
{
  if (srv == NULL)
    return;
  srv->dying = true;
  kc_grpc_listener_free (srv->listener);
  srv->listener = NULL;
  if (srv->gs != NULL)
    stop_grpc (srv);
  kc_grpc_bridge_free (srv->bridge);
  while (srv->handlers != NULL)
    {
      struct kc_grpc_handler *h = srv->handlers;
      srv->handlers = h->next;
      free (h->path);
      free (h);
    }
  free (srv);
}
