/* kc_shim_main: parse the flags, answer -help/-version/-info, run start, delete or the daemon;
   and the accessors a shim uses on struct kc_shim. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shim_priv.h"

static int
extra_index (struct kc_shim *shim, const char *name)
{
  const char *const *extra = shim->ops->extra_flags;

  for (int i = 0; extra != NULL && extra[i] != NULL && i < KC_SHIM_MAX_EXTRA_FLAGS; i++)
    if (strcmp (extra[i], name) == 0)
      return i;
  return -1;
}

const char *
kc_shim_flag (struct kc_shim *shim, const char *name)
{
  int i = extra_index (shim, name);
  return i < 0 ? NULL : shim->flags.extra[i];
}

int
kc_shim_set_flag (struct kc_shim *shim, const char *name, const char *value)
{
  int i = extra_index (shim, name);
  char *copy = value ? strdup (value) : NULL;

  if (i < 0 || (value != NULL && copy == NULL))
    {
      free (copy);
      return -1;
    }
  free (shim->extra_set[i]);
  shim->extra_set[i] = copy;
  shim->flags.extra[i] = copy;
  return 0;
}

const struct kc_shim_flags *
kc_shim_flags (struct kc_shim *shim)
{
  return &shim->flags;
}

const char *
kc_shim_namespace (struct kc_shim *shim)
{
  return shim->flags.namespace_;
}

const char *
kc_shim_id (struct kc_shim *shim)
{
  return shim->flags.id;
}

const char *
kc_shim_bundle (struct kc_shim *shim)
{
  return shim->bundle;
}

void
kc_shim_set_data (struct kc_shim *shim, void *data)
{
  shim->data = data;
}

void *
kc_shim_data (struct kc_shim *shim)
{
  return shim->data;
}

struct event_base *
kc_shim_base (struct kc_shim *shim)
{
  return shim->base;
}

int
kc_shim_exiting (struct kc_shim *shim)
{
  return shim->exiting;
}

int
kc_shim_publish (struct kc_shim *shim, const char *topic, const char *type_url, const ProtobufCMessage *event)
{
  return kc_shim_events_publish (shim->events, topic, type_url, event);
}

size_t
kc_shim_events_pending (struct kc_shim *shim)
{
  return kc_shim_events_count (shim->events);
}

/* The action of a parsed command line, with the bundle defaulting to the working directory. */
static int
run_action (struct kc_shim *shim)
{
  char cwd[PATH_MAX];

  if (shim->flags.bundle != NULL)
    shim->bundle = strdup (shim->flags.bundle);
  else
    shim->bundle = strdup (getcwd (cwd, sizeof (cwd)) ? cwd : ".");
  if (shim->bundle == NULL)
    return 1;
  kc_log_init (shim->ops->binary_name, shim->flags.debug ? KC_LOG_DEBUG : KC_LOG_INFO);
  if (shim->flags.action != NULL && strcmp (shim->flags.action, "start") == 0)
    return kc_shim_start_main (shim);
  if (shim->flags.action != NULL && strcmp (shim->flags.action, "delete") == 0)
    return kc_shim_delete_main (shim);
  return kc_shim_serve_main (shim);
}

static int
dispatch (struct kc_shim *shim)
{
  const struct kc_shim_ops *ops = shim->ops;

  if (shim->flags.help)
    {
      kc_shim_usage (ops, stdout);
      return 0;
    }
  if (shim->flags.version)
    {
      printf ("%s:\n  Version: %s\n  Runtime: %s\n", ops->binary_name, ops->version ? ops->version : KC_VERSION,
              ops->runtime_name ? ops->runtime_name : ops->binary_name);
      return 0;
    }
  if (shim->flags.info)
    return kc_shim_info_main (shim);
  return run_action (shim);
}

int
kc_shim_main (int argc, char **argv, const struct kc_shim_ops *ops)
{
  struct kc_shim shim;
  kc_error_t err = NULL;
  int ret;

  memset (&shim, 0, sizeof (shim));
  shim.ops = ops;
  shim.argv = argv;
  if (kc_shim_flags_parse (&shim.flags, ops->extra_flags, argc, argv, &err) < 0)
    {
      fprintf (stderr, "%s: %s\n", ops->binary_name, err->msg);
      kc_shim_usage (ops, stderr);
      kc_error_free (&err);
      return 2;
    }
  ret = dispatch (&shim);
  for (int i = 0; i < KC_SHIM_MAX_EXTRA_FLAGS; i++)
    free (shim.extra_set[i]);
  free (shim.bundle);
  return ret;
}
