/* The server's unix socket: we bind it (mode 0600), accept on the loop, refuse peers of another
   uid (SO_PEERCRED) and hand each accepted connection to grpc core as a ready channel. */
#include "grpc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>

#include "cleanup.h"
#include "log.h"

struct kc_grpc_listener
{
  grpc_server *server;
  grpc_server_credentials *creds;
  struct event *ev;
  struct event *retry; /* re-arms accepting after running out of fds */
  int fd;
  char *path;
  ino_t ino; /* of our socket file: never unlink a successor's */
};

static int
peer_is_us (int fd)
{
  struct ucred cred;
  socklen_t len = sizeof cred;

  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
    {
      kc_log_warn ("grpc server: SO_PEERCRED: %m");
      return 0;
    }
  if (cred.uid != geteuid ())
    {
      kc_log_warn ("grpc server: refused peer pid %d uid %u (not our uid %u)", (int) cred.pid,
                   (unsigned) cred.uid, (unsigned) geteuid ());
      return 0;
    }
  return 1;
}

static void
on_retry (evutil_socket_t fd, short what, void *arg)
{
  struct kc_grpc_listener *l = arg;

  event_add (l->ev, NULL);
}

/* Out of fds: the pending connection keeps the socket readable, so stop watching it for a
   moment instead of spinning the loop on accept failures. */
static void
back_off (struct kc_grpc_listener *l)
{
  struct timeval tv = { 0, 100 * 1000 };

  if (l->retry == NULL)
    l->retry = evtimer_new (event_get_base (l->ev), on_retry, l);
  if (l->retry == NULL)
    return;
  event_del (l->ev);
  evtimer_add (l->retry, &tv);
}

static void
on_accept (evutil_socket_t lfd, short what, void *arg)
{
  struct kc_grpc_listener *l = arg;

  for (;;)
    {
      int fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0)
        {
          int e = errno;

          if (e == EINTR || e == ECONNABORTED)
            continue;
          if (e == EAGAIN || e == EWOULDBLOCK)
            return;
          kc_log_warn ("grpc server: accept on `%s`: %s", l->path, strerror (e));
          if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
            back_off (l);
          return;
        }
      if (!peer_is_us (fd))
        {
          close (fd);
          continue;
        }
      grpc_server_add_channel_from_fd (l->server, fd, l->creds);
    }
}

/* 1 when a live server answers on path. */
static int
in_use (const struct sockaddr_un *sa)
{
  cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  return fd >= 0 && connect (fd, (const struct sockaddr *) sa, sizeof *sa) == 0;
}

static int
bind_path (const char *path, ino_t *ino, kc_error_t *err)
{
  cleanup_close int fd = -1;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct stat st;

  if (strlen (path) >= sizeof sa.sun_path)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "socket path `%s` too long", path);
  strcpy (sa.sun_path, path);
  if (lstat (path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        return kc_error_code (err, KC_ALREADY_EXISTS, "`%s` exists and is not a socket", path);
      if (in_use (&sa))
        return kc_error_code (err, KC_ALREADY_EXISTS, "`%s` is in use by a live server", path);
      if (unlink (path) < 0)
        return kc_error (err, errno, "remove stale socket `%s`", path);
    }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return kc_error (err, errno, "socket");
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return kc_error (err, errno, "bind `%s`", path);
  if (chmod (path, 0600) < 0)
    return kc_error (err, errno, "chmod `%s`", path);
  if (listen (fd, 128) < 0)
    return kc_error (err, errno, "listen on `%s`", path);
  if (stat (path, &st) == 0)
    *ino = st.st_ino;
  return steal_fd (&fd);
}

struct kc_grpc_listener *
kc_grpc_listen (struct event_base *base, const char *path, grpc_server *server, kc_error_t *err)
{
  struct kc_grpc_listener *l = calloc (1, sizeof *l);

  if (l == NULL)
    {
      kc_error (err, ENOMEM, "grpc listener");
      return NULL;
    }
  l->server = server;
  l->fd = bind_path (path, &l->ino, err);
  l->path = strdup (path);
  if (l->fd < 0 || l->path == NULL)
    goto fail;
  l->creds = grpc_insecure_server_credentials_create ();
  l->ev = event_new (base, l->fd, EV_READ | EV_PERSIST, on_accept, l);
  if (l->ev == NULL || event_add (l->ev, NULL) < 0)
    {
      kc_error_code (err, KC_INTERNAL, "watch listening socket `%s`", path);
      goto fail;
    }
  return l;
fail:
  if (l->fd >= 0 && l->path == NULL)
    kc_error (err, ENOMEM, "grpc listener");
  kc_grpc_listener_free (l);
  return NULL;
}

void
kc_grpc_listener_free (struct kc_grpc_listener *l)
{
  if (l == NULL)
    return;
  if (l->ev != NULL)
    event_free (l->ev);
  if (l->retry != NULL)
    event_free (l->retry);
  if (l->fd >= 0)
    {
      struct stat st;

      if (l->path != NULL && stat (l->path, &st) == 0 && st.st_ino == l->ino)
        unlink (l->path);
      close (l->fd);
    }
  if (l->creds != NULL)
    grpc_server_credentials_release (l->creds);
  free (l->path);
  free (l);
}
