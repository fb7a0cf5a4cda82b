/* Which machine types a QEMU binary has: `<qemu> -machine help`, run once at startup. */
#ifndef KC_VMM_MACHINE_HELP_H
#define KC_VMM_MACHINE_HELP_H

#include "error.h"

/* 1 when the `-machine help` text lists machine `name` (a line starting with the name, or an
   alias of it), else 0. */
int vmm_machine_help_has (const char *text, const char *name);
/* The output of `<qemu> -machine help` into *text (malloc'ed), waiting at most timeout_ms; -1
   with err when QEMU cannot be run, fails or takes longer. */
int vmm_machine_help_run (const char *qemu, int timeout_ms, char **text, kc_error_t *err);

#endif
