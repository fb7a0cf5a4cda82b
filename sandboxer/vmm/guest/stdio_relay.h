/* Guest side of the stdio mux: pumps each container process's stdout/stderr pipes into frames on
   the "stdio" port and the host's stdin frames into the processes' stdin pipes. */
#ifndef KC_VMM_STDIO_RELAY_H
#define KC_VMM_STDIO_RELAY_H

#include <event2/event.h>

#include "error.h"

typedef struct kc_stdio_relay kc_stdio_relay;

kc_stdio_relay *kc_stdio_relay_open (struct event_base *base, const char *dev_path, kc_error_t *err);
/* The same over a listening socket (vsock): each accepted host connection restarts the frame
   streams, as a re-attach of the port does. Takes ownership of listen_fd. */
kc_stdio_relay *kc_stdio_relay_open_listener (struct event_base *base, int listen_fd, const char *name,
                                              kc_error_t *err);
void kc_stdio_relay_free (kc_stdio_relay *r);
/* Takes ownership of the fds (-1 = stream absent): in_fd is the write end of the process's
   stdin, out_fd/err_fd the read ends of its stdout/stderr. key: "<cid>" or "<cid>/<exec-id>". */
int kc_stdio_relay_add (kc_stdio_relay *r, const char *key, int in_fd, int out_fd, int err_fd, kc_error_t *err);
/* CloseIO: the process sees EOF on stdin once queued input is written. */
void kc_stdio_relay_close_stdin (kc_stdio_relay *r, const char *key);
/* Forgets the process (Delete): its remaining output is dropped. */
void kc_stdio_relay_remove (kc_stdio_relay *r, const char *key);

#endif
