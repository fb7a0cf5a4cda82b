/* The kernel command line's kuasar.* options (docs/vmm.md): how the host tells vmm-task which
   share, channel and network the VM has. */
#ifndef KC_VMM_CMDLINE_H
#define KC_VMM_CMDLINE_H

#include <stddef.h>

/* The value of the last `key=value` word of cmdline into out (NUL-terminated); 1 when found,
   0 when absent, -1 when the value does not fit. */
int kc_cmdline_value (const char *cmdline, const char *key, char *out, size_t max);
/* The same for this boot's /proc/cmdline (read once and kept). */
int kc_cmdline_get (const char *key, char *out, size_t max);

#endif
