/* Finds a container's wasm module inside its rootfs (never escaping it) and checks it really is one. */
#ifndef KC_TASKER_MODULE_H
#define KC_TASKER_MODULE_H

#include <stddef.h>

#include "error.h"

/* What names a process's module: its args[0], cwd and env (for PATH). */
struct kc_module_ref
{
  const char *arg0;
  const char *cwd; /* NULL: "/" */
  const char *const *env;
  size_t nenv;
};

/* 0 when buf (the first n bytes of path) starts with "\0asm"; INVALID_ARGUMENT
   "<path>: not a WebAssembly module (…): kuasar-wasm runs WASI modules only" otherwise. */
int kc_wasm_magic_check (const unsigned char *buf, size_t n, const char *path, kc_error_t *err);

/* Opens ref->arg0 inside rootfs as runc would find it: with a '/' it is the file itself (absolute
   from the rootfs, relative from cwd); a bare name is looked up in the env's PATH (default
   KC_DEFAULT_PATH), first regular file wins. Symlinks resolve inside the rootfs. Returns an
   O_CLOEXEC fd of a checked wasm module and, when resolved is not NULL, its normalised path in the
   rootfs (malloc'd); or -1 with INVALID_ARGUMENT ("<name>: not found in the rootfs (PATH=…)",
   "<path>: not a WebAssembly module (…)"). */
int kc_wasm_module_open (const char *rootfs, const struct kc_module_ref *ref, char **resolved, kc_error_t *err);

#endif
