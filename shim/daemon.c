/* The kuasar shim daemon on libkcshim: our per-pod state (sandboxer client, tasker client,
   process records) and the Sandbox and Task services, made and freed by the library's serve. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shim.h"

void
shim_request_exit (struct shim *shim)
{
  kc_shim_request_exit (shim->lib);
}

static int
daemon_init (struct shim *shim, kc_error_t *err)
{
  shim->sandboxer = kc_grpc_client_new (shim->base, shim->sandboxer_address, err);
  if (shim->sandboxer == NULL)
    return kc_error_wrap (err, "sandboxer client `%s`", shim->sandboxer_address);
  if (shim_sandbox_service_register (shim, err) < 0 || shim_task_service_register (shim, err) < 0)
    return -1;
  kc_log_info ("shim %s serving sandbox %s (namespace %s, sandboxer %s)", shim->flavor->binary_name, shim->id, shim->ns,
               shim->sandboxer_address);
  return 0;
}

int
shim_daemon_register (kc_ttrpc_server *server, struct kc_shim *lib, const struct shim_flavor *flavor, kc_error_t *err)
{
  struct shim *shim = calloc (1, sizeof (*shim));

  if (shim == NULL)
    return kc_error (err, ENOMEM, "init");
  kc_shim_set_data (lib, shim);
  shim->lib = lib;
  shim->base = kc_shim_base (lib);
  shim->server = server;
  shim->flavor = flavor;
  shim->ns = kc_shim_namespace (lib);
  shim->id = kc_shim_id (lib);
  shim->bundle = kc_shim_bundle (lib);
  shim->sandboxer_address = strdup (shim_sandboxer_address (flavor, kc_shim_flag (lib, SHIM_SANDBOXER_FLAG)));
  if (shim->sandboxer_address == NULL)
    return kc_error (err, ENOMEM, "init");
  return daemon_init (shim, err);
}

void
shim_daemon_destroy (struct kc_shim *lib)
{
  struct shim *shim = kc_shim_data (lib);

  if (shim == NULL)
    return;
  if (shim->tasker)
    kc_ttrpc_client_free (shim->tasker);
  if (shim->sandboxer)
    kc_grpc_client_free (shim->sandboxer);
  if (shim->orphan_watch)
    event_free (shim->orphan_watch);
  shim_procs_clear (&shim->procs);
  free (shim->sandboxer_address);
  free (shim->task_address);
  free (shim->sandbox_dir);
  free (shim);
  kc_shim_set_data (lib, NULL);
}
