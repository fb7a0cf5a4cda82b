/* virtio-serial ports (vport.h). A port never sees "a new connection": read() returns 0 and
   poll() reports POLLHUP while the host side is detached, so we poll it on a short timer until
   the host attaches, and tell the owner on each transition. */
#include "vport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "cleanup.h"
#include "log.h"

#define KC_VPORT_POLL_MS    20
#define KC_VPORT_HIGH_WATER (4u << 20)

struct kc_vport
{
  struct event_base *base;
  int fd;        /* the port; the accepted connection (-1: none) in listener mode */
  int listen_fd; /* listener mode: the listening socket, else -1 */
  struct event *accept_ev;
  int connected;
  int read_paused; /* kc_vport_pause_read */
  struct event *rd, *wr, *timer;
  struct evbuffer *out;
  const struct kc_vport_ops *ops;
  void *userdata;
  char *path;
};

static int
port_name_matches (const char *dev, const char *name)
{
  char path[512], buf[256];
  FILE *f;
  int ok = 0;

  snprintf (path, sizeof (path), "/sys/class/virtio-ports/%s/name", dev);
  f = fopen (path, "re");
  if (f == NULL)
    return 0;
  if (fgets (buf, sizeof (buf), f) != NULL)
    {
      buf[strcspn (buf, "\n")] = '\0';
      ok = strcmp (buf, name) == 0;
    }
  fclose (f);
  return ok;
}

static char *
port_scan (const char *name)
{
  DIR *d = opendir ("/sys/class/virtio-ports");
  struct dirent *e;
  char *found = NULL;

  while (d != NULL && found == NULL && (e = readdir (d)) != NULL)
    if (e->d_name[0] != '.' && port_name_matches (e->d_name, name) && asprintf (&found, "/dev/%s", e->d_name) < 0)
      found = NULL;
  if (d != NULL)
    closedir (d);
  return found;
}

int
kc_vport_find (const char *name, int timeout_ms, char **dev_path, kc_error_t *err)
{
  struct timespec tick = { 0, 5 * 1000 * 1000 };

  for (int waited = 0; waited <= timeout_ms; waited += 5)
    {
      char *dev = port_scan (name);
      if (dev != NULL && access (dev, F_OK) == 0)
        {
          *dev_path = dev;
          return 0;
        }
      free (dev);
      nanosleep (&tick, NULL);
    }
  return kc_error_code (err, KC_NOT_FOUND, "no virtio-serial port named `%s` after %d ms", name, timeout_ms);
}

static void
poll_arm (kc_vport *p)
{
  struct timeval tv = { 0, KC_VPORT_POLL_MS * 1000 };
  evtimer_add (p->timer, &tv);
}

static void
port_disconnected (kc_vport *p)
{
  if (!p->connected)
    return;
  p->connected = 0;
  event_del (p->rd);
  event_del (p->wr);
  evbuffer_drain (p->out, evbuffer_get_length (p->out));
  kc_log_info ("host detached from %s", p->path);
  if (p->listen_fd >= 0)
    {
      close (p->fd);
      p->fd = -1;
    }
  if (p->ops->disconnected != NULL)
    p->ops->disconnected (p->userdata);
  if (p->listen_fd < 0)
    poll_arm (p);
}

/* A host is on the other end (port: no more POLLHUP; listener: a new connection). */
static void
host_attached (kc_vport *p)
{
  p->connected = 1;
  if (!p->read_paused)
    event_add (p->rd, NULL);
  kc_log_info ("host attached to %s", p->path);
  if (p->ops->connected != NULL)
    p->ops->connected (p->userdata);
}

static void
on_poll_timer (evutil_socket_t fd, short what, void *arg)
{
  kc_vport *p = arg;
  struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

  if (poll (&pfd, 1, 0) < 0 || (pfd.revents & POLLHUP))
    {
      poll_arm (p);
      return;
    }
  host_attached (p);
}

static void
on_readable (evutil_socket_t fd, short what, void *arg)
{
  kc_vport *p = arg;
  uint8_t buf[65536];
  ssize_t n = read (p->fd, buf, sizeof (buf));

  if (n > 0)
    p->ops->data (buf, (size_t) n, p->userdata);
  else if (n == 0 || (errno != EAGAIN && errno != EINTR))
    port_disconnected (p);
}

static void
on_writable (evutil_socket_t fd, short what, void *arg)
{
  kc_vport *p = arg;
  size_t before = evbuffer_get_length (p->out);

  if (evbuffer_write (p->out, p->fd) < 0 && errno != EAGAIN && errno != EINTR)
    {
      port_disconnected (p);
      return;
    }
  if (evbuffer_get_length (p->out) == 0)
    event_del (p->wr);
  if (before >= KC_VPORT_HIGH_WATER && !kc_vport_congested (p) && p->ops->drained != NULL)
    p->ops->drained (p->userdata);
}

static int
events_for_fd (kc_vport *p)
{
  if (p->rd != NULL)
    event_free (p->rd);
  if (p->wr != NULL)
    event_free (p->wr);
  p->rd = event_new (p->base, p->fd, EV_READ | EV_PERSIST, on_readable, p);
  p->wr = event_new (p->base, p->fd, EV_WRITE | EV_PERSIST, on_writable, p);
  return p->rd != NULL && p->wr != NULL ? 0 : -1;
}

/* Listener mode: the newest host connection replaces the current one. */
static void
on_accept (evutil_socket_t fd, short what, void *arg)
{
  kc_vport *p = arg;
  int conn = accept4 (p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

  if (conn < 0)
    return;
  port_disconnected (p);
  p->fd = conn;
  if (events_for_fd (p) < 0)
    {
      kc_log_error ("%s: no memory for the connection's events", p->path);
      close (p->fd);
      p->fd = -1;
      return;
    }
  host_attached (p);
}

static kc_vport *
vport_new (struct event_base *base, const char *name, const struct kc_vport_ops *ops, void *userdata, kc_error_t *err)
{
  kc_vport *p = calloc (1, sizeof (*p));

  if (p == NULL || (p->path = strdup (name)) == NULL || (p->out = evbuffer_new ()) == NULL)
    {
      kc_vport_free (p);
      return kc_error (err, ENOMEM, "vport"), NULL;
    }
  p->base = base;
  p->fd = p->listen_fd = -1;
  p->ops = ops;
  p->userdata = userdata;
  return p;
}

kc_vport *
kc_vport_open_listener (struct event_base *base, int listen_fd, const char *name, const struct kc_vport_ops *ops,
                        void *userdata, kc_error_t *err)
{
  kc_vport *p = vport_new (base, name, ops, userdata, err);

  if (p == NULL)
    {
      close (listen_fd);
      return NULL;
    }
  p->listen_fd = listen_fd;
  p->accept_ev = event_new (base, listen_fd, EV_READ | EV_PERSIST, on_accept, p);
  if (p->accept_ev == NULL || event_add (p->accept_ev, NULL) < 0)
    {
      kc_vport_free (p);
      return kc_error_code (err, KC_INTERNAL, "vport listener events"), NULL;
    }
  return p;
}

kc_vport *
kc_vport_open (struct event_base *base, const char *dev_path, const struct kc_vport_ops *ops, void *userdata,
               kc_error_t *err)
{
  kc_vport *p = calloc (1, sizeof (*p));

  if (p == NULL)
    return kc_error (err, ENOMEM, "vport"), NULL;
  p->base = base;
  p->listen_fd = -1;
  p->ops = ops;
  p->userdata = userdata;
  p->path = strdup (dev_path);
  p->fd = open (dev_path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (p->fd < 0)
    {
      kc_error (err, errno, "open `%s`", dev_path);
      free (p->path);
      free (p);
      return NULL;
    }
  p->rd = event_new (base, p->fd, EV_READ | EV_PERSIST, on_readable, p);
  p->wr = event_new (base, p->fd, EV_WRITE | EV_PERSIST, on_writable, p);
  p->timer = evtimer_new (base, on_poll_timer, p);
  p->out = evbuffer_new ();
  if (p->rd == NULL || p->wr == NULL || p->timer == NULL || p->out == NULL || p->path == NULL)
    {
      kc_vport_free (p);
      return kc_error_code (err, KC_INTERNAL, "vport events"), NULL;
    }
  on_poll_timer (-1, 0, p);
  return p;
}

void
kc_vport_free (kc_vport *p)
{
  if (p == NULL)
    return;
  if (p->rd != NULL)
    event_free (p->rd);
  if (p->wr != NULL)
    event_free (p->wr);
  if (p->timer != NULL)
    event_free (p->timer);
  if (p->accept_ev != NULL)
    event_free (p->accept_ev);
  if (p->listen_fd >= 0)
    close (p->listen_fd);
  if (p->out != NULL)
    evbuffer_free (p->out);
  if (p->fd >= 0)
    close (p->fd);
  free (p->path);
  free (p);
}

int
kc_vport_connected (kc_vport *p)
{
  return p->connected;
}

int
kc_vport_write (kc_vport *p, const void *buf, size_t len)
{
  if (!p->connected)
    return 0;
  if (evbuffer_add (p->out, buf, len) < 0)
    return -1;
  return event_add (p->wr, NULL);
}

int
kc_vport_congested (kc_vport *p)
{
  return evbuffer_get_length (p->out) >= KC_VPORT_HIGH_WATER;
}

void
kc_vport_pause_read (kc_vport *p, int paused)
{
  p->read_paused = paused;
  if (p->rd == NULL)
    return;
  if (paused)
    event_del (p->rd);
  else if (p->connected)
    event_add (p->rd, NULL);
}
