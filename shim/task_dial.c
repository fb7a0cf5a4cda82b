/* The connection to the pod's tasker: unix addresses through the ttrpc client, vsock and
   hybrid vsock (CONNECT <port>) dialed here and handed over as an fd. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "cleanup.h"
#include "log.h"
#include "shim.h"

#define HVSOCK_TIMEOUT_MS 2000

static int
dial_vsock (const char *rest, kc_error_t *err)
{
  struct sockaddr_vm svm;
  unsigned int cid, port;
  cleanup_close int fd = -1;

  if (sscanf (rest, "%u:%u", &cid, &port) != 2)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "bad vsock address `%s`", rest);
  memset (&svm, 0, sizeof (svm));
  svm.svm_family = AF_VSOCK;
  svm.svm_cid = cid;
  svm.svm_port = port;
  fd = socket (AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &svm, sizeof (svm)) < 0)
    return kc_error_code (err, KC_UNAVAILABLE, "connect vsock `%s`: %s", rest, strerror (errno));
  return steal_fd (&fd);
}

/* "path:port": connect the unix socket, send CONNECT <port>, expect a line starting "OK". */
static int
dial_hvsock (const char *rest, kc_error_t *err)
{
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  const char *colon = strrchr (rest, ':');
  cleanup_close int fd = -1;
  char line[64];
  size_t n = 0;
  int len;

  if (colon == NULL || (size_t) (colon - rest) >= sizeof (sun.sun_path))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "bad hvsock address `%s`", rest);
  memcpy (sun.sun_path, rest, (size_t) (colon - rest));
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &sun, sizeof (sun)) < 0)
    return kc_error_code (err, KC_UNAVAILABLE, "connect `%s`: %s", sun.sun_path, strerror (errno));
  len = snprintf (line, sizeof (line), "CONNECT %s\n", colon + 1);
  if (write (fd, line, (size_t) len) != len)
    return kc_error_code (err, KC_UNAVAILABLE, "hvsock `%s`: %s", rest, strerror (errno));
  while (n < sizeof (line) - 1)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      if (poll (&pfd, 1, HVSOCK_TIMEOUT_MS) <= 0 || read (fd, line + n, 1) != 1)
        return kc_error_code (err, KC_UNAVAILABLE, "hvsock `%s`: no answer to CONNECT", rest);
      if (line[n++] == '\n')
        break;
    }
  line[n] = '\0';
  if (strncmp (line, "OK", 2) != 0)
    return kc_error_code (err, KC_UNAVAILABLE, "hvsock `%s`: refused", rest);
  return steal_fd (&fd);
}

static kc_ttrpc_client *
dial_tasker (struct shim *shim, kc_error_t *err)
{
  cleanup_free char *scheme = NULL;
  cleanup_free char *rest = NULL;
  kc_ttrpc_client *cl;
  int fd;

  if (kc_address_parse (shim->task_address, &scheme, &rest, err) < 0)
    return NULL;
  if (strcmp (scheme, "unix") == 0)
    cl = kc_ttrpc_client_connect (shim->base, shim->task_address, err);
  else
    {
      fd = strcmp (scheme, "vsock") == 0 ? dial_vsock (rest, err) : dial_hvsock (rest, err);
      if (fd < 0)
        return NULL;
      cl = kc_ttrpc_client_new_fd (shim->base, fd, err);
      if (cl == NULL)
        close (fd);
    }
  return cl;
}

kc_ttrpc_client *
shim_tasker (struct shim *shim, kc_error_t *err)
{
  if (shim->tasker != NULL && kc_ttrpc_client_connected (shim->tasker))
    return shim->tasker;
  if (shim->task_address == NULL)
    {
      kc_error_code (err, KC_UNAVAILABLE, "sandbox `%s` has no task address yet", shim->id);
      return NULL;
    }
  if (shim->tasker != NULL)
    {
      kc_ttrpc_client_free (shim->tasker);
      shim->tasker = NULL;
    }
  shim->tasker = dial_tasker (shim, err);
  if (shim->tasker == NULL)
    {
      (*err)->code = KC_UNAVAILABLE;
      kc_error_wrap (err, "tasker `%s`", shim->task_address);
      return NULL;
    }
  kc_ttrpc_client_add_metadata (shim->tasker, "containerd-namespace-ttrpc", shim->ns);
  kc_log_debug ("connected to tasker %s", shim->task_address);
  return shim->tasker;
}

void
shim_set_task_address (struct shim *shim, const char *address, uint32_t version)
{
  if (address == NULL || *address == '\0')
    return;
  if (shim->task_address != NULL && strcmp (shim->task_address, address) == 0)
    return;
  free (shim->task_address);
  shim->task_address = strdup (address);
  shim->task_version = version;
  if (shim->tasker != NULL)
    {
      kc_ttrpc_client_free (shim->tasker);
      shim->tasker = NULL;
    }
}
