/* ttrpc frames (PROTOCOLS.md 1.2): the 10-byte header, reading frames out of an evbuffer
   (discarding oversized ones) and writing Request/Response frames into one. */
#include "ttrpc-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void
kc_ttrpc_header_encode (const struct kc_ttrpc_header *h, uint8_t out[KC_TTRPC_HEADER_SIZE])
{
  out[0] = h->length >> 24;
  out[1] = h->length >> 16;
  out[2] = h->length >> 8;
  out[3] = h->length;
  out[4] = h->stream_id >> 24;
  out[5] = h->stream_id >> 16;
  out[6] = h->stream_id >> 8;
  out[7] = h->stream_id;
  out[8] = h->type;
  out[9] = h->flags;
}

void
kc_ttrpc_header_decode (const uint8_t in[KC_TTRPC_HEADER_SIZE], struct kc_ttrpc_header *h)
{
  h->length = (uint32_t) in[0] << 24 | (uint32_t) in[1] << 16 | (uint32_t) in[2] << 8 | in[3];
  h->stream_id = (uint32_t) in[4] << 24 | (uint32_t) in[5] << 16 | (uint32_t) in[6] << 8 | in[7];
  h->type = in[8];
  h->flags = in[9];
}

void
kc_ttrpc_oversized_message (char *buf, size_t size, uint64_t length)
{
  snprintf (buf, size, "message length %" PRIu64 " exceed maximum message size of %u", length, KC_TTRPC_MAX_DATA);
}

int64_t
kc_ttrpc_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct timeval
kc_ttrpc_timeval_from_ns (int64_t ns)
{
  /* A year is "forever" for a call; larger values would only risk overflow in libevent. */
  const int64_t max_ns = (int64_t) 365 * 24 * 3600 * 1000000000;
  struct timeval tv;

  if (ns < 0)
    ns = 0;
  if (ns > max_ns)
    ns = max_ns;
  tv.tv_sec = ns / 1000000000;
  tv.tv_usec = (ns % 1000000000) / 1000;
  return tv;
}

/* Drops what is buffered of an oversized frame; returns 1 once all of it is gone. */
static int
discard_oversized (struct kc_ttrpc_frame_reader *r, struct evbuffer *in)
{
  size_t avail = evbuffer_get_length (in);
  size_t n = avail < r->discard_left ? avail : r->discard_left;

  evbuffer_drain (in, n);
  r->discard_left -= n;
  if (r->discard_left > 0)
    return 0;
  r->discarding = 0;
  return 1;
}

int
kc_ttrpc_frame_next (struct kc_ttrpc_frame_reader *r, struct evbuffer *in, struct kc_ttrpc_header *h,
                     const uint8_t **data)
{
  uint8_t raw[KC_TTRPC_HEADER_SIZE];

  *data = NULL;
  if (r->discarding)
    {
      if (!discard_oversized (r, in))
        return KC_TTRPC_FRAME_NEED_MORE;
      *h = r->discard_header;
      return KC_TTRPC_FRAME_OVERSIZED;
    }
  if (evbuffer_get_length (in) < KC_TTRPC_HEADER_SIZE)
    return KC_TTRPC_FRAME_NEED_MORE;
  if (evbuffer_copyout (in, raw, sizeof raw) != (ev_ssize_t) sizeof raw)
    return KC_TTRPC_FRAME_NEED_MORE;
  kc_ttrpc_header_decode (raw, h);
  if (h->length > KC_TTRPC_MAX_DATA)
    {
      /* Read and drop the payload as it arrives, then answer on its stream (Go channel.recv). */
      evbuffer_drain (in, KC_TTRPC_HEADER_SIZE);
      r->discarding = 1;
      r->discard_left = h->length;
      r->discard_header = *h;
      return kc_ttrpc_frame_next (r, in, h, data);
    }
  if (evbuffer_get_length (in) < KC_TTRPC_HEADER_SIZE + (size_t) h->length)
    return KC_TTRPC_FRAME_NEED_MORE;
  *data = evbuffer_pullup (in, KC_TTRPC_HEADER_SIZE + (ev_ssize_t) h->length);
  if (*data == NULL)
    return KC_TTRPC_FRAME_NEED_MORE;
  *data += KC_TTRPC_HEADER_SIZE;
  return KC_TTRPC_FRAME_READY;
}

void
kc_ttrpc_frame_consume (struct evbuffer *in, const struct kc_ttrpc_header *h)
{
  evbuffer_drain (in, KC_TTRPC_HEADER_SIZE + (size_t) h->length);
}

int
kc_ttrpc_frame_add_message (struct evbuffer *out, uint32_t stream_id, uint8_t type, uint8_t flags,
                            const ProtobufCMessage *msg, kc_error_t *err)
{
  size_t len = protobuf_c_message_get_packed_size (msg);
  struct kc_ttrpc_header h = { .length = len, .stream_id = stream_id, .type = type, .flags = flags };
  struct evbuffer_iovec vec;
  char why[128];

  if (len > KC_TTRPC_MAX_DATA)
    {
      kc_ttrpc_oversized_message (why, sizeof why, len);
      return kc_error_code (err, KC_RESOURCE_EXHAUSTED, "%s", why);
    }
  /* One contiguous extent: pack in place, no intermediate copy. */
  if (evbuffer_reserve_space (out, KC_TTRPC_HEADER_SIZE + len, &vec, 1) != 1)
    return kc_error_code (err, KC_RESOURCE_EXHAUSTED, "out of memory queueing a %zu byte frame", len);
  kc_ttrpc_header_encode (&h, vec.iov_base);
  protobuf_c_message_pack (msg, (uint8_t *) vec.iov_base + KC_TTRPC_HEADER_SIZE);
  vec.iov_len = KC_TTRPC_HEADER_SIZE + len;
  if (evbuffer_commit_space (out, &vec, 1) < 0)
    return kc_error_code (err, KC_INTERNAL, "evbuffer_commit_space failed");
  return 0;
}

int
kc_ttrpc_frame_add_response (struct evbuffer *out, uint32_t stream_id, int code, const char *message,
                             const uint8_t *payload, size_t len)
{
  Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
  Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
  cleanup_error kc_error_t err = NULL;
  char why[128];
  size_t size;

  status.code = code;
  status.message = (char *) (message ? message : "");
  resp.status = &status; /* Go always sends it: an OK reply to Empty is exactly 0a 00 */
  if (code == KC_OK && len > 0)
    {
      resp.payload.data = (uint8_t *) payload;
      resp.payload.len = len;
    }
  size = protobuf_c_message_get_packed_size (&resp.base);
  if (size > KC_TTRPC_MAX_DATA)
    {
      /* Too big to send (payload or message): the peer still gets an answer on that stream. */
      kc_ttrpc_oversized_message (why, sizeof why, size);
      status.code = KC_RESOURCE_EXHAUSTED;
      status.message = why;
      resp.payload.data = NULL;
      resp.payload.len = 0;
    }
  return kc_ttrpc_frame_add_message (out, stream_id, KC_TTRPC_TYPE_RESPONSE, 0, &resp.base, &err);
}
