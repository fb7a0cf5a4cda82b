/* The sandboxer's TOML configuration: top-level log_level and a [<backend>] table
   (precompile, cache_dir, stop_timeout_secs). Unknown keys are warned about, not fatal. */
#ifndef KC_SANDBOXER_CONFIG_H
#define KC_SANDBOXER_CONFIG_H

#include <stddef.h>

#include "error.h"

#define KC_CONFIG_DEFAULT_STOP_TIMEOUT 10

struct kc_config
{
  int log_level; /* enum kc_log_level, -1 when the file does not set it */
  int precompile;
  char *cache_dir; /* NULL when unset */
  unsigned stop_timeout_secs;
  /* Keys of the backend's table that the backend reads itself (NULL-terminated, may be NULL):
     not "unknown" to the core. Set before kc_config_load. */
  const char *const *backend_keys;
};

void kc_config_init (struct kc_config *cfg);
void kc_config_free (struct kc_config *cfg);
/* section: the backend table name ("wasm"). Errors keep cfg valid (defaults or partial values). */
int kc_config_parse (struct kc_config *cfg, const char *section, const char *buf, size_t len, kc_error_t *err);
int kc_config_load (struct kc_config *cfg, const char *section, const char *path, kc_error_t *err);

#endif
