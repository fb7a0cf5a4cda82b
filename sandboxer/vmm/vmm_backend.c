/* vmm backend hooks: boot QEMU per docs/vmm.md with a detached boot probe as the readiness
   signal, stop it with SIGTERM/SIGKILL, unmount what a shim left in the shared dir. */
#include "vmm_backend.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "probe.h"
#include "qemu.h"
#include "shared_dir.h"

static int
vmm_init (const struct kc_config *cfg, kc_error_t *err)
{
  const struct vmm_config *v = vmm_config_get ();
  (void) cfg;
  if (access (v->kernel, R_OK) < 0)
    kc_log_warn ("[vmm] kernel %s missing: run scripts/setup-vmm.sh", v->kernel);
  if (access (v->initrd, R_OK) < 0)
    kc_log_warn ("[vmm] initrd %s missing: build it with meson after scripts/setup-vmm.sh", v->initrd);
  kc_log_info ("[vmm] kernel %s, initrd %s, %u MiB, %u vcpu(s), accel %s, boot timeout %u s", v->kernel, v->initrd,
               v->memory_mib, v->vcpus, vmm_accel_resolve (v->accel), v->boot_timeout_secs);
  return 0;
  (void) err;
}

/* Sockets of an earlier run would make QEMU fail to listen. */
static int
prepare_dir (const char *dir, kc_error_t *err)
{
  static const char *const stale[] = { "agent.sock", "stdio.sock", "qmp.sock" };
  char path[4096];
  for (size_t i = 0; i < sizeof (stale) / sizeof (stale[0]); i++)
    {
      snprintf (path, sizeof (path), "%s/%s", dir, stale[i]);
      unlink (path);
    }
  snprintf (path, sizeof (path), "%s/shared", dir);
  return kc_mkdir_p (path, 0700, err);
}

static void
kill_now (struct kc_spawned *qemu)
{
  pidfd_send_signal (qemu->pidfd, SIGKILL, NULL, 0);
  waitpid (qemu->pid, NULL, 0);
  kc_closep (&qemu->pidfd);
  qemu->pidfd = -1;
}

static int
spawn_qemu (const struct kc_backend_ctx *ctx, const char *dir, struct kc_spawned *out, kc_error_t *err)
{
  const struct vmm_config *cfg = vmm_config_get ();
  cleanup_free char *log_path = NULL;
  if (access (cfg->kernel, R_OK) < 0)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "guest kernel %s missing: run scripts/setup-vmm.sh",
                          cfg->kernel);
  if (asprintf (&log_path, "%s/qemu.log", dir) < 0)
    return kc_error (err, ENOMEM, "asprintf");
  char **argv = vmm_qemu_argv (cfg, cfg->qemu ? cfg->qemu : ctx->tasker_path, dir);
  if (argv == NULL)
    return kc_error (err, ENOMEM, "qemu argv");
  int ret = kc_proc_spawn (argv, log_path, out, err);
  vmm_qemu_argv_free (argv);
  if (ret < 0)
    return kc_error_wrap (err, "spawn qemu");
  kc_closep (&out->ready_fd); /* QEMU never writes it: readiness comes from the boot probe */
  out->ready_fd = -1;
  return 0;
}

static int
vmm_start (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, const char *dir, struct kc_spawned *out,
           kc_error_t *err)
{
  cleanup_free char *address = NULL;
  unsigned long long start_time = 0;
  if (asprintf (&address, "ttrpc+unix://%s/agent.sock", dir) < 0)
    return kc_error (err, ENOMEM, "asprintf");
  if (prepare_dir (dir, err) < 0 || spawn_qemu (ctx, dir, out, err) < 0)
    return -1;
  kc_proc_start_time (out->pid, &start_time, NULL);
  if (vmm_probe_spawn (dir, out->pid, start_time, vmm_config_get ()->boot_timeout_secs, &out->ready_fd, err) < 0)
    {
      kill_now (out);
      return -1;
    }
  free (rec->address);
  rec->address = steal_pointer (&address);
  kc_log_info ("sandbox %s: QEMU pid %d booting", rec->id, (int) out->pid);
  return 0;
}

/* SIGTERM is QEMU's graceful quit; force kills it. */
static int
vmm_stop (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, int pidfd, int force, kc_error_t *err)
{
  (void) ctx;
  if (pidfd_send_signal (pidfd, force ? SIGKILL : SIGTERM, NULL, 0) < 0 && errno != ESRCH)
    return kc_error (err, errno, "signal QEMU %d", (int) rec->pid);
  return 0;
}

/* QEMU is gone: unmount the rootfs mounts a shim left in <dir>/shared before anything removes it. */
static int
vmm_cleanup (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, const char *dir, kc_error_t *err)
{
  (void) ctx;
  (void) err;
  int n = vmm_shared_dir_unmount_all (dir);
  if (n > 0)
    kc_log_warn ("sandbox %s: unmounted %d rootfs left in the shared dir", rec->id, n);
  return 0;
}

const struct kc_backend kc_vmm_backend = {
  .name = "vmm",
  .default_listen = "/run/vmm-sandboxer.sock",
  .default_dir = "/run/kuasar-vmm",
  .default_config = "/etc/kuasar/vmm-sandboxer.toml",
  .tasker_name = "qemu-system-x86_64",
  .init = vmm_init,
  .start = vmm_start,
  .stop = vmm_stop,
  .cleanup = vmm_cleanup,
};
