/* Command line of the shim: Go-style flags (-flag value, -flag=value, --flag) and the action. */
#ifndef SHIM_FLAGS_H
#define SHIM_FLAGS_H

#include <stdio.h>

#include "error.h"

/* What differs between containerd-shim-kuasar-wasm-v2 and containerd-shim-kuasar-vmm-v2. */
struct shim_flavor
{
  const char *binary_name;       /* containerd-shim-kuasar-wasm-v2 */
  const char *runtime_name;      /* io.containerd.kuasar-wasm.v2 */
  const char *default_sandboxer; /* /run/wasm-sandboxer.sock */
  const char *sandboxer_env;     /* KUASAR_WASM_SANDBOXER_ADDRESS */
};

struct shim_flags
{
  const char *namespace_;
  const char *address;
  const char *publish_binary;
  const char *id;
  const char *bundle;
  const char *socket;
  const char *sandboxer; /* -sandboxer-address: set by our own `start` from runtime options */
  int debug;
  int version;
  int info;
  int help;
  const char *action; /* "start", "delete" or NULL (serve) */
};

/* Parses argv (pointers into argv are kept). Returns -1 with INVALID_ARGUMENT on a bad flag. */
int shim_flags_parse (struct shim_flags *f, int argc, char **argv, kc_error_t *err);
void shim_flags_usage (const struct shim_flavor *flavor, FILE *out);
/* Sandboxer address: the -sandboxer-address flag > flavor env > KUASAR_SANDBOXER_ADDRESS > default. */
const char *shim_sandboxer_address (const struct shim_flavor *flavor, const struct shim_flags *f);

#endif
