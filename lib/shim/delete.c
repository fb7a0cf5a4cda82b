/* `delete` (cwd = bundle, the shim is dead or gone): the shim's own clean-up, then unmount
   <bundle>/rootfs, remove the socket named in <bundle>/address when nobody listens, and print
   a serialized DeleteResponse on stdout, nothing else (PROTOCOLS.md §2.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>

#include "bundle.h"
#include "cleanup.h"
#include "shim_priv.h"

static void
unmount_rootfs (const char *bundle)
{
  cleanup_free char *path = NULL;

  if (asprintf (&path, "%s/rootfs", bundle) < 0)
    return;
  while (umount2 (path, MNT_DETACH) == 0)
    ;
}

static int
print_delete_response (const Containerd__Task__V2__DeleteResponse *resp)
{
  size_t len = containerd__task__v2__delete_response__get_packed_size (resp);
  cleanup_free uint8_t *buf = malloc (len + 1);

  if (buf == NULL)
    return 1;
  containerd__task__v2__delete_response__pack (resp, buf);
  return fwrite (buf, 1, len, stdout) == len && fflush (stdout) == 0 ? 0 : 1;
}

int
kc_shim_delete_main (struct kc_shim *shim)
{
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  kc_error_t err = NULL;
  struct timespec now;

  if (shim->flags.id == NULL || *shim->flags.id == '\0')
    {
      fprintf (stderr, "%s delete: -id is required\n", shim->ops->binary_name);
      return 1;
    }
  clock_gettime (CLOCK_REALTIME, &now);
  ts.seconds = now.tv_sec;
  ts.nanos = (int32_t) now.tv_nsec;
  resp.exit_status = 137; /* killed: what containerd reports for a task whose shim died */
  resp.exited_at = &ts;
  if (shim->ops->delete_ != NULL && shim->ops->delete_ (shim, &resp, &err) < 0)
    {
      fprintf (stderr, "%s delete: %s\n", shim->ops->binary_name, err->msg);
      kc_error_free (&err);
      return 1;
    }
  unmount_rootfs (shim->bundle);
  kc_shim_remove_dead_socket (shim->bundle);
  return print_delete_response (&resp);
}
