/* The stdio framing codec (stdio_mux.h): header encoding and an incremental decoder. */
#include "stdio_mux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int
kind_valid (uint8_t kind)
{
  return kind >= KC_MUX_STDOUT && kind <= KC_MUX_CLOSE;
}

int
kc_mux_header_encode (uint8_t out[KC_MUX_HEADER_SIZE], uint8_t kind, size_t key_len, size_t data_len, kc_error_t *err)
{
  if (!kind_valid (kind))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "stdio frame: bad kind %u", kind);
  if (key_len == 0 || key_len > KC_MUX_MAX_KEY)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "stdio frame: key length %zu", key_len);
  if (data_len > KC_MUX_MAX_DATA)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "stdio frame: data length %zu", data_len);
  out[0] = kind;
  out[1] = (uint8_t) key_len;
  out[2] = out[3] = 0;
  out[4] = (uint8_t) (data_len >> 24);
  out[5] = (uint8_t) (data_len >> 16);
  out[6] = (uint8_t) (data_len >> 8);
  out[7] = (uint8_t) data_len;
  return 0;
}

int
kc_mux_frame_encode (const struct kc_mux_frame *f, uint8_t **out, size_t *out_len, kc_error_t *err)
{
  uint8_t hdr[KC_MUX_HEADER_SIZE];
  uint8_t *buf;

  if (kc_mux_header_encode (hdr, f->kind, f->key_len, f->data_len, err) < 0)
    return -1;
  buf = malloc (KC_MUX_HEADER_SIZE + f->key_len + f->data_len);
  if (buf == NULL)
    return kc_error (err, ENOMEM, "stdio frame");
  memcpy (buf, hdr, KC_MUX_HEADER_SIZE);
  memcpy (buf + KC_MUX_HEADER_SIZE, f->key, f->key_len);
  if (f->data_len > 0)
    memcpy (buf + KC_MUX_HEADER_SIZE + f->key_len, f->data, f->data_len);
  *out = buf;
  *out_len = KC_MUX_HEADER_SIZE + f->key_len + f->data_len;
  return 0;
}

int
kc_mux_close_encode (const char *key, uint8_t kind, uint8_t **out, size_t *out_len, kc_error_t *err)
{
  struct kc_mux_frame f = { .kind = KC_MUX_CLOSE, .key = key, .key_len = strlen (key), .data = &kind, .data_len = 1 };

  return kc_mux_frame_encode (&f, out, out_len, err);
}

void
kc_mux_decoder_init (struct kc_mux_decoder *d)
{
  memset (d, 0, sizeof (*d));
}

void
kc_mux_decoder_free (struct kc_mux_decoder *d)
{
  free (d->body);
  kc_mux_decoder_init (d);
}

static int
header_parse (struct kc_mux_decoder *d, kc_error_t *err)
{
  const uint8_t *h = d->header;
  size_t data_len = (size_t) h[4] << 24 | (size_t) h[5] << 16 | (size_t) h[6] << 8 | h[7];

  if (!kind_valid (h[0]) || h[1] == 0 || h[2] != 0 || h[3] != 0 || data_len > KC_MUX_MAX_DATA)
    return kc_error_code (err, KC_DATA_LOSS, "stdio stream: malformed frame header (kind %u, key %u, data %zu)", h[0],
                          h[1], data_len);
  d->body_len = h[1] + data_len;
  d->have_body = 0;
  d->body = malloc (d->body_len);
  if (d->body == NULL)
    return kc_error (err, ENOMEM, "stdio frame");
  return 0;
}

static int
frame_deliver (struct kc_mux_decoder *d, kc_mux_frame_fn fn, void *userdata)
{
  struct kc_mux_frame f = { .kind = d->header[0],
                            .key = (const char *) d->body,
                            .key_len = d->header[1],
                            .data = d->body + d->header[1],
                            .data_len = d->body_len - d->header[1] };
  int ret = fn (&f, userdata);

  free (d->body);
  d->body = NULL;
  d->have_header = 0;
  return ret;
}

int
kc_mux_decoder_feed (struct kc_mux_decoder *d, const uint8_t *buf, size_t len, kc_mux_frame_fn fn, void *userdata,
                     kc_error_t *err)
{
  while (len > 0)
    {
      size_t n;
      if (d->have_header < KC_MUX_HEADER_SIZE)
        {
          n = KC_MUX_HEADER_SIZE - d->have_header;
          n = n < len ? n : len;
          memcpy (d->header + d->have_header, buf, n);
          d->have_header += n;
          buf += n, len -= n;
          if (d->have_header < KC_MUX_HEADER_SIZE)
            continue;
          if (header_parse (d, err) < 0)
            return -1;
        }
      n = d->body_len - d->have_body;
      n = n < len ? n : len;
      memcpy (d->body + d->have_body, buf, n);
      d->have_body += n;
      buf += n, len -= n;
      if (d->have_body == d->body_len && frame_deliver (d, fn, userdata) < 0)
        return kc_error_code (err, KC_CANCELLED, "stdio frame handler failed");
    }
  return 0;
}
