/* Module loading for PID 1 (modules.h): a depth-first walk of modules.dep, then finit_module. */
#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

struct dep_line
{
  char *path;
  char **deps; /* NULL-terminated */
  int visited;
};

static void
lines_free (struct dep_line *l, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (l[i].path);
      for (char **d = l[i].deps; d != NULL && *d != NULL; d++)
        free (*d);
      free (l[i].deps);
    }
  free (l);
}

/* "path: dep1 dep2" → line; returns -1 on ENOMEM, 0 for a blank line, 1 for a module. */
static int
line_parse (char *text, struct dep_line *out)
{
  char *colon = strchr (text, ':'), *save = NULL, *tok;
  size_t n = 0;

  if (colon == NULL)
    return 0;
  *colon = '\0';
  out->path = strdup (text);
  out->deps = calloc (strlen (colon + 1) / 2 + 2, sizeof (char *));
  if (out->path == NULL || out->deps == NULL)
    return -1;
  for (tok = strtok_r (colon + 1, " \t", &save); tok != NULL; tok = strtok_r (NULL, " \t", &save))
    if ((out->deps[n++] = strdup (tok)) == NULL)
      return -1;
  return 1;
}

static void
visit (struct dep_line *l, size_t n, const char *path, char **order, size_t *count)
{
  for (size_t i = 0; i < n; i++)
    {
      if (strcmp (l[i].path, path) != 0)
        continue;
      if (l[i].visited)
        return;
      l[i].visited = 1;
      for (char **d = l[i].deps; *d != NULL; d++)
        visit (l, n, *d, order, count);
      order[(*count)++] = strdup (l[i].path);
      return;
    }
}

int
kc_modules_order (const char *dep_text, char ***order, size_t *n, kc_error_t *err)
{
  cleanup_free char *copy = strdup (dep_text);
  struct dep_line *lines = NULL;
  size_t nlines = 0, cap = 0, count = 0;
  char *save = NULL, **out;

  if (copy == NULL)
    return kc_error (err, ENOMEM, "modules.dep");
  for (char *ln = strtok_r (copy, "\n", &save); ln != NULL; ln = strtok_r (NULL, "\n", &save))
    {
      int r;
      if (nlines == cap)
        {
          struct dep_line *grown = realloc (lines, (cap = cap * 2 + 16) * sizeof (*lines));
          if (grown == NULL)
            return lines_free (lines, nlines), kc_error (err, ENOMEM, "modules.dep");
          lines = grown;
        }
      memset (&lines[nlines], 0, sizeof (*lines));
      r = line_parse (ln, &lines[nlines]);
      if (r != 0)
        nlines++;
      if (r < 0)
        return lines_free (lines, nlines), kc_error (err, ENOMEM, "modules.dep");
    }
  out = calloc (nlines + 1, sizeof (char *));
  if (out == NULL)
    return lines_free (lines, nlines), kc_error (err, ENOMEM, "modules.dep");
  for (size_t i = 0; i < nlines; i++)
    visit (lines, nlines, lines[i].path, out, &count);
  lines_free (lines, nlines);
  *order = out;
  *n = count;
  return 0;
}

static int
param_append (char **out, const char *p, size_t len)
{
  size_t old = strlen (*out);
  char *grown = realloc (*out, old + len + 2);

  if (grown == NULL)
    return -1;
  if (old > 0)
    grown[old++] = ' ';
  memcpy (grown + old, p, len);
  grown[old + len] = '\0';
  *out = grown;
  return 0;
}

char *
kc_modules_cmdline_params (const char *cmdline, const char *name)
{
  size_t nlen = strlen (name);
  char *out = strdup ("");
  const char *p = cmdline;

  while (out != NULL && *p != '\0')
    {
      size_t len;
      while (*p == ' ' || *p == '\n')
        p++;
      len = strcspn (p, " \n");
      /* The kernel treats '-' and '_' alike in module names; Debian's names use '_'. */
      if (len > nlen + 1 && strncmp (p, name, nlen) == 0 && p[nlen] == '.'
          && param_append (&out, p + nlen + 1, len - nlen - 1) < 0)
        {
          free (out);
          return NULL;
        }
      p += len;
    }
  return out;
}

static char *
module_name (const char *path)
{
  const char *base = strrchr (path, '/');
  char *name = strdup (base != NULL ? base + 1 : path), *dot;

  if (name != NULL && (dot = strstr (name, ".ko")) != NULL)
    *dot = '\0';
  for (char *c = name; c != NULL && *c != '\0'; c++)
    if (*c == '-')
      *c = '_';
  return name;
}

static int
module_load (const char *dir, const char *rel, const char *cmdline, kc_error_t *err)
{
  cleanup_free char *path = NULL, *name = module_name (rel), *params = NULL;
  cleanup_close int fd = -1;

  if (asprintf (&path, "%s/%s", dir, rel) < 0 || name == NULL)
    return kc_error (err, ENOMEM, "module `%s`", rel);
  params = kc_modules_cmdline_params (cmdline, name);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kc_error (err, errno, "open module `%s`", path);
  if (syscall (SYS_finit_module, fd, params != NULL ? params : "", 0) < 0 && errno != EEXIST)
    return kc_error (err, errno, "finit_module `%s`", name);
  kc_log_debug ("loaded module %s %s", name, params != NULL ? params : "");
  return 0;
}

int
kc_modules_load_all (const char *dir, kc_error_t *err)
{
  cleanup_free char *dep_path = NULL, *text = NULL, *cmdline = NULL;
  char **order = NULL;
  size_t len = 0, n = 0;
  int ret = 0;

  if (asprintf (&dep_path, "%s/modules.dep", dir) < 0)
    return kc_error (err, ENOMEM, "modules");
  if (kc_read_file (dep_path, &text, &len, err) < 0)
    return -1;
  if (kc_read_file ("/proc/cmdline", &cmdline, &len, NULL) < 0)
    cmdline = strdup ("");
  if (cmdline == NULL || kc_modules_order (text, &order, &n, err) < 0)
    return kc_error_wrap (err, "modules");
  for (size_t i = 0; i < n; i++)
    {
      if (ret == 0 && module_load (dir, order[i], cmdline, err) < 0)
        ret = -1;
      free (order[i]);
    }
  free (order);
  return ret;
}
