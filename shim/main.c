/* containerd-shim-kuasar-{wasm,vmm}-v2: parse the flags and run start, delete, -info or the
   daemon. The two binaries differ only in SHIM_FLAVOR_* (name, sandboxer socket, env var). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delete.h"
#include "flags.h"
#include "info.h"
#include "log.h"
#include "serve.h"
#include "start.h"

#if defined(SHIM_FLAVOR_VMM)
static const struct shim_flavor flavor = {
  "containerd-shim-kuasar-vmm-v2",
  "io.containerd.kuasar-vmm.v2",
  "/run/vmm-sandboxer.sock",
  "KUASAR_VMM_SANDBOXER_ADDRESS",
};
#else
static const struct shim_flavor flavor = {
  "containerd-shim-kuasar-wasm-v2",
  "io.containerd.kuasar-wasm.v2",
  "/run/wasm-sandboxer.sock",
  "KUASAR_WASM_SANDBOXER_ADDRESS",
};
#endif

int
main (int argc, char **argv)
{
  struct shim_flags flags;
  kc_error_t err = NULL;

  if (shim_flags_parse (&flags, argc, argv, &err) < 0)
    {
      fprintf (stderr, "%s: %s\n", flavor.binary_name, err->msg);
      shim_flags_usage (&flavor, stderr);
      kc_error_free (&err);
      return 2;
    }
  if (flags.help)
    {
      shim_flags_usage (&flavor, stdout);
      return 0;
    }
  if (flags.version)
    {
      printf ("%s:\n  Version: %s\n  Runtime: %s\n", flavor.binary_name, KC_VERSION, flavor.runtime_name);
      return 0;
    }
  if (flags.info)
    return shim_info_main (&flavor);
  kc_log_init (flavor.binary_name, flags.debug ? KC_LOG_DEBUG : KC_LOG_INFO);
  if (flags.action != NULL && strcmp (flags.action, "start") == 0)
    return shim_start_main (&flavor, &flags, argv);
  if (flags.action != NULL && strcmp (flags.action, "delete") == 0)
    return shim_delete_main (&flavor, &flags);
  return shim_serve_main (&flavor, &flags);
}
