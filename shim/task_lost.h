/* Task calls once the pod's tasker is gone (its socket refuses even after a redial): its
   containers died with it (PR_SET_PDEATHSIG = SIGKILL), so they are reported exited with 137. */
#ifndef SHIM_TASK_LOST_H
#define SHIM_TASK_LOST_H

#include <stddef.h>
#include <stdint.h>

#include "shim.h"

#define SHIM_LOST_EXIT_STATUS 137

/* Answers Wait (137), Delete (137, events published) and Kill/State (NOT_FOUND) of a process the
   shim knows; returns 0 when it answered call, -1 when the caller should report the error. */
int shim_task_lost_answer (struct shim *shim, kc_ttrpc_call *call, const char *method, const uint8_t *payload,
                           size_t len);
/* Publishes the exit (137, now) of a started process of the gone tasker, once. */
void shim_task_lost_exit (struct shim *shim, struct shim_proc *p);

#endif
