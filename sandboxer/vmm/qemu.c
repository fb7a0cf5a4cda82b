/* Builds the QEMU command line of docs/vmm.md for a vmm_plan: the machine (microvm or q35), the
   channel (virtio-serial ports agent and stdio, vhost-vsock or vhost-user-vsock), the share (tag kuasar on <dir>/shared: 9p, or
   virtiofs through virtiofsd), QMP on <dir>/qmp.sock, console to <dir>/console.log. */
#include "qemu.h"

#include "proc.h"
#include "vmm_channel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64
#define TCG_APPEND                                                                                                   \
  "console=ttyS0 quiet panic=-1 reboot=t tsc_early_khz=1000000 tsc=reliable no_timer_check lpj=1000000"
#define KVM_APPEND "console=ttyS0 quiet panic=-1 reboot=t"

void
vmm_qemu_argv_free (char **argv)
{
  for (int i = 0; argv && argv[i]; i++)
    free (argv[i]);
  free (argv);
}

/* Appends one formatted argument; a failure poisons *n (> MAX_ARGS), which vmm_qemu_argv reports. */
static void __attribute__ ((format (printf, 3, 4)))
add (char **argv, int *n, const char *fmt, ...)
{
  va_list ap;
  if (*n >= MAX_ARGS)
    return;
  va_start (ap, fmt);
  if (vasprintf (&argv[*n], fmt, ap) < 0)
    {
      argv[*n] = NULL;
      *n = MAX_ARGS + 1;
    }
  else
    (*n)++;
  va_end (ap);
}

/* The virtio transport's -device suffix: virtio-mmio on microvm ("virtio-serial-device"), PCI
   on q35 ("virtio-serial-pci"). */
static const char *
bus_suffix (const struct vmm_plan *plan)
{
  return strcmp (plan->machine, "q35") == 0 ? "pci" : "device";
}

/* The guest memory as a shared memfd (vhost-user backends map it), merged into -machine. */
static void
add_shared_memory (char **argv, int *n, const struct vmm_config *cfg)
{
  add (argv, n, "-object");
  add (argv, n, "memory-backend-memfd,id=vm-mem,size=%uM,share=on", cfg->memory_mib);
  add (argv, n, "-machine");
  add (argv, n, "memory-backend=vm-mem");
}

/* virtio-serial: ports agent and stdio on <dir>/{agent,stdio}.sock. vsock: the kernel's
   vhost-vsock with the plan's guest CID. hvsock: vhost-user-vsock served by the sandbox's
   vhost-device-vsock (hvsock.c) on <dir>/vhost.sock; it maps the guest memory, so
   the memory is a shared memfd (added by add_share already for virtiofs). */
static void
add_channel (char **argv, int *n, const struct vmm_config *cfg, const struct vmm_plan *plan, const char *dir)
{
  if (strcmp (plan->channel, "vsock") == 0)
    {
      add (argv, n, "-device");
      add (argv, n, "vhost-vsock-%s,guest-cid=%u", bus_suffix (plan), plan->guest_cid);
      return;
    }
  if (strcmp (plan->channel, "hvsock") == 0)
    {
      if (strcmp (plan->share, "virtiofs") != 0)
        add_shared_memory (argv, n, cfg);
      add (argv, n, "-chardev");
      add (argv, n, "socket,id=vsock,path=%s/" VMM_VHOST_USER_SOCKET, dir);
      add (argv, n, "-device");
      add (argv, n, "vhost-user-vsock-%s,chardev=vsock", bus_suffix (plan));
      return;
    }
  add (argv, n, "-device");
  add (argv, n, "virtio-serial-%s", bus_suffix (plan));
  add (argv, n, "-chardev");
  add (argv, n, "socket,id=agent,path=%s/agent.sock,server=on,wait=off", dir);
  add (argv, n, "-device");
  add (argv, n, "virtserialport,chardev=agent,name=agent");
  add (argv, n, "-chardev");
  add (argv, n, "socket,id=stdio,path=%s/stdio.sock,server=on,wait=off", dir);
  add (argv, n, "-device");
  add (argv, n, "virtserialport,chardev=stdio,name=stdio");
}

/* <dir>/shared as tag kuasar: 9p served by QEMU itself, or virtiofs served by the virtiofsd on
   <dir>/fs.sock (virtiofsd.c), which needs all guest memory shared with it (a memfd
   backend of exactly -m, merged into -machine). */
static void
add_share (char **argv, int *n, const struct vmm_config *cfg, const struct vmm_plan *plan, const char *dir)
{
  if (strcmp (plan->share, "virtiofs") == 0)
    {
      add (argv, n, "-object");
      add (argv, n, "memory-backend-memfd,id=vm-mem,size=%uM,share=on", cfg->memory_mib);
      add (argv, n, "-machine");
      add (argv, n, "memory-backend=vm-mem");
      add (argv, n, "-chardev");
      add (argv, n, "socket,id=virtiofs,path=%s/" VMM_VIRTIOFSD_SOCKET, dir);
      add (argv, n, "-device");
      add (argv, n, "vhost-user-fs-%s,chardev=virtiofs,tag=kuasar", bus_suffix (plan));
      return;
    }
  add (argv, n, "-fsdev");
  add (argv, n, "local,id=shared,path=%s/shared,security_model=none", dir);
  add (argv, n, "-device");
  add (argv, n, "virtio-9p-%s,fsdev=shared,mount_tag=kuasar", bus_suffix (plan));
}

/* The pod's network: the tap QEMU inherits as KC_PASS_FD, a virtio-net NIC with the pod's MAC. */
static void
add_net (char **argv, int *n, const struct vmm_plan *plan)
{
  if (plan->net == NULL || plan->net->tap_fd < 0)
    return;
  add (argv, n, "-netdev");
  add (argv, n, "tap,id=net0,fd=%d,vhost=off", KC_PASS_FD);
  add (argv, n, "-device");
  add (argv, n, "virtio-net-%s,netdev=net0,mac=%s", bus_suffix (plan), plan->net->mac);
}

/* The kernel command line: the base options, then what vmm-task reads (kuasar.*, docs/vmm.md). */
static void
add_append (char **argv, int *n, const struct vmm_plan *plan)
{
  const struct vmm_pod_net *net = plan->net;
  const char *base = strcmp (plan->accel, "kvm") == 0 ? KVM_APPEND : TCG_APPEND;
  add (argv, n, "-append");
  if (net != NULL && net->tap_fd >= 0)
    add (argv, n, "%s kuasar.share=%s kuasar.channel=%s kuasar.ip=%s kuasar.gw=%s kuasar.mtu=%u", base, plan->share,
         plan->channel, net->address, net->gateway[0] ? net->gateway : "none", net->mtu);
  else
    add (argv, n, "%s kuasar.share=%s kuasar.channel=%s", base, plan->share, plan->channel);
}

/* microvm: virtio-mmio, no PCI/ACPI; the legacy PIT/PIC/RTC the guest's timer setup needs.
   q35: PCI + ACPI, minus the chipset devices nobody uses (AHCI, SMBus, vmport, HPET). */
static void
add_machine (char **argv, int *n, const struct vmm_plan *plan)
{
  add (argv, n, "-M");
  if (strcmp (plan->machine, "q35") == 0)
    add (argv, n, "q35,sata=off,smbus=off,vmport=off,hpet=off");
  else
    add (argv, n, "microvm,pit=on,pic=on,rtc=on");
}

char **
vmm_qemu_argv (const struct vmm_config *cfg, const char *qemu, const struct vmm_plan *plan, const char *dir)
{
  char **argv = calloc (MAX_ARGS + 1, sizeof (char *));
  int n = 0, kvm;
  if (argv == NULL)
    return NULL;
  kvm = strcmp (plan->accel, "kvm") == 0;
  add (argv, &n, "%s", qemu);
  add_machine (argv, &n, plan);
  add (argv, &n, "-accel");
  add (argv, &n, "%s", kvm ? "kvm" : "tcg");
  add (argv, &n, "-cpu");
  add (argv, &n, "%s", kvm ? "host" : "max");
  add (argv, &n, "-m");
  add (argv, &n, "%u", cfg->memory_mib);
  add (argv, &n, "-smp");
  add (argv, &n, "%u", cfg->vcpus);
  add (argv, &n, "-nodefaults");
  add (argv, &n, "-no-user-config");
  add (argv, &n, "-nographic");
  add (argv, &n, "-serial");
  add (argv, &n, "file:%s/console.log", dir);
  add (argv, &n, "-kernel");
  add (argv, &n, "%s", cfg->kernel);
  add (argv, &n, "-initrd");
  add (argv, &n, "%s", cfg->initrd);
  add_append (argv, &n, plan);
  add_channel (argv, &n, cfg, plan, dir);
  add_share (argv, &n, cfg, plan, dir);
  add_net (argv, &n, plan);
  add (argv, &n, "-qmp");
  add (argv, &n, "unix:%s/qmp.sock,server=on,wait=off", dir);
  add (argv, &n, "-no-reboot");
  if (n >= MAX_ARGS)
    {
      vmm_qemu_argv_free (argv);
      return NULL;
    }
  return argv;
}
