/* What differs between containerd-shim-kuasar-wasm-v2 and containerd-shim-kuasar-vmm-v2, and
   where the sandboxer address comes from. */
#ifndef SHIM_FLAVOR_H
#define SHIM_FLAVOR_H

struct shim_flavor
{
  const char *binary_name;       /* containerd-shim-kuasar-wasm-v2 */
  const char *runtime_name;      /* io.containerd.kuasar-wasm.v2 */
  const char *default_sandboxer; /* /run/wasm-sandboxer.sock */
  const char *sandboxer_env;     /* KUASAR_WASM_SANDBOXER_ADDRESS */
};

/* Our extra flag: set by our own `start` from the runtime options, forwarded to the daemon. */
#define SHIM_SANDBOXER_FLAG "sandboxer-address"

/* Sandboxer address: flag (the -sandboxer-address value or NULL) > flavor env >
   KUASAR_SANDBOXER_ADDRESS > the flavor's default. */
const char *shim_sandboxer_address (const struct shim_flavor *flavor, const char *flag);

#endif
