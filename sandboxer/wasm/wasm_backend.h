/* The wasm backend of the common sandboxer: one kuasar-wasm-tasker process per sandbox. */
#ifndef KC_WASM_BACKEND_H
#define KC_WASM_BACKEND_H

#include "backend.h"

extern const struct kc_backend kc_wasm_backend;

/* argv for the tasker of rec living in sandbox_dir (see docs/internals.md); free with
   kc_wasm_tasker_argv_free. */
char **kc_wasm_tasker_argv (const struct kc_backend_ctx *ctx, const struct kc_sandbox_record *rec,
                            const char *sandbox_dir);
void kc_wasm_tasker_argv_free (char **argv);

#endif
