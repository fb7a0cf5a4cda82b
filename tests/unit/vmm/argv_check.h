/* Lookups in a NULL-terminated argv, for the tests of the QEMU command line. */
#ifndef KC_TEST_ARGV_CHECK_H
#define KC_TEST_ARGV_CHECK_H

#include <stddef.h>
#include <string.h>

/* The argument after the nth occurrence of flag, or NULL. */
static inline const char *
arg_after (char **argv, const char *flag, int nth)
{
  for (int i = 0; argv[i] && argv[i + 1]; i++)
    if (strcmp (argv[i], flag) == 0 && nth-- == 0)
      return argv[i + 1];
  return NULL;
}

static inline int
has_arg (char **argv, const char *arg)
{
  for (int i = 0; argv[i]; i++)
    if (strcmp (argv[i], arg) == 0)
      return 1;
  return 0;
}

#endif
