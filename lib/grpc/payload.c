/* Conversions between protobuf-c messages, grpc byte buffers, slices and deadlines. */
#include "grpc_internal.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

grpc_byte_buffer *
kc_grpc_pack (const ProtobufCMessage *msg)
{
  size_t len = msg != NULL ? protobuf_c_message_get_packed_size (msg) : 0;
  grpc_slice s = grpc_slice_malloc (len);
  grpc_byte_buffer *bb;

  if (len > 0)
    protobuf_c_message_pack (msg, GRPC_SLICE_START_PTR (s));
  bb = grpc_raw_byte_buffer_create (&s, 1);
  grpc_slice_unref (s);
  return bb;
}

int
kc_grpc_flatten (grpc_byte_buffer *bb, uint8_t **out, size_t *len)
{
  grpc_byte_buffer_reader r;
  grpc_slice s;

  *out = NULL;
  *len = 0;
  if (bb == NULL)
    return 0;
  if (!grpc_byte_buffer_reader_init (&r, bb))
    return -1;
  s = grpc_byte_buffer_reader_readall (&r);
  grpc_byte_buffer_reader_destroy (&r);
  *len = GRPC_SLICE_LENGTH (s);
  if (*len > 0)
    {
      *out = malloc (*len);
      if (*out == NULL)
        {
          grpc_slice_unref (s);
          return -1;
        }
      memcpy (*out, GRPC_SLICE_START_PTR (s), *len);
    }
  grpc_slice_unref (s);
  return 0;
}

char *
kc_grpc_slice_strdup (grpc_slice s)
{
  return strndup ((const char *) GRPC_SLICE_START_PTR (s), GRPC_SLICE_LENGTH (s));
}

gpr_timespec
kc_grpc_deadline (int64_t timeout_ns)
{
  if (timeout_ns <= 0)
    return gpr_inf_future (GPR_CLOCK_MONOTONIC);
  return gpr_time_add (gpr_now (GPR_CLOCK_MONOTONIC), gpr_time_from_nanos (timeout_ns, GPR_TIMESPAN));
}
