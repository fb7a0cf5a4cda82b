/* Decodes the runtime options of `start` with a minimal protobuf wire reader (the messages are
   not in proto/), and reads sandboxer_address from the TOML config_body. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runtime_opts.h"

struct pb_field
{
  uint32_t number;
  const uint8_t *data; /* length-delimited fields only */
  size_t len;
};

static int
read_varint (const uint8_t **p, const uint8_t *end, uint64_t *v)
{
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7)
    {
      if (*p >= end)
        return -1;
      uint8_t b = *(*p)++;
      *v |= (uint64_t) (b & 0x7f) << shift;
      if (!(b & 0x80))
        return 0;
    }
  return -1;
}

/* Steps over one field; returns 1 with *f filled, 0 at the end, -1 on malformed input. */
static int
next_field (const uint8_t **p, const uint8_t *end, struct pb_field *f)
{
  uint64_t key, v;

  if (*p >= end)
    return 0;
  if (read_varint (p, end, &key) < 0)
    return -1;
  f->number = (uint32_t) (key >> 3);
  f->data = NULL;
  f->len = 0;
  switch (key & 7)
    {
    case 0:
      return read_varint (p, end, &v) < 0 ? -1 : 1;
    case 1:
      if (end - *p < 8)
        return -1;
      *p += 8;
      return 1;
    case 5:
      if (end - *p < 4)
        return -1;
      *p += 4;
      return 1;
    case 2:
      if (read_varint (p, end, &v) < 0 || v > (uint64_t) (end - *p))
        return -1;
      f->data = *p;
      f->len = (size_t) v;
      *p += v;
      return 1;
    default:
      return -1;
    }
}

static char *
dup_field (const struct pb_field *f)
{
  return f->data ? strndup ((const char *) f->data, f->len) : NULL;
}

char *
shim_toml_find_string (const char *toml, size_t len, const char *key)
{
  size_t klen = strlen (key);
  const char *p = toml, *end = toml + len;

  while (p < end)
    {
      const char *eol = memchr (p, '\n', (size_t) (end - p));
      const char *line_end = eol ? eol : end;
      while (p < line_end && isspace ((unsigned char) *p))
        p++;
      if ((size_t) (line_end - p) > klen && strncmp (p, key, klen) == 0)
        {
          const char *q = p + klen;
          while (q < line_end && (*q == ' ' || *q == '\t'))
            q++;
          if (q < line_end && *q == '=')
            {
              q++;
              while (q < line_end && (*q == ' ' || *q == '\t'))
                q++;
              if (q < line_end && (*q == '"' || *q == '\''))
                {
                  const char *close = memchr (q + 1, *q, (size_t) (line_end - q - 1));
                  if (close)
                    return strndup (q + 1, (size_t) (close - q - 1));
                }
            }
        }
      p = eol ? eol + 1 : end;
    }
  return NULL;
}

/* runtimeoptions.v1.Options {type_url=1, config_path=2, config_body=3}. */
static void
parse_runtime_options (const uint8_t *p, size_t len, struct shim_runtime_opts *out)
{
  const uint8_t *end = p + len;
  struct pb_field f;
  cleanup_free char *path = NULL;
  cleanup_free char *body = NULL;
  size_t body_len = 0;

  while (next_field (&p, end, &f) == 1)
    {
      if (f.number == 2 && f.data)
        {
          free (path);
          path = dup_field (&f);
        }
      else if (f.number == 3 && f.data)
        {
          free (body);
          body = dup_field (&f);
          body_len = f.len;
        }
    }
  if (body == NULL && path != NULL && *path)
    {
      kc_error_t err = NULL;
      if (kc_read_file (path, &body, &body_len, &err) < 0)
        kc_error_free (&err);
    }
  if (body != NULL && out->sandboxer_address == NULL)
    out->sandboxer_address = shim_toml_find_string (body, body_len, "sandboxer_address");
}

static void
parse_any (const uint8_t *p, size_t len, struct shim_runtime_opts *out)
{
  const uint8_t *end = p + len;
  struct pb_field f, value = { 0, NULL, 0 };
  cleanup_free char *type_url = NULL;

  while (next_field (&p, end, &f) == 1)
    {
      if (f.number == 1 && f.data)
        {
          free (type_url);
          type_url = dup_field (&f);
        }
      else if (f.number == 2)
        value = f;
    }
  if (type_url != NULL && strstr (type_url, "runtimeoptions.v1.Options") != NULL && value.data)
    parse_runtime_options (value.data, value.len, out);
}

/* BootstrapParams: containerd_version=4, extensions=8 {value=1 Any}. */
static int
parse_bootstrap (const uint8_t *p, size_t len, struct shim_runtime_opts *out)
{
  const uint8_t *end = p + len;
  struct pb_field f, inner;
  int is_bootstrap = 0;

  while (next_field (&p, end, &f) == 1)
    {
      if (f.number >= 4 && f.number <= 7)
        is_bootstrap = 1;
      if (f.number == 4 && f.data && out->containerd_version == NULL)
        out->containerd_version = dup_field (&f);
      if (f.number == 8 && f.data)
        {
          const uint8_t *q = f.data;
          while (next_field (&q, f.data + f.len, &inner) == 1)
            if (inner.number == 1 && inner.data)
              parse_any (inner.data, inner.len, out);
        }
    }
  return is_bootstrap;
}

void
shim_runtime_opts_parse (const uint8_t *data, size_t len, struct shim_runtime_opts *out)
{
  memset (out, 0, sizeof (*out));
  if (data == NULL || len == 0)
    return;
  if (parse_bootstrap (data, len, out))
    return;
  parse_any (data, len, out);
}

void
shim_runtime_opts_free (struct shim_runtime_opts *o)
{
  free (o->sandboxer_address);
  free (o->containerd_version);
  memset (o, 0, sizeof (*o));
}
