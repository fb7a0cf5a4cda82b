/* Blocking QMP: greeting, qmp_capabilities, then commands; replies are read line by line and
   asynchronous events are skipped. */
#include "qmp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

#define QMP_LINE_MAX 16384

static int
qmp_connect (const char *path, int timeout_ms, kc_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
  if (strlen (path) >= sizeof (sa.sun_path))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "QMP socket path too long");
  strcpy (sa.sun_path, path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kc_error (err, errno, "socket");
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof (tv));
  if (connect (fd, (struct sockaddr *) &sa, sizeof (sa)) < 0)
    {
      int e = errno;
      close (fd);
      return kc_error (err, e, "connect `%s`", path);
    }
  return fd;
}

/* Reads one '\n'-terminated line (byte by byte: QMP lines are short and rare). */
static int
read_line (int fd, char *buf, size_t max, kc_error_t *err)
{
  size_t n = 0;
  for (;;)
    {
      ssize_t r = read (fd, buf + n, 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return kc_error_code (err, KC_UNAVAILABLE, "QMP: %s", r == 0 ? "connection closed" : strerror (errno));
      if (buf[n] == '\n' || n + 2 >= max)
        {
          buf[n + 1] = '\0';
          return 0;
        }
      n++;
    }
}

/* Sends cmd and waits for its return (copied to reply when non-NULL), skipping events. */
static int
execute (int fd, const char *cmd, char *reply, size_t reply_max, kc_error_t *err)
{
  char line[QMP_LINE_MAX];
  size_t len = strlen (cmd);
  if (write (fd, cmd, len) != (ssize_t) len || write (fd, "\n", 1) != 1)
    return kc_error (err, errno, "QMP write");
  for (;;)
    {
      if (read_line (fd, line, sizeof (line), err) < 0)
        return kc_error_wrap (err, "QMP `%s`", cmd);
      if (strstr (line, "\"return\"") != NULL)
        {
          if (reply != NULL)
            snprintf (reply, reply_max, "%s", line);
          return 0;
        }
      if (strstr (line, "\"error\"") != NULL)
        return kc_error_code (err, KC_UNKNOWN, "QMP `%s`: %s", cmd, line);
    }
}

/* A connected session past the greeting and capability negotiation, or -1. */
static int
open_session (const char *sock_path, int timeout_ms, kc_error_t *err)
{
  char line[QMP_LINE_MAX];
  cleanup_close int fd = qmp_connect (sock_path, timeout_ms, err);
  if (fd < 0)
    return -1;
  if (read_line (fd, line, sizeof (line), err) < 0)
    return kc_error_wrap (err, "QMP greeting");
  if (execute (fd, "{\"execute\":\"qmp_capabilities\"}", NULL, 0, err) < 0)
    return -1;
  return steal_fd (&fd);
}

int
vmm_qmp_run (const char *sock_path, const char *const cmds[], int timeout_ms, kc_error_t *err)
{
  cleanup_close int fd = open_session (sock_path, timeout_ms, err);
  if (fd < 0)
    return -1;
  for (int i = 0; cmds[i] != NULL; i++)
    if (execute (fd, cmds[i], NULL, 0, err) < 0)
      return -1;
  return 0;
}

int
vmm_qmp_query (const char *sock_path, const char *cmd, char *reply, size_t reply_max, int timeout_ms, kc_error_t *err)
{
  cleanup_close int fd = open_session (sock_path, timeout_ms, err);
  if (fd < 0)
    return -1;
  return execute (fd, cmd, reply, reply_max, err);
}
