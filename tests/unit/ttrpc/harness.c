/* The ttrpc test fixture: test services, loop helpers and the raw-socket peer. */
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ttrpc.pb-c.h"

static void
echo_handler (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  kc_ttrpc_call_reply_raw (call, payload, len);
}

static void
empty_handler (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  kc_ttrpc_call_reply (call, NULL);
}

static void
fail_handler (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  kc_ttrpc_call_error (call, KC_NOT_FOUND, "no such thing: %.*s", (int) len, (const char *) payload);
}

static void
later_handler (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  struct harness *h = userdata;

  ck_assert_uint_lt (h->n_held, HARNESS_MAX_HELD);
  h->held[h->n_held++] = call;
}

/* Replies with the value of the metadata key named by the payload. */
static void
meta_handler (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  char key[128];
  const char *v;

  snprintf (key, sizeof key, "%.*s", (int) len, (const char *) payload);
  v = kc_ttrpc_call_metadata (call, key);
  if (v == NULL)
    kc_ttrpc_call_error (call, KC_NOT_FOUND, "no metadata %s", key);
  else
    kc_ttrpc_call_reply_raw (call, (const uint8_t *) v, strlen (v));
}

static void
closed_cb (void *userdata)
{
  struct harness *h = userdata;
  h->closed_count++;
}

void
harness_setup (struct harness *h)
{
  kc_error_t err = NULL;

  memset (h, 0, sizeof (*h));
  strcpy (h->dir, "/tmp/kc-ttrpc-test-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (h->dir));
  snprintf (h->path, sizeof h->path, "%s/s.sock", h->dir);
  snprintf (h->address, sizeof h->address, "ttrpc+unix://%s", h->path);
  h->base = event_base_new ();
  ck_assert_ptr_nonnull (h->base);
  h->srv = kc_ttrpc_server_new (h->base);
  ck_assert_int_eq (kc_ttrpc_server_register (h->srv, "test.Svc", "Echo", echo_handler, h, &err), 0);
  ck_assert_int_eq (kc_ttrpc_server_register (h->srv, "test.Svc", "Empty", empty_handler, h, &err), 0);
  ck_assert_int_eq (kc_ttrpc_server_register (h->srv, "test.Svc", "Fail", fail_handler, h, &err), 0);
  ck_assert_int_eq (kc_ttrpc_server_register (h->srv, "test.Svc", "Later", later_handler, h, &err), 0);
  ck_assert_int_eq (kc_ttrpc_server_register (h->srv, "test.Svc", "Meta", meta_handler, h, &err), 0);
  ck_assert_int_eq (kc_ttrpc_server_register (h->srv, "test.Svc", "Echo", echo_handler, h, &err), -1);
  ck_assert_int_eq (err->code, KC_ALREADY_EXISTS);
  kc_error_free (&err);
  kc_ttrpc_server_set_conn_closed_cb (h->srv, closed_cb, h);
  ck_assert_int_eq (kc_ttrpc_server_listen_path (h->srv, h->path, &err), 0);
}

void
harness_teardown (struct harness *h)
{
  /* Held calls stay valid after their connection is gone: answering them only frees them. */
  kc_ttrpc_server_free (h->srv);
  for (size_t i = 0; i < h->n_held; i++)
    kc_ttrpc_call_reply (h->held[i], NULL);
  event_base_free (h->base);
  unlink (h->path);
  rmdir (h->dir);
}

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
tick_cb (evutil_socket_t fd, short what, void *arg)
{
}

/* One loop pass that returns within ~10 ms even when nothing happens. */
static void
loop_once (struct harness *h)
{
  struct timeval tv = { 0, 10 * 1000 };
  struct event *tick = evtimer_new (h->base, tick_cb, NULL);

  evtimer_add (tick, &tv);
  event_base_loop (h->base, EVLOOP_ONCE);
  event_free (tick);
}

void
harness_run_until (struct harness *h, const int *flag, int timeout_ms)
{
  int64_t end = now_ms () + timeout_ms;

  while (!*flag)
    {
      ck_assert_msg (now_ms () < end, "timed out waiting for the loop");
      loop_once (h);
    }
}

void
harness_run_for (struct harness *h, int ms)
{
  int64_t end = now_ms () + ms;
  while (now_ms () < end)
    loop_once (h);
}

void
reply_cb (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct reply *r = userdata;

  r->calls++;
  r->done = 1;
  r->code = code;
  ck_assert_ptr_nonnull (message);
  snprintf (r->message, sizeof r->message, "%s", message);
  ck_assert_uint_le (len, sizeof r->payload);
  if (len)
    memcpy (r->payload, payload, len);
  r->len = len;
}

int
raw_connect (struct harness *h)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

  ck_assert_int_ge (fd, 0);
  strcpy (addr.sun_path, h->path);
  ck_assert_int_eq (connect (fd, (struct sockaddr *) &addr, sizeof addr), 0);
  return fd;
}

void
raw_send (struct harness *h, int fd, const void *buf, size_t len)
{
  const uint8_t *p = buf;
  int64_t end = now_ms () + 10000;

  while (len > 0)
    {
      ssize_t n = send (fd, p, len, MSG_NOSIGNAL);
      if (n < 0)
        {
          ck_assert_msg (errno == EAGAIN, "send: %s", strerror (errno));
          ck_assert_msg (now_ms () < end, "timed out sending");
          event_base_loop (h->base, EVLOOP_NONBLOCK);
          continue;
        }
      p += n;
      len -= n;
    }
}

void
raw_send_frame (struct harness *h, int fd, uint32_t sid, uint8_t type, uint8_t flags, const void *data,
                size_t len)
{
  struct kc_ttrpc_header hdr = { .length = len, .stream_id = sid, .type = type, .flags = flags };
  uint8_t raw[KC_TTRPC_HEADER_SIZE];

  kc_ttrpc_header_encode (&hdr, raw);
  raw_send (h, fd, raw, sizeof raw);
  if (len)
    raw_send (h, fd, data, len);
}

void
raw_send_request (struct harness *h, int fd, uint32_t sid, const char *service, const char *method,
                  const char *payload, int64_t timeout_ns)
{
  Ttrpc__Request req = TTRPC__REQUEST__INIT;
  uint8_t buf[1024];
  size_t len;

  req.service = (char *) service;
  req.method = (char *) method;
  req.payload.data = (uint8_t *) payload;
  req.payload.len = payload ? strlen (payload) : 0;
  req.timeout_nano = timeout_ns;
  len = protobuf_c_message_get_packed_size (&req.base);
  ck_assert_uint_le (len, sizeof buf);
  protobuf_c_message_pack (&req.base, buf);
  raw_send_frame (h, fd, sid, KC_TTRPC_TYPE_REQUEST, 0, buf, len);
}

void
raw_recv (struct harness *h, int fd, void *buf, size_t len)
{
  uint8_t *p = buf;
  int64_t end = now_ms () + 5000;

  while (len > 0)
    {
      ssize_t n = recv (fd, p, len, 0);
      if (n < 0)
        {
          ck_assert_msg (errno == EAGAIN, "recv: %s", strerror (errno));
          ck_assert_msg (now_ms () < end, "timed out receiving");
          loop_once (h);
          continue;
        }
      ck_assert_msg (n > 0, "unexpected EOF from the server");
      p += n;
      len -= n;
    }
}

uint32_t
raw_recv_response (struct harness *h, int fd, struct reply *r)
{
  uint8_t raw[KC_TTRPC_HEADER_SIZE];
  struct kc_ttrpc_header hdr;
  Ttrpc__Response *resp;
  uint8_t *data;

  raw_recv (h, fd, raw, sizeof raw);
  kc_ttrpc_header_decode (raw, &hdr);
  ck_assert_int_eq (hdr.type, KC_TTRPC_TYPE_RESPONSE);
  ck_assert_int_eq (hdr.flags, 0);
  ck_assert_uint_le (hdr.length, 1 << 20);
  data = malloc (hdr.length + 1);
  raw_recv (h, fd, data, hdr.length);
  resp = ttrpc__response__unpack (NULL, hdr.length, data);
  ck_assert_ptr_nonnull (resp);
  memset (r, 0, sizeof (*r));
  r->done = r->calls = 1;
  ck_assert_ptr_nonnull (resp->status); /* Go servers always send it; so do we */
  r->code = resp->status->code;
  snprintf (r->message, sizeof r->message, "%s", resp->status->message);
  ck_assert_uint_le (resp->payload.len, sizeof r->payload);
  if (resp->payload.len)
    memcpy (r->payload, resp->payload.data, resp->payload.len);
  r->len = resp->payload.len;
  ttrpc__response__free_unpacked (resp, NULL);
  free (data);
  return hdr.stream_id;
}

int
raw_quiet (struct harness *h, int fd, int ms)
{
  int64_t end = now_ms () + ms;
  uint8_t b;

  while (now_ms () < end)
    {
      loop_once (h);
      if (recv (fd, &b, 1, MSG_PEEK) > 0)
        return 0;
    }
  return 1;
}
