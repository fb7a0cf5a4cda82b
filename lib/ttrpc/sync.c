/* kc_ttrpc_call_sync: one call on a private event loop, for CLI verbs (shim delete, tools). */
#include "ttrpc-internal.h"

#include <stdlib.h>
#include <string.h>

struct sync_result
{
  int done;
  int code;
  char *message;
  uint8_t *payload;
  size_t len;
};

static void
sync_reply_cb (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct sync_result *res = userdata;

  res->done = 1;
  res->code = code;
  res->message = strdup (message);
  if (code == KC_OK && len > 0)
    {
      res->payload = malloc (len);
      if (res->payload == NULL)
        {
          res->code = KC_RESOURCE_EXHAUSTED;
          return;
        }
      memcpy (res->payload, payload, len);
      res->len = len;
    }
}

static int
sync_run (struct event_base *base, const char *address, const char *service, const char *method,
          const ProtobufCMessage *req, int64_t timeout_ns, struct sync_result *res, kc_error_t *err)
{
  kc_ttrpc_client *cl = kc_ttrpc_client_connect (base, address, err);

  if (cl == NULL)
    return -1;
  if (kc_ttrpc_client_call (cl, service, method, req, timeout_ns, sync_reply_cb, res, err) < 0)
    {
      kc_ttrpc_client_free (cl);
      return -1;
    }
  /* The call's deadline timer or a dropped connection always ends this loop when a timeout
     is given; without one we wait for the server as long as it keeps the connection. */
  while (!res->done)
    if (event_base_loop (base, EVLOOP_ONCE) < 0)
      break;
  kc_ttrpc_client_free (cl);
  if (!res->done)
    return kc_error_code (err, KC_INTERNAL, "event loop failed");
  return 0;
}

int
kc_ttrpc_call_sync (const char *address, const char *service, const char *method, const ProtobufCMessage *req,
                    int64_t timeout_ns, uint8_t **reply, size_t *reply_len, kc_error_t *err)
{
  struct sync_result res = { 0 };
  struct event_base *base = event_base_new ();
  int ret;

  *reply = NULL;
  *reply_len = 0;
  if (base == NULL)
    return kc_error_code (err, KC_INTERNAL, "event_base_new failed");
  ret = sync_run (base, address, service, method, req, timeout_ns, &res, err);
  event_base_free (base);
  if (ret < 0)
    return kc_error_wrap (err, "call /%s/%s on `%s`", service, method, address);
  if (res.code != KC_OK)
    {
      kc_error_code (err, res.code, "%s", res.message ? res.message : "");
      free (res.message);
      free (res.payload);
      return -1;
    }
  free (res.message);
  *reply = res.payload;
  *reply_len = res.len;
  return 0;
}
