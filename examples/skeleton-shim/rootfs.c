/* Mounts the rootfs mounts of a CreateTaskRequest on <bundle>/rootfs: flag options become
   mount flags, the rest (lowerdir=..., upperdir=...) the data string. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "rootfs.h"

static const struct
{
  const char *name;
  unsigned long flag;
} mount_flags[] = {
  { "ro", MS_RDONLY },     { "rw", 0 },           { "bind", MS_BIND },     { "rbind", MS_BIND | MS_REC },
  { "nosuid", MS_NOSUID }, { "nodev", MS_NODEV }, { "noexec", MS_NOEXEC },
};

/* Splits options into flags and a comma-joined data string (malloc'ed). */
static char *
split_options (const Containerd__Types__Mount *m, unsigned long *flags)
{
  size_t len = 1;
  char *data;

  for (size_t i = 0; i < m->n_options; i++)
    len += strlen (m->options[i]) + 1;
  data = calloc (1, len);
  *flags = 0;
  for (size_t i = 0; data != NULL && i < m->n_options; i++)
    {
      size_t f = 0;
      while (f < sizeof (mount_flags) / sizeof (mount_flags[0]) && strcmp (mount_flags[f].name, m->options[i]) != 0)
        f++;
      if (f < sizeof (mount_flags) / sizeof (mount_flags[0]))
        {
          *flags |= mount_flags[f].flag;
          continue;
        }
      if (*data)
        strcat (data, ",");
      strcat (data, m->options[i]);
    }
  return data;
}

int
skel_rootfs_mount (const char *bundle, Containerd__Types__Mount **mounts, size_t n, kc_error_t *err)
{
  cleanup_free char *target = NULL;

  if (asprintf (&target, "%s/rootfs", bundle) < 0)
    return kc_error (err, ENOMEM, "rootfs");
  for (size_t i = 0; i < n; i++)
    {
      unsigned long flags;
      cleanup_free char *data = split_options (mounts[i], &flags);
      if (data == NULL)
        return kc_error (err, ENOMEM, "rootfs");
      if (mount (mounts[i]->source, target, mounts[i]->type, flags, *data ? data : NULL) < 0)
        {
          int saved = errno;
          skel_rootfs_unmount (bundle);
          return kc_error (err, saved, "mount %s `%s` on `%s`", mounts[i]->type, mounts[i]->source, target);
        }
    }
  return 0;
}

void
skel_rootfs_unmount (const char *bundle)
{
  cleanup_free char *target = NULL;

  if (asprintf (&target, "%s/rootfs", bundle) < 0)
    return;
  while (umount2 (target, MNT_DETACH) == 0)
    ;
}
