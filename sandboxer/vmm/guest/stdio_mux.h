/* Framing of container stdio over the single "stdio" virtio-serial port (docs/vmm.md). Pure C
   (libc + lib/error.h): the guest agent and the host side share this codec. */
#ifndef KC_VMM_STDIO_MUX_H
#define KC_VMM_STDIO_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Frame: u8 kind, u8 key_len, u16 reserved (0), u32 data_len (big endian), key, data.
   key = "<container-id>" (init) or "<container-id>/<exec-id>". A CLOSE frame's data is one byte:
   the kind of the stream that reached EOF (stdout/stderr guest→host, stdin host→guest). */
#define KC_MUX_HEADER_SIZE 8
#define KC_MUX_MAX_KEY     255
#define KC_MUX_MAX_DATA    (1u << 20)

enum kc_mux_kind
{
  KC_MUX_STDOUT = 1,
  KC_MUX_STDERR = 2,
  KC_MUX_STDIN = 3,
  KC_MUX_CLOSE = 4,
};

struct kc_mux_frame
{
  uint8_t kind;
  const char *key; /* not NUL-terminated */
  size_t key_len;
  const uint8_t *data;
  size_t data_len;
};

/* Writes the 8-byte header; -1 (INVALID_ARGUMENT) on a bad kind or oversize key/data. */
int kc_mux_header_encode (uint8_t out[KC_MUX_HEADER_SIZE], uint8_t kind, size_t key_len, size_t data_len,
                          kc_error_t *err);
/* Whole frame into a malloc'ed buffer (*out, *out_len). */
int kc_mux_frame_encode (const struct kc_mux_frame *f, uint8_t **out, size_t *out_len, kc_error_t *err);
/* Convenience: the CLOSE frame of stream `kind` of key. */
int kc_mux_close_encode (const char *key, uint8_t kind, uint8_t **out, size_t *out_len, kc_error_t *err);

/* Incremental decoder: feed any byte chunks, get whole frames. */
typedef int (*kc_mux_frame_fn) (const struct kc_mux_frame *f, void *userdata);

struct kc_mux_decoder
{
  uint8_t header[KC_MUX_HEADER_SIZE];
  size_t have_header;
  uint8_t *body; /* key + data of the current frame */
  size_t body_len, have_body;
};

void kc_mux_decoder_init (struct kc_mux_decoder *d);
void kc_mux_decoder_free (struct kc_mux_decoder *d);
/* Calls fn for every complete frame. A malformed stream (bad kind, reserved != 0, data too
   large) fails with DATA_LOSS and leaves the decoder unusable; fn returning < 0 stops with -1. */
int kc_mux_decoder_feed (struct kc_mux_decoder *d, const uint8_t *buf, size_t len, kc_mux_frame_fn fn, void *userdata,
                         kc_error_t *err);

#endif
