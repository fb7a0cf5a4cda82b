/* The host↔guest channel of this VM, from the kernel command line (kuasar.channel=, set by the
   sandboxer's QEMU command line): virtio-serial ports (vport.h) or vsock, where the Task API and
   the stdio mux each listen on an AF_VSOCK port. Kernel vhost-vsock and vhost-user-vsock
   (hvsock) look the same from inside the guest. */
#ifndef KC_VMM_CHANNEL_H
#define KC_VMM_CHANNEL_H

#include "error.h"

#define KC_VSOCK_TASK_PORT  1024 /* ttrpc, containerd.task.v2/v3.Task: one connection per host client */
#define KC_VSOCK_STDIO_PORT 1025 /* the stdio mux stream (stdio_mux.h): the latest connection wins */

enum kc_channel
{
  KC_CHANNEL_VIRTIO_SERIAL,
  KC_CHANNEL_VSOCK,
};

/* The channel named by kuasar.channel= in cmdline: vsock and hvsock are KC_CHANNEL_VSOCK;
   absent or anything else (virtio-serial, the default) KC_CHANNEL_VIRTIO_SERIAL. */
enum kc_channel kc_channel_from_cmdline (const char *cmdline);
/* The same for this kernel's /proc/cmdline. */
enum kc_channel kc_channel_current (void);
/* A listening AF_VSOCK stream socket on port (any cid), O_CLOEXEC|O_NONBLOCK. */
int kc_vsock_listen (unsigned port, kc_error_t *err);

#endif
