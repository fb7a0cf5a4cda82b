/* containerd-shim-kuasar-{wasm,vmm}-v2 on libkcshim: our flavor, our -sandboxer-address flag
   (filled by start from the runtime options), our delete and our daemon's services. The two
   binaries differ only in SHIM_FLAVOR_* (name, sandboxer socket, env var). */
#include <errno.h>

#include "delete.h"
#include "kc_shim.h"
#include "runtime_opts.h"
#include "shim.h"

#if defined(SHIM_FLAVOR_VMM)
#define BINARY_NAME  "containerd-shim-kuasar-vmm-v2"
#define RUNTIME_NAME "io.containerd.kuasar-vmm.v2"
static const struct shim_flavor flavor = {
  BINARY_NAME,
  RUNTIME_NAME,
  "/run/vmm-sandboxer.sock",
  "KUASAR_VMM_SANDBOXER_ADDRESS",
};
#define SANDBOXER_USAGE                                                                                                \
  "  -sandboxer-address A  sandboxer socket (default $KUASAR_VMM_SANDBOXER_ADDRESS, $KUASAR_SANDBOXER_ADDRESS, "       \
  "/run/vmm-sandboxer.sock)\n"
#else
#define BINARY_NAME  "containerd-shim-kuasar-wasm-v2"
#define RUNTIME_NAME "io.containerd.kuasar-wasm.v2"
static const struct shim_flavor flavor = {
  BINARY_NAME,
  RUNTIME_NAME,
  "/run/wasm-sandboxer.sock",
  "KUASAR_WASM_SANDBOXER_ADDRESS",
};
#define SANDBOXER_USAGE                                                                                                \
  "  -sandboxer-address A  sandboxer socket (default $KUASAR_WASM_SANDBOXER_ADDRESS, $KUASAR_SANDBOXER_ADDRESS, "      \
  "/run/wasm-sandboxer.sock)\n"
#endif

static const char *const extra_flags[] = { SHIM_SANDBOXER_FLAG, NULL };

/* The sandboxer_address runtime option wins over the -sandboxer-address we were given. */
static int
kuasar_start (struct kc_shim *lib, const uint8_t *options, size_t len, kc_error_t *err)
{
  struct shim_runtime_opts opts;
  int ret = 0;

  shim_runtime_opts_parse (options, len, &opts);
  if (opts.sandboxer_address != NULL && kc_shim_set_flag (lib, SHIM_SANDBOXER_FLAG, opts.sandboxer_address) < 0)
    ret = kc_error (err, ENOMEM, "start");
  shim_runtime_opts_free (&opts);
  return ret;
}

static int
kuasar_delete (struct kc_shim *lib, Containerd__Task__V2__DeleteResponse *resp, kc_error_t *err)
{
  return shim_delete_pod (lib, &flavor, err);
}

static int
kuasar_register (kc_ttrpc_server *server, struct kc_shim *lib, kc_error_t *err)
{
  return shim_daemon_register (server, lib, &flavor, err);
}

static const struct kc_shim_ops ops = {
  .binary_name = BINARY_NAME,
  .runtime_name = RUNTIME_NAME,
  .extra_flags = extra_flags,
  .usage_extra = SANDBOXER_USAGE,
  .task_api_v3 = 1,
  .start = kuasar_start,
  .delete_ = kuasar_delete,
  .register_services = kuasar_register,
  .destroy = shim_daemon_destroy,
};

int
main (int argc, char **argv)
{
  return kc_shim_main (argc, argv, &ops);
}
