/* Unmounting what a shim left mounted under the shared directory, so removing it can never
   recurse into a container image. */
#include "shared_dir.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

int
vmm_shared_dir_unmount_all (const char *sandbox_dir)
{
  char shared[4096], rootfs[4096 + 300];
  struct dirent *de;
  int n = 0;
  snprintf (shared, sizeof (shared), "%s/shared", sandbox_dir);
  DIR *d = opendir (shared);
  if (d == NULL)
    return 0;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      snprintf (rootfs, sizeof (rootfs), "%s/%s/rootfs", shared, de->d_name);
      /* Stacked mounts: repeat until nothing is mounted there. */
      while (umount2 (rootfs, MNT_DETACH) == 0)
        n++;
    }
  closedir (d);
  return n;
}
