/* [vmm] channel: auto resolution, task addresses, kernel-vsock guest CIDs (vmm_channel.h). */
#include "vmm_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vhost.h>

#include "cleanup.h"
#include "hvsock.h"
#include "log.h"

#define CID_TRIES 64
#define VMM_HVSOCK_START_MS 5000 /* vhost-device-vsock creates its socket in ~10 ms */
#define CID_FIRST 3u
#define CID_SPAN  0x7fff0000u /* well below VMADDR_CID_ANY (-1) and the reserved top */

int
vmm_vhost_vsock_usable (const char *dev)
{
  cleanup_close int fd = open (dev, O_RDWR | O_CLOEXEC);
  return fd >= 0;
}

/* An executable path, or a bare name found executable on PATH. */
static int
executable (const char *bin)
{
  const char *path = getenv ("PATH");
  char buf[PATH_MAX];

  if (bin == NULL || *bin == '\0')
    return 0;
  if (strchr (bin, '/') != NULL)
    return access (bin, X_OK) == 0;
  for (const char *p = path ? path : "/usr/bin:/bin"; *p != '\0';)
    {
      size_t len = strcspn (p, ":");
      if (len > 0 && (size_t) snprintf (buf, sizeof (buf), "%.*s/%s", (int) len, p, bin) < sizeof (buf)
          && access (buf, X_OK) == 0)
        return 1;
      p += len + (p[len] == ':');
    }
  return 0;
}

void
vmm_channel_host_probe (const struct vmm_config *cfg, const char *vhost_dev, struct vmm_channel_host *host)
{
  host->vhost_vsock_ok = vmm_vhost_vsock_usable (vhost_dev);
  host->hvsock_ok = executable (cfg->vhost_device_vsock);
}

int
vmm_channel_resolve (const struct vmm_config *cfg, const struct vmm_channel_host *host, struct vmm_plan *plan,
                     kc_error_t *err)
{
  const char *want = cfg->channel ? cfg->channel : "auto";
  if (strcmp (want, "virtio-serial") == 0)
    plan->channel = "virtio-serial";
  else if (strcmp (want, "vsock") == 0)
    {
      if (!host->vhost_vsock_ok)
        return kc_error_code (err, KC_FAILED_PRECONDITION,
                              "[vmm] channel = \"vsock\": %s does not open read-write (modprobe vhost_vsock; or "
                              "use channel = \"hvsock\" or \"virtio-serial\")",
                              VMM_VHOST_VSOCK_DEV);
      plan->channel = "vsock";
    }
  else if (strcmp (want, "hvsock") == 0)
    {
      if (!host->hvsock_ok)
        return kc_error_code (err, KC_FAILED_PRECONDITION,
                              "[vmm] channel = \"hvsock\": vhost_device_vsock `%s` is not executable (install "
                              "vhost-device-vsock: scripts/setup-vmm.sh; or set [vmm] vhost_device_vsock)",
                              cfg->vhost_device_vsock ? cfg->vhost_device_vsock : "(unset)");
      plan->channel = "hvsock";
    }
  else
    {
      plan->channel = host->vhost_vsock_ok ? "vsock" : "virtio-serial";
      kc_log_info ("[vmm] channel auto: %s (%s %s)", plan->channel, VMM_VHOST_VSOCK_DEV,
                   host->vhost_vsock_ok ? "opens read-write" : "unusable");
    }
  return 0;
}

char *
vmm_channel_task_address (const struct vmm_plan *plan, const char *dir)
{
  char *a = NULL;
  int n;
  if (strcmp (plan->channel, "vsock") == 0)
    n = asprintf (&a, "ttrpc+vsock://%u:%u", plan->guest_cid, VMM_VSOCK_TASK_PORT);
  else if (strcmp (plan->channel, "hvsock") == 0)
    n = asprintf (&a, "ttrpc+hvsock://%s/%s:%u", dir, VMM_HVSOCK_SOCKET, VMM_VSOCK_TASK_PORT);
  else
    n = asprintf (&a, "ttrpc+unix://%s/agent.sock", dir);
  return n < 0 ? NULL : a;
}

static uint32_t
fnv1a (const char *s)
{
  uint32_t h = 2166136261u;
  for (; s != NULL && *s != '\0'; s++)
    h = (h ^ (uint8_t) *s) * 16777619u;
  return h;
}

int
vmm_guest_cid_pick (const char *dev, const char *seed, unsigned *cid, kc_error_t *err)
{
  cleanup_close int fd = open (dev, O_RDWR | O_CLOEXEC);
  uint32_t h = fnv1a (seed);
  if (fd < 0)
    return kc_error (err, errno, "open %s", dev);
  for (int i = 0; i < CID_TRIES; i++)
    {
      uint64_t want = CID_FIRST + (h + (uint32_t) i * 2654435761u) % CID_SPAN;
      if (ioctl (fd, VHOST_VSOCK_SET_GUEST_CID, &want) == 0)
        {
          *cid = (unsigned) want; /* released when fd closes: QEMU takes it next */
          return 0;
        }
      if (errno != EADDRINUSE)
        return kc_error (err, errno, "VHOST_VSOCK_SET_GUEST_CID %llu on %s", (unsigned long long) want, dev);
    }
  return kc_error_code (err, KC_RESOURCE_EXHAUSTED, "no free guest CID after %d tries on %s", CID_TRIES, dev);
}

int
vmm_channel_prepare (struct vmm_plan *vm, const char *id, const char *dir, int *handoff_fd, kc_error_t *err)
{
  const struct vmm_config *cfg = vmm_config_get ();
  if (strcmp (vm->channel, "vsock") == 0)
    {
      if (vmm_guest_cid_pick (VMM_VHOST_VSOCK_DEV, id, &vm->guest_cid, err) < 0)
        return kc_error_wrap (err, "sandbox %s: guest CID", id);
      kc_log_info ("sandbox %s: guest CID %u", id, vm->guest_cid);
    }
  else if (strcmp (vm->channel, "hvsock") == 0
           && vmm_hvsock_start (dir, cfg->vhost_device_vsock, VMM_HVSOCK_START_MS, vm->cgroup, handoff_fd, err) < 0)
    return kc_error_wrap (err, "sandbox %s", id);
  return 0;
}
