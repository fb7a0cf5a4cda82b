/* Reads process.args, process.env and process.cwd of <bundle>/config.json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "spec.h"

static void
strv_free (char **v)
{
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    free (v[i]);
  free (v);
}

/* A JSON array of strings as a NULL-terminated vector (empty when absent). */
static char **
strv_from_json (json_object *parent, const char *key)
{
  json_object *arr = NULL;
  size_t n = 0;
  char **v;

  if (parent != NULL && json_object_object_get_ex (parent, key, &arr) && json_object_is_type (arr, json_type_array))
    n = json_object_array_length (arr);
  v = calloc (n + 1, sizeof (char *));
  for (size_t i = 0; v != NULL && i < n; i++)
    if ((v[i] = strdup (json_object_get_string (json_object_array_get_idx (arr, i)) ?: "")) == NULL)
      {
        strv_free (v);
        return NULL;
      }
  return v;
}

static int
spec_from_json (json_object *root, struct skel_spec *spec, kc_error_t *err)
{
  json_object *process = NULL, *cwd = NULL;

  json_object_object_get_ex (root, "process", &process);
  spec->args = strv_from_json (process, "args");
  spec->env = strv_from_json (process, "env");
  if (process != NULL && json_object_object_get_ex (process, "cwd", &cwd))
    spec->cwd = strdup (json_object_get_string (cwd) ?: "/");
  else
    spec->cwd = strdup ("/");
  if (spec->args == NULL || spec->env == NULL || spec->cwd == NULL)
    return kc_error (err, ENOMEM, "config.json");
  if (spec->args[0] == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "config.json: process.args is empty");
  return 0;
}

int
skel_spec_load (const char *bundle, struct skel_spec *spec, kc_error_t *err)
{
  cleanup_free char *path = NULL;
  json_object *root;
  int ret;

  memset (spec, 0, sizeof (*spec));
  if (asprintf (&path, "%s/config.json", bundle) < 0)
    return kc_error (err, ENOMEM, "config.json");
  root = json_object_from_file (path);
  if (root == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "cannot read `%s`", path);
  ret = spec_from_json (root, spec, err);
  json_object_put (root);
  if (ret < 0)
    skel_spec_free (spec);
  return ret;
}

void
skel_spec_free (struct skel_spec *spec)
{
  strv_free (spec->args);
  strv_free (spec->env);
  free (spec->cwd);
  memset (spec, 0, sizeof (*spec));
}
