/* The runtime options containerd writes on the stdin of `start`: a google.protobuf.Any
   (runtimeoptions.v1.Options with a TOML config_body) or, from 2.3 on, BootstrapParams. */
#ifndef SHIM_RUNTIME_OPTS_H
#define SHIM_RUNTIME_OPTS_H

#include <stddef.h>
#include <stdint.h>

struct shim_runtime_opts
{
  char *sandboxer_address;  /* `sandboxer_address = "..."` from the TOML, or NULL */
  char *containerd_version; /* from BootstrapParams (2.3+), or NULL */
};

/* Never fails: what cannot be parsed is ignored. */
void shim_runtime_opts_parse (const uint8_t *data, size_t len, struct shim_runtime_opts *out);
/* Finds `key = "value"` (or 'value') at the start of a line of a TOML text; malloc'ed or NULL. */
char *shim_toml_find_string (const char *toml, size_t len, const char *key);
void shim_runtime_opts_free (struct shim_runtime_opts *o);

#endif
