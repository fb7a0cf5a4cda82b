/* Address forms of ARCHITECTURE.md: /path, [ttrpc+]unix://path, [ttrpc+]vsock://cid:port,
   [ttrpc+]hvsock://path:port. */
#include "ttrpc.h"

#include <stdlib.h>
#include <string.h>

static int
is_decimal (const char *s, size_t len, unsigned long max)
{
  unsigned long v = 0;

  if (len == 0 || len > 10)
    return 0;
  for (size_t i = 0; i < len; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return 0;
      v = v * 10 + (s[i] - '0');
    }
  return v <= max;
}

/* "x:port" with a non-empty x and a decimal 32-bit port. */
static int
is_host_port (const char *rest, int numeric_host)
{
  const char *colon = strrchr (rest, ':');

  if (colon == NULL || colon == rest)
    return 0;
  if (!is_decimal (colon + 1, strlen (colon + 1), 0xffffffffUL))
    return 0;
  return !numeric_host || is_decimal (rest, colon - rest, 0xffffffffUL);
}

static const char *
strip_prefix (const char *s, const char *prefix)
{
  size_t n = strlen (prefix);
  return strncmp (s, prefix, n) == 0 ? s + n : NULL;
}

int
kc_address_parse (const char *address, char **scheme, char **rest, kc_error_t *err)
{
  static const char *const schemes[] = { "unix", "vsock", "hvsock" };
  const char *scheme_found = NULL, *tail = NULL;

  *scheme = *rest = NULL;
  if (address == NULL || *address == '\0')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "empty address");
  if (address[0] == '/')
    {
      scheme_found = "unix";
      tail = address;
    }
  for (size_t i = 0; tail == NULL && i < sizeof schemes / sizeof schemes[0]; i++)
    {
      const char *after = strip_prefix (address, "ttrpc+");
      after = strip_prefix (after ? after : address, schemes[i]);
      if (after && (after = strip_prefix (after, "://")) != NULL)
        {
          scheme_found = schemes[i];
          tail = after;
        }
    }
  if (tail == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "unsupported address `%s`", address);
  if (*tail == '\0' || (strcmp (scheme_found, "vsock") == 0 && !is_host_port (tail, 1))
      || (strcmp (scheme_found, "hvsock") == 0 && !is_host_port (tail, 0)))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "malformed %s address `%s`", scheme_found, address);
  *scheme = strdup (scheme_found);
  *rest = strdup (tail);
  if (*scheme == NULL || *rest == NULL)
    {
      free (*scheme);
      free (*rest);
      *scheme = *rest = NULL;
      return kc_error_code (err, KC_RESOURCE_EXHAUSTED, "out of memory");
    }
  return 0;
}
