/* Path strings for args[0] resolution: normalising, joining against cwd, PATH from the process env. */
#include "module_path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
kc_path_normalize (char *path)
{
  char *w = path;
  const char *r = path;

  while (*r != '\0')
    {
      int at_start = w == path || w[-1] == '/'; /* of a component */

      if (*r == '/' && w != path && w[-1] == '/')
        r++; /* a repeated '/' */
      else if (*r == '.' && (r[1] == '/' || r[1] == '\0') && at_start)
        r += r[1] == '/' ? 2 : 1; /* a "." component */
      else
        *w++ = *r++;
    }
  if (w > path + 1 && w[-1] == '/')
    w--;
  *w = '\0';
}

char *
kc_path_join (const char *cwd, const char *dir, const char *name)
{
  char *path = NULL;

  if (cwd == NULL || *cwd == '\0')
    cwd = "/";
  if (dir[0] == '/')
    {
      if (asprintf (&path, "%s/%s", dir, name) < 0)
        return NULL;
    }
  else if (asprintf (&path, "/%s/%s/%s", cwd, dir, name) < 0)
    return NULL;
  kc_path_normalize (path);
  return path;
}

const char *
kc_env_path (const char *const *env, size_t nenv)
{
  for (size_t i = 0; i < nenv && env[i] != NULL; i++)
    if (strncmp (env[i], "PATH=", 5) == 0)
      return env[i] + 5;
  return KC_DEFAULT_PATH;
}
