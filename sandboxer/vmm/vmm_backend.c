/* vmm backend hooks: boot the VM (hypervisor driver, QEMU) with a detached boot probe as the
   readiness signal, stop it through the stop helper (guest power-off / QMP quit; the core
   SIGKILLs after the timeout), unmount what a shim left in the shared dir. QEMU and its per-pod
   daemons (virtiofsd, the hvsock keeper and vhost-device-vsock) run in the pod cgroup
   "<CRI cgroup_parent or kuasar-vmm>/<id>", which Controller.Metrics reads. */
#include "vmm_backend.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "helper.h"
#include "hvsock.h"
#include "hypervisor.h"
#include "pod_cgroup.h"
#include "probe.h"
#include "pod_net.h"
#include "shared_dir.h"
#include "sandboxer.h"
#include "virtiofsd.h"
#include "vmm_channel.h"
#include "vmm_plan.h"

#define READY_MARGIN_SECS 10
#define VIRTIOFSD_START_TIMEOUT_MS 10000
#define VMM_CGROUP_PARENT "kuasar-vmm" /* the pod cgroup's parent when the CRI gave none */
/* The hvsock keeper needs a moment after QEMU to stop its daemon and remove the sockets. */
#define POD_CGROUP_GRACE_MS 1500

static const struct kc_hypervisor *hv = &vmm_hypervisor_qemu;
static struct vmm_plan plan; /* resolved once at init */

/* Two boot rounds (the probe resets the guest once) plus the reset itself. */
static unsigned
vmm_ready_timeout_secs (void)
{
  return vmm_config_get ()->boot_timeout_secs * 2 + READY_MARGIN_SECS;
}

static int
vmm_init (const struct kc_config *cfg, kc_error_t *err)
{
  const struct vmm_config *v = vmm_config_get ();
  (void) cfg;
  if (vmm_plan_resolve (v, vmm_accel_resolve (v->accel), &plan, err) < 0)
    return -1;
  if (access (v->kernel, R_OK) < 0)
    kc_log_warn ("[vmm] kernel %s missing: run scripts/setup-vmm.sh", v->kernel);
  if (access (v->initrd, R_OK) < 0)
    kc_log_warn ("[vmm] initrd %s missing: build it with meson after scripts/setup-vmm.sh", v->initrd);
  kc_log_info ("[vmm] %s, kernel %s, initrd %s, %u MiB, %u vcpu(s), accel %s, machine %s, share %s, channel %s, "
               "boot timeout %u s",
               hv->name, v->kernel, v->initrd, v->memory_mib, v->vcpus, plan.accel, plan.machine, plan.share,
               plan.channel, v->boot_timeout_secs);
  return 0;
}

struct vmm_size
vmm_size_for_pod (const struct vmm_config *cfg, const struct kc_sandbox_record *rec, unsigned host_cpus)
{
  struct vmm_size size = { .memory_mib = cfg->memory_mib, .vcpus = cfg->vcpus };
  const uint64_t mib = 1024 * 1024;
  uint64_t mem = (uint64_t) (rec->memory_limit_bytes > 0 ? rec->memory_limit_bytes : 0)
                 + (uint64_t) (rec->overhead_memory_limit_bytes > 0 ? rec->overhead_memory_limit_bytes : 0);
  if (mem > 0)
    {
      uint64_t want = mem / mib + (mem % mib != 0) + VMM_GUEST_OVERHEAD_MIB; /* no overflow */
      if (want > VMM_MAX_MEMORY_MIB)
        want = VMM_MAX_MEMORY_MIB;
      if (want > size.memory_mib)
        size.memory_mib = (unsigned) want;
    }
  if (rec->cpu_quota > 0)
    {
      uint64_t period = rec->cpu_period > 0 ? (uint64_t) rec->cpu_period : VMM_DEFAULT_CPU_PERIOD;
      uint64_t want = ((uint64_t) rec->cpu_quota + period - 1) / period;
      if (want > UINT_MAX)
        want = UINT_MAX;
      if (want > size.vcpus)
        size.vcpus = (unsigned) want;
    }
  if (host_cpus > 0 && size.vcpus > host_cpus)
    size.vcpus = host_cpus;
  if (size.vcpus == 0)
    size.vcpus = 1;
  return size;
}

static unsigned
host_online_cpus (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n > 0 && n <= UINT_MAX ? (unsigned) n : 0;
}

/* Sockets of an earlier run would make QEMU fail to listen. */
static int
prepare_dir (const char *dir, kc_error_t *err)
{
  char path[4096];
  for (size_t i = 0; hv->sockets[i] != NULL; i++)
    {
      snprintf (path, sizeof (path), "%s/%s", dir, hv->sockets[i]);
      unlink (path);
    }
  snprintf (path, sizeof (path), "%s/shared", dir);
  return kc_mkdir_p (path, 0700, err);
}

/* share virtiofs: its virtiofsd must listen before QEMU connects. One left by an earlier run of
   this dir (its QEMU never connected) goes first. */
static int
start_share (const char *dir, const struct kc_pod_cgroup_join *cgroup, kc_error_t *err)
{
  if (strcmp (plan.share, "virtiofs") != 0)
    return 0;
  vmm_virtiofsd_kill (dir);
  return vmm_virtiofsd_start (vmm_config_get ()->virtiofsd, dir, VIRTIOFSD_START_TIMEOUT_MS, cgroup, err);
}

/* The pod cgroup, made before anything of the pod runs (QEMU is charged from its first page);
   kubelet limits its parent, we set nothing. */
static int
open_pod_cgroup (const struct kc_sandbox_record *rec, struct kc_pod_cgroup_join *join, kc_error_t *err)
{
  cleanup_free char *rel = kc_pod_cgroup_rel (VMM_CGROUP_PARENT, rec);
  if (rel == NULL)
    return kc_error (err, ENOMEM, "pod cgroup");
  if (kc_pod_cgroup_create (KC_CGROUP_ROOT, rel, join, err) < 0)
    return kc_error_wrap (err, "sandbox %s", rec->id);
  kc_log_debug ("sandbox %s: pod cgroup %s (%zu hierarchies)", rec->id, rel, join->n);
  return 0;
}

/* After the pod's processes: whatever is still in the cgroup goes, then the directories. */
static void
remove_pod_cgroup (const struct kc_sandbox_record *rec)
{
  cleanup_free char *rel = kc_pod_cgroup_rel (VMM_CGROUP_PARENT, rec);
  int killed = rel != NULL ? kc_pod_cgroup_remove (KC_CGROUP_ROOT, rel, POD_CGROUP_GRACE_MS) : 0;
  if (killed > 0)
    kc_log_warn ("sandbox %s: killed %d process(es) left in the pod cgroup", rec->id, killed);
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
spawn_qemu (const struct kc_backend_ctx *ctx, const struct kc_sandbox_record *rec, const char *dir,
            const struct vmm_plan *vm_plan, struct kc_spawned *out, kc_error_t *err)
{
  const struct vmm_config *cfg = vmm_config_get ();
  cleanup_free char *log_path = NULL;
  unsigned host_cpus = host_online_cpus ();
  struct vmm_size size = vmm_size_for_pod (cfg, rec, host_cpus);
  struct vmm_config sized = *cfg;
  sized.memory_mib = size.memory_mib;
  sized.vcpus = size.vcpus;
  kc_log_info ("sandbox %s: VM %u MiB, %u vcpu(s) (config %u MiB, %u vcpu(s); pod memory limit %lld + overhead %lld "
               "bytes, cpu quota %lld / period %lld us; %u host cpu(s))",
               rec->id, size.memory_mib, size.vcpus, cfg->memory_mib, cfg->vcpus, (long long) rec->memory_limit_bytes,
               (long long) rec->overhead_memory_limit_bytes, (long long) rec->cpu_quota, (long long) rec->cpu_period,
               host_cpus);
  if (access (cfg->kernel, R_OK) < 0)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "guest kernel %s missing: run scripts/setup-vmm.sh",
                          cfg->kernel);
  if (asprintf (&log_path, "%s/qemu.log", dir) < 0)
    return kc_error (err, ENOMEM, "asprintf");
  struct vmm_pod_net net;
  if (vmm_pod_net_open (rec->netns_path, &net, err) < 0)
    return kc_error_wrap (err, "sandbox %s", rec->id);
  if (net.tap_fd >= 0)
    kc_log_info ("sandbox %s: guest NIC %s (%s, gateway %s, mtu %u) mirrors %s through %s in %s", rec->id, net.mac,
                 net.address, net.gateway[0] ? net.gateway : "none", net.mtu, net.ifname, net.tap, rec->netns_path);
  struct vmm_plan vm = *vm_plan;
  vm.net = &net;
  char **argv = hv->build_argv (&sized, cfg->qemu ? cfg->qemu : ctx->tasker_path, &vm, dir);
  if (argv == NULL)
    {
      vmm_pod_net_close (&net);
      return kc_error (err, ENOMEM, "%s argv", hv->name);
    }
  int ret = kc_proc_spawn_in_cgroup (argv, log_path, net.tap_fd, vm_plan->cgroup, out, err);
  hv->free_argv (argv);
  vmm_pod_net_close (&net); /* QEMU holds the tap now: it goes when QEMU does */
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
  cleanup_close int handoff = -1; /* hvsock: closed unused, its keeper stops the daemon */
  unsigned long long start_time = 0;
  struct vmm_plan vm = plan;
  struct kc_pod_cgroup_join cgroup = { .n = 0 };
  if (prepare_dir (dir, err) < 0 || open_pod_cgroup (rec, &cgroup, err) < 0)
    return -1;
  vm.cgroup = &cgroup;
  int ret = vmm_channel_prepare (&vm, rec->id, dir, &handoff, err);
  if (ret == 0 && (address = vmm_channel_task_address (&vm, dir)) == NULL)
    ret = kc_error (err, ENOMEM, "task address");
  if (ret == 0)
    ret = start_share (dir, &cgroup, err);
  if (ret == 0 && spawn_qemu (ctx, rec, dir, &vm, out, err) < 0)
    {
      vmm_virtiofsd_kill (dir);
      ret = -1;
    }
  kc_pod_cgroup_join_close (&cgroup);
  if (ret < 0)
    {
      kc_closep (&handoff); /* the keeper, if any, stops its daemon and leaves the cgroup */
      handoff = -1;
      remove_pod_cgroup (rec);
      return -1;
    }
  kc_proc_start_time (out->pid, &start_time, NULL);
  if ((handoff >= 0 && vmm_hvsock_handoff (steal_fd (&handoff), out->pid, start_time, err) < 0)
      || vmm_probe_spawn (dir, address, out->pid, start_time, vmm_config_get ()->boot_timeout_secs, &out->ready_fd,
                          err)
             < 0)
    {
      kill_now (out);
      vmm_virtiofsd_kill (dir);
      remove_pod_cgroup (rec);
      return -1;
    }
  free (rec->address);
  rec->address = steal_pointer (&address);
  kc_log_info ("sandbox %s: QEMU pid %d booting", rec->id, (int) out->pid);
  return 0;
}

/* Graceful: the detached stop helper (stop.c: guest power-off when the agent port is free, else
   QMP quit, else SIGTERM); the core SIGKILLs when the Stop timeout runs out. Force: SIGKILL. */
static int
vmm_stop (const struct kc_backend_ctx *ctx, struct kc_sandbox_record *rec, int pidfd, int force, kc_error_t *err)
{
  cleanup_free char *dir = NULL;
  cleanup_error kc_error_t herr = NULL;
  if (!force && rec->address != NULL && asprintf (&dir, "%s/%s", ctx->root_dir, rec->id) >= 0
      && vmm_stop_spawn (dir, rec->address, rec->pid, rec->pid_start_time, ctx->config->stop_timeout_secs, &herr)
             == 0)
    return 0;
  if (herr != NULL)
    kc_log_warn ("sandbox %s: %s; signalling QEMU", rec->id, herr->msg);
  if (pidfd_send_signal (pidfd, force ? SIGKILL : SIGTERM, NULL, 0) < 0 && errno != ESRCH)
    return kc_error (err, errno, "signal QEMU %d", (int) rec->pid);
  return 0;
}

/* QEMU is gone (exit observed, found dead at recovery, before removal): unmount the rootfs
   mounts a shim left in <dir>/shared (its Delete never came, or was refused by a dead guest),
   then remove the pod cgroup (with any daemon still in it). */
static void
vmm_reclaim (const struct kc_backend_ctx *ctx, const struct kc_sandbox_record *rec, const char *dir)
{
  (void) ctx;
  if (vmm_virtiofsd_kill (dir) > 0)
    kc_log_warn ("sandbox %s: killed a virtiofsd that outlived its QEMU", rec->id);
  int n = vmm_shared_dir_unmount_all (dir);
  if (n > 0)
    kc_log_warn ("sandbox %s: unmounted %d rootfs left in the shared dir", rec->id, n);
  remove_pod_cgroup (rec);
}

/* QEMU's output and the boot probe's lines, the guest console, the per-pod daemons. */
static const char *const vmm_start_logs[] = { "qemu.log", "console.log", "virtiofsd.log", "vhost-device-vsock.log", NULL };

const struct kc_backend kc_vmm_backend = {
  .name = "vmm",
  .default_listen = "/run/vmm-sandboxer.sock",
  .default_dir = "/run/kuasar-vmm",
  .default_config = "/etc/kuasar/vmm-sandboxer.toml",
  .tasker_name = "qemu-system-x86_64",
  .start_logs = vmm_start_logs,
  .config_keys = vmm_config_keys,
  .cgroup_parent = VMM_CGROUP_PARENT,
  .ready_timeout_secs = vmm_ready_timeout_secs,
  .init = vmm_init,
  .start = vmm_start,
  .stop = vmm_stop,
  .reclaim = vmm_reclaim,
};
