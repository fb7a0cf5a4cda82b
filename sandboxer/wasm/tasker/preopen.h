/* WASI preopens of a container: "/" is its rootfs, plus every volume bind mount whose source is a
   directory (CRI's file binds, /etc/hosts and the like, cannot be preopened and are skipped). */
#ifndef KC_TASKER_PREOPEN_H
#define KC_TASKER_PREOPEN_H

#include <stddef.h>

#include "error.h"
#include "spec.h"

/* *out: NULL-terminated "guest:host" strings, *n of them; free with kc_preopens_free. */
int kc_preopens_build (const char *rootfs, const struct kc_oci_mount *mounts, size_t nmounts, char ***out, size_t *n,
                       kc_error_t *err);
void kc_preopens_free (char **preopens);

#endif
