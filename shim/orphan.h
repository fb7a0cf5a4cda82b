/* The end of a shim containerd gave up on. After a failed CreateSandbox or StartSandbox its shim
   controller tries ShutdownSandbox once and, whatever the answer, closes the connection, runs
   `delete` and removes the bundle: it never asks this daemon to exit. */
#ifndef SHIM_ORPHAN_H
#define SHIM_ORPHAN_H

#include "shim.h"

/* From now on (once a sandbox call failed) check every second whether the bundle is gone and
   exit when it is: only containerd removes it, once done with the pod (a containerd restart
   keeps it). Idempotent. */
void shim_orphan_watch (struct shim *shim);

#endif
