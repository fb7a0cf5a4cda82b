/* Reading query-chardev: whether a socket chardev (server mode) has a client right now. */
#include "qmp.h"

#include <string.h>

#include <json-c/json.h>

static int
entry_attached (json_object *e, const char *label)
{
  json_object *l, *f;
  if (!json_object_object_get_ex (e, "label", &l) || strcmp (json_object_get_string (l), label) != 0)
    return -1;
  if (!json_object_object_get_ex (e, "filename", &f) || !json_object_is_type (f, json_type_string))
    return -1;
  return strncmp (json_object_get_string (f), "disconnected:", 13) != 0;
}

int
vmm_qmp_chardev_attached (const char *reply, const char *label)
{
  json_object *root = json_tokener_parse (reply), *list;
  int ret = -1;
  if (root == NULL)
    return -1;
  if (json_object_object_get_ex (root, "return", &list) && json_object_is_type (list, json_type_array))
    for (size_t i = 0; i < json_object_array_length (list) && ret < 0; i++)
      ret = entry_attached (json_object_array_get_idx (list, i), label);
  json_object_put (root);
  return ret;
}
