/* sandbox.json <-> struct kc_sandbox_record (see store.h). */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "sandbox_id.h"

#define STORE_VERSION 1

static const char *const state_names[] = { "created", "ready", "notready" };

const char *
kc_sandbox_state_name (int state)
{
  return state >= 0 && state <= KC_SANDBOX_NOTREADY ? state_names[state] : "unknown";
}

void
kc_sandbox_record_init (struct kc_sandbox_record *r)
{
  memset (r, 0, sizeof (*r));
  r->annotations = json_object_new_object ();
  r->extensions = json_object_new_object ();
}

void
kc_sandbox_record_clear (struct kc_sandbox_record *r)
{
  free (r->id);
  free (r->netns_path);
  free (r->hostname);
  free (r->log_directory);
  free (r->cgroup_parent);
  free (r->address);
  json_object_put (r->annotations);
  json_object_put (r->extensions);
  memset (r, 0, sizeof (*r));
}

static void
add_string (json_object *j, const char *key, const char *value)
{
  if (value != NULL)
    json_object_object_add (j, key, json_object_new_string (value));
}

json_object *
kc_sandbox_record_to_json (const struct kc_sandbox_record *r)
{
  json_object *j = json_object_new_object ();
  json_object_object_add (j, "version", json_object_new_int (STORE_VERSION));
  add_string (j, "id", r->id);
  add_string (j, "state", kc_sandbox_state_name (r->state));
  add_string (j, "netns_path", r->netns_path);
  add_string (j, "hostname", r->hostname);
  add_string (j, "log_directory", r->log_directory);
  add_string (j, "cgroup_parent", r->cgroup_parent);
  add_string (j, "address", r->address);
  json_object_object_add (j, "created_at_ns", json_object_new_int64 (r->created_at_ns));
  json_object_object_add (j, "exited_at_ns", json_object_new_int64 (r->exited_at_ns));
  json_object_object_add (j, "pid", json_object_new_int (r->pid));
  json_object_object_add (j, "pid_start_time", json_object_new_uint64 (r->pid_start_time));
  json_object_object_add (j, "exit_status", json_object_new_int64 (r->exit_status));
  json_object_object_add (j, "memory_limit_bytes", json_object_new_int64 (r->memory_limit_bytes));
  json_object_object_add (j, "overhead_memory_limit_bytes", json_object_new_int64 (r->overhead_memory_limit_bytes));
  json_object_object_add (j, "cpu_quota", json_object_new_int64 (r->cpu_quota));
  json_object_object_add (j, "cpu_period", json_object_new_int64 (r->cpu_period));
  json_object_object_add (j, "annotations", json_object_get (r->annotations));
  json_object_object_add (j, "extensions", json_object_get (r->extensions));
  return j;
}

static int
get_typed (json_object *j, const char *key, json_type type, int required, json_object **out, kc_error_t *err)
{
  *out = NULL;
  if (!json_object_object_get_ex (j, key, out) || *out == NULL)
    {
      if (required)
        return kc_error_code (err, KC_DATA_LOSS, "missing `%s`", key);
      return 0;
    }
  if (!json_object_is_type (*out, type))
    return kc_error_code (err, KC_DATA_LOSS, "`%s` has the wrong type", key);
  return 0;
}

static int
get_string (json_object *j, const char *key, int required, char **out, kc_error_t *err)
{
  json_object *v;
  if (get_typed (j, key, json_type_string, required, &v, err) < 0)
    return -1;
  if (v == NULL)
    return 0;
  *out = strdup (json_object_get_string (v));
  if (*out == NULL)
    return kc_error (err, ENOMEM, "strdup");
  return 0;
}

/* A missing optional key leaves *out untouched. */
static int
get_int64_ex (json_object *j, const char *key, int required, int64_t min, int64_t max, int64_t *out, kc_error_t *err)
{
  json_object *v;
  if (get_typed (j, key, json_type_int, required, &v, err) < 0)
    return -1;
  if (v == NULL)
    return 0;
  errno = 0;
  int64_t x = json_object_get_int64 (v);
  if (errno != 0 || x < min || x > max)
    return kc_error_code (err, KC_DATA_LOSS, "`%s` is out of range", key);
  *out = x;
  return 0;
}

static int
get_int64 (json_object *j, const char *key, int64_t min, int64_t max, int64_t *out, kc_error_t *err)
{
  return get_int64_ex (j, key, 1, min, max, out, err);
}

/* The pod's resources; records written before they were kept have none (0 = unset). */
static int
parse_resources (struct kc_sandbox_record *r, json_object *j, kc_error_t *err)
{
  if (get_int64_ex (j, "memory_limit_bytes", 0, 0, INT64_MAX, &r->memory_limit_bytes, err) < 0
      || get_int64_ex (j, "overhead_memory_limit_bytes", 0, 0, INT64_MAX, &r->overhead_memory_limit_bytes, err) < 0
      || get_int64_ex (j, "cpu_quota", 0, 0, INT64_MAX, &r->cpu_quota, err) < 0
      || get_int64_ex (j, "cpu_period", 0, 0, INT64_MAX, &r->cpu_period, err) < 0)
    return -1;
  return 0;
}

static int
parse_state (json_object *j, int *state, kc_error_t *err)
{
  cleanup_free char *name = NULL;
  if (get_string (j, "state", 1, &name, err) < 0)
    return -1;
  for (int s = 0; s <= KC_SANDBOX_NOTREADY; s++)
    if (strcmp (name, state_names[s]) == 0)
      {
        *state = s;
        return 0;
      }
  return kc_error_code (err, KC_DATA_LOSS, "unknown state `%s`", name);
}

static int
parse_maps (struct kc_sandbox_record *r, json_object *j, kc_error_t *err)
{
  json_object *v;
  if (get_typed (j, "annotations", json_type_object, 0, &v, err) < 0)
    return -1;
  if (v != NULL)
    {
      json_object_put (r->annotations);
      r->annotations = json_object_get (v);
    }
  if (get_typed (j, "extensions", json_type_object, 0, &v, err) < 0)
    return -1;
  if (v != NULL)
    {
      json_object_put (r->extensions);
      r->extensions = json_object_get (v);
    }
  return 0;
}

static int
parse_numbers (struct kc_sandbox_record *r, json_object *j, kc_error_t *err)
{
  int64_t pid, status, start_time;
  if (get_int64 (j, "created_at_ns", 0, INT64_MAX, &r->created_at_ns, err) < 0
      || get_int64 (j, "exited_at_ns", 0, INT64_MAX, &r->exited_at_ns, err) < 0
      || get_int64 (j, "pid", 0, 0x3fffffff, &pid, err) < 0
      || get_int64 (j, "exit_status", 0, UINT32_MAX, &status, err) < 0)
    return -1;
  if (get_int64 (j, "pid_start_time", 0, INT64_MAX, &start_time, err) < 0)
    return -1;
  r->pid_start_time = (unsigned long long) start_time;
  r->pid = (pid_t) pid;
  r->exit_status = (uint32_t) status;
  return 0;
}

int
kc_sandbox_record_from_json (struct kc_sandbox_record *r, json_object *j, kc_error_t *err)
{
  if (!json_object_is_type (j, json_type_object))
    return kc_error_code (err, KC_DATA_LOSS, "not a JSON object");
  if (get_string (j, "id", 1, &r->id, err) < 0 || parse_state (j, &r->state, err) < 0
      || get_string (j, "netns_path", 0, &r->netns_path, err) < 0
      || get_string (j, "hostname", 0, &r->hostname, err) < 0
      || get_string (j, "log_directory", 0, &r->log_directory, err) < 0
      || get_string (j, "cgroup_parent", 0, &r->cgroup_parent, err) < 0
      || get_string (j, "address", 0, &r->address, err) < 0 || parse_numbers (r, j, err) < 0
      || parse_resources (r, j, err) < 0 || parse_maps (r, j, err) < 0)
    return -1;
  cleanup_error kc_error_t id_err = NULL;
  if (kc_sandbox_id_validate (r->id, strlen (r->id), &id_err) < 0)
    return kc_error_code (err, KC_DATA_LOSS, "bad record: %s", id_err->msg);
  return 0;
}

int
kc_store_save (const char *sandbox_dir, const struct kc_sandbox_record *r, kc_error_t *err)
{
  cleanup_free char *path = NULL;
  if (asprintf (&path, "%s/%s", sandbox_dir, KC_STORE_FILE) < 0)
    return kc_error (err, ENOMEM, "asprintf");
  json_object *j = kc_sandbox_record_to_json (r);
  const char *text = json_object_to_json_string_ext (j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
  int ret = kc_write_file_atomic (path, text, strlen (text), 0600, err);
  json_object_put (j);
  return ret;
}

int
kc_store_load (const char *sandbox_dir, struct kc_sandbox_record *r, kc_error_t *err)
{
  cleanup_free char *path = NULL, *buf = NULL;
  size_t len;
  kc_sandbox_record_init (r);
  if (asprintf (&path, "%s/%s", sandbox_dir, KC_STORE_FILE) < 0)
    return kc_error (err, ENOMEM, "asprintf");
  if (kc_read_file (path, &buf, &len, err) < 0)
    return -1;
  json_tokener *tok = json_tokener_new ();
  json_object *j = json_tokener_parse_ex (tok, buf, (int) len);
  enum json_tokener_error jerr = json_tokener_get_error (tok);
  json_tokener_free (tok);
  if (j == NULL || jerr != json_tokener_success)
    {
      json_object_put (j);
      return kc_error_code (err, KC_DATA_LOSS, "`%s`: bad JSON (%s)", path, json_tokener_error_desc (jerr));
    }
  int ret = kc_sandbox_record_from_json (r, j, err);
  json_object_put (j);
  if (ret < 0)
    return kc_error_wrap (err, "`%s`", path);
  return 0;
}
