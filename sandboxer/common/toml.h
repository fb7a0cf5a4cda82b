/* A strict TOML subset: [a.b] tables, key = "string" | 'literal' | integer | true | false, and
   comments. Anything else is an error naming its line. */
#ifndef KC_TOML_H
#define KC_TOML_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum kc_toml_type
{
  KC_TOML_STRING,
  KC_TOML_INT,
  KC_TOML_BOOL,
};

struct kc_toml_value
{
  int type;        /* enum kc_toml_type */
  const char *str; /* KC_TOML_STRING: NUL-terminated, unescaped; valid during the callback */
  int64_t integer;
  int boolean;
};

/* Called once per key; table is "" at top level, else the dotted header ("wasm", "a.b").
   Returning -1 (with *err set) stops the parse. */
typedef int (*kc_toml_fn) (const char *table, const char *key, const struct kc_toml_value *value, int line,
                           void *userdata, kc_error_t *err);

/* Parses len bytes (no NUL required); duplicate keys and tables are errors. Errors have code
   KC_INVALID_ARGUMENT and a message starting with "line N: ". */
int kc_toml_parse (const char *buf, size_t len, kc_toml_fn fn, void *userdata, kc_error_t *err);

#endif
