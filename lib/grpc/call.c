/* Answers to server calls (reply, error), request metadata and liveness; an answer to a call
   that grpc already finished (cancelled, deadline, server freed) is dropped. */
#include "server_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/support/time.h>

#include "log.h"

static void
unlink_call (kc_grpc_call *call)
{
  kc_grpc_server *srv = call->srv;

  if (srv == NULL)
    return;
  if (call->prev != NULL)
    call->prev->next = call->next;
  else
    srv->calls = call->next;
  if (call->next != NULL)
    call->next->prev = call->prev;
  call->prev = call->next = NULL;
  call->srv = NULL;
}

static void
free_call (kc_grpc_call *call)
{
  for (size_t i = 0; i < 2 * call->n_md; i++)
    free (call->md_kv[i]);
  free (call->md_kv);
  free (call->method);
  free (call);
}

void
kc_grpc_call_release (kc_grpc_call *call)
{
  if (call->ops > 0)
    return;
  if (call->gc != NULL)
    grpc_call_unref (call->gc);
  call->gc = NULL;
  if (call->recv_bb != NULL)
    grpc_byte_buffer_destroy (call->recv_bb);
  call->recv_bb = NULL;
  if (call->send_bb != NULL)
    grpc_byte_buffer_destroy (call->send_bb);
  call->send_bb = NULL;
  unlink_call (call);
  if (!call->handler_owns)
    free_call (call);
}

static void
on_sent (struct kc_grpc_tag *tag, int ok)
{
  kc_grpc_call *call = (kc_grpc_call *) ((char *) tag - offsetof (kc_grpc_call, t_send));

  call->ops--;
  kc_grpc_call_release (call);
}

static void
start_answer (kc_grpc_call *call, int code, const char *message, grpc_byte_buffer *bb)
{
  grpc_op ops[3];
  size_t n = 0;
  grpc_slice details = grpc_slice_from_copied_string (message != NULL ? message : "");

  memset (ops, 0, sizeof ops);
  ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  if (bb != NULL)
    {
      ops[n].op = GRPC_OP_SEND_MESSAGE;
      ops[n++].data.send_message.send_message = bb;
    }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = (grpc_status_code) code;
  ops[n++].data.send_status_from_server.status_details = code != 0 ? &details : NULL;
  call->t_send.fn = on_sent;
  if (grpc_call_start_batch (call->gc, ops, n, &call->t_send, NULL) == GRPC_CALL_OK)
    call->ops++;
  else
    kc_log_warn ("grpc server: %s: cannot send the answer", call->method);
  grpc_slice_unref (details);
}

/* Takes ownership of bb. */
static void
answer (kc_grpc_call *call, int code, const char *message, grpc_byte_buffer *bb)
{
  if (call == NULL)
    {
      if (bb != NULL)
        grpc_byte_buffer_destroy (bb);
      return;
    }
  if (call->answered)
    {
      kc_log_error ("grpc server: %s answered twice", call->method != NULL ? call->method : "call");
      if (bb != NULL)
        grpc_byte_buffer_destroy (bb);
      return;
    }
  call->answered = true;
  call->handler_owns = false;
  if (call->gc != NULL && call->srv != NULL && !call->closed && !call->srv->dying)
    {
      call->send_bb = bb;
      start_answer (call, code, message, bb);
    }
  else
    {
      kc_log_debug ("grpc server: %s: client gone, answer dropped", call->method);
      if (bb != NULL)
        grpc_byte_buffer_destroy (bb);
    }
  kc_grpc_call_release (call);
}

void
kc_grpc_call_reply (kc_grpc_call *call, const ProtobufCMessage *msg)
{
  grpc_byte_buffer *bb = kc_grpc_pack (msg);

  if (bb == NULL)
    answer (call, KC_INTERNAL, "cannot serialize the reply", NULL);
  else
    answer (call, KC_OK, NULL, bb);
}

void
kc_grpc_call_error (kc_grpc_call *call, int code, const char *fmt, ...)
{
  char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (code == KC_OK || code < 0 || code > KC_UNAUTHENTICATED)
    code = KC_UNKNOWN;
  answer (call, code, msg != NULL ? msg : "out of memory", NULL);
  free (msg);
}

void
kc_grpc_call_fail (kc_grpc_call *call, const kc_error_t *err)
{
  if (err == NULL || *err == NULL)
    kc_grpc_call_error (call, KC_UNKNOWN, "unknown error");
  else
    kc_grpc_call_error (call, (*err)->code, "%s", (*err)->msg != NULL ? (*err)->msg : "");
}

const char *
kc_grpc_call_metadata (kc_grpc_call *call, const char *key)
{
  if (call == NULL || key == NULL)
    return NULL;
  for (size_t i = 0; i < call->n_md; i++)
    if (strcasecmp (call->md_kv[2 * i], key) == 0)
      return call->md_kv[2 * i + 1];
  return NULL;
}

int
kc_grpc_call_alive (kc_grpc_call *call)
{
  gpr_timespec now;

  if (call == NULL || call->srv == NULL || call->gc == NULL || call->closed || call->answered
      || call->srv->dying)
    return 0;
  now = gpr_now (GPR_CLOCK_MONOTONIC);
  return gpr_time_cmp (now, gpr_convert_clock_type (call->deadline, GPR_CLOCK_MONOTONIC)) < 0;
}
