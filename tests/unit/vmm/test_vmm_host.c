/* vmm host side, pure parts: the QEMU command line built from a config, accel "auto" (KVM-PVM
   detection on fake /dev, /sys and /proc files), [vmm] parsing, the QMP chardev state, the
   backend's ready timeout, the VM size from the config and the pod's resources, and the shim's
   address-derived paths. */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argv_check.h"
#include "pod_net.h"
#include "qemu.h"
#include "qmp.h"
#include "vmm_address.h"
#include "vmm_backend.h"
#include "vmm_config.h"

static struct vmm_config
sample_config (void)
{
  struct vmm_config c;
  vmm_config_init (&c);
  c.kernel = (char *) "/k/vmlinux";
  c.initrd = (char *) "/i/guest.initrd";
  c.memory_mib = 512;
  c.vcpus = 2;
  return c;
}

static const struct vmm_plan tcg_plan
    = { .accel = "tcg", .machine = "microvm", .share = "9p", .channel = "virtio-serial" };
static const struct vmm_plan kvm_plan
    = { .accel = "kvm", .machine = "microvm", .share = "9p", .channel = "virtio-serial" };

START_TEST (argv_tcg)
{
  struct vmm_config c = sample_config ();
  char **argv = vmm_qemu_argv (&c, "/usr/bin/qemu-system-x86_64", &tcg_plan, "/run/kv/pod1");
  ck_assert_ptr_nonnull (argv);
  ck_assert_str_eq (argv[0], "/usr/bin/qemu-system-x86_64");
  ck_assert_str_eq (arg_after (argv, "-M", 0), "microvm,pit=on,pic=on,rtc=on");
  ck_assert_str_eq (arg_after (argv, "-accel", 0), "tcg");
  ck_assert_str_eq (arg_after (argv, "-cpu", 0), "max");
  ck_assert_str_eq (arg_after (argv, "-m", 0), "512");
  ck_assert_str_eq (arg_after (argv, "-smp", 0), "2");
  ck_assert_str_eq (arg_after (argv, "-kernel", 0), "/k/vmlinux");
  ck_assert_str_eq (arg_after (argv, "-initrd", 0), "/i/guest.initrd");
  ck_assert_str_eq (arg_after (argv, "-serial", 0), "file:/run/kv/pod1/console.log");
  ck_assert_ptr_nonnull (strstr (arg_after (argv, "-append", 0), "tsc_early_khz=1000000 tsc=reliable"));
  ck_assert_ptr_nonnull (strstr (arg_after (argv, "-append", 0), "panic=-1 reboot=t"));
  ck_assert_str_eq (arg_after (argv, "-chardev", 0), "socket,id=agent,path=/run/kv/pod1/agent.sock,server=on,wait=off");
  ck_assert_str_eq (arg_after (argv, "-chardev", 1), "socket,id=stdio,path=/run/kv/pod1/stdio.sock,server=on,wait=off");
  ck_assert (has_arg (argv, "virtserialport,chardev=agent,name=agent"));
  ck_assert (has_arg (argv, "virtserialport,chardev=stdio,name=stdio"));
  ck_assert_str_eq (arg_after (argv, "-fsdev", 0), "local,id=shared,path=/run/kv/pod1/shared,security_model=none");
  ck_assert (has_arg (argv, "virtio-9p-device,fsdev=shared,mount_tag=kuasar"));
  ck_assert_str_eq (arg_after (argv, "-qmp", 0), "unix:/run/kv/pod1/qmp.sock,server=on,wait=off");
  ck_assert (has_arg (argv, "-no-reboot") && has_arg (argv, "-nodefaults"));
  vmm_qemu_argv_free (argv);
}
END_TEST

START_TEST (argv_kvm)
{
  struct vmm_config c = sample_config ();
  char **argv = vmm_qemu_argv (&c, "qemu", &kvm_plan, "/d");
  ck_assert_ptr_nonnull (argv);
  ck_assert_str_eq (arg_after (argv, "-accel", 0), "kvm");
  ck_assert_str_eq (arg_after (argv, "-cpu", 0), "host");
  ck_assert_ptr_null (strstr (arg_after (argv, "-append", 0), "tsc"));
  vmm_qemu_argv_free (argv);
}
END_TEST

START_TEST (argv_pod_network)
{
  struct vmm_config c = sample_config ();
  struct vmm_pod_net net = { .tap_fd = 9, .mac = "82:a2:ac:1a:45:2f", .address = "10.251.3.4/16",
                             .gateway = "10.251.0.1", .mtu = 1450 };
  struct vmm_plan p = tcg_plan;
  p.net = &net;
  char **argv = vmm_qemu_argv (&c, "qemu", &p, "/d");
  ck_assert_ptr_nonnull (argv);
  ck_assert_str_eq (arg_after (argv, "-netdev", 0), "tap,id=net0,fd=4,vhost=off");
  ck_assert (has_arg (argv, "virtio-net-device,netdev=net0,mac=82:a2:ac:1a:45:2f"));
  ck_assert_ptr_nonnull (strstr (arg_after (argv, "-append", 0), " kuasar.ip=10.251.3.4/16 kuasar.gw=10.251.0.1 kuasar.mtu=1450"));
  vmm_qemu_argv_free (argv);
  net.tap_fd = -1; /* no NIC: no -netdev, no kuasar.ip */
  argv = vmm_qemu_argv (&c, "qemu", &p, "/d");
  ck_assert_ptr_null (arg_after (argv, "-netdev", 0));
  ck_assert_ptr_null (strstr (arg_after (argv, "-append", 0), "kuasar.ip"));
  vmm_qemu_argv_free (argv);
}
END_TEST

START_TEST (pod_net_route_gateway)
{
  const char *route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                      "eth0\t0000FB0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
                      "eth0\t00000000\t0100FB0A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
  char gw[16];
  ck_assert_int_eq (vmm_pod_net_route_gateway (route, "eth0", gw, sizeof (gw)), 0);
  ck_assert_str_eq (gw, "10.251.0.1");
  ck_assert_int_eq (vmm_pod_net_route_gateway (route, "eth1", gw, sizeof (gw)), 0);
  ck_assert_str_eq (gw, "");
  ck_assert_int_eq (vmm_pod_net_route_gateway ("Iface\tDestination\n", "eth0", gw, sizeof (gw)), 0);
  ck_assert_int_eq (vmm_pod_net_route_gateway ("Iface\nbroken\n", "eth0", gw, sizeof (gw)), -1);
}
END_TEST

/* A fake host: <root>/kvm (a file: opens O_RDWR), <root>/cpuinfo, <root>/kvm_pvm (a dir). */
static char root[PATH_MAX], kvm[PATH_MAX + 8], pvm[PATH_MAX + 8], cpuinfo[PATH_MAX + 8];

static void
fake_host (int with_kvm, const char *flags, int with_pvm)
{
  FILE *f;
  snprintf (root, sizeof (root), "/tmp/kc-vmm-host-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (root));
  snprintf (kvm, sizeof (kvm), "%s/kvm", root);
  snprintf (pvm, sizeof (pvm), "%s/kvm_pvm", root);
  snprintf (cpuinfo, sizeof (cpuinfo), "%s/cpuinfo", root);
  if (with_kvm)
    close (open (kvm, O_CREAT | O_WRONLY, 0600));
  if (with_pvm)
    mkdir (pvm, 0700);
  f = fopen (cpuinfo, "w");
  fprintf (f, "processor\t: 0\nflags\t\t: fpu vme de pse %s\n", flags);
  fclose (f);
}

static const char *
resolve (const char *accel)
{
  struct vmm_host_paths p = { .kvm_dev = kvm, .pvm_module = pvm, .cpuinfo = cpuinfo };
  const char *r = vmm_accel_resolve_at (accel, &p);
  char cmd[PATH_MAX + 16];
  snprintf (cmd, sizeof (cmd), "rm -rf %s", root);
  ck_assert_int_eq (system (cmd), 0);
  return r;
}

START_TEST (accel_auto)
{
  fake_host (1, "vmx sse", 0);
  ck_assert_str_eq (resolve ("auto"), "kvm");
  fake_host (1, "svm sse", 0);
  ck_assert_str_eq (resolve ("auto"), "kvm");
  fake_host (1, "vmx sse", 1); /* KVM-PVM host: no nested hardware virtualisation */
  ck_assert_str_eq (resolve ("auto"), "tcg");
  fake_host (1, "sse hypervisor", 0); /* /dev/kvm but no vmx/svm */
  ck_assert_str_eq (resolve ("auto"), "tcg");
  fake_host (0, "vmx", 0); /* no /dev/kvm */
  ck_assert_str_eq (resolve ("auto"), "tcg");
  fake_host (0, "", 0); /* explicit choices are kept as they are */
  ck_assert_str_eq (resolve ("kvm"), "kvm");
  fake_host (1, "vmx", 0);
  ck_assert_str_eq (resolve ("tcg"), "tcg");
}
END_TEST

static int
parse (struct vmm_config *c, const char *text, char *msg, size_t max)
{
  kc_error_t err = NULL;
  vmm_config_init (c);
  int ret = vmm_config_parse (c, text, strlen (text), &err);
  if (ret < 0)
    {
      snprintf (msg, max, "%s", err->msg);
      kc_error_free (&err);
    }
  return ret;
}

START_TEST (config_defaults_and_values)
{
  struct vmm_config c;
  char msg[256];
  ck_assert_int_eq (parse (&c, "log_level = \"info\"\n", msg, sizeof (msg)), 0);
  ck_assert_uint_eq (c.memory_mib, 256);
  ck_assert_uint_eq (c.vcpus, 1);
  ck_assert_uint_eq (c.boot_timeout_secs, 30);
  ck_assert_ptr_null (c.kernel);
  ck_assert_ptr_null (c.accel);
  vmm_config_clear (&c);
  ck_assert_int_eq (parse (&c,
                           "[vmm]\nkernel = \"/k\"\ninitrd = '/i'\nqemu = \"/q\"\nmemory_mib = 1024\nvcpus = 4\n"
                           "accel = \"kvm\"\nboot_timeout_secs = 45\nfuture_key = 1\n[wasm]\nvcpus = \"x\"\n",
                           msg, sizeof (msg)),
                    0);
  ck_assert_str_eq (c.kernel, "/k");
  ck_assert_str_eq (c.initrd, "/i");
  ck_assert_str_eq (c.qemu, "/q");
  ck_assert_uint_eq (c.memory_mib, 1024);
  ck_assert_uint_eq (c.vcpus, 4);
  ck_assert_str_eq (c.accel, "kvm");
  ck_assert_uint_eq (c.boot_timeout_secs, 45);
  vmm_config_clear (&c);
}
END_TEST

static void
assert_bad (const char *text, const char *want)
{
  struct vmm_config c;
  char msg[256] = "";
  ck_assert_int_lt (parse (&c, text, msg, sizeof (msg)), 0);
  ck_assert_msg (strstr (msg, want) != NULL, "`%s`: got `%s`, want `%s`", text, msg, want);
  vmm_config_clear (&c);
}

START_TEST (config_bad_values)
{
  assert_bad ("[vmm]\nmemory_mib = 0\n", "line 2: [vmm] memory_mib must be an integer from 1 to 65536");
  assert_bad ("[vmm]\n\nvcpus = 65\n", "line 3: [vmm] vcpus");
  assert_bad ("[vmm]\nvcpus = \"2\"\n", "line 2: [vmm] vcpus");
  assert_bad ("[vmm]\nboot_timeout_secs = -1\n", "line 2: [vmm] boot_timeout_secs");
  assert_bad ("[vmm]\nboot_timeout_secs = 601\n", "line 2");
  assert_bad ("[vmm]\naccel = \"hvf\"\n", "line 2: [vmm] accel must be auto, kvm or tcg");
  assert_bad ("[vmm]\nkernel = \"\"\n", "line 2: [vmm] kernel must be a non-empty string");
  assert_bad ("[vmm]\ninitrd = 3\n", "line 2: [vmm] initrd");
  assert_bad ("# c\n[vmm]\nqemu = true\n", "line 3: [vmm] qemu");
  assert_bad ("[vmm]\nmemory_mib = \n", "line 2");
}
END_TEST

START_TEST (qmp_chardev_state)
{
  const char *free_agent = "{\"return\": [{\"frontend-open\": true, \"filename\": "
                           "\"disconnected:unix:/d/agent.sock,server=on\", \"label\": \"agent\"}, "
                           "{\"frontend-open\": true, \"filename\": \"unix:/d/stdio.sock,server=on\", \"label\": "
                           "\"stdio\"}]}";
  ck_assert_int_eq (vmm_qmp_chardev_attached (free_agent, "agent"), 0);
  ck_assert_int_eq (vmm_qmp_chardev_attached (free_agent, "stdio"), 1);
  ck_assert_int_eq (vmm_qmp_chardev_attached (free_agent, "serial0"), -1);
  ck_assert_int_eq (vmm_qmp_chardev_attached ("{\"error\": {}}", "agent"), -1);
  ck_assert_int_eq (vmm_qmp_chardev_attached ("not json", "agent"), -1);
}
END_TEST

START_TEST (ready_timeout_covers_two_boots)
{
  ck_assert_ptr_nonnull (kc_vmm_backend.ready_timeout_secs);
  unsigned boot = vmm_config_get ()->boot_timeout_secs;
  ck_assert_uint_eq (kc_vmm_backend.ready_timeout_secs (), 2 * boot + 10);
}
END_TEST

static struct kc_sandbox_record
pod (int64_t mem, int64_t overhead, int64_t quota, int64_t period)
{
  struct kc_sandbox_record r = { .id = (char *) "pod1" };
  r.memory_limit_bytes = mem;
  r.overhead_memory_limit_bytes = overhead;
  r.cpu_quota = quota;
  r.cpu_period = period;
  return r;
}

START_TEST (size_from_config_and_pod)
{
  struct vmm_config c = sample_config (); /* 512 MiB, 2 vcpus */
  const int64_t mib = 1024 * 1024;
  struct kc_sandbox_record r = pod (0, 0, 0, 0);
  struct vmm_size z = vmm_size_for_pod (&c, &r, 8);
  ck_assert_uint_eq (z.memory_mib, 512); /* no pod resources: the config */
  ck_assert_uint_eq (z.vcpus, 2);
  r = pod (1024 * mib, 0, 0, 0);
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).memory_mib, 1024 + 64);
  r = pod (1024 * mib, 128 * mib, 0, 0); /* overhead added */
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).memory_mib, 1024 + 128 + 64);
  r = pod (1024 * mib + 1, 0, 0, 0); /* rounded up to the next MiB */
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).memory_mib, 1025 + 64);
  r = pod (128 * mib, 0, 0, 0); /* smaller than the config: the config */
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).memory_mib, 512);
  r = pod (448 * mib, 0, 0, 0); /* exactly the config */
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).memory_mib, 512);
  r = pod (INT64_MAX, INT64_MAX, 0, 0); /* capped, no overflow */
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).memory_mib, VMM_MAX_MEMORY_MIB);
  r = pod (-1, -5, -1, -1); /* negative = unset */
  z = vmm_size_for_pod (&c, &r, 8);
  ck_assert_uint_eq (z.memory_mib, 512);
  ck_assert_uint_eq (z.vcpus, 2);

  r = pod (0, 0, 350000, 100000); /* 3.5 cpus -> 4 */
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).vcpus, 4);
  r = pod (0, 0, 300000, 100000);
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).vcpus, 3);
  r = pod (0, 0, 50000, 100000); /* less than the config */
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).vcpus, 2);
  r = pod (0, 0, 400000, 0); /* no period: the CFS default 100 ms */
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 8).vcpus, 4);
  r = pod (0, 0, 800000, 100000); /* capped at the host's cpus */
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 3).vcpus, 3);
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 0).vcpus, 8); /* 0: unknown, no cap */
  r = pod (0, 0, INT64_MAX, 1);
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 2).vcpus, 2);
  c.vcpus = 4; /* the cap applies to the config too */
  r = pod (0, 0, 0, 0);
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 2).vcpus, 2);
  c.vcpus = 0;
  ck_assert_uint_eq (vmm_size_for_pod (&c, &r, 2).vcpus, 1);
}
END_TEST

START_TEST (shim_address_paths)
{
  char *p;
  p = shim_vmm_sandbox_dir ("ttrpc+unix:///run/kuasar-vmm/pod1/agent.sock");
  ck_assert_str_eq (p, "/run/kuasar-vmm/pod1");
  free (p);
  p = shim_vmm_sandbox_dir ("unix:///r/p/agent.sock");
  ck_assert_str_eq (p, "/r/p");
  free (p);
  p = shim_vmm_sibling ("ttrpc+unix:///run/kuasar-vmm/pod1/agent.sock", "stdio.sock");
  ck_assert_str_eq (p, "/run/kuasar-vmm/pod1/stdio.sock");
  free (p);
  p = shim_vmm_sibling ("ttrpc+unix:///run/kuasar-vmm/pod1/agent.sock", "shared");
  ck_assert_str_eq (p, "/run/kuasar-vmm/pod1/shared");
  free (p);
  /* Not a vmm pod: wasm's task.sock, vsock, a bare suffix, nothing. */
  ck_assert_ptr_null (shim_vmm_sandbox_dir ("ttrpc+unix:///run/kuasar-wasm/pod1/task.sock"));
  ck_assert_ptr_null (shim_vmm_sandbox_dir ("vsock://3:1024"));
  ck_assert_ptr_null (shim_vmm_sandbox_dir ("ttrpc+unix:///agent.sock"));
  ck_assert_ptr_null (shim_vmm_sandbox_dir ("unix://agent.sock"));
  ck_assert_ptr_null (shim_vmm_sandbox_dir ("ttrpc+unix://"));
  ck_assert_ptr_null (shim_vmm_sandbox_dir (NULL));
  ck_assert_ptr_null (shim_vmm_sibling ("ttrpc+unix:///x/task.sock", "shared"));
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("vmm-host");
  TCase *tc = tcase_create ("pure");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, argv_tcg);
  tcase_add_test (tc, argv_kvm);
  tcase_add_test (tc, argv_pod_network);
  tcase_add_test (tc, pod_net_route_gateway);
  tcase_add_test (tc, accel_auto);
  tcase_add_test (tc, config_defaults_and_values);
  tcase_add_test (tc, config_bad_values);
  tcase_add_test (tc, qmp_chardev_state);
  tcase_add_test (tc, ready_timeout_covers_two_boots);
  tcase_add_test (tc, size_from_config_and_pod);
  tcase_add_test (tc, shim_address_paths);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
