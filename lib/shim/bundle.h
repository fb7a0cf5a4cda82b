/* <bundle>/address: what start announces and delete cleans up after. */
#ifndef KC_SHIM_BUNDLE_H
#define KC_SHIM_BUNDLE_H

#include "error.h"

/* Writes text to <bundle>/address (atomically) and prints it on stdout. */
int kc_shim_announce (const char *bundle, const char *text, kc_error_t *err);
/* Unlinks the socket named in <bundle>/address (plain or JSON) when nothing answers there. */
void kc_shim_remove_dead_socket (const char *bundle);

#endif
