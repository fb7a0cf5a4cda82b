/* `start`: find or spawn the pod's shim daemon and print its address (PROTOCOLS.md §2.3). */
#ifndef SHIM_START_H
#define SHIM_START_H

#include "flags.h"

/* Returns the process exit code. Prints only the address on stdout on success. */
int shim_start_main (const struct shim_flavor *flavor, const struct shim_flags *flags, char **argv);
/* The grouping id: io.kubernetes.cri.sandbox-id from <bundle>/config.json, else id (malloc'ed). */
char *shim_group_id (const char *bundle, const char *id);

#endif
