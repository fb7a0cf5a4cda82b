/* The connection to the pod's tasker: every address form (unix, vsock, hybrid vsock) is dialed
   by lib/ttrpc (kc_stream_dial). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shim.h"

kc_ttrpc_client *
shim_tasker (struct shim *shim, kc_error_t *err)
{
  if (shim->tasker != NULL && kc_ttrpc_client_connected (shim->tasker))
    return shim->tasker;
  if (shim->task_address == NULL)
    {
      kc_error_code (err, KC_UNAVAILABLE, "sandbox `%s` has no task address yet", shim->id);
      return NULL;
    }
  if (shim->tasker != NULL)
    {
      kc_ttrpc_client_free (shim->tasker);
      shim->tasker = NULL;
    }
  shim->tasker = kc_ttrpc_client_connect (shim->base, shim->task_address, err);
  if (shim->tasker == NULL)
    {
      (*err)->code = KC_UNAVAILABLE;
      kc_error_wrap (err, "tasker `%s`", shim->task_address);
      return NULL;
    }
  kc_ttrpc_client_add_metadata (shim->tasker, "containerd-namespace-ttrpc", shim->ns);
  kc_log_debug ("connected to tasker %s", shim->task_address);
  return shim->tasker;
}

void
shim_set_sandbox_dir (struct shim *shim, const char *dir)
{
  char *copy;
  if (dir == NULL || *dir != '/' || (shim->sandbox_dir != NULL && strcmp (shim->sandbox_dir, dir) == 0))
    return;
  if ((copy = strdup (dir)) == NULL)
    return; /* out of memory: a vmm pod on kernel vsock then finds no shared dir, and says so */
  free (shim->sandbox_dir);
  shim->sandbox_dir = copy;
}

void
shim_set_task_address (struct shim *shim, const char *address, uint32_t version)
{
  if (address == NULL || *address == '\0')
    return;
  if (shim->task_address != NULL && strcmp (shim->task_address, address) == 0)
    return;
  free (shim->task_address);
  shim->task_address = strdup (address);
  shim->task_version = version;
  if (shim->tasker != NULL)
    {
      kc_ttrpc_client_free (shim->tasker);
      shim->tasker = NULL;
    }
}
