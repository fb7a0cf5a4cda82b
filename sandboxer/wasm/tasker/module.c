/* Resolution of a process's args[0] inside the container rootfs (PATH lookup as runc does) and
   the wasm magic check. */
#include "module.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "module_path.h"

#define KC_WASM_ONLY "kuasar-wasm runs WASI modules only"

int
kc_wasm_magic_check (const unsigned char *buf, size_t n, const char *path, kc_error_t *err)
{
  static const unsigned char magic[4] = { 0x00, 'a', 's', 'm' };

  if (n < sizeof (magic))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "%s: not a WebAssembly module (%zu bytes long): " KC_WASM_ONLY,
                          path, n);
  if (memcmp (buf, magic, sizeof (magic)) != 0)
    return kc_error_code (
        err, KC_INVALID_ARGUMENT,
        "%s: not a WebAssembly module (starts with %02x %02x %02x %02x, not 00 61 73 6d): " KC_WASM_ONLY, path, buf[0],
        buf[1], buf[2], buf[3]);
  return 0;
}

/* An fd of path inside the root, or -1 with errno. */
static int
open_in_root (int root_fd, const char *path)
{
  struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY, .resolve = RESOLVE_IN_ROOT };

  return (int) syscall (SYS_openat2, root_fd, path, &how, sizeof (how));
}

/* 1 when path names a regular file in the root: then *fd is open on it. */
static int
try_candidate (int root_fd, const char *path, int *fd)
{
  struct stat st;
  int f = open_in_root (root_fd, path);

  if (f < 0)
    return 0;
  if (fstat (f, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (f);
      return 0;
    }
  *fd = f;
  return 1;
}

/* Walks PATH for a bare name: the first regular file wins. The execute bit is not required, the
   kernel never executes a module. */
static int
lookup_in_path (int root_fd, const char *cwd, const char *name, const char *pathvar, char **found, kc_error_t *err)
{
  const char *dir = pathvar;

  for (;;)
    {
      size_t len = strcspn (dir, ":");
      cleanup_free char *d = strndup (dir, len), *path = NULL;
      int fd = -1;

      if (d == NULL || (path = kc_path_join (cwd, d, name)) == NULL)
        return kc_error (err, ENOMEM, "resolve `%s`", name);
      if (try_candidate (root_fd, path, &fd))
        {
          *found = steal_pointer (&path);
          return fd;
        }
      if (dir[len] == '\0')
        break;
      dir += len + 1;
    }
  return kc_error_code (err, KC_INVALID_ARGUMENT, "%s: not found in the rootfs (PATH=%s)", name, pathvar);
}

/* args[0] with a '/': the file itself, relative to cwd when not absolute. */
static int
open_direct (int root_fd, const char *cwd, const char *arg0, char **found, kc_error_t *err)
{
  cleanup_free char *path = arg0[0] == '/' ? kc_path_join ("/", "/", arg0) : kc_path_join (cwd, ".", arg0);
  struct stat st;
  int fd;

  if (path == NULL)
    return kc_error (err, ENOMEM, "resolve `%s`", arg0);
  fd = open_in_root (root_fd, path);
  if (fd < 0)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "%s: cannot open the module in the rootfs: %s", path,
                          strerror (errno));
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return kc_error_code (err, KC_INVALID_ARGUMENT,
                            "%s: not a WebAssembly module (not a regular file): " KC_WASM_ONLY, path);
    }
  *found = steal_pointer (&path);
  return fd;
}

static int
check_magic (int fd, const char *path, kc_error_t *err)
{
  unsigned char buf[4];
  ssize_t n;

  do
    n = pread (fd, buf, sizeof (buf), 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return kc_error (err, errno, "read `%s`", path);
  return kc_wasm_magic_check (buf, (size_t) n, path, err);
}

int
kc_wasm_module_open (const char *rootfs, const struct kc_module_ref *ref, char **resolved, kc_error_t *err)
{
  cleanup_close int root_fd = -1, fd = -1;
  cleanup_free char *path = NULL;

  if (ref->arg0 == NULL || *ref->arg0 == '\0')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "process.args[0] is empty");
  root_fd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return kc_error (err, errno, "open rootfs `%s`", rootfs);
  if (strchr (ref->arg0, '/') != NULL)
    fd = open_direct (root_fd, ref->cwd, ref->arg0, &path, err);
  else
    fd = lookup_in_path (root_fd, ref->cwd, ref->arg0, kc_env_path (ref->env, ref->nenv), &path, err);
  if (fd < 0 || check_magic (fd, path, err) < 0)
    return -1;
  if (resolved != NULL)
    *resolved = steal_pointer (&path);
  return steal_fd (&fd);
}
