/* Parses the OCI spec subset of spec.h with json-c; wrong types become INVALID_ARGUMENT, never a
   crash. Mount option names follow runc's table. */
#include "spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "fsutil.h"

static void
strv_free (char **v)
{
  for (char **p = v; p != NULL && *p != NULL; p++)
    free (*p);
  free (v);
}

static struct json_object *
member (struct json_object *obj, const char *key, enum json_type type, int *wrong)
{
  struct json_object *v = NULL;

  if (obj == NULL || !json_object_object_get_ex (obj, key, &v) || v == NULL)
    return NULL;
  if (!json_object_is_type (v, type))
    {
      *wrong = 1;
      return NULL;
    }
  return v;
}

/* NULL-terminated copy of a string array; an absent array gives an empty vector. */
static int
strv_parse (struct json_object *arr, const char *what, char ***out, kc_error_t *err)
{
  size_t len = arr != NULL ? json_object_array_length (arr) : 0;
  char **v = calloc (len + 1, sizeof (char *));

  if (v == NULL)
    return kc_error (err, ENOMEM, "parse %s", what);
  for (size_t i = 0; i < len; i++)
    {
      struct json_object *s = json_object_array_get_idx (arr, i);
      if (!json_object_is_type (s, json_type_string) || (v[i] = strdup (json_object_get_string (s))) == NULL)
        {
          strv_free (v);
          return kc_error_code (err, KC_INVALID_ARGUMENT, "%s[%zu] is not a string", what, i);
        }
    }
  *out = v;
  return 0;
}

static int
user_parse (struct json_object *u, struct kc_vmm_process *proc, kc_error_t *err)
{
  struct json_object *v, *gids;
  int wrong = 0;

  if ((v = member (u, "uid", json_type_int, &wrong)) != NULL)
    proc->uid = (uid_t) json_object_get_int64 (v);
  if ((v = member (u, "gid", json_type_int, &wrong)) != NULL)
    proc->gid = (gid_t) json_object_get_int64 (v);
  gids = member (u, "additionalGids", json_type_array, &wrong);
  if (wrong)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "process.user has a field of the wrong type");
  if (gids == NULL)
    return 0;
  proc->n_additional_gids = json_object_array_length (gids);
  proc->additional_gids = calloc (proc->n_additional_gids + 1, sizeof (gid_t));
  if (proc->additional_gids == NULL)
    return kc_error (err, ENOMEM, "parse process.user");
  for (size_t i = 0; i < proc->n_additional_gids; i++)
    proc->additional_gids[i] = (gid_t) json_object_get_int64 (json_object_array_get_idx (gids, i));
  return 0;
}

static int
process_obj_parse (struct json_object *p, struct kc_vmm_process *proc, kc_error_t *err)
{
  struct json_object *v;
  int wrong = 0;

  memset (proc, 0, sizeof (*proc));
  if (p == NULL || !json_object_is_type (p, json_type_object))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "process is missing or not an object");
  v = member (p, "args", json_type_array, &wrong);
  if (v == NULL || json_object_array_length (v) == 0)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "process.args is missing or empty");
  if (strv_parse (v, "process.args", &proc->args, err) < 0
      || strv_parse (member (p, "env", json_type_array, &wrong), "process.env", &proc->env, err) < 0)
    return -1;
  v = member (p, "cwd", json_type_string, &wrong);
  proc->cwd = strdup (v != NULL ? json_object_get_string (v) : "/");
  if ((v = member (p, "terminal", json_type_boolean, &wrong)) != NULL)
    proc->terminal = json_object_get_boolean (v);
  if ((v = member (p, "user", json_type_object, &wrong)) != NULL && user_parse (v, proc, err) < 0)
    return -1;
  if (wrong || proc->args[0][0] == '\0' || proc->cwd == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "process: empty args[0] or a field of the wrong type");
  return 0;
}

static int
mount_parse (struct json_object *m, struct kc_vmm_mount *out, kc_error_t *err)
{
  struct json_object *dst, *type, *src;
  int wrong = 0;

  dst = member (m, "destination", json_type_string, &wrong);
  type = member (m, "type", json_type_string, &wrong);
  src = member (m, "source", json_type_string, &wrong);
  if (dst == NULL || wrong)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "mounts[]: no destination or a field of the wrong type");
  out->destination = strdup (json_object_get_string (dst));
  out->type = strdup (type != NULL ? json_object_get_string (type) : "");
  out->source = strdup (src != NULL ? json_object_get_string (src) : "");
  if (out->destination == NULL || out->type == NULL || out->source == NULL)
    return kc_error (err, ENOMEM, "parse mounts");
  return strv_parse (member (m, "options", json_type_array, &wrong), "mounts[].options", &out->options, err);
}

static int
mounts_parse (struct json_object *arr, struct kc_vmm_spec *spec, kc_error_t *err)
{
  size_t n = json_object_array_length (arr);

  spec->mounts = calloc (n + 1, sizeof (*spec->mounts));
  if (spec->mounts == NULL)
    return kc_error (err, ENOMEM, "parse mounts");
  for (size_t i = 0; i < n; i++)
    {
      spec->nmounts++;
      if (mount_parse (json_object_array_get_idx (arr, i), &spec->mounts[i], err) < 0)
        return -1;
    }
  return 0;
}

static int64_t
int_member (struct json_object *obj, const char *key, int *present, int *wrong)
{
  struct json_object *v = member (obj, key, json_type_int, wrong);

  if (v != NULL && present != NULL)
    *present = 1;
  return v != NULL ? json_object_get_int64 (v) : 0;
}

/* linux.resources.memory.limit and cpu.{quota,period,shares}; the rest is not applied. */
static int
resources_parse (struct json_object *lnx, struct kc_vmm_resources *res, kc_error_t *err)
{
  int wrong = 0;
  struct json_object *r = member (lnx, "resources", json_type_object, &wrong);
  struct json_object *mem = member (r, "memory", json_type_object, &wrong);
  struct json_object *cpu = member (r, "cpu", json_type_object, &wrong);
  int64_t period, shares;

  res->memory_limit = int_member (mem, "limit", &res->has_memory_limit, &wrong);
  res->cpu_quota = int_member (cpu, "quota", &res->has_cpu_quota, &wrong);
  period = int_member (cpu, "period", NULL, &wrong);
  shares = int_member (cpu, "shares", NULL, &wrong);
  if (wrong || period < 0 || shares < 0)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "linux.resources: a field has the wrong type or sign");
  res->cpu_period = (uint64_t) period;
  res->cpu_shares = (uint64_t) shares;
  return 0;
}

static int
spec_obj_parse (struct json_object *root, struct kc_vmm_spec *spec, kc_error_t *err)
{
  struct json_object *v, *r;
  int wrong = 0;

  if (process_obj_parse (member (root, "process", json_type_object, &wrong), &spec->process, err) < 0)
    return kc_error_wrap (err, "config.json");
  if ((v = member (root, "hostname", json_type_string, &wrong)) != NULL && *json_object_get_string (v) != '\0')
    spec->hostname = strdup (json_object_get_string (v));
  if ((r = member (root, "root", json_type_object, &wrong)) != NULL)
    {
      if ((v = member (r, "path", json_type_string, &wrong)) != NULL)
        spec->root_path = strdup (json_object_get_string (v));
      if ((v = member (r, "readonly", json_type_boolean, &wrong)) != NULL)
        spec->root_readonly = json_object_get_boolean (v);
    }
  if ((v = member (root, "mounts", json_type_array, &wrong)) != NULL && mounts_parse (v, spec, err) < 0)
    return kc_error_wrap (err, "config.json");
  if (resources_parse (member (root, "linux", json_type_object, &wrong), &spec->resources, err) < 0)
    return kc_error_wrap (err, "config.json");
  if (wrong)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "config.json: a field has the wrong type");
  return 0;
}

static struct json_object *
json_parse (const char *json, size_t len, kc_error_t *err)
{
  struct json_tokener *tok = json_tokener_new ();
  struct json_object *root;

  if (tok == NULL)
    return kc_error (err, ENOMEM, "json"), NULL;
  root = json_tokener_parse_ex (tok, json, (int) len);
  if (root == NULL || !json_object_is_type (root, json_type_object))
    {
      kc_error_code (err, KC_INVALID_ARGUMENT, "not a JSON object: %s",
                     json_tokener_error_desc (json_tokener_get_error (tok)));
      json_object_put (root);
      root = NULL;
    }
  json_tokener_free (tok);
  return root;
}

int
kc_vmm_spec_parse (const char *json, size_t len, struct kc_vmm_spec *spec, kc_error_t *err)
{
  struct json_object *root = json_parse (json, len, err);
  int ret;

  memset (spec, 0, sizeof (*spec));
  if (root == NULL)
    return kc_error_wrap (err, "config.json");
  ret = spec_obj_parse (root, spec, err);
  json_object_put (root);
  if (ret < 0)
    kc_vmm_spec_free (spec);
  return ret;
}

int
kc_vmm_spec_load (const char *path, struct kc_vmm_spec *spec, kc_error_t *err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;

  if (kc_read_file (path, &text, &len, err) < 0)
    return -1;
  if (kc_vmm_spec_parse (text, len, spec, err) < 0)
    return kc_error_wrap (err, "`%s`", path);
  return 0;
}

int
kc_vmm_process_parse (const char *json, size_t len, struct kc_vmm_process *proc, kc_error_t *err)
{
  struct json_object *root = json_parse (json, len, err);
  int ret;

  if (root == NULL)
    return kc_error_wrap (err, "process spec");
  ret = process_obj_parse (root, proc, err);
  json_object_put (root);
  if (ret < 0)
    kc_vmm_process_free (proc);
  return ret;
}

void
kc_vmm_process_free (struct kc_vmm_process *proc)
{
  strv_free (proc->args);
  strv_free (proc->env);
  free (proc->cwd);
  free (proc->additional_gids);
  memset (proc, 0, sizeof (*proc));
}

void
kc_vmm_spec_free (struct kc_vmm_spec *spec)
{
  kc_vmm_process_free (&spec->process);
  for (size_t i = 0; i < spec->nmounts; i++)
    {
      free (spec->mounts[i].destination);
      free (spec->mounts[i].type);
      free (spec->mounts[i].source);
      strv_free (spec->mounts[i].options);
    }
  free (spec->mounts);
  free (spec->hostname);
  free (spec->root_path);
  memset (spec, 0, sizeof (*spec));
}

struct option_flag
{
  const char *name;
  int clear;
  unsigned long flag;
};

static const struct option_flag option_flags[] = {
  { "ro", 0, MS_RDONLY },
  { "rw", 1, MS_RDONLY },
  { "nosuid", 0, MS_NOSUID },
  { "suid", 1, MS_NOSUID },
  { "nodev", 0, MS_NODEV },
  { "dev", 1, MS_NODEV },
  { "noexec", 0, MS_NOEXEC },
  { "exec", 1, MS_NOEXEC },
  { "sync", 0, MS_SYNCHRONOUS },
  { "async", 1, MS_SYNCHRONOUS },
  { "noatime", 0, MS_NOATIME },
  { "atime", 1, MS_NOATIME },
  { "relatime", 0, MS_RELATIME },
  { "norelatime", 1, MS_RELATIME },
  { "strictatime", 0, MS_STRICTATIME },
  { "nodiratime", 0, MS_NODIRATIME },
  { "bind", 0, MS_BIND },
  { "rbind", 0, MS_BIND | MS_REC },
  { "defaults", 0, 0 },
};

static const struct option_flag propagation_flags[] = {
  { "private", 0, MS_PRIVATE },       { "rprivate", 0, MS_PRIVATE | MS_REC },
  { "slave", 0, MS_SLAVE },           { "rslave", 0, MS_SLAVE | MS_REC },
  { "shared", 0, MS_SHARED },         { "rshared", 0, MS_SHARED | MS_REC },
  { "unbindable", 0, MS_UNBINDABLE }, { "runbindable", 0, MS_UNBINDABLE | MS_REC },
};

static const struct option_flag *
flag_find (const struct option_flag *table, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (table[i].name, name) == 0)
      return &table[i];
  return NULL;
}

static int
data_append (char **data, const char *opt)
{
  size_t old = strlen (*data), add = strlen (opt);
  char *grown = realloc (*data, old + add + 2);

  if (grown == NULL)
    return -1;
  if (old > 0)
    grown[old++] = ',';
  memcpy (grown + old, opt, add + 1);
  *data = grown;
  return 0;
}

int
kc_vmm_mount_options (char *const *options, unsigned long *flags, unsigned long *propagation, char **data,
                      kc_error_t *err)
{
  cleanup_free char *d = strdup ("");

  *flags = 0;
  *propagation = 0;
  if (d == NULL)
    return kc_error (err, ENOMEM, "mount options");
  for (char *const *o = options; o != NULL && *o != NULL; o++)
    {
      const struct option_flag *f = flag_find (option_flags, sizeof (option_flags) / sizeof (*f), *o);
      const struct option_flag *p = flag_find (propagation_flags, sizeof (propagation_flags) / sizeof (*p), *o);
      if (f != NULL)
        *flags = f->clear ? *flags & ~f->flag : *flags | f->flag;
      else if (p != NULL)
        *propagation = p->flag;
      else if (data_append (&d, *o) < 0)
        return kc_error (err, ENOMEM, "mount options");
    }
  *data = steal_pointer (&d);
  return 0;
}
