/* containerd's shim socket naming and the bind/connect probes of `start` and `delete`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "files.h"
#include "socket_addr.h"

/* Go's filepath.Join for already-clean parts: skip empty ones, join with '/'. */
static char *
join_path (const char *a, const char *b, const char *c)
{
  const char *parts[3] = { a, b, c };
  size_t n = 1;
  char *out;

  for (int i = 0; i < 3; i++)
    n += (parts[i] ? strlen (parts[i]) : 0) + 1;
  out = calloc (1, n);
  if (out == NULL)
    return NULL;
  for (int i = 0; i < 3; i++)
    {
      if (parts[i] == NULL || *parts[i] == '\0')
        continue;
      if (*out)
        strcat (out, "/");
      strcat (out, parts[i]);
    }
  return out;
}

int
shim_socket_path (const char *address, const char *ns, const char *group, char **out, kc_error_t *err)
{
  cleanup_free char *joined = join_path (address, ns, group);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  char hex[EVP_MAX_MD_SIZE * 2 + 1];

  if (joined == NULL)
    return kc_error (err, ENOMEM, "socket path");
  if (EVP_Digest (joined, strlen (joined), digest, &digest_len, EVP_sha256 (), NULL) != 1)
    return kc_error_code (err, KC_INTERNAL, "sha256 of `%s`", joined);
  for (unsigned int i = 0; i < digest_len; i++)
    snprintf (hex + 2 * i, 3, "%02x", digest[i]);
  if (asprintf (out, "%s/%s", SHIM_SOCKET_DIR, hex) < 0)
    return kc_error (err, ENOMEM, "socket path");
  return 0;
}

static int
fill_sockaddr (struct sockaddr_un *sun, const char *path)
{
  memset (sun, 0, sizeof (*sun));
  sun->sun_family = AF_UNIX;
  if (strlen (path) >= sizeof (sun->sun_path))
    return -1;
  strcpy (sun->sun_path, path);
  return 0;
}

int
shim_socket_alive (const char *path)
{
  struct sockaddr_un sun;
  cleanup_close int fd = -1;

  if (path == NULL || fill_sockaddr (&sun, path) < 0)
    return 0;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  return connect (fd, (struct sockaddr *) &sun, sizeof (sun)) == 0;
}

const char *
shim_socket_path_of_address (const char *address)
{
  if (address == NULL)
    return NULL;
  if (strncmp (address, "ttrpc+", 6) == 0)
    address += 6;
  if (strncmp (address, "unix://", 7) == 0)
    return address + 7;
  return NULL;
}

int
shim_socket_listen (const char *path, kc_error_t *err)
{
  struct sockaddr_un sun;
  cleanup_close int fd = -1;
  cleanup_free char *dir = strdup (path);
  char *slash;

  if (dir == NULL)
    return kc_error (err, ENOMEM, "listen `%s`", path);
  if (fill_sockaddr (&sun, path) < 0)
    return kc_error (err, ENAMETOOLONG, "socket path `%s`", path);
  slash = strrchr (dir, '/');
  if (slash != NULL && slash != dir)
    {
      *slash = '\0';
      if (shim_mkdir_p (dir, 0711, err) < 0)
        return -1;
    }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kc_error (err, errno, "socket");
  if (bind (fd, (struct sockaddr *) &sun, sizeof (sun)) < 0)
    return kc_error (err, errno, "bind `%s`", path);
  if (chmod (path, 0600) < 0 || listen (fd, 128) < 0)
    {
      int saved = errno;
      unlink (path);
      return kc_error (err, saved, "listen `%s`", path);
    }
  return steal_fd (&fd);
}
