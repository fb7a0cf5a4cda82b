/* Go `flag`-style parsing of the shim command line, and where the sandboxer address comes from. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"

struct flag_def
{
  const char *name;
  int is_bool;
  size_t offset;
};

#define STR_FLAG(n, field)                                                                                             \
  {                                                                                                                    \
    n, 0, offsetof (struct shim_flags, field)                                                                          \
  }
#define BOOL_FLAG(n, field)                                                                                            \
  {                                                                                                                    \
    n, 1, offsetof (struct shim_flags, field)                                                                          \
  }

static const struct flag_def flag_defs[] = {
  STR_FLAG ("namespace", namespace_),
  STR_FLAG ("address", address),
  STR_FLAG ("publish-binary", publish_binary),
  STR_FLAG ("id", id),
  STR_FLAG ("bundle", bundle),
  STR_FLAG ("socket", socket),
  STR_FLAG ("sandboxer-address", sandboxer),
  BOOL_FLAG ("debug", debug),
  BOOL_FLAG ("v", version),
  BOOL_FLAG ("version", version),
  BOOL_FLAG ("info", info),
  BOOL_FLAG ("h", help),
  BOOL_FLAG ("help", help),
};

static const struct flag_def *
find_flag (const char *name, size_t len)
{
  for (size_t i = 0; i < sizeof (flag_defs) / sizeof (flag_defs[0]); i++)
    if (strlen (flag_defs[i].name) == len && strncmp (flag_defs[i].name, name, len) == 0)
      return &flag_defs[i];
  return NULL;
}

static int
parse_bool (const char *v, int *out)
{
  if (v == NULL || strcmp (v, "true") == 0 || strcmp (v, "1") == 0 || strcmp (v, "t") == 0)
    *out = 1;
  else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0 || strcmp (v, "f") == 0)
    *out = 0;
  else
    return -1;
  return 0;
}

/* Handles argv[*i], a "-name", "--name" or "-name=value"; may consume argv[*i + 1]. */
static int
parse_one (struct shim_flags *f, int argc, char **argv, int *i, kc_error_t *err)
{
  const char *arg = argv[*i] + 1;
  const char *eq, *value = NULL;
  const struct flag_def *def;

  if (*arg == '-')
    arg++;
  eq = strchr (arg, '=');
  def = find_flag (arg, eq ? (size_t) (eq - arg) : strlen (arg));
  if (def == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "flag provided but not defined: %s", argv[*i]);
  if (eq != NULL)
    value = eq + 1;
  if (def->is_bool)
    {
      if (parse_bool (value, (int *) ((char *) f + def->offset)) < 0)
        return kc_error_code (err, KC_INVALID_ARGUMENT, "invalid boolean value for %s", argv[*i]);
      return 0;
    }
  if (value == NULL)
    {
      if (*i + 1 >= argc)
        return kc_error_code (err, KC_INVALID_ARGUMENT, "flag needs an argument: %s", argv[*i]);
      value = argv[++*i];
    }
  *(const char **) ((char *) f + def->offset) = value;
  return 0;
}

int
shim_flags_parse (struct shim_flags *f, int argc, char **argv, kc_error_t *err)
{
  int i;

  memset (f, 0, sizeof (*f));
  for (i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        {
          i++;
          break;
        }
      if (argv[i][0] != '-' || argv[i][1] == '\0')
        break;
      if (parse_one (f, argc, argv, &i, err) < 0)
        return -1;
    }
  if (i < argc)
    {
      if (strcmp (argv[i], "start") != 0 && strcmp (argv[i], "delete") != 0)
        return kc_error_code (err, KC_INVALID_ARGUMENT, "unknown action `%s`", argv[i]);
      f->action = argv[i];
      if (i + 1 < argc)
        return kc_error_code (err, KC_INVALID_ARGUMENT, "unexpected argument `%s`", argv[i + 1]);
    }
  return 0;
}

void
shim_flags_usage (const struct shim_flavor *flavor, FILE *out)
{
  fprintf (out,
           "Usage: %s [flags] [start|delete]\n"
           "  -namespace NS         containerd namespace (required)\n"
           "  -address PATH         containerd gRPC socket\n"
           "  -publish-binary PATH  containerd binary (unused: events go to $TTRPC_ADDRESS)\n"
           "  -id ID                sandbox or container id\n"
           "  -bundle DIR           bundle directory (default: the working directory)\n"
           "  -socket PATH          serve on this socket instead of the computed one\n"
           "  -sandboxer-address A  sandboxer socket (default $%s, $KUASAR_SANDBOXER_ADDRESS, %s)\n"
           "  -debug                debug logging\n"
           "  -v, -version          print the version and exit\n"
           "  -info                 print RuntimeInfo (protobuf) and exit\n"
           "Actions: start (spawn or join the pod's shim, print its address), delete (clean up after\n"
           "a dead shim, print a DeleteResponse); none = serve on fd 3.\n",
           flavor->binary_name, flavor->sandboxer_env, flavor->default_sandboxer);
}

const char *
shim_sandboxer_address (const struct shim_flavor *flavor, const struct shim_flags *f)
{
  const char *v;

  if (f->sandboxer != NULL && *f->sandboxer)
    return f->sandboxer;
  v = getenv (flavor->sandboxer_env);
  if (v != NULL && *v)
    return v;
  v = getenv ("KUASAR_SANDBOXER_ADDRESS");
  if (v != NULL && *v)
    return v;
  return flavor->default_sandboxer;
}
