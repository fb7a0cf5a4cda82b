/* Where a vmm pod's files are, derived from its task address alone: the sandbox dir <dir>/<id>,
   with shared/ in it, and the stdio mux's address. Forms (docs/vmm.md "Channels"):
   - virtio-serial: ttrpc+unix://<dir>/<id>/agent.sock (also unix://..., or the bare path); stdio
     on unix://<dir>/<id>/stdio.sock;
   - hvsock: ttrpc+hvsock://<dir>/<id>/vsock.sock:<port>; stdio on the same socket, port + 1;
   - vsock (kernel): ttrpc+vsock://<cid>:<port> has no dir (NULL here); stdio on port + 1.
   Header-only (pure string work) so unit tests need no shim. */
#ifndef SHIM_VMM_ADDRESS_H
#define SHIM_VMM_ADDRESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHIM_VMM_AGENT_SUFFIX  "/agent.sock"
#define SHIM_VMM_HVSOCK_SUFFIX "/vsock.sock"

static inline const char *
shim_vmm_strip (const char *address, const char *scheme)
{
  size_t n = strlen (scheme);
  if (strncmp (address, "ttrpc+", 6) == 0 && strncmp (address + 6, scheme, n) == 0)
    return address + 6 + n;
  if (strncmp (address, scheme, n) == 0)
    return address + n;
  return NULL;
}

/* "<path>:<port>" of an hvsock address into its path length and port; 0 when malformed. */
static inline int
shim_vmm_hvsock_split (const char *rest, size_t *path_len, unsigned long *port)
{
  const char *colon = strrchr (rest, ':');
  char *end = NULL;
  if (colon == NULL || colon == rest || colon[1] == '\0')
    return 0;
  *port = strtoul (colon + 1, &end, 10);
  *path_len = (size_t) (colon - rest);
  return *end == '\0' && *port < 0xffffffffUL;
}

/* <dir>/<id>, malloc'ed; NULL when the address is not a vmm pod's, names no dir (kernel vsock)
   or out of memory. */
static inline char *
shim_vmm_sandbox_dir (const char *address)
{
  const char *rest;
  size_t n, s;
  unsigned long port;
  if (address == NULL)
    return NULL;
  if ((rest = shim_vmm_strip (address, "hvsock://")) != NULL)
    {
      s = strlen (SHIM_VMM_HVSOCK_SUFFIX);
      if (!shim_vmm_hvsock_split (rest, &n, &port) || n <= s || rest[0] != '/'
          || strncmp (rest + n - s, SHIM_VMM_HVSOCK_SUFFIX, s) != 0)
        return NULL;
      return strndup (rest, n - s);
    }
  if ((rest = shim_vmm_strip (address, "unix://")) != NULL)
    address = rest;
  s = strlen (SHIM_VMM_AGENT_SUFFIX);
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

/* The stdio mux's address for a vmm pod's task address (kc_stream_dial form), malloc'ed; NULL
   when the address is not a vmm pod's. */
static inline char *
shim_vmm_stdio_address (const char *address)
{
  const char *rest;
  char *out = NULL, *path;
  size_t n;
  unsigned long port;
  unsigned cid, p;
  char tail;
  if (address == NULL)
    return NULL;
  if ((rest = shim_vmm_strip (address, "vsock://")) != NULL)
    {
      if (sscanf (rest, "%u:%u%c", &cid, &p, &tail) != 2 || p >= 0xffffffffu)
        return NULL;
      return asprintf (&out, "vsock://%u:%u", cid, p + 1) < 0 ? NULL : out;
    }
  if ((rest = shim_vmm_strip (address, "hvsock://")) != NULL)
    {
      char *dir = shim_vmm_sandbox_dir (address);
      int has_dir = dir != NULL;
      free (dir);
      if (!has_dir || !shim_vmm_hvsock_split (rest, &n, &port))
        return NULL;
      return asprintf (&out, "hvsock://%.*s:%lu", (int) n, rest, port + 1) < 0 ? NULL : out;
    }
  path = shim_vmm_sibling (address, "stdio.sock");
  if (path != NULL && asprintf (&out, "unix://%s", path) < 0)
    out = NULL;
  free (path);
  return out;
}

#endif
