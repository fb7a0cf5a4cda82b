/* A virtio-serial port of the guest (/dev/vportNpM) on the event loop: lookup by name, host
   connect/disconnect tracking (the port reports POLLHUP while no host client is attached) and
   buffered non-blocking writes. The same object over a listening socket (vsock): each accepted
   connection is an attach, and a new one replaces the current one (a host reconnect). */
#ifndef KC_VMM_VPORT_H
#define KC_VMM_VPORT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "error.h"

/* "/dev/vportNpM" of the port whose /sys/class/virtio-ports/<dev>/name is name; waits for the
   device to appear for up to timeout_ms. */
int kc_vport_find (const char *name, int timeout_ms, char **dev_path, kc_error_t *err);

struct kc_vport_ops
{
  void (*connected) (void *userdata);
  void (*data) (const uint8_t *buf, size_t len, void *userdata);
  void (*disconnected) (void *userdata);
  void (*drained) (void *userdata); /* output fell below the high-water mark again */
};

typedef struct kc_vport kc_vport;

kc_vport *kc_vport_open (struct event_base *base, const char *dev_path, const struct kc_vport_ops *ops, void *userdata,
                         kc_error_t *err);
/* Takes ownership of listen_fd (a listening stream socket); name is for the logs. */
kc_vport *kc_vport_open_listener (struct event_base *base, int listen_fd, const char *name,
                                  const struct kc_vport_ops *ops, void *userdata, kc_error_t *err);
void kc_vport_free (kc_vport *p);
int kc_vport_connected (kc_vport *p);
/* Queues bytes; dropped (returns 0) while the host is disconnected, since QEMU drops them too. */
int kc_vport_write (kc_vport *p, const void *buf, size_t len);
/* 1 when the output queue is above the high-water mark: producers should pause. */
int kc_vport_congested (kc_vport *p);
/* Back-pressure on the host: paused, the port is not read (the host's writes block once the
   virtio queue fills); resumed, reading starts again if the host is attached. */
void kc_vport_pause_read (kc_vport *p, int paused);

#endif
