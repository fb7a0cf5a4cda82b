/* Where a vmm pod's files are, derived from its task address alone
   ("ttrpc+unix://<dir>/<id>/agent.sock", "unix://..." or the bare path): the sandbox dir, and stdio.sock and
   shared/ next to agent.sock. Header-only (pure string work) so unit tests need no shim. */
#ifndef SHIM_VMM_ADDRESS_H
#define SHIM_VMM_ADDRESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHIM_VMM_AGENT_SUFFIX "/agent.sock"

/* <dir>/<id>, malloc'ed; NULL when the address is not a vmm pod's (or out of memory). */
static inline char *
shim_vmm_sandbox_dir (const char *address)
{
  size_t n, s = strlen (SHIM_VMM_AGENT_SUFFIX);
  if (address == NULL)
    return NULL;
  if (strncmp (address, "ttrpc+unix://", 13) == 0)
    address += 13;
  else if (strncmp (address, "unix://", 7) == 0)
    address += 7;
  n = strlen (address);
  if (n <= s || address[0] != '/' || strcmp (address + n - s, SHIM_VMM_AGENT_SUFFIX) != 0)
    return NULL;
  return strndup (address, n - s);
}

/* 1 when id can name <shared>/<id>: not empty, no '/', not "." or ".." (which would make the
   clean-up of a failed Create or of a Delete remove the sandbox dir or every container's). */
static inline int
shim_vmm_cid_ok (const char *id)
{
  return id != NULL && *id != '\0' && strchr (id, '/') == NULL && strcmp (id, ".") != 0 && strcmp (id, "..") != 0;
}

/* <dir>/<id>/<name> (name: "stdio.sock", "shared"), malloc'ed; NULL as above. */
static inline char *
shim_vmm_sibling (const char *address, const char *name)
{
  char *dir = shim_vmm_sandbox_dir (address), *path = NULL;
  if (dir != NULL && asprintf (&path, "%s/%s", dir, name) < 0)
    path = NULL;
  free (dir);
  return path;
}

#endif
