/* Connected stream sockets for every address form (kc_stream_dial): a unix socket, the kernel's
   AF_VSOCK (vsock://cid:port) and hybrid vsock (hvsock://path:port: the unix socket of a
   vhost-user-vsock or Firecracker/Cloud Hypervisor backend, then `CONNECT <port>\n` answered by
   `OK <host port>\n`; the stream is then a byte pipe to the guest's port). */
#include "ttrpc.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "cleanup.h"

static int
unix_dial (const char *path, size_t len, int nonblock, kc_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;

  if (len == 0 || len >= sizeof addr.sun_path)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "bad unix socket path `%.*s`", (int) len, path);
  memcpy (addr.sun_path, path, len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0'; /* abstract socket */
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0)
    return kc_error (err, errno, "socket");
  /* A unix connect completes at once or fails (EAGAIN: backlog full), never blocks for long. */
  if (connect (fd, (struct sockaddr *) &addr, offsetof (struct sockaddr_un, sun_path) + len) < 0)
    return kc_error (err, errno, "connect `%.*s`", (int) len, path);
  return steal_fd (&fd);
}

static int
vsock_dial (const char *rest, int timeout_ms, kc_error_t *err)
{
  struct sockaddr_vm svm = { .svm_family = AF_VSOCK };
  struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
  unsigned int cid, port;
  cleanup_close int fd = -1;

  if (sscanf (rest, "%u:%u", &cid, &port) != 2)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "bad vsock address `%s`", rest);
  svm.svm_cid = cid;
  svm.svm_port = port;
  fd = socket (AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kc_error_code (err, KC_UNAVAILABLE, "vsock socket: %s", strerror (errno));
  /* AF_VSOCK's connect timeout (default 2 s) is this option, not SO_SNDTIMEO. */
  setsockopt (fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof (tv));
  if (connect (fd, (struct sockaddr *) &svm, sizeof (svm)) < 0)
    return kc_error_code (err, KC_UNAVAILABLE, "connect vsock `%s`: %s", rest, strerror (errno));
  return steal_fd (&fd);
}

static long
ms_left (const struct timespec *deadline)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* The answer line, one byte at a time: what follows it is the guest's data. */
static int
hvsock_read_line (int fd, char *line, size_t max, int timeout_ms)
{
  struct timespec deadline;
  size_t n = 0;

  clock_gettime (CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
  if (deadline.tv_nsec >= 1000000000)
    deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
  while (n < max - 1)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      long left = ms_left (&deadline);
      if (left <= 0 || poll (&pfd, 1, (int) left) <= 0 || read (fd, line + n, 1) != 1)
        return -1;
      if (line[n++] == '\n')
        break;
    }
  line[n] = '\0';
  return 0;
}

static int
hvsock_dial (const char *rest, int timeout_ms, kc_error_t *err)
{
  const char *colon = strrchr (rest, ':');
  cleanup_close int fd = -1;
  char line[64];
  int len;

  if (colon == NULL || colon == rest)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "bad hvsock address `%s`", rest);
  fd = unix_dial (rest, (size_t) (colon - rest), 0, err);
  if (fd < 0)
    return kc_error_wrap (err, "hvsock `%s`", rest);
  len = snprintf (line, sizeof (line), "CONNECT %s\n", colon + 1);
  if (len <= 0 || (size_t) len >= sizeof (line) || write (fd, line, (size_t) len) != len)
    return kc_error_code (err, KC_UNAVAILABLE, "hvsock `%s`: send CONNECT: %s", rest, strerror (errno));
  if (hvsock_read_line (fd, line, sizeof (line), timeout_ms) < 0)
    return kc_error_code (err, KC_UNAVAILABLE, "hvsock `%s`: no answer to CONNECT (guest not listening?)", rest);
  if (strncmp (line, "OK", 2) != 0)
    return kc_error_code (err, KC_UNAVAILABLE, "hvsock `%s`: refused: %.*s", rest, (int) strcspn (line, "\n"), line);
  return steal_fd (&fd);
}

int
kc_stream_dial (const char *address, int timeout_ms, kc_error_t *err)
{
  cleanup_free char *scheme = NULL;
  cleanup_free char *rest = NULL;

  if (kc_address_parse (address, &scheme, &rest, err) < 0)
    return -1;
  if (strcmp (scheme, "unix") == 0)
    return unix_dial (rest, strlen (rest), 1, err);
  if (strcmp (scheme, "vsock") == 0)
    return vsock_dial (rest, timeout_ms, err);
  return hvsock_dial (rest, timeout_ms, err);
}
