/* Container stdio over the "stdio" port (stdio_relay.h, framing in stdio_mux.h). Output streams
   pause while the port's queue is congested; stdin bytes queue per process until its pipe can
   take them, and the port is not read while a queue is over KC_RELAY_STDIN_CAP. */
#include "stdio_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "stdio_mux.h"
#include "vport.h"

#define KC_RELAY_CHUNK 32768
/* Stdin bytes queued for one process beyond which the host is made to wait (back-pressure:
   one slow reader holds up stdin of the pod's other processes, never their output). */
#define KC_RELAY_STDIN_CAP (1024 * 1024)

struct relay_proc;

struct relay_stream
{
  struct relay_proc *owner;
  uint8_t kind;
  int fd;
  struct event *ev;
  int paused;
};

struct relay_proc
{
  char *key;
  struct relay_stream out, err, in;
  struct evbuffer *in_queue;
  int in_closing; /* close stdin once in_queue is empty */
  struct relay_proc *next;
  kc_stdio_relay *relay;
};

struct kc_stdio_relay
{
  struct event_base *base;
  kc_vport *port;
  struct kc_mux_decoder dec;
  struct relay_proc *procs;
  int read_paused;
};

static void
stream_close (struct relay_stream *s)
{
  if (s->ev != NULL)
    event_free (s->ev);
  if (s->fd >= 0)
    close (s->fd);
  s->ev = NULL;
  s->fd = -1;
}

static void
send_frame (kc_stdio_relay *r, uint8_t kind, const char *key, const void *data, size_t len)
{
  struct kc_mux_frame f = { .kind = kind, .key = key, .key_len = strlen (key), .data = data, .data_len = len };
  uint8_t hdr[KC_MUX_HEADER_SIZE];

  if (kc_mux_header_encode (hdr, kind, f.key_len, len, NULL) < 0)
    return;
  kc_vport_write (r->port, hdr, sizeof (hdr));
  kc_vport_write (r->port, key, f.key_len);
  if (len > 0)
    kc_vport_write (r->port, data, len);
}

static void
on_output (evutil_socket_t fd, short what, void *arg)
{
  struct relay_stream *s = arg;
  kc_stdio_relay *r = s->owner->relay;
  uint8_t buf[KC_RELAY_CHUNK];
  ssize_t n = read (s->fd, buf, sizeof (buf));

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0)
    {
      send_frame (r, s->kind, s->owner->key, buf, (size_t) n);
      if (kc_vport_congested (r->port))
        {
          event_del (s->ev);
          s->paused = 1;
        }
      return;
    }
  send_frame (r, KC_MUX_CLOSE, s->owner->key, &s->kind, 1);
  stream_close (s);
}

static void
on_drained (void *arg)
{
  kc_stdio_relay *r = arg;

  for (struct relay_proc *p = r->procs; p != NULL; p = p->next)
    for (struct relay_stream *s = &p->out; s <= &p->err; s++)
      if (s->paused && s->ev != NULL)
        {
          s->paused = 0;
          event_add (s->ev, NULL);
        }
}

static void
stdin_flush (struct relay_proc *p)
{
  if (p->in.fd < 0)
    return;
  if (evbuffer_get_length (p->in_queue) > 0 && evbuffer_write (p->in_queue, p->in.fd) < 0 && errno != EAGAIN)
    {
      evbuffer_drain (p->in_queue, evbuffer_get_length (p->in_queue));
      stream_close (&p->in); /* the process closed its stdin (EPIPE) */
      return;
    }
  if (evbuffer_get_length (p->in_queue) > 0)
    event_add (p->in.ev, NULL);
  else if (p->in_closing)
    stream_close (&p->in);
  else
    event_del (p->in.ev);
}

/* Reads the port only while every stdin queue is under the cap. */
static void
port_read_update (kc_stdio_relay *r)
{
  int full = 0;

  for (struct relay_proc *p = r->procs; p != NULL && !full; p = p->next)
    full = p->in.fd >= 0 && evbuffer_get_length (p->in_queue) >= KC_RELAY_STDIN_CAP;
  if (full == r->read_paused)
    return;
  r->read_paused = full;
  kc_log_debug ("stdio port: %s (stdin queue cap)", full ? "paused" : "resumed");
  kc_vport_pause_read (r->port, full);
}

static void
on_stdin_writable (evutil_socket_t fd, short what, void *arg)
{
  struct relay_proc *p = arg;

  stdin_flush (p);
  port_read_update (p->relay);
}

static struct relay_proc *
proc_find (kc_stdio_relay *r, const char *key, size_t key_len)
{
  for (struct relay_proc *p = r->procs; p != NULL; p = p->next)
    if (strlen (p->key) == key_len && memcmp (p->key, key, key_len) == 0)
      return p;
  return NULL;
}

static int
on_host_frame (const struct kc_mux_frame *f, void *arg)
{
  kc_stdio_relay *r = arg;
  struct relay_proc *p = proc_find (r, f->key, f->key_len);

  if (p == NULL || p->in.fd < 0)
    {
      kc_log_debug ("stdio: frame kind %u for `%.*s` without stdin: dropped", f->kind, (int) f->key_len, f->key);
      return 0;
    }
  if (f->kind == KC_MUX_STDIN)
    evbuffer_add (p->in_queue, f->data, f->data_len);
  else if (f->kind == KC_MUX_CLOSE)
    p->in_closing = 1;
  stdin_flush (p);
  return 0;
}

static void
on_host_bytes (const uint8_t *buf, size_t len, void *arg)
{
  kc_stdio_relay *r = arg;
  kc_error_t err = NULL;

  if (kc_mux_decoder_feed (&r->dec, buf, len, on_host_frame, r, &err) < 0)
    {
      kc_log_error ("stdio port: %s; resetting the decoder", err->msg);
      kc_error_free (&err);
      kc_mux_decoder_free (&r->dec);
    }
  port_read_update (r);
}

/* A new host side starts a new frame stream in both directions. */
static void
on_attach_change (void *arg)
{
  kc_stdio_relay *r = arg;
  kc_mux_decoder_free (&r->dec);
}

static const struct kc_vport_ops relay_ops = {
  .connected = on_attach_change,
  .data = on_host_bytes,
  .disconnected = on_attach_change,
  .drained = on_drained,
};

static kc_stdio_relay *
relay_new (struct event_base *base)
{
  kc_stdio_relay *r = calloc (1, sizeof (*r));

  if (r == NULL)
    return NULL;
  r->base = base;
  kc_mux_decoder_init (&r->dec);
  return r;
}

kc_stdio_relay *
kc_stdio_relay_open (struct event_base *base, const char *dev_path, kc_error_t *err)
{
  kc_stdio_relay *r = relay_new (base);

  if (r == NULL)
    return kc_error (err, ENOMEM, "stdio relay"), NULL;
  r->port = kc_vport_open (base, dev_path, &relay_ops, r, err);
  if (r->port == NULL)
    {
      free (r);
      return NULL;
    }
  return r;
}

kc_stdio_relay *
kc_stdio_relay_open_listener (struct event_base *base, int listen_fd, const char *name, kc_error_t *err)
{
  kc_stdio_relay *r = relay_new (base);

  if (r == NULL)
    {
      close (listen_fd);
      return kc_error (err, ENOMEM, "stdio relay"), NULL;
    }
  r->port = kc_vport_open_listener (base, listen_fd, name, &relay_ops, r, err);
  if (r->port == NULL)
    {
      free (r);
      return NULL;
    }
  return r;
}

static int
stream_init (struct relay_proc *p, struct relay_stream *s, uint8_t kind, int fd, short what, event_callback_fn fn)
{
  s->owner = p;
  s->kind = kind;
  s->fd = fd;
  if (fd < 0)
    return 0;
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  s->ev = event_new (p->relay->base, fd, what, fn, kind == KC_MUX_STDIN ? (void *) p : (void *) s);
  if (s->ev == NULL)
    return -1;
  return kind == KC_MUX_STDIN ? 0 : event_add (s->ev, NULL);
}

static void
proc_free (struct relay_proc *p)
{
  stream_close (&p->out);
  stream_close (&p->err);
  stream_close (&p->in);
  if (p->in_queue != NULL)
    evbuffer_free (p->in_queue);
  free (p->key);
  free (p);
}

int
kc_stdio_relay_add (kc_stdio_relay *r, const char *key, int in_fd, int out_fd, int err_fd, kc_error_t *err)
{
  struct relay_proc *p = calloc (1, sizeof (*p));

  if (p == NULL)
    {
      close (in_fd), close (out_fd), close (err_fd);
      return kc_error (err, ENOMEM, "stdio relay");
    }
  p->relay = r;
  p->out.fd = p->err.fd = p->in.fd = -1;
  p->key = strdup (key);
  p->in_queue = evbuffer_new ();
  if (stream_init (p, &p->out, KC_MUX_STDOUT, out_fd, EV_READ | EV_PERSIST, on_output) < 0
      || stream_init (p, &p->err, KC_MUX_STDERR, err_fd, EV_READ | EV_PERSIST, on_output) < 0
      || stream_init (p, &p->in, KC_MUX_STDIN, in_fd, EV_WRITE, on_stdin_writable) < 0 || p->key == NULL
      || p->in_queue == NULL)
    {
      proc_free (p);
      return kc_error_code (err, KC_INTERNAL, "stdio relay of `%s`", key);
    }
  p->next = r->procs;
  r->procs = p;
  return 0;
}

void
kc_stdio_relay_close_stdin (kc_stdio_relay *r, const char *key)
{
  struct relay_proc *p = proc_find (r, key, strlen (key));

  if (p == NULL)
    return;
  p->in_closing = 1;
  stdin_flush (p);
  port_read_update (r);
}

/* The process is gone: pass what its pipes still hold before forgetting them. */
static void
proc_drain (struct relay_proc *p)
{
  for (struct relay_stream *s = &p->out; s <= &p->err; s++)
    for (int i = 0; s->fd >= 0 && i < 64; i++)
      {
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        if (poll (&pfd, 1, 0) <= 0)
          break;
        on_output (s->fd, EV_READ, s);
      }
}

void
kc_stdio_relay_remove (kc_stdio_relay *r, const char *key)
{
  for (struct relay_proc **pp = &r->procs; *pp != NULL; pp = &(*pp)->next)
    if (strcmp ((*pp)->key, key) == 0)
      {
        struct relay_proc *p = *pp;
        *pp = p->next;
        proc_drain (p);
        proc_free (p);
        port_read_update (r);
        return;
      }
}

void
kc_stdio_relay_free (kc_stdio_relay *r)
{
  if (r == NULL)
    return;
  while (r->procs != NULL)
    {
      struct relay_proc *p = r->procs;
      r->procs = p->next;
      proc_free (p);
    }
  kc_mux_decoder_free (&r->dec);
  kc_vport_free (r->port);
  free (r);
}
