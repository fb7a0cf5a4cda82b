/* The unary grpc client: one channel per target, each call one batch whose completion runs the
   caller's callback on the loop thread. */
#include "grpc_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "log.h"

struct client_call
{
  struct kc_grpc_tag tag;
  kc_grpc_client *cl;
  grpc_call *gc;
  grpc_metadata md;
  grpc_metadata_array init_md;
  grpc_metadata_array trailing_md;
  grpc_byte_buffer *send_bb;
  grpc_byte_buffer *recv_bb;
  grpc_status_code status;
  grpc_slice details;
  const char *error_string;
  kc_grpc_reply_fn cb;
  void *userdata;
  struct client_call *prev, *next;
};

struct kc_grpc_client
{
  struct event_base *base;
  struct kc_grpc_bridge *bridge;
  grpc_channel *ch;
  char *target;
  bool dying;
  struct client_call *calls;
};

/* A callback postponed to the next loop iteration (calls finished while the client is freed). */
struct deferred
{
  kc_grpc_reply_fn cb;
  void *userdata;
  int code;
  char *message;
  uint8_t *payload;
  size_t len;
};

static void
run_deferred (evutil_socket_t fd, short what, void *arg)
{
  struct deferred *d = arg;

  d->cb (d->code, d->message != NULL ? d->message : "", d->payload, d->len, d->userdata);
  free (d->message);
  free (d->payload);
  free (d);
}

static void
defer (kc_grpc_client *cl, kc_grpc_reply_fn cb, void *userdata, int code, char *message, uint8_t *payload,
       size_t len)
{
  struct deferred *d = calloc (1, sizeof *d);
  struct timeval now = { 0, 0 };

  if (d == NULL)
    {
      kc_log_error ("grpc client: out of memory: a callback is lost");
      free (message);
      free (payload);
      return;
    }
  *d = (struct deferred){ cb, userdata, code, message, payload, len };
  if (event_base_once (cl->base, -1, EV_TIMEOUT, run_deferred, d, &now) < 0)
    run_deferred (-1, 0, d);
}

static void
unlink_call (struct client_call *c)
{
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    c->cl->calls = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
}

static void
free_call (struct client_call *c)
{
  if (c->gc != NULL)
    grpc_call_unref (c->gc);
  grpc_slice_unref (c->md.value);
  grpc_metadata_array_destroy (&c->init_md);
  grpc_metadata_array_destroy (&c->trailing_md);
  if (c->send_bb != NULL)
    grpc_byte_buffer_destroy (c->send_bb);
  if (c->recv_bb != NULL)
    grpc_byte_buffer_destroy (c->recv_bb);
  grpc_slice_unref (c->details);
  gpr_free ((void *) c->error_string);
  free (c);
}

static char *
status_message (struct client_call *c, int code)
{
  char *details = kc_grpc_slice_strdup (c->details);
  char *msg = NULL;

  if (code == KC_UNAVAILABLE && details != NULL)
    {
      if (asprintf (&msg, "connect to %s: %s", c->cl->target, details) < 0)
        msg = NULL;
      free (details);
      return msg;
    }
  return details;
}

static void
on_done (struct kc_grpc_tag *tag, int ok)
{
  struct client_call *c = (struct client_call *) tag;
  kc_grpc_client *cl = c->cl;
  int code = ok ? (int) c->status : KC_INTERNAL;
  uint8_t *payload = NULL;
  size_t len = 0;
  char *message;
  kc_grpc_reply_fn cb;
  void *userdata;

  unlink_call (c);
  if (code == KC_OK && kc_grpc_flatten (c->recv_bb, &payload, &len) < 0)
    code = KC_RESOURCE_EXHAUSTED;
  if (cl->dying && code != KC_OK)
    {
      code = KC_CANCELLED;
      message = strdup ("grpc client closed");
    }
  else
    message = status_message (c, code);
  if (cl->dying)
    {
      defer (cl, c->cb, c->userdata, code, message, payload, len);
      free_call (c);
      return;
    }
  cb = c->cb;
  userdata = c->userdata;
  /* Done with grpc before the callback: it may free the client, and with it grpc itself. */
  free_call (c);
  cb (code, message != NULL ? message : "", payload, len, userdata);
  free (message);
  free (payload);
}

static grpc_arg
int_arg (const char *key, int value)
{
  grpc_arg a;

  memset (&a, 0, sizeof a);
  a.type = GRPC_ARG_INTEGER;
  a.key = (char *) key;
  a.value.integer = value;
  return a;
}

static char *
normalize_target (const char *target)
{
  static const char *const schemes[] = { "unix:", "unix-abstract:", "dns:", "ipv4:", "ipv6:" };
  char *out = NULL;

  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    if (strncmp (target, schemes[i], strlen (schemes[i])) == 0)
      return strdup (target);
  if (asprintf (&out, "unix:%s", target) < 0)
    return NULL;
  return out;
}

kc_grpc_client *
kc_grpc_client_new (struct event_base *base, const char *target, kc_error_t *err)
{
  kc_grpc_client *cl;
  grpc_channel_credentials *creds;
  grpc_arg args[3];
  grpc_channel_args chargs = { 3, args };

  if (base == NULL || target == NULL || target[0] == '\0')
    {
      kc_error_code (err, KC_INVALID_ARGUMENT, "grpc client: no target");
      return NULL;
    }
  cl = calloc (1, sizeof *cl);
  if (cl == NULL || (cl->target = normalize_target (target)) == NULL)
    {
      free (cl);
      kc_error (err, ENOMEM, "grpc client for `%s`", target);
      return NULL;
    }
  cl->base = base;
  cl->bridge = kc_grpc_bridge_new (base, err);
  if (cl->bridge == NULL)
    {
      kc_error_wrap (err, "grpc client for `%s`", target);
      free (cl->target);
      free (cl);
      return NULL;
    }
  /* The min backoff is also grpc core's connect timeout: keep it at 1 s, retry fast below it. */
  args[0] = int_arg (GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args[1] = int_arg (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args[2] = int_arg (GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  creds = grpc_insecure_credentials_create ();
  cl->ch = grpc_channel_create (cl->target, creds, &chargs);
  grpc_channel_credentials_release (creds);
  return cl;
}

static int
start_call (kc_grpc_client *cl, struct client_call *c, int wait_for_ready, bool has_ns)
{
  grpc_op ops[6];

  memset (ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = has_ns ? 1 : 0;
  ops[0].data.send_initial_metadata.metadata = has_ns ? &c->md : NULL;
  if (wait_for_ready)
    ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY | GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = c->send_bb;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->init_md;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &c->recv_bb;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.status = &c->status;
  ops[5].data.recv_status_on_client.status_details = &c->details;
  ops[5].data.recv_status_on_client.trailing_metadata = &c->trailing_md;
  ops[5].data.recv_status_on_client.error_string = &c->error_string;
  return grpc_call_start_batch (c->gc, ops, 6, &c->tag, NULL) == GRPC_CALL_OK ? 0 : -1;
}

int
kc_grpc_client_call (kc_grpc_client *cl, const char *path, const ProtobufCMessage *req, const char *namespace_,
                     int64_t timeout_ns, int wait_for_ready, kc_grpc_reply_fn cb, void *userdata, kc_error_t *err)
{
  struct client_call *c;
  grpc_slice method;

  if (cl == NULL || path == NULL || path[0] != '/' || cb == NULL || cl->dying)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "grpc call: bad arguments");
  c = calloc (1, sizeof *c);
  if (c == NULL)
    return kc_error (err, ENOMEM, "grpc call %s", path);
  c->tag.fn = on_done;
  c->cl = cl;
  c->cb = cb;
  c->userdata = userdata;
  c->md.key = grpc_slice_from_static_string ("containerd-namespace");
  c->md.value = grpc_slice_from_copied_string (namespace_ != NULL ? namespace_ : "");
  c->details = grpc_empty_slice ();
  grpc_metadata_array_init (&c->init_md);
  grpc_metadata_array_init (&c->trailing_md);
  c->send_bb = kc_grpc_pack (req);
  method = grpc_slice_from_copied_string (path);
  c->gc = grpc_channel_create_call (cl->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cl->bridge->cq, method, NULL,
                                    kc_grpc_deadline (timeout_ns), NULL);
  grpc_slice_unref (method);
  if (c->send_bb == NULL || c->gc == NULL || start_call (cl, c, wait_for_ready, namespace_ != NULL) < 0)
    {
      free_call (c);
      return kc_error_code (err, KC_INTERNAL, "grpc call %s to %s: cannot start", path, cl->target);
    }
  c->next = cl->calls;
  if (cl->calls != NULL)
    cl->calls->prev = c;
  cl->calls = c;
  return 0;
}

void
kc_grpc_client_free (kc_grpc_client *cl)
{
  if (cl == NULL)
    return;
  cl->dying = true;
  for (struct client_call *c = cl->calls; c != NULL; c = c->next)
    grpc_call_cancel_with_status (c->gc, GRPC_STATUS_CANCELLED, "grpc client closed", NULL);
  while (cl->calls != NULL)
    kc_grpc_bridge_wait (cl->bridge);
  grpc_channel_destroy (cl->ch);
  kc_grpc_bridge_free (cl->bridge);
  free (cl->target);
  free (cl);
}
