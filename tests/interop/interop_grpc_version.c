/* Our grpc client against a real containerd 1.7: Version/Version answers "1.7…", an unknown
   method comes back UNIMPLEMENTED, an async call with a namespace works too. */
#include <stdlib.h>
#include <string.h>

#include "grpc/kc_grpc.h"
#include "harness.h"
#include "version.pb-c.h"

#define VERSION_PATH "/containerd.services.version.v1.Version/Version"

struct reply
{
  int done, code;
  char version[64];
};

static void
on_version (int code, const char *message, const uint8_t *payload, size_t len, void *ud)
{
  struct reply *r = ud;
  Containerd__Services__Version__V1__VersionResponse *resp
      = containerd__services__version__v1__version_response__unpack (NULL, len, payload);

  r->done = 1;
  r->code = code;
  if (resp != NULL)
    {
      snprintf (r->version, sizeof r->version, "%s", resp->version);
      containerd__services__version__v1__version_response__free_unpacked (resp, NULL);
    }
}

static int
async_call (const char *target)
{
  struct event_base *base = event_base_new ();
  Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
  kc_error_t err = NULL;
  struct reply r = { 0 };
  kc_grpc_client *cl = kc_grpc_client_new (base, target, &err);
  int ret = -1;

  CHECK (cl != NULL, "%s", err->msg);
  CHECK (kc_grpc_client_call (cl, VERSION_PATH, &empty.base, "default", 5000000000LL, 1, on_version, &r, &err) == 0,
         "%s", err->msg);
  while (!r.done)
    event_base_loop (base, EVLOOP_ONCE);
  CHECK (r.code == 0, "code %d", r.code);
  CHECK (strncmp (r.version, "1.7", 3) == 0, "version `%s`", r.version);
  ret = 0;
fail:
  kc_grpc_client_free (cl);
  event_base_free (base);
  kc_error_free (&err);
  return ret;
}

int
main (void)
{
  struct containerd c;
  Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
  Containerd__Services__Version__V1__VersionResponse *resp = NULL;
  kc_error_t err = NULL;
  uint8_t *reply = NULL;
  size_t len = 0;
  char target[200];
  int rc = 1;

  if (harness_start (&c) < 0)
    goto fail;
  snprintf (target, sizeof target, "unix://%s", c.grpc_sock);
  CHECK (kc_grpc_call_sync (target, VERSION_PATH, &empty.base, NULL, 5000000000LL, &reply, &len, &err) == 0, "%s",
         err->msg);
  resp = containerd__services__version__v1__version_response__unpack (NULL, len, reply);
  CHECK (resp != NULL, "cannot decode VersionResponse (%zu bytes)", len);
  CHECK (strncmp (resp->version, "1.7", 3) == 0, "containerd version `%s`, want 1.7.x", resp->version);
  printf ("containerd version %s revision %s\n", resp->version, resp->revision);
  CHECK (kc_grpc_call_sync (c.grpc_sock, "/containerd.services.version.v1.Version/Nope", &empty.base, NULL,
                            5000000000LL, &reply, &len, &err)
             == -1,
         "unknown method succeeded");
  CHECK (err->code == KC_UNIMPLEMENTED, "code %d: %s", err->code, err->msg);
  kc_error_free (&err);
  CHECK (async_call (target) == 0, "async call");
  printf ("PASS\n");
  rc = 0;
fail:
  if (rc != 0 && c.pid > 0)
    harness_dump_log (&c);
  if (resp != NULL)
    containerd__services__version__v1__version_response__free_unpacked (resp, NULL);
  free (reply);
  kc_error_free (&err);
  harness_stop (&c);
  return rc;
}
