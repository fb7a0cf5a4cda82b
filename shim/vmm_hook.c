/* The vmm relay hooks: recognise a vmm pod by its task address (<dir>/<id>/agent.sock or
   hvsock <dir>/<id>/vsock.sock:<port>: shared/ is in <dir>/<id>, the stdio mux at
   shim_vmm_stdio_address), then per method: Create rewrite, Exec FIFOs, CloseIO flush,
   Delete cleanup. */
#include "vmm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "shim.h"
#include "task.pb-c.h"
#include "vmm_address.h"

/* <dir>/<id> of a vmm pod, malloc'ed: from its task address, or for kernel vsock (no path in
   it) the dir the sandboxer named (KC_SANDBOX_DIR_KEY); NULL when the pod is not a vmm one. */
static char *
sandbox_dir (const struct shim *shim)
{
  char *dir = shim_vmm_sandbox_dir (shim->task_address);
  if (dir != NULL || shim->task_address == NULL || shim_vmm_strip (shim->task_address, "vsock://") == NULL)
    return dir;
  if (shim->sandbox_dir == NULL)
    kc_log_warn ("sandbox %s: task address %s and no sandbox dir from the sandboxer", shim->id, shim->task_address);
  return shim->sandbox_dir ? strdup (shim->sandbox_dir) : NULL;
}

/* Exec (add = 1: register its FIFOs; 0: drop them, the Exec failed). */
static int
exec_stdio (const uint8_t *payload, size_t len, int add, kc_error_t *err)
{
  char key[600];
  int ret = 0;
  Containerd__Task__V2__ExecProcessRequest *req
      = containerd__task__v2__exec_process_request__unpack (NULL, len, payload);
  if (req == NULL)
    return add ? kc_error_code (err, KC_INVALID_ARGUMENT, "malformed ExecProcessRequest") : 0;
  snprintf (key, sizeof (key), "%s/%s", req->id, req->exec_id);
  if (add)
    ret = shim_vmm_stdio_add (key, req->stdin, req->stdout, req->stderr, err);
  else
    shim_vmm_stdio_remove (key);
  containerd__task__v2__exec_process_request__free_unpacked (req, NULL);
  return ret;
}

/* CloseIO{stdin}: the FIFO's last bytes and then the close go through the stdio mux, in that
   order. The guest's CloseIO travels on the agent connection and could overtake them, so it is
   relayed with stdin = false (the guest still answers for the process: NOT_FOUND...). */
static int
close_io_prepare (uint8_t **payload, size_t *len, kc_error_t *err)
{
  char key[600];
  uint8_t *buf;
  size_t n;
  Containerd__Task__V2__CloseIORequest *req = containerd__task__v2__close_iorequest__unpack (NULL, *len, *payload);
  if (req == NULL)
    return 0; /* relayed as is: the guest answers the bad request */
  if (!req->stdin)
    goto out;
  if (req->exec_id && *req->exec_id)
    snprintf (key, sizeof (key), "%s/%s", req->id, req->exec_id);
  else
    snprintf (key, sizeof (key), "%s", req->id);
  if (!shim_vmm_stdio_close_stdin (key))
    goto out;
  req->stdin = 0;
  n = containerd__task__v2__close_iorequest__get_packed_size (req);
  if ((buf = malloc (n + 1)) == NULL)
    {
      containerd__task__v2__close_iorequest__free_unpacked (req, NULL);
      return kc_error_code (err, KC_RESOURCE_EXHAUSTED, "out of memory");
    }
  *len = containerd__task__v2__close_iorequest__pack (req, buf);
  free (*payload);
  *payload = buf;
out:
  containerd__task__v2__close_iorequest__free_unpacked (req, NULL);
  return 0;
}

int
shim_vmm_before (struct shim *shim, const char *method, uint8_t **payload, size_t *len, kc_error_t *err)
{
  cleanup_free char *dir = sandbox_dir (shim), *shared = NULL, *stdio = NULL;
  kc_error_t cerr = NULL;
  if (dir == NULL || method == NULL)
    return 0;
  if ((stdio = shim_vmm_stdio_address (shim->task_address)) == NULL)
    return kc_error_code (err, KC_RESOURCE_EXHAUSTED, "out of memory");
  if (shim_vmm_stdio_connect (shim->base, stdio, &cerr) < 0)
    {
      kc_log_warn ("vmm stdio: %s", cerr->msg);
      kc_error_free (&cerr);
    }
  if (asprintf (&shared, "%s/shared", dir) < 0)
    return kc_error_code (err, KC_RESOURCE_EXHAUSTED, "out of memory");
  if (strcmp (method, "Create") == 0)
    return shim_vmm_create_prepare (shared, payload, len, err);
  if (strcmp (method, "Exec") == 0)
    return exec_stdio (*payload, *len, 1, err);
  if (strcmp (method, "CloseIO") == 0)
    return close_io_prepare (payload, len, err);
  return 0;
}

static void
delete_after (const char *shared, const uint8_t *payload, size_t len)
{
  char key[600];
  Containerd__Task__V2__DeleteRequest *req = containerd__task__v2__delete_request__unpack (NULL, len, payload);
  if (req == NULL)
    return;
  if (req->exec_id && *req->exec_id)
    {
      snprintf (key, sizeof (key), "%s/%s", req->id, req->exec_id);
      shim_vmm_stdio_remove (key);
    }
  else if (shim_vmm_cid_ok (req->id))
    {
      shim_vmm_stdio_remove (req->id);
      shim_vmm_container_remove (shared, req->id);
    }
  containerd__task__v2__delete_request__free_unpacked (req, NULL);
}

/* A failed Create leaves nothing behind (its payload was rewritten: the id is unchanged). */
static void
create_failed (const char *shared, const uint8_t *payload, size_t len)
{
  Containerd__Task__V2__CreateTaskRequest *req = containerd__task__v2__create_task_request__unpack (NULL, len, payload);
  if (req == NULL)
    return;
  if (shim_vmm_cid_ok (req->id))
    {
      shim_vmm_stdio_remove (req->id);
      shim_vmm_container_remove (shared, req->id);
    }
  containerd__task__v2__create_task_request__free_unpacked (req, NULL);
}

void
shim_vmm_after (struct shim *shim, const char *method, const uint8_t *payload, size_t len, int code)
{
  cleanup_free char *dir = sandbox_dir (shim), *shared = NULL;
  if (dir == NULL || method == NULL || asprintf (&shared, "%s/shared", dir) < 0)
    return;
  if (strcmp (method, "Delete") == 0 && (code == KC_OK || code == KC_NOT_FOUND))
    delete_after (shared, payload, len);
  else if (strcmp (method, "Create") == 0 && code != KC_OK)
    create_failed (shared, payload, len);
  else if (strcmp (method, "Exec") == 0 && code != KC_OK)
    exec_stdio (payload, len, 0, NULL);
}
