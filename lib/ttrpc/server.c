/* ttrpc server: method registry, listening sockets (path or fd), accepting with the
   same-user check, and the set of live connections. */
#include "ttrpc-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

kc_ttrpc_server *
kc_ttrpc_server_new (struct event_base *base)
{
  kc_ttrpc_server *srv = calloc (1, sizeof (*srv));

  if (srv == NULL)
    return NULL;
  kc_ttrpc_disarm_sigpipe ();
  srv->base = base;
  srv->require_same_user = 1;
  return srv;
}

static void
listener_free (struct kc_ttrpc_listener *l)
{
  if (l->ev)
    event_free (l->ev);
  if (l->retry)
    event_free (l->retry);
  close (l->fd);
  free (l);
}

void
kc_ttrpc_server_free (kc_ttrpc_server *srv)
{
  if (srv == NULL)
    return;
  while (srv->listeners)
    {
      struct kc_ttrpc_listener *l = srv->listeners;
      srv->listeners = l->next;
      listener_free (l);
    }
  /* The server is going away: nobody is told about these closes. */
  srv->closed_fn = NULL;
  while (srv->conns)
    kc_ttrpc_conn_free (srv->conns);
  for (size_t i = 0; i < srv->n_methods; i++)
    {
      free (srv->methods[i].service);
      free (srv->methods[i].method);
    }
  free (srv->methods);
  free (srv);
}

int
kc_ttrpc_server_register (kc_ttrpc_server *srv, const char *service, const char *method, kc_ttrpc_handler_fn fn,
                          void *userdata, kc_error_t *err)
{
  struct kc_ttrpc_method *m;

  if (service == NULL || method == NULL || fn == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "register ttrpc method: missing service, method or handler");
  if (kc_ttrpc_server_lookup (srv, service, method, NULL) != NULL)
    return kc_error_code (err, KC_ALREADY_EXISTS, "ttrpc method /%s/%s already registered", service, method);
  m = realloc (srv->methods, (srv->n_methods + 1) * sizeof (*m));
  if (m == NULL)
    return kc_error (err, ENOMEM, "register ttrpc method");
  srv->methods = m;
  m = &srv->methods[srv->n_methods];
  m->service = strdup (service);
  m->method = strdup (method);
  m->fn = fn;
  m->userdata = userdata;
  if (m->service == NULL || m->method == NULL)
    {
      free (m->service);
      free (m->method);
      return kc_error (err, ENOMEM, "register ttrpc method");
    }
  srv->n_methods++;
  return 0;
}

const struct kc_ttrpc_method *
kc_ttrpc_server_lookup (kc_ttrpc_server *srv, const char *service, const char *method, int *service_known)
{
  if (service_known)
    *service_known = 0;
  for (size_t i = 0; i < srv->n_methods; i++)
    {
      if (strcmp (srv->methods[i].service, service) != 0)
        continue;
      if (service_known)
        *service_known = 1;
      if (strcmp (srv->methods[i].method, method) == 0)
        return &srv->methods[i];
    }
  return NULL;
}

void
kc_ttrpc_server_set_require_same_user (kc_ttrpc_server *srv, int on)
{
  srv->require_same_user = on;
}

void
kc_ttrpc_server_set_conn_closed_cb (kc_ttrpc_server *srv, void (*fn) (void *), void *userdata)
{
  srv->closed_fn = fn;
  srv->closed_userdata = userdata;
}

size_t
kc_ttrpc_server_conn_count (kc_ttrpc_server *srv)
{
  return srv->n_conns;
}

int
kc_ttrpc_server_add_conn_fd (kc_ttrpc_server *srv, int fd, kc_error_t *err)
{
  /* The caller vouches for this fd (socketpair, virtio-serial): no credential check. */
  return kc_ttrpc_conn_new (srv, fd, err);
}

/* Same check as Go's UnixSocketRequireSameUser: peer uid and gid must be ours. */
static int
peer_is_same_user (int fd)
{
  struct ucred cred;
  socklen_t len = sizeof cred;

  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
    return 0;
  return cred.uid == geteuid () && cred.gid == getegid ();
}

static void
listener_retry_cb (evutil_socket_t fd, short what, void *arg)
{
  struct kc_ttrpc_listener *l = arg;
  event_add (l->ev, NULL);
}

/* Out of fds: stop accepting for a moment instead of spinning on a readable listener. */
static void
listener_back_off (struct kc_ttrpc_listener *l)
{
  struct timeval tv = { 0, 100 * 1000 };

  if (l->retry == NULL)
    l->retry = evtimer_new (l->srv->base, listener_retry_cb, l);
  if (l->retry == NULL)
    return;
  event_del (l->ev);
  evtimer_add (l->retry, &tv);
}

static void
listener_accept_cb (evutil_socket_t lfd, short what, void *arg)
{
  struct kc_ttrpc_listener *l = arg;

  /* Bounded so a flood of connections cannot starve the rest of the loop. */
  for (int i = 0; i < 32; i++)
    {
      cleanup_error kc_error_t err = NULL;
      cleanup_close int fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

      if (fd < 0)
        {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
              kc_log_warn ("ttrpc accept: %s", strerror (errno));
              listener_back_off (l);
            }
          return;
        }
      if (l->srv->require_same_user && !peer_is_same_user (fd))
        {
          kc_log_warn ("ttrpc: refusing a connection from another user");
          continue;
        }
      if (kc_ttrpc_conn_new (l->srv, steal_fd (&fd), &err) < 0)
        kc_log_warn ("ttrpc accept: %s", err->msg);
    }
}

int
kc_ttrpc_server_listen_fd (kc_ttrpc_server *srv, int fd, kc_error_t *err)
{
  struct kc_ttrpc_listener *l;

  if (evutil_make_socket_nonblocking (fd) < 0 || evutil_make_socket_closeonexec (fd) < 0)
    {
      close (fd);
      return kc_error (err, errno, "ttrpc listen: set O_NONBLOCK|O_CLOEXEC");
    }
  l = calloc (1, sizeof (*l));
  if (l == NULL)
    {
      close (fd);
      return kc_error (err, ENOMEM, "ttrpc listen");
    }
  l->srv = srv;
  l->fd = fd;
  l->ev = event_new (srv->base, fd, EV_READ | EV_PERSIST, listener_accept_cb, l);
  if (l->ev == NULL || event_add (l->ev, NULL) < 0)
    {
      listener_free (l);
      return kc_error_code (err, KC_INTERNAL, "ttrpc listen: cannot add the listening event");
    }
  l->next = srv->listeners;
  srv->listeners = l;
  return 0;
}

int
kc_ttrpc_server_listen_path (kc_ttrpc_server *srv, const char *path, kc_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;

  if (path == NULL || *path == '\0' || strlen (path) >= sizeof addr.sun_path)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "ttrpc listen: bad socket path `%s`", path ? path : "");
  memcpy (addr.sun_path, path, strlen (path));
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return kc_error (err, errno, "ttrpc listen: socket");
  if (unlink (path) < 0 && errno != ENOENT)
    return kc_error (err, errno, "ttrpc listen: unlink stale `%s`", path);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return kc_error (err, errno, "ttrpc listen: bind `%s`", path);
  if (chmod (path, 0600) < 0)
    return kc_error (err, errno, "ttrpc listen: chmod `%s`", path);
  if (listen (fd, SOMAXCONN) < 0)
    return kc_error (err, errno, "ttrpc listen: listen `%s`", path);
  return kc_ttrpc_server_listen_fd (srv, steal_fd (&fd), err);
}
