/* Sandbox id validation, including the NUL check on the raw request bytes. */
#include "sandbox_id.h"

#include <string.h>

static int
is_id_char (char c, int first)
{
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
    return 1;
  return !first && (c == '_' || c == '.' || c == '-');
}

int
kc_sandbox_id_validate (const char *id, size_t len, kc_error_t *err)
{
  if (id == NULL || len == 0 || id[0] == '\0')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "sandbox id is empty");
  if (len > KC_SANDBOX_ID_MAX)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "sandbox id is longer than %d bytes", KC_SANDBOX_ID_MAX);
  if (strnlen (id, len) != len)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "sandbox id contains a NUL byte");
  for (size_t i = 0; i < len; i++)
    if (!is_id_char (id[i], i == 0))
      return kc_error_code (err, KC_INVALID_ARGUMENT,
                            "sandbox id `%.*s` has a bad character at %zu (want [A-Za-z0-9][A-Za-z0-9_.-]*)", (int) len,
                            id, i);
  return 0;
}

static int
read_varint (const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7)
    {
      if (*pos >= len)
        return -1;
      uint8_t b = p[(*pos)++];
      v |= (uint64_t) (b & 0x7f) << shift;
      if (!(b & 0x80))
        {
          *out = v;
          return 0;
        }
    }
  return -1;
}

static int
skip_field (const uint8_t *p, size_t len, size_t *pos, uint32_t wire)
{
  uint64_t v;
  switch (wire)
    {
    case 0:
      return read_varint (p, len, pos, &v);
    case 1:
      v = 8;
      break;
    case 2:
      if (read_varint (p, len, pos, &v) < 0)
        return -1;
      break;
    case 5:
      v = 4;
      break;
    default:
      return -1;
    }
  if (v > len - *pos)
    return -1;
  *pos += v;
  return 0;
}

long
kc_pb_field_len (const uint8_t *payload, size_t len, uint32_t field)
{
  size_t pos = 0;
  long found = -1; /* the last occurrence wins, as in the decoder */
  while (pos < len)
    {
      uint64_t tag, n;
      if (read_varint (payload, len, &pos, &tag) < 0)
        return -1;
      uint32_t wire = tag & 7;
      if ((tag >> 3) == field && wire == 2)
        {
          if (read_varint (payload, len, &pos, &n) < 0 || n > len - pos)
            return -1;
          found = (long) n;
          pos += n;
          continue;
        }
      if (skip_field (payload, len, &pos, wire) < 0)
        return -1;
    }
  return found;
}

int
kc_sandbox_id_check_request (const char *decoded, const uint8_t *payload, size_t len, kc_error_t *err)
{
  long wire_len = kc_pb_field_len (payload, len, 1);
  size_t n = decoded ? strlen (decoded) : 0;
  if (wire_len >= 0 && (size_t) wire_len != n)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "sandbox id contains a NUL byte");
  return kc_sandbox_id_validate (decoded, n, err);
}
