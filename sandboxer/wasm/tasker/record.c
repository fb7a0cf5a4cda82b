/* Container records: the JSON of ../container_record.h written atomically under <dir>/containers. */
#include "record.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../container_record.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

static json_object *
record_json (const char *id, const char *rootfs, size_t nmounts, char *const *cgroups)
{
  json_object *j = json_object_new_object (), *mounts = json_object_new_array (), *cg = json_object_new_array ();

  json_object_object_add (j, "version", json_object_new_int (KC_RECORD_VERSION));
  json_object_object_add (j, KC_RECORD_KEY_ID, json_object_new_string (id));
  for (size_t i = 0; i < nmounts; i++)
    json_object_array_add (mounts, json_object_new_string (rootfs));
  for (size_t i = 0; cgroups != NULL && cgroups[i] != NULL; i++)
    json_object_array_add (cg, json_object_new_string (cgroups[i]));
  json_object_object_add (j, KC_RECORD_KEY_MOUNTS, mounts);
  json_object_object_add (j, KC_RECORD_KEY_CGROUPS, cg);
  return j;
}

int
kc_record_write (const char *dir, const char *id, const char *rootfs, size_t nmounts, char *const *cgroups, char **path,
                 kc_error_t *err)
{
  cleanup_free char *sub = NULL;
  json_object *j;
  const char *text;
  int ret;

  *path = NULL;
  if (asprintf (&sub, "%s/%s", dir, KC_RECORD_SUBDIR) < 0 || asprintf (path, "%s/%s.json", sub, id) < 0)
    {
      *path = NULL;
      return kc_error (err, ENOMEM, "container record");
    }
  if (kc_mkdir_p (sub, 0700, err) < 0)
    return kc_error_wrap (err, "container record");
  j = record_json (id, rootfs, nmounts, cgroups);
  text = json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  ret = kc_write_file_atomic (*path, text, strlen (text), 0600, err);
  json_object_put (j);
  return ret < 0 ? kc_error_wrap (err, "container record") : 0;
}

void
kc_record_remove (const char *path)
{
  if (path != NULL && unlink (path) < 0 && errno != ENOENT)
    kc_log_warn ("remove container record `%s`: %s", path, strerror (errno));
}
