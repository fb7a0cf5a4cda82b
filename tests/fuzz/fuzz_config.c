/* libFuzzer target: the sandboxer's TOML-subset config parser (sandboxer/common/toml.c through
   config.c). Any input must give either a config or an error with a line number, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static int initialised;
  if (!initialised)
    {
      kc_log_init ("fuzz", KC_LOG_ERROR);
      initialised = 1;
    }
  struct kc_config cfg;
  kc_error_t err = NULL;
  kc_config_init (&cfg);
  if (kc_config_parse (&cfg, "wasm", (const char *) data, size, &err) < 0)
    {
      if (err == NULL || strncmp (err->msg, "line ", 5) != 0)
        abort ();
      kc_error_free (&err);
    }
  else if (cfg.stop_timeout_secs == 0 || (cfg.cache_dir != NULL && cfg.cache_dir[0] != '/'))
    abort ();
  kc_config_free (&cfg);
  return 0;
}
