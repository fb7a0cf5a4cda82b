/* `delete` (cwd = bundle): clean up after a dead shim and print a DeleteResponse (PROTOCOLS.md §2.5). */
#ifndef SHIM_DELETE_H
#define SHIM_DELETE_H

#include "flags.h"

/* Returns the process exit code; stdout carries only the serialized DeleteResponse. */
int shim_delete_main (const struct shim_flavor *flavor, const struct shim_flags *flags);

#endif
