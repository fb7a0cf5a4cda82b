/* The strict TOML-subset parser (see toml.h): one line at a time, no allocation per value
   beyond the line being parsed. */
#include "toml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

#define TOML_MAX_LINE 4096

struct toml_parser
{
  char table[TOML_MAX_LINE];
  char **seen; /* "table\0key" entries, to reject duplicates */
  size_t n_seen;
  int line;
  kc_error_t *err;
};

static int
syntax_error (struct toml_parser *p, const char *what)
{
  return kc_error_code (p->err, KC_INVALID_ARGUMENT, "line %d: %s", p->line, what);
}

static int
is_bare_char (char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static char *
skip_ws (char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* After a value or header: only whitespace and an optional comment may follow. */
static int
expect_end (struct toml_parser *p, char *s)
{
  s = skip_ws (s);
  if (*s != '\0' && *s != '#')
    return syntax_error (p, "unexpected text after the value");
  return 0;
}

/* Remembers table+key; -1 when already seen. */
static int
remember (struct toml_parser *p, const char *table, const char *key, const char *what)
{
  size_t tl = strlen (table), kl = strlen (key);
  for (size_t i = 0; i < p->n_seen; i++)
    if (strcmp (p->seen[i], table) == 0 && strcmp (p->seen[i] + strlen (p->seen[i]) + 1, key) == 0)
      return kc_error_code (p->err, KC_INVALID_ARGUMENT, "line %d: duplicate %s `%s%s%s`", p->line, what, table,
                            *table && *key ? "." : "", key);
  char **grown = realloc (p->seen, (p->n_seen + 1) * sizeof (*grown));
  if (grown == NULL)
    return kc_error (p->err, ENOMEM, "toml");
  p->seen = grown;
  char *entry = malloc (tl + kl + 2);
  if (entry == NULL)
    return kc_error (p->err, ENOMEM, "toml");
  memcpy (entry, table, tl + 1);
  memcpy (entry + tl + 1, key, kl + 1);
  p->seen[p->n_seen++] = entry;
  return 0;
}

static int
parse_header (struct toml_parser *p, char *s)
{
  if (s[1] == '[')
    return syntax_error (p, "arrays of tables are not supported");
  char *q = skip_ws (s + 1);
  size_t n = 0;
  char name[TOML_MAX_LINE];
  for (;;)
    {
      if (!is_bare_char (*q))
        return syntax_error (p, "bad table name (bare keys separated by dots expected)");
      while (is_bare_char (*q))
        name[n++] = *q++;
      q = skip_ws (q);
      if (*q == ']')
        break;
      if (*q != '.')
        return syntax_error (p, "bad table name (bare keys separated by dots expected)");
      name[n++] = *q++;
      q = skip_ws (q);
    }
  name[n] = '\0';
  if (expect_end (p, q + 1) < 0)
    return -1;
  if (remember (p, name, "", "table") < 0)
    return -1;
  memcpy (p->table, name, n + 1);
  return 0;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Appends code point cp as UTF-8; -1 for surrogates and values beyond U+10FFFF. */
static int
put_utf8 (char **out, unsigned long cp)
{
  char *o = *out;
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF || cp == 0)
    return -1;
  if (cp < 0x80)
    *o++ = (char) cp;
  else if (cp < 0x800)
    {
      *o++ = (char) (0xC0 | (cp >> 6));
      *o++ = (char) (0x80 | (cp & 0x3F));
    }
  else if (cp < 0x10000)
    {
      *o++ = (char) (0xE0 | (cp >> 12));
      *o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
      *o++ = (char) (0x80 | (cp & 0x3F));
    }
  else
    {
      *o++ = (char) (0xF0 | (cp >> 18));
      *o++ = (char) (0x80 | ((cp >> 12) & 0x3F));
      *o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
      *o++ = (char) (0x80 | (cp & 0x3F));
    }
  *out = o;
  return 0;
}

static int
parse_escape (struct toml_parser *p, char **in, char **out)
{
  char *s = *in;
  static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
  const char *e = *s ? strchr (from, *s) : NULL;
  if (e != NULL)
    {
      *(*out)++ = to[e - from];
      *in = s + 1;
      return 0;
    }
  int digits = *s == 'u' ? 4 : *s == 'U' ? 8 : 0;
  if (digits == 0)
    return syntax_error (p, "unknown escape in string");
  unsigned long cp = 0;
  for (int i = 1; i <= digits; i++)
    {
      int h = hex_value (s[i]);
      if (h < 0)
        return syntax_error (p, "bad \\u escape in string");
      cp = cp * 16 + (unsigned long) h;
    }
  if (put_utf8 (out, cp) < 0)
    return syntax_error (p, "bad code point in \\u escape");
  *in = s + digits + 1;
  return 0;
}

/* Unescapes the string starting at s (on its opening quote) in place; *end is after it. */
static int
parse_string (struct toml_parser *p, char *s, char **end)
{
  char quote = *s, *in = s + 1, *out = s;
  if (in[0] == quote && in[1] == quote)
    return syntax_error (p, "multi-line strings are not supported");
  for (;;)
    {
      char c = *in;
      if (c == '\0')
        return syntax_error (p, "unterminated string");
      if (c == quote)
        break;
      if ((unsigned char) c < 0x20 && c != '\t')
        return syntax_error (p, "control character in string");
      if (c == '\\' && quote == '"')
        {
          in++;
          if (parse_escape (p, &in, &out) < 0)
            return -1;
          continue;
        }
      *out++ = c;
      in++;
    }
  *out = '\0';
  *end = in + 1;
  return 0;
}

static int
parse_integer (struct toml_parser *p, char *s, char **end, int64_t *value)
{
  *end = s;
  char digits[64];
  size_t n = 0;
  char *q = s;
  if (*q == '+' || *q == '-')
    digits[n++] = *q++;
  if (!(*q >= '0' && *q <= '9'))
    return syntax_error (p, "bad value (string, integer, true or false expected)");
  if (*q == '0' && q[1] >= '0' && q[1] <= '9')
    return syntax_error (p, "leading zeros are not allowed");
  while ((*q >= '0' && *q <= '9') || (*q == '_' && q[-1] >= '0' && q[-1] <= '9' && q[1] >= '0' && q[1] <= '9'))
    {
      if (*q != '_')
        {
          if (n + 1 >= sizeof (digits))
            return syntax_error (p, "integer out of range");
          digits[n++] = *q;
        }
      q++;
    }
  digits[n] = '\0';
  if (*q == '.' || *q == 'e' || *q == 'E' || *q == 'x' || *q == 'o' || *q == 'b' || *q == ':' || *q == '-')
    return syntax_error (p, "only decimal integers are supported");
  errno = 0;
  long long v = strtoll (digits, NULL, 10);
  if (errno == ERANGE)
    return syntax_error (p, "integer out of range");
  *value = v;
  *end = q;
  return 0;
}

static int
parse_value (struct toml_parser *p, char *s, struct kc_toml_value *v)
{
  char *end = s;
  memset (v, 0, sizeof (*v));
  if (*s == '"' || *s == '\'')
    {
      v->type = KC_TOML_STRING;
      v->str = s;
      if (parse_string (p, s, &end) < 0)
        return -1;
    }
  else if (strncmp (s, "true", 4) == 0 && !is_bare_char (s[4]))
    {
      v->type = KC_TOML_BOOL;
      v->boolean = 1;
      end = s + 4;
    }
  else if (strncmp (s, "false", 5) == 0 && !is_bare_char (s[5]))
    {
      v->type = KC_TOML_BOOL;
      end = s + 5;
    }
  else
    {
      if (*s == '[' || *s == '{')
        return syntax_error (p, "arrays and inline tables are not supported");
      v->type = KC_TOML_INT;
      if (parse_integer (p, s, &end, &v->integer) < 0)
        return -1;
    }
  return expect_end (p, end);
}

static int
parse_key_value (struct toml_parser *p, char *s, kc_toml_fn fn, void *userdata)
{
  char *key = s;
  if (*s == '"' || *s == '\'')
    return syntax_error (p, "quoted keys are not supported");
  while (is_bare_char (*s))
    s++;
  if (s == key)
    return syntax_error (p, "key expected");
  char *after = skip_ws (s);
  if (*after == '.')
    return syntax_error (p, "dotted keys are not supported (use a [table])");
  if (*after != '=')
    return syntax_error (p, "`=` expected after the key");
  *s = '\0';
  struct kc_toml_value v;
  if (parse_value (p, skip_ws (after + 1), &v) < 0)
    return -1;
  if (remember (p, p->table, key, "key") < 0)
    return -1;
  return fn (p->table, key, &v, p->line, userdata, p->err);
}

static int
parse_line (struct toml_parser *p, char *s, kc_toml_fn fn, void *userdata)
{
  s = skip_ws (s);
  if (*s == '\0' || *s == '#')
    return 0;
  if (*s == '[')
    return parse_header (p, s);
  return parse_key_value (p, s, fn, userdata);
}

static int
parse_lines (struct toml_parser *p, const char *buf, size_t len, kc_toml_fn fn, void *userdata)
{
  char line[TOML_MAX_LINE];
  size_t pos = 0;
  while (pos < len)
    {
      p->line++;
      const char *nl = memchr (buf + pos, '\n', len - pos);
      size_t raw = nl ? (size_t) (nl - (buf + pos)) : len - pos, n = raw;
      if (n >= sizeof (line))
        return syntax_error (p, "line too long");
      memcpy (line, buf + pos, n);
      line[n] = '\0';
      if (memchr (line, '\0', n) != NULL)
        return syntax_error (p, "NUL byte");
      if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
      if (parse_line (p, line, fn, userdata) < 0)
        return -1;
      pos += raw + (nl ? 1 : 0);
    }
  return 0;
}

int
kc_toml_parse (const char *buf, size_t len, kc_toml_fn fn, void *userdata, kc_error_t *err)
{
  struct toml_parser p = { .table = "", .err = err };
  int ret = parse_lines (&p, buf, len, fn, userdata);
  for (size_t i = 0; i < p.n_seen; i++)
    free (p.seen[i]);
  free (p.seen);
  return ret;
}
