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
#include "fsutil.h"
#include "init.h"
#include "log.h"

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

/* Creates the mount point: a directory, or an empty file when binding a file. */
static int
mount_point (const char *target, int is_file, kc_error_t *err)
{
  cleanup_free char *parent = strdup (target);
  char *slash;
  int fd;

  if (parent == NULL)
    return kc_error (err, ENOMEM, "mount point");
  if (!is_file)
    return kc_mkdir_p (target, 0755, err);
  if ((slash = strrchr (parent, '/')) != NULL)
    *slash = '\0';
  if (kc_mkdir_p (parent, 0755, err) < 0)
    return -1;
  fd = open (target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EISDIR)
    return kc_error (err, errno, "create mount point `%s`", target);
  if (fd >= 0)
    close (fd);
  return 0;
}

static int
mount_spec_one (const char *rootfs, const struct kc_vmm_mount *m, kc_error_t *err)
{
  cleanup_free char *target = NULL, *data = NULL;
  unsigned long flags, propagation;
  struct stat st;
  int bind;

  if (kc_vmm_mount_options (m->options, &flags, &propagation, &data, err) < 0)
    return -1;
  bind = is_bind (m, flags);
  if (asprintf (&target, "%s%s", rootfs, m->destination) < 0)
    return kc_error (err, ENOMEM, "mount");
  if (mount_point (target, bind && stat (m->source, &st) == 0 && !S_ISDIR (st.st_mode), err) < 0)
    return -1;
  if (bind)
    flags |= MS_BIND | MS_REC;
  if (mount (bind ? m->source : m->type, target, bind ? NULL : m->type, bind ? flags & ~MS_RDONLY : flags,
             bind ? NULL : data)
      < 0)
    return kc_error (err, errno, "mount %s `%s` on `%s`", m->type, m->source, m->destination);
  /* A bind ignores most flags until remounted. */
  if (bind && (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))
      && mount (NULL, target, NULL, MS_REMOUNT | MS_BIND | (flags & ~MS_REC), NULL) < 0)
    return kc_error (err, errno, "remount `%s`", m->destination);
  if (propagation != 0 && mount (NULL, target, NULL, propagation, NULL) < 0)
    return kc_error (err, errno, "propagation of `%s`", m->destination);
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
mount_all (const char *rootfs, const struct kc_vmm_spec *spec, kc_error_t *err)
{
  for (size_t i = 0; i < sizeof (default_mounts) / sizeof (default_mounts[0]); i++)
    if (!spec_has_mount (spec, default_mounts[i].destination) && mount_spec_one (rootfs, &default_mounts[i], err) < 0)
      return -1;
  for (size_t i = 0; i < spec->nmounts; i++)
    {
      const struct kc_vmm_mount *m = &spec->mounts[i];
      if (!kc_rootfs_mount_wanted (m, KC_VMM_SHARED_DIR))
        continue;
      if (mount_spec_one (rootfs, m, err) < 0)
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

static void
populate_dev (const char *rootfs)
{
  static const char *const links[][2] = { { "/proc/self/fd", "fd" },
                                          { "/proc/self/fd/0", "stdin" },
                                          { "/proc/self/fd/1", "stdout" },
                                          { "/proc/self/fd/2", "stderr" },
                                          { "pts/ptmx", "ptmx" } };
  char path[4096];

  for (size_t i = 0; i < sizeof (dev_nodes) / sizeof (dev_nodes[0]); i++)
    {
      snprintf (path, sizeof (path), "%s/dev/%s", rootfs, dev_nodes[i].name);
      if (mknod (path, S_IFCHR | 0666, makedev (dev_nodes[i].major, dev_nodes[i].minor)) < 0 && errno != EEXIST)
        kc_log_debug ("mknod `%s`: %s", path, strerror (errno));
      chmod (path, 0666);
    }
  for (size_t i = 0; i < sizeof (links) / sizeof (links[0]); i++)
    {
      snprintf (path, sizeof (path), "%s/dev/%s", rootfs, links[i][1]);
      if (symlink (links[i][0], path) < 0 && errno != EEXIST)
        kc_log_debug ("symlink `%s`: %s", path, strerror (errno));
    }
}

/* The host places <bundle>/{hostname,hosts,resolv.conf} for CRI containers. */
static int
bind_etc_files (const char *rootfs, const char *bundle, kc_error_t *err)
{
  static const char *const names[] = { "hostname", "hosts", "resolv.conf" };
  char src[4096], dst[4096];

  for (size_t i = 0; i < 3; i++)
    {
      snprintf (src, sizeof (src), "%s/%s", bundle, names[i]);
      snprintf (dst, sizeof (dst), "%s/etc/%s", rootfs, names[i]);
      if (access (src, F_OK) < 0)
        continue;
      if (mount_point (dst, 1, err) < 0)
        return -1;
      if (mount (src, dst, NULL, MS_BIND, NULL) < 0)
        return kc_error (err, errno, "bind `%s`", src);
    }
  return 0;
}

/* runc's pivot_root (".", "."): the old root ends up stacked under the new one and is detached,
   so no guest mount (other containers' rootfs under the share included) stays in the namespace. */
static int
enter_root (const char *rootfs, int readonly, kc_error_t *err)
{
  if (chdir (rootfs) < 0)
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
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return kc_error (err, errno, "make / private");
  if (mount (rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return kc_error (err, errno, "bind rootfs `%s`", rootfs);
  if (mount_all (rootfs, spec, err) < 0)
    return -1;
  populate_dev (rootfs);
  if (bind_etc_files (rootfs, bundle, err) < 0)
    return -1;
  if (spec->hostname != NULL && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    return kc_error (err, errno, "sethostname");
  return enter_root (rootfs, spec->root_readonly, err);
}
