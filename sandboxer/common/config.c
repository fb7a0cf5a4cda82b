/* Maps TOML keys onto struct kc_config (see config.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "toml.h"

#define STOP_TIMEOUT_MAX 86400

struct config_ctx
{
  struct kc_config *cfg;
  const char *section;
};

void
kc_config_init (struct kc_config *cfg)
{
  memset (cfg, 0, sizeof (*cfg));
  cfg->log_level = -1;
  cfg->stop_timeout_secs = KC_CONFIG_DEFAULT_STOP_TIMEOUT;
}

void
kc_config_free (struct kc_config *cfg)
{
  free (cfg->cache_dir);
  cfg->cache_dir = NULL;
}

static int
type_error (const char *key, int line, const char *want, kc_error_t *err)
{
  return kc_error_code (err, KC_INVALID_ARGUMENT, "line %d: `%s` must be %s", line, key, want);
}

static int
set_top_level (struct kc_config *cfg, const char *key, const struct kc_toml_value *v, int line, kc_error_t *err)
{
  if (strcmp (key, "log_level") != 0)
    {
      kc_log_warn ("config line %d: unknown key `%s` ignored", line, key);
      return 0;
    }
  if (v->type != KC_TOML_STRING)
    return type_error (key, line, "a string", err);
  int level = kc_log_level_parse (v->str);
  if (level < 0)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "line %d: unknown log_level `%s`", line, v->str);
  cfg->log_level = level;
  return 0;
}

static int
is_backend_key (const struct kc_config *cfg, const char *key)
{
  for (const char *const *k = cfg->backend_keys; k != NULL && *k != NULL; k++)
    if (strcmp (*k, key) == 0)
      return 1;
  return 0;
}

static int
set_backend_key (struct kc_config *cfg, const char *key, const struct kc_toml_value *v, int line, kc_error_t *err)
{
  if (strcmp (key, "precompile") == 0)
    {
      if (v->type != KC_TOML_BOOL)
        return type_error (key, line, "true or false", err);
      cfg->precompile = v->boolean;
    }
  else if (strcmp (key, "cache_dir") == 0)
    {
      if (v->type != KC_TOML_STRING || v->str[0] != '/')
        return type_error (key, line, "an absolute path string", err);
      char *dup = strdup (v->str);
      if (dup == NULL)
        return kc_error (err, ENOMEM, "strdup");
      free (cfg->cache_dir);
      cfg->cache_dir = dup;
    }
  else if (strcmp (key, "stop_timeout_secs") == 0)
    {
      if (v->type != KC_TOML_INT || v->integer < 1 || v->integer > STOP_TIMEOUT_MAX)
        return type_error (key, line, "an integer from 1 to 86400", err);
      cfg->stop_timeout_secs = (unsigned) v->integer;
    }
  else if (!is_backend_key (cfg, key))
    kc_log_warn ("config line %d: unknown key `%s` ignored", line, key);
  return 0;
}

static int
on_key (const char *table, const char *key, const struct kc_toml_value *v, int line, void *userdata, kc_error_t *err)
{
  struct config_ctx *ctx = userdata;
  if (table[0] == '\0')
    return set_top_level (ctx->cfg, key, v, line, err);
  if (strcmp (table, ctx->section) == 0)
    return set_backend_key (ctx->cfg, key, v, line, err);
  kc_log_warn ("config line %d: unknown key `%s.%s` ignored", line, table, key);
  return 0;
}

int
kc_config_parse (struct kc_config *cfg, const char *section, const char *buf, size_t len, kc_error_t *err)
{
  struct config_ctx ctx = { cfg, section };
  return kc_toml_parse (buf, len, on_key, &ctx, err);
}

int
kc_config_load (struct kc_config *cfg, const char *section, const char *path, kc_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;
  if (kc_read_file (path, &buf, &len, err) < 0)
    return kc_error_wrap (err, "read config");
  if (kc_config_parse (cfg, section, buf, len, err) < 0)
    return kc_error_wrap (err, "config `%s`", path);
  return 0;
}
