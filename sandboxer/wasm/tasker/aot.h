/* The AOT cache of --precompile: each module compiled once, cached by its sha256 as
   <cache>/<sha256>.so and reused by later starts. */
#ifndef KC_TASKER_AOT_H
#define KC_TASKER_AOT_H

#include "engine.h"
#include "error.h"

#define KC_SHA256_HEX_LEN 64

/* Lowercase hex sha256 of the whole file open on fd (read with pread, offset untouched). */
int kc_sha256_fd (int fd, char hex[KC_SHA256_HEX_LEN + 1], kc_error_t *err);

/* Path (malloc'd) of the compiled form of the module open on module_fd: the cached file when it
   exists, else compiled now into a temporary file of cache_dir and renamed into place (concurrent
   compiles of one module are safe: the last rename wins, with identical content). *compiled is 1
   when this call compiled. NULL with *err when it cannot: run the module interpreted. */
char *kc_aot_prepare (const struct kc_wasm_engine *engine, const char *cache_dir, int module_fd, int *compiled,
                      kc_error_t *err);

#endif
