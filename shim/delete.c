/* `delete`, our part: for the pod's own id stop and shut the sandbox down through the sandboxer
   (short deadlines, errors tolerated) and remove its CRI files. Idempotent, fast. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "delete.h"
#include "grpc/kc_grpc.h"
#include "log.h"
#include "pod_files.h"
#include "sandbox_controller.pb-c.h"

#define DELETE_CALL_TIMEOUT_NS (1500LL * 1000000LL)
#define CONTROLLER_PATH        "/containerd.services.sandbox.v1.Controller/"

static void
sandboxer_call (const char *target, const char *method, const ProtobufCMessage *req, const char *ns)
{
  uint8_t *reply = NULL;
  size_t len = 0;
  kc_error_t err = NULL;

  if (kc_grpc_call_sync (target, method, req, ns, DELETE_CALL_TIMEOUT_NS, &reply, &len, &err) < 0)
    {
      if (err->code != KC_NOT_FOUND)
        kc_log_warn ("delete: %s on sandboxer %s: %s", method, target, err->msg);
      kc_error_free (&err);
    }
  free (reply);
}

static void
shutdown_sandbox (const char *target, const char *id, const char *ns)
{
  Containerd__Services__Sandbox__V1__ControllerStopRequest stop
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STOP_REQUEST__INIT;
  Containerd__Services__Sandbox__V1__ControllerShutdownRequest shutdown
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_SHUTDOWN_REQUEST__INIT;

  stop.sandbox_id = (char *) id;
  stop.timeout_secs = 0;
  sandboxer_call (target, CONTROLLER_PATH "Stop", &stop.base, ns);
  shutdown.sandbox_id = (char *) id;
  sandboxer_call (target, CONTROLLER_PATH "Shutdown", &shutdown.base, ns);
}

static void
remove_pod_files (const char *bundle, const char *id)
{
  struct shim_pod_dirs dirs;
  kc_error_t err = NULL;

  if (shim_pod_dirs_get (bundle, id, &dirs, &err) < 0 || shim_pod_files_cleanup (&dirs, &err) < 0)
    {
      kc_log_warn ("delete: %s", err->msg);
      kc_error_free (&err);
    }
  shim_pod_dirs_free (&dirs);
}

int
shim_delete_pod (struct kc_shim *lib, const struct shim_flavor *flavor, kc_error_t *err)
{
  const char *id = kc_shim_id (lib);
  cleanup_free char *group = kc_shim_group_id (kc_shim_bundle (lib), id);

  /* A container of the pod (2.x per-container start): never touch the pod itself. */
  if (group != NULL && strcmp (group, id) == 0)
    {
      shutdown_sandbox (shim_sandboxer_address (flavor, kc_shim_flag (lib, SHIM_SANDBOXER_FLAG)), id,
                        kc_shim_namespace (lib));
      remove_pod_files (kc_shim_bundle (lib), id);
    }
  return 0;
}
