/* Finds a container's wasm module inside its rootfs (never escaping it) and checks it really is one. */
#ifndef KC_TASKER_MODULE_H
#define KC_TASKER_MODULE_H

#include <stddef.h>

#include "error.h"

/* 0 when buf (the first n bytes of path) starts with "\0asm"; INVALID_ARGUMENT
   "<path>: not a WebAssembly module (…)" otherwise. */
int kc_wasm_magic_check (const unsigned char *buf, size_t n, const char *path, kc_error_t *err);

/* Opens args0 of a process inside rootfs: an absolute path is taken relative to the rootfs, a
   relative one relative to cwd; symlinks resolve inside the rootfs. Returns an O_CLOEXEC fd of a
   checked wasm module, or -1 with INVALID_ARGUMENT. */
int kc_wasm_module_open (const char *rootfs, const char *cwd, const char *arg0, kc_error_t *err);

#endif
