/* A minimal blocking QMP client (one session per call): boot retry, agent port state, quit. */
#ifndef KC_VMM_QMP_H
#define KC_VMM_QMP_H

#include <stddef.h>

#include "error.h"

/* Connects to the QMP socket, negotiates capabilities, sends each JSON command of cmds (NULL
   terminated) and waits for its "return" (an "error" answer fails). Each step times out after
   timeout_ms. */
int vmm_qmp_run (const char *sock_path, const char *const cmds[], int timeout_ms, kc_error_t *err);
/* One command whose "return" line is copied (truncated) to reply. */
int vmm_qmp_query (const char *sock_path, const char *cmd, char *reply, size_t reply_max, int timeout_ms,
                   kc_error_t *err);

/* query-chardev's reply line: 1 when chardev label has a client, 0 when it is
   "disconnected:...", -1 when the reply does not say. */
int vmm_qmp_chardev_attached (const char *reply, const char *label);

#endif
