/* Kernel modules of the guest image: load order from modules.dep (dependencies first) and
   loading with finit_module, passing "<module>.<param>=..." of the kernel command line. */
#ifndef KC_VMM_MODULES_H
#define KC_VMM_MODULES_H

#include <stddef.h>

#include "error.h"

/* Every module of modules.dep text, each after its dependencies: a NULL-terminated vector of
   relative paths (free each and the vector). */
int kc_modules_order (const char *dep_text, char ***order, size_t *n, kc_error_t *err);
/* Parameters for module `name` ("virtio_mmio") found in cmdline, space separated (malloc'ed). */
char *kc_modules_cmdline_params (const char *cmdline, const char *name);
/* Loads every module under dir (/lib/modules/<release>); already loaded ones are fine. */
int kc_modules_load_all (const char *dir, kc_error_t *err);

#endif
