/* Container root file system setup, run by the forked child before it execs (rootfs.h). */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "init.h"
#include "log.h"
#include "safe_path.h"

static int
is_type (const struct kc_vmm_mount *m, const char *type)
{
  return strcmp (m->type, type) == 0;
}

static int
is_bind (const struct kc_vmm_mount *m, unsigned long flags)
{
  return is_type (m, "bind") || (flags & MS_BIND);
}

int
kc_rootfs_mount_wanted (const struct kc_vmm_mount *m, const char *shared_dir)
{
  size_t n = strlen (shared_dir);

  if (is_type (m, "proc") || is_type (m, "sysfs") || is_type (m, "tmpfs") || is_type (m, "devpts")
      || is_type (m, "mqueue"))
    return 1;
  for (char **o = m->options; !is_type (m, "bind") && o != NULL && *o != NULL; o++)
    if (strcmp (*o, "bind") == 0 || strcmp (*o, "rbind") == 0)
      goto bind;
  if (!is_type (m, "bind"))
    return 0;
bind:
  return strncmp (m->source, shared_dir, n) == 0 && (m->source[n] == '/' || m->source[n] == '\0')
         && access (m->source, F_OK) == 0;
}

/* mount(2) onto dest inside rootfd: the mount point is created and resolved symlink-safely
   (safe_path.h), then named by its fd. */
static int
mount_at (int rootfd, const char *dest, int is_file, const char *src, const char *type, unsigned long flags,
          const void *data, kc_error_t *err)
{
  char name[64];
  int fd = kc_safe_target (rootfd, dest, is_file, err), ret, saved;

  if (fd < 0)
    return kc_error_wrap (err, "mount point `%s`", dest);
  ret = mount (src, kc_safe_fd_path (name, sizeof (name), fd), type, flags, data);
  saved = errno;
  close (fd);
  if (ret < 0)
    return kc_error (err, saved, "mount %s `%s` on `%s`", type != NULL ? type : "bind", src, dest);
  return 0;
}

/* A flags-only mount(2) on what is now mounted at dest: resolved again, since an fd opened
   before the mount names the directory beneath it. */
static int
remount_at (int rootfd, const char *dest, unsigned long flags, kc_error_t *err)
{
  char name[64];
  int fd = kc_safe_open (rootfd, dest, err), ret, saved;

  if (fd < 0)
    return -1;
  ret = mount (NULL, kc_safe_fd_path (name, sizeof (name), fd), NULL, flags, NULL);
  saved = errno;
  close (fd);
  if (ret < 0)
    return kc_error (err, saved, "remount `%s`", dest);
  return 0;
}

static int
mount_spec_one (int rootfd, const struct kc_vmm_mount *m, kc_error_t *err)
{
  cleanup_free char *data = NULL;
  unsigned long flags, propagation;
  struct stat st;
  int bind;

  if (kc_vmm_mount_options (m->options, &flags, &propagation, &data, err) < 0)
    return -1;
  bind = is_bind (m, flags);
  if (bind)
    flags |= MS_BIND | MS_REC;
  if (mount_at (rootfd, m->destination, bind && stat (m->source, &st) == 0 && !S_ISDIR (st.st_mode),
                bind ? m->source : m->type, bind ? NULL : m->type, bind ? flags & ~MS_RDONLY : flags,
                bind ? NULL : data, err)
      < 0)
    return -1;
  /* A bind ignores most flags until remounted. */
  if (bind && (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))
      && remount_at (rootfd, m->destination, MS_REMOUNT | MS_BIND | (flags & ~MS_REC), err) < 0)
    return -1;
  if (propagation != 0 && remount_at (rootfd, m->destination, propagation, err) < 0)
    return kc_error_wrap (err, "propagation of `%s`", m->destination);
  return 0;
}

static int
spec_has_mount (const struct kc_vmm_spec *spec, const char *dest)
{
  for (size_t i = 0; i < spec->nmounts; i++)
    if (strcmp (spec->mounts[i].destination, dest) == 0)
      return 1;
  return 0;
}

static char *default_dev_opts[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
static char *default_pts_opts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
static char *default_shm_opts[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
static char *default_ro_opts[] = { "nosuid", "noexec", "nodev", "ro", NULL };
static char *default_proc_opts[] = { "nosuid", "noexec", "nodev", NULL };

/* What a container gets when its spec does not say: runc's defaults. */
static const struct kc_vmm_mount default_mounts[] = {
  { "/proc", "proc", "proc", default_proc_opts },       { "/dev", "tmpfs", "tmpfs", default_dev_opts },
  { "/dev/pts", "devpts", "devpts", default_pts_opts }, { "/dev/shm", "tmpfs", "shm", default_shm_opts },
  { "/sys", "sysfs", "sysfs", default_ro_opts },
};

static int
mount_all (int rootfd, const struct kc_vmm_spec *spec, kc_error_t *err)
{
  for (size_t i = 0; i < sizeof (default_mounts) / sizeof (default_mounts[0]); i++)
    if (!spec_has_mount (spec, default_mounts[i].destination) && mount_spec_one (rootfd, &default_mounts[i], err) < 0)
      return -1;
  for (size_t i = 0; i < spec->nmounts; i++)
    {
      const struct kc_vmm_mount *m = &spec->mounts[i];
      if (!kc_rootfs_mount_wanted (m, KC_VMM_SHARED_DIR))
        continue;
      if (mount_spec_one (rootfd, m, err) < 0)
        return -1;
    }
  return 0;
}

struct dev_node
{
  const char *name;
  unsigned major, minor;
};

static const struct dev_node dev_nodes[] = {
  { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

/* Nodes and links are made in the resolved /dev (an image's /dev symlink cannot move them out);
   only nodes made here are chmod'ed (an existing name may be a symlink). */
static void
populate_dev (int rootfd)
{
  static const char *const links[][2] = { { "/proc/self/fd", "fd" },
                                          { "/proc/self/fd/0", "stdin" },
                                          { "/proc/self/fd/1", "stdout" },
                                          { "/proc/self/fd/2", "stderr" },
                                          { "pts/ptmx", "ptmx" } };
  cleanup_error kc_error_t err = NULL;
  cleanup_close int dev = kc_safe_open (rootfd, "/dev", &err);

  if (dev < 0)
    {
      kc_log_debug ("populate /dev: %s", err->msg);
      return;
    }
  for (size_t i = 0; i < sizeof (dev_nodes) / sizeof (dev_nodes[0]); i++)
    {
      const char *name = dev_nodes[i].name;
      if (mknodat (dev, name, S_IFCHR | 0666, makedev (dev_nodes[i].major, dev_nodes[i].minor)) == 0)
        fchmodat (dev, name, 0666, 0);
      else if (errno != EEXIST)
        kc_log_debug ("mknod /dev/%s: %s", name, strerror (errno));
    }
  for (size_t i = 0; i < sizeof (links) / sizeof (links[0]); i++)
    if (symlinkat (links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
      kc_log_debug ("symlink /dev/%s: %s", links[i][1], strerror (errno));
}

/* The host places <bundle>/{hostname,hosts,resolv.conf} for CRI containers. */
static int
bind_etc_files (int rootfd, const char *bundle, kc_error_t *err)
{
  static const char *const names[] = { "hostname", "hosts", "resolv.conf" };
  char src[4096], dst[64];

  for (size_t i = 0; i < 3; i++)
    {
      snprintf (src, sizeof (src), "%s/%s", bundle, names[i]);
      snprintf (dst, sizeof (dst), "/etc/%s", names[i]);
      if (access (src, F_OK) < 0)
        continue;
      if (mount_at (rootfd, dst, 1, src, NULL, MS_BIND, NULL, err) < 0)
        return -1;
    }
  return 0;
}

/* runc's pivot_root (".", "."): the old root ends up stacked under the new one and is detached,
   so no guest mount (other containers' rootfs under the share included) stays in the namespace. */
static int
enter_root (int rootfd, const char *rootfs, int readonly, kc_error_t *err)
{
  if (fchdir (rootfd) < 0)
    return kc_error (err, errno, "chdir `%s`", rootfs);
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return kc_error (err, errno, "pivot_root to `%s`", rootfs);
  if (umount2 (".", MNT_DETACH) < 0)
    return kc_error (err, errno, "detach the guest root");
  if (chdir ("/") < 0)
    return kc_error (err, errno, "chdir /");
  if (readonly && mount (NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
    return kc_error (err, errno, "remount / read-only");
  return 0;
}

int
kc_rootfs_enter (const char *rootfs, const char *bundle, const struct kc_vmm_spec *spec, kc_error_t *err)
{
  cleanup_close int rootfd = -1;

  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return kc_error (err, errno, "make / private");
  if (mount (rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return kc_error (err, errno, "bind rootfs `%s`", rootfs);
  /* Opened on the bind, so mounts made through it are seen at rootfs. */
  rootfd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return kc_error (err, errno, "open rootfs `%s`", rootfs);
  if (mount_all (rootfd, spec, err) < 0)
    return -1;
  populate_dev (rootfd);
  if (bind_etc_files (rootfd, bundle, err) < 0)
    return -1;
  if (spec->hostname != NULL && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    return kc_error (err, errno, "sethostname");
  return enter_root (rootfd, rootfs, spec->root_readonly, err);
}
