/* -info (containerd 2.x introspection): a serialized containerd.types.RuntimeInfo on stdout. */
#ifndef SHIM_INFO_H
#define SHIM_INFO_H

#include "flags.h"

int shim_info_main (const struct shim_flavor *flavor);

#endif
