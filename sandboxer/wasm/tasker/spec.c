/* Parses the OCI runtime spec fields the wasm tasker needs, with json-c; every type is checked so a
   malformed config.json becomes an INVALID_ARGUMENT error, never a crash. */
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"

#define KC_SPEC_MAX_SIZE (16u << 20)

static void
json_putp (struct json_object **o)
{
  if (*o != NULL)
    json_object_put (*o);
}
#define cleanup_json __attribute__ ((cleanup (json_putp)))

static void
strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p != NULL; p++)
    free (*p);
  free (v);
}

static int
bad (kc_error_t *err, const char *what)
{
  return kc_error_code (err, KC_INVALID_ARGUMENT, "%s", what);
}

static struct json_object *
get_typed (struct json_object *obj, const char *key, enum json_type type, int *wrong)
{
  struct json_object *v = NULL;

  *wrong = 0;
  if (obj == NULL || !json_object_object_get_ex (obj, key, &v) || v == NULL)
    return NULL;
  if (!json_object_is_type (v, type))
    {
      *wrong = 1;
      return NULL;
    }
  return v;
}

static int
parse_strv (struct json_object *arr, const char *what, char ***out, size_t *n, kc_error_t *err)
{
  size_t len = json_object_array_length (arr);
  char **v = calloc (len + 1, sizeof (char *));

  if (v == NULL)
    return kc_error (err, ENOMEM, "parse %s", what);
  for (size_t i = 0; i < len; i++)
    {
      struct json_object *s = json_object_array_get_idx (arr, i);
      if (!json_object_is_type (s, json_type_string))
        {
          strv_free (v);
          return kc_error_code (err, KC_INVALID_ARGUMENT, "%s[%zu] is not a string", what, i);
        }
      v[i] = strdup (json_object_get_string (s));
      if (v[i] == NULL)
        {
          strv_free (v);
          return kc_error (err, ENOMEM, "parse %s", what);
        }
    }
  *out = v;
  *n = len;
  return 0;
}

static int
parse_process_obj (struct json_object *p, struct kc_oci_process *proc, kc_error_t *err)
{
  struct json_object *v;
  int wrong;

  memset (proc, 0, sizeof (*proc));
  v = get_typed (p, "args", json_type_array, &wrong);
  if (v == NULL || json_object_array_length (v) == 0)
    return bad (err, wrong ? "process.args is not an array" : "process.args is missing or empty");
  if (parse_strv (v, "process.args", &proc->args, &proc->nargs, err) < 0)
    return -1;
  if (proc->args[0][0] == '\0')
    {
      kc_oci_process_free (proc);
      return bad (err, "process.args[0] is empty");
    }
  v = get_typed (p, "env", json_type_array, &wrong);
  if (wrong)
    {
      kc_oci_process_free (proc);
      return bad (err, "process.env is not an array");
    }
  if (v != NULL && parse_strv (v, "process.env", &proc->env, &proc->nenv, err) < 0)
    {
      kc_oci_process_free (proc);
      return -1;
    }
  if (proc->env == NULL && (proc->env = calloc (1, sizeof (char *))) == NULL)
    {
      kc_oci_process_free (proc);
      return kc_error (err, ENOMEM, "parse process");
    }
  v = get_typed (p, "cwd", json_type_string, &wrong);
  if (wrong)
    {
      kc_oci_process_free (proc);
      return bad (err, "process.cwd is not a string");
    }
  proc->cwd = strdup (v != NULL && json_object_get_string_len (v) > 0 ? json_object_get_string (v) : "/");
  if (proc->cwd == NULL)
    {
      kc_oci_process_free (proc);
      return kc_error (err, ENOMEM, "parse process");
    }
  return 0;
}

static int
is_bind_mount (struct json_object *m)
{
  int wrong;
  struct json_object *type = get_typed (m, "type", json_type_string, &wrong);
  struct json_object *opts = get_typed (m, "options", json_type_array, &wrong);

  if (type != NULL && strcmp (json_object_get_string (type), "bind") == 0)
    return 1;
  for (size_t i = 0; opts != NULL && i < json_object_array_length (opts); i++)
    {
      const char *o = json_object_get_string (json_object_array_get_idx (opts, i));
      if (o != NULL && (strcmp (o, "bind") == 0 || strcmp (o, "rbind") == 0))
        return 1;
    }
  return 0;
}

static int
parse_mounts (struct json_object *arr, struct kc_oci_spec *spec, kc_error_t *err)
{
  size_t len = json_object_array_length (arr);

  spec->mounts = calloc (len + 1, sizeof (struct kc_oci_mount));
  if (spec->mounts == NULL)
    return kc_error (err, ENOMEM, "parse mounts");
  for (size_t i = 0; i < len; i++)
    {
      struct json_object *m = json_object_array_get_idx (arr, i), *dst, *src;
      int wrong_dst, wrong_src;

      if (!json_object_is_type (m, json_type_object))
        return kc_error_code (err, KC_INVALID_ARGUMENT, "mounts[%zu] is not an object", i);
      dst = get_typed (m, "destination", json_type_string, &wrong_dst);
      src = get_typed (m, "source", json_type_string, &wrong_src);
      if (dst == NULL)
        return kc_error_code (err, KC_INVALID_ARGUMENT, "mounts[%zu].destination is missing or not a string", i);
      if (wrong_src)
        return kc_error_code (err, KC_INVALID_ARGUMENT, "mounts[%zu].source is not a string", i);
      if (src == NULL || !is_bind_mount (m))
        continue;
      struct kc_oci_mount *out = &spec->mounts[spec->nmounts];
      out->destination = strdup (json_object_get_string (dst));
      out->source = strdup (json_object_get_string (src));
      out->type = strdup ("bind");
      spec->nmounts++;
      if (out->destination == NULL || out->source == NULL || out->type == NULL)
        return kc_error (err, ENOMEM, "parse mounts");
    }
  return 0;
}

static int
get_int (struct json_object *obj, const char *key, const char *what, int *has, int64_t *out, kc_error_t *err)
{
  int wrong;
  struct json_object *v = get_typed (obj, key, json_type_int, &wrong);

  if (wrong)
    {
      /* null means "not set", as Go's encoding/json reads it. */
      struct json_object *d = NULL;
      json_object_object_get_ex (obj, key, &d);
      if (json_object_is_type (d, json_type_null))
        return 0;
      return kc_error_code (err, KC_INVALID_ARGUMENT, "%s is not an integer", what);
    }
  if (v == NULL)
    return 0;
  *out = json_object_get_int64 (v);
  *has = 1;
  return 0;
}

static int
parse_resources_obj (struct json_object *r, struct kc_oci_resources *res, kc_error_t *err)
{
  struct json_object *mem, *cpu;
  int wrong;
  int64_t v = 0;

  memset (res, 0, sizeof (*res));
  if (r == NULL)
    return 0;
  mem = get_typed (r, "memory", json_type_object, &wrong);
  if (wrong)
    return bad (err, "resources.memory is not an object");
  if (get_int (mem, "limit", "resources.memory.limit", &res->has_memory_limit, &res->memory_limit, err) < 0)
    return -1;
  cpu = get_typed (r, "cpu", json_type_object, &wrong);
  if (wrong)
    return bad (err, "resources.cpu is not an object");
  if (get_int (cpu, "quota", "resources.cpu.quota", &res->has_cpu_quota, &res->cpu_quota, err) < 0)
    return -1;
  if (get_int (cpu, "period", "resources.cpu.period", &res->has_cpu_period, &v, err) < 0)
    return -1;
  if (res->has_cpu_period && v < 0)
    return bad (err, "resources.cpu.period is negative");
  res->cpu_period = (uint64_t) v;
  v = 0;
  if (get_int (cpu, "shares", "resources.cpu.shares", &res->has_cpu_shares, &v, err) < 0)
    return -1;
  if (res->has_cpu_shares && v < 0)
    return bad (err, "resources.cpu.shares is negative");
  res->cpu_shares = (uint64_t) v;
  return 0;
}

static struct json_object *
parse_document (const char *json, size_t len, const char *what, kc_error_t *err)
{
  struct json_tokener *tok = json_tokener_new ();
  struct json_object *root;
  enum json_tokener_error jerr;

  if (tok == NULL)
    {
      kc_error (err, ENOMEM, "parse %s", what);
      return NULL;
    }
  if (len > INT32_MAX)
    len = INT32_MAX;
  root = json_tokener_parse_ex (tok, json, (int) len);
  jerr = json_tokener_get_error (tok);
  if (root == NULL && jerr == json_tokener_continue)
    jerr = json_tokener_error_parse_eof;
  else if (root != NULL && tok->char_offset < (int) len)
    {
      /* Trailing bytes after the document: only whitespace is allowed. */
      for (size_t i = tok->char_offset; i < len; i++)
        if (json[i] != ' ' && json[i] != '\n' && json[i] != '\r' && json[i] != '\t')
          {
            json_object_put (root);
            root = NULL;
            jerr = json_tokener_error_parse_unexpected;
            break;
          }
    }
  json_tokener_free (tok);
  if (root == NULL)
    {
      kc_error_code (err, KC_INVALID_ARGUMENT, "parse %s: invalid JSON: %s", what, json_tokener_error_desc (jerr));
      return NULL;
    }
  if (!json_object_is_type (root, json_type_object))
    {
      json_object_put (root);
      kc_error_code (err, KC_INVALID_ARGUMENT, "parse %s: not a JSON object", what);
      return NULL;
    }
  return root;
}

int
kc_oci_spec_parse (const char *json, size_t len, struct kc_oci_spec *spec, kc_error_t *err)
{
  cleanup_json struct json_object *root = NULL;
  struct json_object *v, *linux_obj;
  int wrong;

  memset (spec, 0, sizeof (*spec));
  root = parse_document (json, len, "config.json", err);
  if (root == NULL)
    return -1;
  v = get_typed (root, "process", json_type_object, &wrong);
  if (v == NULL)
    return bad (err, wrong ? "config.json: process is not an object" : "config.json: process is missing");
  if (parse_process_obj (v, &spec->process, err) < 0)
    return kc_error_wrap (err, "config.json");
  v = get_typed (root, "mounts", json_type_array, &wrong);
  if (wrong || (v != NULL && parse_mounts (v, spec, err) < 0))
    {
      if (wrong)
        bad (err, "mounts is not an array");
      kc_oci_spec_free (spec);
      return kc_error_wrap (err, "config.json");
    }
  linux_obj = get_typed (root, "linux", json_type_object, &wrong);
  if (wrong)
    {
      kc_oci_spec_free (spec);
      return bad (err, "config.json: linux is not an object");
    }
  v = get_typed (linux_obj, "resources", json_type_object, &wrong);
  if (wrong || parse_resources_obj (v, &spec->resources, err) < 0)
    {
      if (wrong)
        bad (err, "linux.resources is not an object");
      kc_oci_spec_free (spec);
      return kc_error_wrap (err, "config.json: linux");
    }
  return 0;
}

int
kc_oci_spec_load (const char *path, struct kc_oci_spec *spec, kc_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  struct stat st;
  size_t off = 0;

  if (fd < 0)
    return kc_error (err, errno, "open `%s`", path);
  if (fstat (fd, &st) < 0)
    return kc_error (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode) || (uint64_t) st.st_size > KC_SPEC_MAX_SIZE)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "`%s`: not a regular file of at most 16 MiB", path);
  buf = malloc ((size_t) st.st_size + 1);
  if (buf == NULL)
    return kc_error (err, ENOMEM, "read `%s`", path);
  while (off < (size_t) st.st_size)
    {
      ssize_t n = read (fd, buf + off, (size_t) st.st_size - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return kc_error (err, errno, "read `%s`", path);
      if (n == 0)
        break;
      off += (size_t) n;
    }
  if (kc_oci_spec_parse (buf, off, spec, err) < 0)
    return kc_error_wrap (err, "%s", path);
  return 0;
}

void
kc_oci_process_free (struct kc_oci_process *proc)
{
  strv_free (proc->args);
  strv_free (proc->env);
  free (proc->cwd);
  memset (proc, 0, sizeof (*proc));
}

void
kc_oci_spec_free (struct kc_oci_spec *spec)
{
  kc_oci_process_free (&spec->process);
  for (size_t i = 0; spec->mounts != NULL && i < spec->nmounts; i++)
    {
      free (spec->mounts[i].destination);
      free (spec->mounts[i].source);
      free (spec->mounts[i].type);
    }
  free (spec->mounts);
  memset (spec, 0, sizeof (*spec));
}

int
kc_oci_process_parse (const char *json, size_t len, struct kc_oci_process *proc, kc_error_t *err)
{
  cleanup_json struct json_object *root = parse_document (json, len, "process spec", err);

  memset (proc, 0, sizeof (*proc));
  if (root == NULL)
    return -1;
  if (parse_process_obj (root, proc, err) < 0)
    return kc_error_wrap (err, "process spec");
  return 0;
}

int
kc_oci_resources_parse (const char *json, size_t len, struct kc_oci_resources *res, kc_error_t *err)
{
  cleanup_json struct json_object *root = parse_document (json, len, "resources", err);

  memset (res, 0, sizeof (*res));
  if (root == NULL)
    return -1;
  if (parse_resources_obj (root, res, err) < 0)
    return kc_error_wrap (err, "resources");
  return 0;
}
