/* A wasm engine behind a tiny vtable (crun's custom handlers): run one WASI command module in the
   calling process, whose fds 0-2 are already the container's stdio. */
#ifndef KC_TASKER_ENGINE_H
#define KC_TASKER_ENGINE_H

#include <stddef.h>

#include "error.h"

struct kc_wasm_run
{
  const char *module_path; /* host path of the module file */
  const char *const *args; /* args[0] as the spec gives it */
  size_t nargs;
  const char *const *env; /* "K=V" */
  size_t nenv;
  const char *const *preopens; /* "guest:host" */
  size_t npreopens;
};

struct kc_wasm_engine
{
  const char *name;
  /* Returns the WASI exit code (>= 0), or -1 with *err set when the module trapped or could not
     be loaded. */
  int (*run) (const struct kc_wasm_run *run, kc_error_t *err);
  /* AOT-compiles the module at in into out, a file run() accepts as module_path (NULL: the
     engine cannot compile). */
  int (*compile) (const char *in, const char *out, kc_error_t *err);
};

extern const struct kc_wasm_engine kc_wasm_engine_wasmedge;

#endif
