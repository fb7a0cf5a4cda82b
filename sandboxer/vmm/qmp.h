/* A minimal blocking QMP client (one command per connection) for the boot probe's reset. */
#ifndef KC_VMM_QMP_H
#define KC_VMM_QMP_H

#include "error.h"

/* Connects to the QMP socket, negotiates capabilities, sends each JSON command of cmds (NULL
   terminated) and waits for its "return" (an "error" answer fails). Each step times out after
   timeout_ms. */
int vmm_qmp_run (const char *sock_path, const char *const cmds[], int timeout_ms, kc_error_t *err);

#endif
