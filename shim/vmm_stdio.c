/* Container stdio of a vmm pod: one connection to stdio.sock (or the guest's vsock stdio port)
   carrying kc_mux frames, demuxed to containerd's FIFOs (stdout/stderr), stdin FIFOs read into
   stdin frames. One pod per shim process, so the state is this file's. */
#include "vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "stdio_mux.h"
#include "ttrpc/ttrpc.h"

/* Bytes a FIFO could not take yet wait here (up to OUT_QUEUE_MAX, then dropped): a stuck reader
   must never block the shim's loop, which also serves every task call. */
#define OUT_QUEUE_MAX (1u << 20)
/* How often an output FIFO without a reader yet looks for containerd's (see open_out). */
#define READER_POLL_MS 20

struct out
{
  int fd;
  struct evbuffer *q;
  struct event *ev;
  int closing; /* close once q is written */
  size_t dropped;
  char *path;              /* set while the FIFO waits for its reader (open_out) */
  struct event *reader_ev; /* polls for that reader */
};

struct stream
{
  struct stream *next;
  char *key;
  struct out out, err;
  int in_fd;
  int in_wfd; /* our writer until the first data: no EOF before containerd opened the FIFO */
  struct event *in_ev;
  int in_closed; /* the stdin close frame went out (EOF or CloseIO) */
};

static struct
{
  struct event_base *base;
  struct bufferevent *bev;
  struct kc_mux_decoder dec;
  struct stream *streams;
} mux;

static struct stream *
find (const char *key, size_t key_len)
{
  for (struct stream *s = mux.streams; s; s = s->next)
    if (strlen (s->key) == key_len && memcmp (s->key, key, key_len) == 0)
      return s;
  return NULL;
}

static void
out_close_now (struct out *o)
{
  if (o->ev != NULL)
    event_free (o->ev);
  if (o->q != NULL)
    evbuffer_free (o->q);
  if (o->reader_ev != NULL)
    event_free (o->reader_ev);
  if (o->fd >= 0)
    close (o->fd);
  if (o->dropped > 0)
    kc_log_warn ("vmm stdio: %zu bytes dropped: the reader of a FIFO is not reading", o->dropped);
  free (o->path);
  *o = (struct out){ .fd = -1 };
}

static void
on_out_writable (evutil_socket_t fd, short what, void *arg)
{
  (void) fd, (void) what;
  struct out *o = arg;
  if (evbuffer_write (o->q, o->fd) < 0 && errno != EAGAIN && errno != EINTR)
    {
      out_close_now (o); /* the reader is gone (EPIPE) */
      return;
    }
  if (evbuffer_get_length (o->q) > 0)
    return;
  event_del (o->ev);
  if (o->closing)
    out_close_now (o);
}

/* Flushes the queue once the FIFO takes it (o->fd open). */
static void
out_watch (struct out *o)
{
  if (o->ev == NULL)
    o->ev = event_new (mux.base, o->fd, EV_WRITE | EV_PERSIST, on_out_writable, o);
  if (o->ev == NULL || event_add (o->ev, NULL) < 0)
    out_close_now (o);
}

/* Writes what the FIFO takes now and queues the rest (all of it while the FIFO waits for its
   reader, up to OUT_QUEUE_MAX); never waits. */
static void
out_write (struct out *o, const uint8_t *data, size_t len)
{
  if ((o->fd < 0 && o->path == NULL) || o->closing)
    return;
  if (o->fd >= 0 && (o->q == NULL || evbuffer_get_length (o->q) == 0))
    {
      ssize_t n;
      while (len > 0 && ((n = write (o->fd, data, len)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0)
          data += n, len -= (size_t) n;
      if (len > 0 && errno != EAGAIN)
        {
          out_close_now (o);
          return;
        }
    }
  if (len == 0)
    return;
  if ((o->q == NULL && (o->q = evbuffer_new ()) == NULL) || evbuffer_get_length (o->q) + len > OUT_QUEUE_MAX
      || evbuffer_add (o->q, data, len) < 0)
    {
      o->dropped += len;
      return;
    }
  if (o->fd >= 0)
    out_watch (o);
}

/* EOF of the stream: close once what is queued got out; while the FIFO still waits for its
   reader, once the reader came and got it (on_reader_poll). */
static void
out_close (struct out *o)
{
  o->closing = 1;
  if (o->fd >= 0 && (o->q == NULL || evbuffer_get_length (o->q) == 0))
    out_close_now (o);
}

static void
on_reader_poll (evutil_socket_t fd, short what, void *arg)
{
  (void) fd, (void) what;
  struct out *o = arg;
  struct timeval tick = { 0, READER_POLL_MS * 1000 };
  o->fd = open (o->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (o->fd < 0 && errno == ENXIO)
    {
      if (evtimer_add (o->reader_ev, &tick) < 0)
        out_close_now (o);
      return;
    }
  if (o->fd < 0)
    {
      kc_log_warn ("vmm stdio: open `%s`: %s", o->path, strerror (errno));
      out_close_now (o);
      return;
    }
  free (o->path);
  o->path = NULL;
  if (o->q != NULL && evbuffer_get_length (o->q) > 0)
    out_watch (o);
  else if (o->closing)
    out_close_now (o);
}

/* Output FIFOs: write-only when containerd already reads them. Not yet (containerd opens the
   reader of a process's output later, blocking): never held read-write, which would lose the
   output of a process that ends first and leave that later open waiting for a writer forever
   (an ExecSync that never returns); the output is queued and the FIFO opened once the reader
   is there (polled every READER_POLL_MS; the stream's removal at Delete ends the wait). */
static void
open_out (struct out *o, const char *path)
{
  struct timeval tick = { 0, READER_POLL_MS * 1000 };
  o->fd = -1;
  if (path == NULL || *path == '\0')
    return;
  o->fd = open (path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (o->fd >= 0 || errno != ENXIO)
    return;
  if ((o->path = strdup (path)) == NULL || (o->reader_ev = evtimer_new (mux.base, on_reader_poll, o)) == NULL
      || evtimer_add (o->reader_ev, &tick) < 0)
    {
      kc_log_warn ("vmm stdio: out of memory: no output to `%s`", path);
      out_close_now (o);
    }
}

static int
on_frame (const struct kc_mux_frame *f, void *userdata)
{
  (void) userdata;
  struct stream *s = find (f->key, f->key_len);
  if (s == NULL)
    return 0;
  if (f->kind == KC_MUX_STDOUT)
    out_write (&s->out, f->data, f->data_len);
  else if (f->kind == KC_MUX_STDERR)
    out_write (&s->err, f->data, f->data_len);
  else if (f->kind == KC_MUX_CLOSE && f->data_len == 1 && (f->data[0] == KC_MUX_STDOUT || f->data[0] == KC_MUX_STDERR))
    out_close (f->data[0] == KC_MUX_STDOUT ? &s->out : &s->err);
  return 0;
}

static void
drop_connection (void)
{
  bufferevent_free (mux.bev);
  mux.bev = NULL;
  kc_mux_decoder_free (&mux.dec);
}

static void
on_read (struct bufferevent *bev, void *arg)
{
  (void) arg;
  struct evbuffer *in = bufferevent_get_input (bev);
  kc_error_t err = NULL;
  size_t n = evbuffer_get_length (in);
  uint8_t *buf = evbuffer_pullup (in, (ssize_t) n);
  int ret = kc_mux_decoder_feed (&mux.dec, buf, n, on_frame, NULL, &err);
  evbuffer_drain (in, n);
  if (ret < 0)
    {
      kc_log_error ("vmm stdio: %s; reconnecting on the next task call", err->msg);
      kc_error_free (&err);
      drop_connection ();
    }
}

static void
on_event (struct bufferevent *bev, short what, void *arg)
{
  (void) bev, (void) arg;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
    {
      kc_log_warn ("vmm stdio: connection to the VM closed");
      drop_connection ();
    }
}

int
shim_vmm_stdio_connect (struct event_base *base, const char *address, kc_error_t *err)
{
  if (mux.bev != NULL)
    return 0;
  int fd = kc_stream_dial (address, KC_TTRPC_DIAL_TIMEOUT_MS, err);
  if (fd < 0)
    return kc_error_wrap (err, "stdio mux");
  evutil_make_socket_nonblocking (fd);
  mux.base = base;
  mux.bev = bufferevent_socket_new (base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (mux.bev == NULL)
    {
      close (fd);
      return kc_error (err, ENOMEM, "bufferevent");
    }
  kc_mux_decoder_init (&mux.dec);
  bufferevent_setcb (mux.bev, on_read, NULL, on_event, NULL);
  bufferevent_enable (mux.bev, EV_READ);
  kc_log_info ("vmm stdio: connected to %s", address);
  return 0;
}

/* 0 when the frame is queued on the connection, -1 when there is none (or no memory). */
static int
send_frame (const char *key, uint8_t kind, const uint8_t *data, size_t len)
{
  struct kc_mux_frame f = { kind, key, strlen (key), data, len };
  uint8_t *buf = NULL;
  size_t n = 0;
  kc_error_t err = NULL;
  int ret;
  if (mux.bev == NULL)
    return -1;
  if ((kind == KC_MUX_CLOSE ? kc_mux_close_encode (key, KC_MUX_STDIN, &buf, &n, &err)
                            : kc_mux_frame_encode (&f, &buf, &n, &err))
      < 0)
    {
      kc_log_error ("vmm stdio: %s", err->msg);
      kc_error_free (&err);
      return -1;
    }
  ret = bufferevent_write (mux.bev, buf, n);
  free (buf);
  return ret;
}

/* The close frame, after every stdin frame of s; the FIFO is no longer read. */
static void
stdin_end (struct stream *s)
{
  s->in_closed = send_frame (s->key, KC_MUX_CLOSE, NULL, 0) == 0;
  if (s->in_ev != NULL)
    event_free (s->in_ev);
  s->in_ev = NULL;
  if (s->in_wfd >= 0)
    close (s->in_wfd);
  s->in_wfd = -1;
  close (s->in_fd);
  s->in_fd = -1;
}

static void
on_stdin (evutil_socket_t fd, short what, void *arg)
{
  (void) what;
  struct stream *s = arg;
  uint8_t buf[32768];
  ssize_t n = read (fd, buf, sizeof (buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0)
    {
      send_frame (s->key, KC_MUX_STDIN, buf, (size_t) n);
      if (s->in_wfd >= 0)
        close (s->in_wfd); /* containerd writes: its close is now our EOF */
      s->in_wfd = -1;
      return;
    }
  stdin_end (s);
}

int
shim_vmm_stdio_close_stdin (const char *key)
{
  struct stream *s = find (key, strlen (key));
  uint8_t buf[32768];
  ssize_t n;
  if (s == NULL || mux.bev == NULL)
    return 0;
  if (s->in_fd < 0)
    return s->in_closed;
  /* Without our writer, a FIFO containerd closed reads its last bytes, then EOF. */
  if (s->in_wfd >= 0)
    close (s->in_wfd);
  s->in_wfd = -1;
  while ((n = read (s->in_fd, buf, sizeof (buf))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0 && send_frame (s->key, KC_MUX_STDIN, buf, (size_t) n) < 0)
      break;
  stdin_end (s);
  return s->in_closed;
}

static int
open_stdin (struct stream *s, const char *path, kc_error_t *err)
{
  if (path == NULL || *path == '\0')
    return 0;
  /* Read-only, so containerd's close is EOF (a close frame after every byte); our own writer
     keeps a read from seeing EOF before containerd opened it, until the first data. */
  s->in_fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (s->in_fd < 0)
    return kc_error (err, errno, "open stdin `%s`", path);
  s->in_wfd = open (path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  s->in_ev = event_new (mux.base, s->in_fd, EV_READ | EV_PERSIST, on_stdin, s);
  if (s->in_ev == NULL || event_add (s->in_ev, NULL) < 0)
    return kc_error_code (err, KC_INTERNAL, "watch stdin `%s`", path);
  return 0;
}

static void
stream_free (struct stream *s)
{
  if (s->in_ev)
    event_free (s->in_ev);
  if (s->in_fd >= 0)
    close (s->in_fd);
  if (s->in_wfd >= 0)
    close (s->in_wfd);
  out_close_now (&s->out);
  out_close_now (&s->err);
  free (s->key);
  free (s);
}

int
shim_vmm_stdio_add (const char *key, const char *in, const char *out, const char *errp, kc_error_t *err)
{
  shim_vmm_stdio_remove (key);
  struct stream *s = calloc (1, sizeof (*s));
  if (s == NULL || (s->key = strdup (key)) == NULL)
    {
      free (s);
      return kc_error (err, ENOMEM, "stdio stream");
    }
  s->in_fd = s->in_wfd = -1;
  open_out (&s->out, out);
  open_out (&s->err, errp);
  if (open_stdin (s, in, err) < 0)
    {
      stream_free (s);
      return -1;
    }
  s->next = mux.streams;
  mux.streams = s;
  return 0;
}

void
shim_vmm_stdio_remove (const char *key)
{
  for (struct stream **p = &mux.streams; *p; p = &(*p)->next)
    if (strcmp ((*p)->key, key) == 0)
      {
        struct stream *s = *p;
        *p = s->next;
        stream_free (s);
        return;
      }
}
