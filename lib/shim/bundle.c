/* The bundle files the runtime v2 contract names: config.json (pod grouping annotation) and
   <bundle>/address (written by start, read by delete). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bundle.h"
#include "cleanup.h"
#include "fsutil.h"
#include "shim_priv.h"

#define CRI_SANDBOX_ID_ANNOTATION "io.kubernetes.cri.sandbox-id"

char *
kc_shim_group_id (const char *bundle, const char *id)
{
  cleanup_free char *path = NULL;
  cleanup_free char *data = NULL;
  kc_error_t err = NULL;
  json_object *root, *ann, *v;
  char *group = NULL;

  if (asprintf (&path, "%s/config.json", bundle) < 0)
    return strdup (id);
  if (kc_read_file (path, &data, NULL, &err) < 0)
    {
      kc_error_free (&err);
      return strdup (id);
    }
  root = json_tokener_parse (data);
  if (root != NULL && json_object_object_get_ex (root, "annotations", &ann)
      && json_object_object_get_ex (ann, CRI_SANDBOX_ID_ANNOTATION, &v) && json_object_is_type (v, json_type_string)
      && json_object_get_string_len (v) > 0)
    group = strdup (json_object_get_string (v));
  json_object_put (root);
  return group ? group : strdup (id);
}

int
kc_shim_announce (const char *bundle, const char *text, kc_error_t *err)
{
  cleanup_free char *path = NULL;

  if (asprintf (&path, "%s/address", bundle) < 0)
    return kc_error (err, ENOMEM, "address file");
  if (kc_write_file_atomic (path, text, strlen (text), 0644, err) < 0)
    return -1;
  fputs (text, stdout);
  return fflush (stdout) == 0 ? 0 : kc_error (err, errno, "write stdout");
}

void
kc_shim_remove_dead_socket (const char *bundle)
{
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  kc_error_t err = NULL;
  const char *start, *sock;
  char *end;

  if (asprintf (&path, "%s/address", bundle) < 0)
    return;
  if (kc_read_file (path, &text, NULL, &err) < 0)
    {
      kc_error_free (&err);
      return;
    }
  start = strstr (text, "unix://");
  if (start == NULL)
    return;
  end = strpbrk ((char *) start, "\"\n ");
  if (end)
    *end = '\0';
  sock = kc_shim_socket_path_of_address (start);
  if (sock != NULL && !kc_shim_socket_alive (sock))
    unlink (sock);
}
