/* `delete`: for the pod's own id stop and shut the sandbox down through the sandboxer (short
   deadlines, errors tolerated) and remove its CRI files; for any id unmount <bundle>/rootfs and
   remove the socket named in <bundle>/address when nobody listens. Idempotent, fast. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "delete.h"
#include "files.h"
#include "grpc/kc_grpc.h"
#include "log.h"
#include "pod_files.h"
#include "sandbox_controller.pb-c.h"
#include "socket_addr.h"
#include "start.h"
#include "task.pb-c.h"

#define DELETE_CALL_TIMEOUT_NS (1500LL * 1000000LL)
#define CONTROLLER_PATH        "/containerd.services.sandbox.v1.Controller/"

static void
sandboxer_call (const char *target, const char *method, const ProtobufCMessage *req, const char *ns)
{
  uint8_t *reply = NULL;
  size_t len = 0;
  kc_error_t err = NULL;

  if (kc_grpc_call_sync (target, method, req, ns, DELETE_CALL_TIMEOUT_NS, &reply, &len, &err) < 0)
    {
      if (err->code != KC_NOT_FOUND)
        kc_log_warn ("delete: %s on sandboxer %s: %s", method, target, err->msg);
      kc_error_free (&err);
    }
  free (reply);
}

static void
shutdown_sandbox (const char *target, const char *id, const char *ns)
{
  Containerd__Services__Sandbox__V1__ControllerStopRequest stop
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STOP_REQUEST__INIT;
  Containerd__Services__Sandbox__V1__ControllerShutdownRequest shutdown
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_SHUTDOWN_REQUEST__INIT;

  stop.sandbox_id = (char *) id;
  stop.timeout_secs = 0;
  sandboxer_call (target, CONTROLLER_PATH "Stop", &stop.base, ns);
  shutdown.sandbox_id = (char *) id;
  sandboxer_call (target, CONTROLLER_PATH "Shutdown", &shutdown.base, ns);
}

static void
remove_pod_files (const char *bundle, const char *id)
{
  struct shim_pod_dirs dirs;
  kc_error_t err = NULL;

  if (shim_pod_dirs_get (bundle, id, &dirs, &err) < 0 || shim_pod_files_cleanup (&dirs, &err) < 0)
    {
      kc_log_warn ("delete: %s", err->msg);
      kc_error_free (&err);
    }
  shim_pod_dirs_free (&dirs);
}

static void
unmount_rootfs (const char *bundle)
{
  cleanup_free char *path = NULL;

  if (asprintf (&path, "%s/rootfs", bundle) < 0)
    return;
  while (umount2 (path, MNT_DETACH) == 0)
    ;
}

/* The socket in <bundle>/address (plain or JSON) is removed when nothing answers there. */
static void
remove_dead_socket (const char *bundle)
{
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  kc_error_t err = NULL;
  const char *start, *sock;
  char *end;

  if (asprintf (&path, "%s/address", bundle) < 0)
    return;
  if (shim_read_file (path, &text, NULL, &err) < 0)
    {
      kc_error_free (&err);
      return;
    }
  start = strstr (text, "unix://");
  if (start == NULL)
    return;
  end = strpbrk ((char *) start, "\"\n ");
  if (end)
    *end = '\0';
  sock = shim_socket_path_of_address (start);
  if (sock != NULL && !shim_socket_alive (sock))
    unlink (sock);
}

static int
print_delete_response (void)
{
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  struct timespec now;
  uint8_t buf[64];
  size_t len;

  clock_gettime (CLOCK_REALTIME, &now);
  ts.seconds = now.tv_sec;
  ts.nanos = (int32_t) now.tv_nsec;
  resp.pid = 0;
  resp.exit_status = 137;
  resp.exited_at = &ts;
  len = containerd__task__v2__delete_response__pack (&resp, buf);
  return fwrite (buf, 1, len, stdout) == len && fflush (stdout) == 0 ? 0 : 1;
}

int
shim_delete_main (const struct shim_flavor *flavor, const struct shim_flags *flags)
{
  char cwd[PATH_MAX];
  const char *bundle = flags->bundle;
  cleanup_free char *group = NULL;

  if (bundle == NULL)
    bundle = getcwd (cwd, sizeof (cwd)) ? cwd : ".";
  if (flags->id == NULL || *flags->id == '\0')
    {
      fprintf (stderr, "%s delete: -id is required\n", flavor->binary_name);
      return 1;
    }
  group = shim_group_id (bundle, flags->id);
  /* A container of the pod (2.x per-container start): never touch the pod itself. */
  if (group != NULL && strcmp (group, flags->id) == 0)
    {
      shutdown_sandbox (shim_sandboxer_address (flavor, flags), flags->id, flags->namespace_);
      remove_pod_files (bundle, flags->id);
    }
  unmount_rootfs (bundle);
  remove_dead_socket (bundle);
  return print_delete_response ();
}
