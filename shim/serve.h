/* The shim daemon (no action): serves Sandbox and Task on the listener at fd 3. */
#ifndef SHIM_SERVE_H
#define SHIM_SERVE_H

#include "flags.h"

/* Returns the process exit code. */
int shim_serve_main (const struct shim_flavor *flavor, const struct shim_flags *flags);

#endif
