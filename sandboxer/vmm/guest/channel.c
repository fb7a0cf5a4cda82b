/* kuasar.channel= of the kernel command line and the guest's AF_VSOCK listeners (channel.h). */
#include "channel.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include "cleanup.h"
#include "cmdline.h"

static enum kc_channel
channel_of (int found, const char *value)
{
  if (found == 1 && (strcmp (value, "vsock") == 0 || strcmp (value, "hvsock") == 0))
    return KC_CHANNEL_VSOCK;
  return KC_CHANNEL_VIRTIO_SERIAL;
}

enum kc_channel
kc_channel_from_cmdline (const char *cmdline)
{
  char value[32];
  return channel_of (kc_cmdline_value (cmdline, "kuasar.channel", value, sizeof (value)), value);
}

enum kc_channel
kc_channel_current (void)
{
  char value[32];
  return channel_of (kc_cmdline_get ("kuasar.channel", value, sizeof (value)), value);
}

int
kc_vsock_listen (unsigned port, kc_error_t *err)
{
  struct sockaddr_vm svm = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
  cleanup_close int fd = socket (AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

  if (fd < 0)
    return kc_error (err, errno, "vsock socket (is vmw_vsock_virtio_transport loaded?)");
  if (bind (fd, (struct sockaddr *) &svm, sizeof (svm)) < 0)
    return kc_error (err, errno, "bind vsock port %u", port);
  if (listen (fd, 16) < 0)
    return kc_error (err, errno, "listen on vsock port %u", port);
  return steal_fd (&fd);
}
