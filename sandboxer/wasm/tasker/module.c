/* Resolution of a process's args[0] inside the container rootfs and the wasm magic check. */
#include "module.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

int
kc_wasm_magic_check (const unsigned char *buf, size_t n, const char *path, kc_error_t *err)
{
  static const unsigned char magic[4] = { 0x00, 'a', 's', 'm' };

  if (n < sizeof (magic))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "%s: not a WebAssembly module (%zu bytes long)", path, n);
  if (memcmp (buf, magic, sizeof (magic)) != 0)
    return kc_error_code (err, KC_INVALID_ARGUMENT,
                          "%s: not a WebAssembly module (starts with %02x %02x %02x %02x, not 00 61 73 6d)", path,
                          buf[0], buf[1], buf[2], buf[3]);
  return 0;
}

static int
open_in_root (int root_fd, const char *path)
{
  struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY, .resolve = RESOLVE_IN_ROOT };

  return (int) syscall (SYS_openat2, root_fd, path, &how, sizeof (how));
}

int
kc_wasm_module_open (const char *rootfs, const char *cwd, const char *arg0, kc_error_t *err)
{
  cleanup_close int root_fd = -1, fd = -1;
  cleanup_free char *path = NULL;
  unsigned char buf[4];
  struct stat st;
  ssize_t n;

  if (arg0 == NULL || *arg0 == '\0')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "process.args[0] is empty");
  if (arg0[0] == '/')
    path = strdup (arg0);
  else if (asprintf (&path, "%s/%s", cwd != NULL ? cwd : "/", arg0) < 0)
    path = NULL;
  if (path == NULL)
    return kc_error (err, ENOMEM, "resolve `%s`", arg0);
  root_fd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return kc_error (err, errno, "open rootfs `%s`", rootfs);
  fd = open_in_root (root_fd, path);
  if (fd < 0)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "%s: cannot open the module in the rootfs: %s", path,
                          strerror (errno));
  if (fstat (fd, &st) < 0)
    return kc_error (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "%s: not a WebAssembly module (not a regular file)", path);
  do
    n = pread (fd, buf, sizeof (buf), 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return kc_error (err, errno, "read `%s`", path);
  if (kc_wasm_magic_check (buf, (size_t) n, path, err) < 0)
    return -1;
  return steal_fd (&fd);
}
