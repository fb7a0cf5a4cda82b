/* ttrpc over the "agent" virtio-serial port (agent_port.h). Header bytes are held back until a
   whole header is seen, so a stream-id reset is detected before any of its bytes reach the old
   server connection. */
#include "agent_port.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "vport.h"

/* Where we are in the host's frame stream. */
struct kc_ttrpc_scan
{
  uint8_t header[KC_TTRPC_HEADER_SIZE];
  size_t have;      /* header bytes buffered */
  uint32_t skip;    /* body bytes still to pass */
  uint32_t last_id; /* highest request stream id of this session */
};

struct kc_agent_port
{
  struct event_base *base;
  kc_ttrpc_server *srv;
  kc_vport *port;
  struct bufferevent *bev; /* our end of the socketpair; NULL while detached */
  struct kc_ttrpc_scan scan;
};

static void session_end (kc_agent_port *a);

static void
on_server_bytes (struct bufferevent *bev, void *arg)
{
  kc_agent_port *a = arg;
  struct evbuffer *in = bufferevent_get_input (bev);
  size_t len = evbuffer_get_length (in);

  kc_vport_write (a->port, evbuffer_pullup (in, (ssize_t) len), len);
  evbuffer_drain (in, len);
}

static void
on_server_event (struct bufferevent *bev, short what, void *arg)
{
  kc_agent_port *a = arg;

  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
    session_end (a);
}

static int
session_begin (kc_agent_port *a)
{
  int sv[2];
  kc_error_t err = NULL;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
    return kc_log_error ("agent socketpair: %s", strerror (errno)), -1;
  if (kc_ttrpc_server_add_conn_fd (a->srv, sv[0], &err) < 0)
    {
      kc_log_error ("agent connection: %s", err->msg);
      kc_error_free (&err);
      close (sv[1]);
      return -1;
    }
  a->bev = bufferevent_socket_new (a->base, sv[1], BEV_OPT_CLOSE_ON_FREE);
  if (a->bev == NULL)
    return close (sv[1]), -1;
  bufferevent_setcb (a->bev, on_server_bytes, NULL, on_server_event, a);
  bufferevent_enable (a->bev, EV_READ | EV_WRITE);
  return 0;
}

/* Closing our end makes the server drop the connection and every call state it held. The scan
   state is the host stream's, not the session's: only a host (de)attach resets it (a reset in the
   middle of a frame would take its header or body bytes for the next header). */
static void
session_end (kc_agent_port *a)
{
  if (a->bev != NULL)
    bufferevent_free (a->bev);
  a->bev = NULL;
}

static void
on_attached (void *arg)
{
  kc_agent_port *a = arg;

  session_end (a);
  memset (&a->scan, 0, sizeof (a->scan));
  session_begin (a);
}

static void
on_detached (void *arg)
{
  kc_agent_port *a = arg;

  session_end (a);
  memset (&a->scan, 0, sizeof (a->scan));
}

static void
forward (kc_agent_port *a, const uint8_t *buf, size_t len)
{
  if (a->bev == NULL && session_begin (a) < 0)
    return;
  bufferevent_write (a->bev, buf, len);
}

/* Splits host bytes into header and body runs; a header whose request stream id does not grow
   starts a new session first. */
static void
on_host_bytes (const uint8_t *buf, size_t len, void *arg)
{
  kc_agent_port *a = arg;
  struct kc_ttrpc_scan *s = &a->scan;

  while (len > 0)
    {
      size_t n;
      if (s->skip > 0)
        {
          n = len < s->skip ? len : s->skip;
          forward (a, buf, n);
          s->skip -= (uint32_t) n, buf += n, len -= n;
          continue;
        }
      n = KC_TTRPC_HEADER_SIZE - s->have;
      n = len < n ? len : n;
      memcpy (s->header + s->have, buf, n);
      s->have += n, buf += n, len -= n;
      if (s->have < KC_TTRPC_HEADER_SIZE)
        continue;
      struct kc_ttrpc_header h;
      kc_ttrpc_header_decode (s->header, &h);
      if (h.type == KC_TTRPC_TYPE_REQUEST && h.stream_id <= s->last_id)
        {
          kc_log_info ("agent: stream id %u after %u: the host reconnected, new session", h.stream_id, s->last_id);
          session_end (a);
          session_begin (a);
        }
      if (h.type == KC_TTRPC_TYPE_REQUEST)
        s->last_id = h.stream_id;
      forward (a, s->header, KC_TTRPC_HEADER_SIZE);
      s->have = 0;
      s->skip = h.length;
    }
}

static const struct kc_vport_ops agent_ops = {
  .connected = on_attached,
  .data = on_host_bytes,
  .disconnected = on_detached,
};

kc_agent_port *
kc_agent_port_open (struct event_base *base, const char *dev_path, kc_ttrpc_server *srv, kc_error_t *err)
{
  kc_agent_port *a = calloc (1, sizeof (*a));

  if (a == NULL)
    return kc_error (err, ENOMEM, "agent port"), NULL;
  a->base = base;
  a->srv = srv;
  a->port = kc_vport_open (base, dev_path, &agent_ops, a, err);
  if (a->port == NULL)
    {
      free (a);
      return NULL;
    }
  return a;
}

void
kc_agent_port_free (kc_agent_port *a)
{
  if (a == NULL)
    return;
  session_end (a);
  kc_vport_free (a->port);
  free (a);
}
