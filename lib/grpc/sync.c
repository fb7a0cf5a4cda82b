/* kc_grpc_call_sync: one unary call on a private event loop (tests, command-line tools). */
#include "grpc_internal.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

struct sync_result
{
  bool done;
  int code;
  char *message;
  uint8_t *payload;
  size_t len;
};

static void
on_reply (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sync_result *r = userdata;

  r->done = true;
  r->code = code;
  r->message = strdup (message != NULL ? message : "");
  if (code == KC_OK && len > 0)
    {
      r->payload = malloc (len);
      if (r->payload == NULL)
        r->code = KC_RESOURCE_EXHAUSTED;
      else
        {
          memcpy (r->payload, payload, len);
          r->len = len;
        }
    }
}

static int
run (struct event_base *base, const char *target, const char *path, const ProtobufCMessage *req,
     const char *namespace_, int64_t timeout_ns, struct sync_result *r, kc_error_t *err)
{
  kc_grpc_client *cl = kc_grpc_client_new (base, target, err);
  int ret;

  if (cl == NULL)
    return -1;
  ret = kc_grpc_client_call (cl, path, req, namespace_, timeout_ns, 0, on_reply, r, err);
  while (ret == 0 && !r->done)
    if (event_base_loop (base, EVLOOP_ONCE) < 0)
      break;
  kc_grpc_client_free (cl);
  while (ret == 0 && !r->done)
    if (event_base_loop (base, EVLOOP_ONCE) < 0)
      break;
  return ret;
}

int
kc_grpc_call_sync (const char *target, const char *path, const ProtobufCMessage *req, const char *namespace_,
                   int64_t timeout_ns, uint8_t **reply, size_t *reply_len, kc_error_t *err)
{
  struct event_base *base = event_base_new ();
  struct sync_result r = { 0 };
  int ret;

  *reply = NULL;
  *reply_len = 0;
  if (base == NULL)
    return kc_error_code (err, KC_INTERNAL, "grpc call %s: cannot create an event loop", path);
  ret = run (base, target, path, req, namespace_, timeout_ns, &r, err);
  event_base_free (base);
  if (ret < 0)
    return -1;
  if (!r.done)
    ret = kc_error_code (err, KC_INTERNAL, "grpc call %s: no answer", path);
  else if (r.code != KC_OK)
    ret = kc_error_code (err, r.code, "%s", r.message != NULL ? r.message : "");
  else
    {
      *reply = steal_pointer (&r.payload);
      *reply_len = r.len;
    }
  free (r.message);
  free (r.payload);
  return ret;
}
