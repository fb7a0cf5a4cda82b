/* The vsock channel, host side: the QEMU command line per channel, [vmm] channel resolution
   (auto on an injected /dev/vhost-vsock), task and stdio addresses (sandboxer and shim), and the
   hybrid vsock dial (CONNECT/OK) against a fake backend. Kernel vhost-vsock itself cannot run on
   this machine (no /dev/vhost-vsock). */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argv_check.h"
#include "fsutil.h"
#include "probe.h"
#include "proc.h"
#include "qemu.h"
#include "ttrpc/ttrpc.h"
#include "vmm_address.h"
#include "vmm_channel.h"
#include "vmm_config.h"

static struct vmm_config
sample_config (void)
{
  struct vmm_config c;
  vmm_config_init (&c);
  c.kernel = (char *) "/k/vmlinux";
  c.initrd = (char *) "/i/guest.initrd";
  c.memory_mib = 384;
  return c;
}

START_TEST (argv_hvsock)
{
  struct vmm_config c = sample_config ();
  struct vmm_plan p = { .accel = "tcg", .machine = "microvm", .share = "9p", .channel = "hvsock" };
  char **argv = vmm_qemu_argv (&c, "qemu", &p, "/run/kv/pod1");
  ck_assert_ptr_nonnull (argv);
  ck_assert (has_arg (argv, "memory-backend-memfd,id=vm-mem,size=384M,share=on"));
  ck_assert (has_arg (argv, "memory-backend=vm-mem"));
  ck_assert (has_arg (argv, "socket,id=vsock,path=/run/kv/pod1/vhost.sock"));
  ck_assert (has_arg (argv, "vhost-user-vsock-device,chardev=vsock"));
  ck_assert (!has_arg (argv, "virtserialport,chardev=agent,name=agent"));
  ck_assert_ptr_nonnull (strstr (arg_after (argv, "-append", 0), "kuasar.channel=hvsock"));
  vmm_qemu_argv_free (argv);
  p.machine = "q35";
  argv = vmm_qemu_argv (&c, "qemu", &p, "/d");
  ck_assert (has_arg (argv, "vhost-user-vsock-pci,chardev=vsock"));
  vmm_qemu_argv_free (argv);
}
END_TEST

START_TEST (argv_kernel_vsock)
{
  struct vmm_config c = sample_config ();
  struct vmm_plan p = { .accel = "kvm", .machine = "microvm", .share = "9p", .channel = "vsock", .guest_cid = 77 };
  char **argv = vmm_qemu_argv (&c, "qemu", &p, "/d");
  ck_assert_ptr_nonnull (argv);
  ck_assert (has_arg (argv, "vhost-vsock-device,guest-cid=77"));
  ck_assert (!has_arg (argv, "memory-backend=vm-mem"));
  ck_assert (!has_arg (argv, "virtio-serial-device"));
  ck_assert_ptr_nonnull (strstr (arg_after (argv, "-append", 0), "kuasar.channel=vsock"));
  vmm_qemu_argv_free (argv);
  p.machine = "q35";
  argv = vmm_qemu_argv (&c, "qemu", &p, "/d");
  ck_assert (has_arg (argv, "vhost-vsock-pci,guest-cid=77"));
  vmm_qemu_argv_free (argv);
}
END_TEST

START_TEST (channel_resolution)
{
  char dev[] = "/tmp/kc-vhost-vsock.XXXXXX";
  struct vmm_config c = sample_config ();
  struct vmm_channel_host host;
  struct vmm_plan p = { .accel = "tcg" };
  kc_error_t err = NULL;
  int fd = mkstemp (dev);
  ck_assert_int_ge (fd, 0);
  close (fd);
  c.vhost_device_vsock = (char *) "/nonexistent/vhost-device-vsock";
  vmm_channel_host_probe (&c, dev, &host); /* a read-write file stands in for the device */
  ck_assert (host.vhost_vsock_ok && !host.hvsock_ok);
  c.channel = (char *) "auto";
  ck_assert_int_eq (vmm_channel_resolve (&c, &host, &p, &err), 0);
  ck_assert_str_eq (p.channel, "vsock");
  c.channel = (char *) "hvsock";
  ck_assert_int_eq (vmm_channel_resolve (&c, &host, &p, &err), -1);
  ck_assert_int_eq (err->code, KC_FAILED_PRECONDITION);
  ck_assert_ptr_nonnull (strstr (err->msg, "vhost-device-vsock"));
  kc_error_free (&err);
  unlink (dev); /* gone: the device is missing */
  c.vhost_device_vsock = (char *) "sh"; /* on PATH */
  vmm_channel_host_probe (&c, dev, &host);
  ck_assert (!host.vhost_vsock_ok && host.hvsock_ok);
  ck_assert_int_eq (vmm_channel_resolve (&c, &host, &p, &err), 0);
  ck_assert_str_eq (p.channel, "hvsock");
  c.channel = (char *) "auto";
  ck_assert_int_eq (vmm_channel_resolve (&c, &host, &p, &err), 0);
  ck_assert_str_eq (p.channel, "virtio-serial");
  c.channel = (char *) "vsock";
  ck_assert_int_eq (vmm_channel_resolve (&c, &host, &p, &err), -1);
  ck_assert_int_eq (err->code, KC_FAILED_PRECONDITION);
  kc_error_free (&err);
  ck_assert (!vmm_vhost_vsock_usable ("/nonexistent/vhost-vsock"));
}
END_TEST

START_TEST (task_addresses)
{
  struct vmm_plan p = { .channel = "vsock", .guest_cid = 1234 };
  char *a = vmm_channel_task_address (&p, "/run/kv/pod1");
  ck_assert_str_eq (a, "ttrpc+vsock://1234:1024");
  free (a);
  p.channel = "hvsock";
  a = vmm_channel_task_address (&p, "/run/kv/pod1");
  ck_assert_str_eq (a, "ttrpc+hvsock:///run/kv/pod1/vsock.sock:1024");
  free (a);
  p.channel = "virtio-serial";
  a = vmm_channel_task_address (&p, "/run/kv/pod1");
  ck_assert_str_eq (a, "ttrpc+unix:///run/kv/pod1/agent.sock");
  free (a);
}
END_TEST

static void
assert_str_free (char *got, const char *want)
{
  if (want == NULL)
    ck_assert_ptr_null (got);
  else
    ck_assert_str_eq (got, want);
  free (got);
}

START_TEST (shim_addresses)
{
  assert_str_free (shim_vmm_sandbox_dir ("ttrpc+hvsock:///run/kv/pod1/vsock.sock:1024"), "/run/kv/pod1");
  assert_str_free (shim_vmm_sandbox_dir ("hvsock:///run/kv/pod1/vsock.sock:1024"), "/run/kv/pod1");
  assert_str_free (shim_vmm_sibling ("ttrpc+hvsock:///r/p/vsock.sock:1024", "shared"), "/r/p/shared");
  assert_str_free (shim_vmm_stdio_address ("ttrpc+hvsock:///r/p/vsock.sock:1024"), "hvsock:///r/p/vsock.sock:1025");
  assert_str_free (shim_vmm_stdio_address ("ttrpc+vsock://77:1024"), "vsock://77:1025");
  assert_str_free (shim_vmm_stdio_address ("ttrpc+unix:///r/p/agent.sock"), "unix:///r/p/stdio.sock");
  /* Bad or foreign forms: not a vmm pod. */
  assert_str_free (shim_vmm_sandbox_dir ("ttrpc+vsock://77:1024"), NULL); /* no dir in it */
  assert_str_free (shim_vmm_sandbox_dir ("ttrpc+hvsock:///r/p/task.vsock:1024"), NULL);
  assert_str_free (shim_vmm_sandbox_dir ("ttrpc+hvsock:///r/p/vsock.sock"), NULL);
  assert_str_free (shim_vmm_sandbox_dir ("ttrpc+hvsock:///r/p/vsock.sock:"), NULL);
  assert_str_free (shim_vmm_sandbox_dir ("ttrpc+hvsock:///r/p/vsock.sock:x1"), NULL);
  assert_str_free (shim_vmm_sandbox_dir ("ttrpc+hvsock://vsock.sock:1024"), NULL);
  assert_str_free (shim_vmm_stdio_address ("ttrpc+vsock://77"), NULL);
  assert_str_free (shim_vmm_stdio_address ("ttrpc+vsock://77:1024x"), NULL);
  assert_str_free (shim_vmm_stdio_address ("ttrpc+unix:///run/kuasar-wasm/p/task.sock"), NULL);
  assert_str_free (shim_vmm_stdio_address (NULL), NULL);
}
END_TEST

/* A fake hybrid vsock backend: answers one CONNECT with reply, then sends "x". */
static pid_t
fake_backend (const char *path, const char *reply)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  snprintf (sa.sun_path, sizeof (sa.sun_path), "%s", path);
  ck_assert_int_eq (bind (lfd, (struct sockaddr *) &sa, sizeof (sa)), 0);
  ck_assert_int_eq (listen (lfd, 1), 0);
  pid_t pid = fork ();
  if (pid == 0)
    {
      char line[64] = { 0 };
      int c = accept (lfd, NULL, NULL);
      ssize_t n = read (c, line, sizeof (line) - 1);
      if (n <= 0 || strcmp (line, "CONNECT 1024\n") != 0)
        _exit (1);
      if (write (c, reply, strlen (reply)) < 0 || write (c, "x", 1) != 1)
        _exit (2);
      sleep (1);
      _exit (0);
    }
  close (lfd);
  return pid;
}

START_TEST (hvsock_dial)
{
  char dir[] = "/tmp/kc-hvsock.XXXXXX", path[128], addr[160], c = 0;
  kc_error_t err = NULL;
  int status;
  ck_assert_ptr_nonnull (mkdtemp (dir));
  snprintf (path, sizeof (path), "%s/vsock.sock", dir);
  snprintf (addr, sizeof (addr), "ttrpc+hvsock://%s:1024", path);
  pid_t pid = fake_backend (path, "OK 1073741824\n");
  int fd = kc_stream_dial (addr, 2000, &err);
  ck_assert_msg (fd >= 0, "%s", err ? err->msg : "");
  ck_assert_int_eq (read (fd, &c, 1), 1); /* the byte after the OK line is the guest's */
  ck_assert_int_eq (c, 'x');
  close (fd);
  waitpid (pid, &status, 0);
  ck_assert_int_eq (WEXITSTATUS (status), 0);
  unlink (path);
  pid = fake_backend (path, "NO\n");
  ck_assert_int_eq (kc_stream_dial (addr, 2000, &err), -1);
  ck_assert_int_eq (err->code, KC_UNAVAILABLE);
  kc_error_free (&err);
  waitpid (pid, &status, 0);
  unlink (path);
  ck_assert_int_eq (kc_stream_dial (addr, 2000, &err), -1); /* nobody listens */
  kc_error_free (&err);
  ck_assert_int_eq (kc_stream_dial ("hvsock:///x/vsock.sock", 2000, &err), -1);
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  kc_error_free (&err);
  rmdir (dir);
}
END_TEST

/* A guest on hvsock that does not boot in time is not reset (vhost-device-vsock does not survive
   a reset: measured): the probe kills QEMU at the first timeout and says why. */
START_TEST (probe_does_not_reset_hvsock_guests)
{
  char dir[] = "/tmp/kc-probe.XXXXXX", log[128], pid_s[32], start_s[32], addr[160], *text = NULL;
  unsigned long long start = 0;
  size_t len = 0;
  int p[2], status;
  pid_t qemu, probe;

  ck_assert (vmm_probe_may_reset ("ttrpc+unix:///run/x/agent.sock"));
  ck_assert (vmm_probe_may_reset ("ttrpc+vsock://7:1024"));
  ck_assert (!vmm_probe_may_reset ("ttrpc+hvsock:///run/x/vsock.sock:1024"));
  ck_assert (!vmm_probe_may_reset ("hvsock:///run/x/vsock.sock:1024"));

  ck_assert_ptr_nonnull (mkdtemp (dir));
  qemu = fork (); /* stands in for QEMU: never answers */
  if (qemu == 0)
    {
      pause ();
      _exit (0);
    }
  ck_assert_int_eq (kc_proc_start_time (qemu, &start, NULL), 0);
  snprintf (pid_s, sizeof (pid_s), "%d", (int) qemu);
  snprintf (start_s, sizeof (start_s), "%llu", start);
  snprintf (addr, sizeof (addr), "ttrpc+hvsock://%s/vsock.sock:1024", dir);
  snprintf (log, sizeof (log), "%s/probe.log", dir);
  ck_assert_int_eq (pipe (p), 0);
  probe = fork ();
  if (probe == 0)
    {
      char *argv[] = { (char *) "vmm-sandboxer", (char *) VMM_PROBE_FLAG, dir, addr, pid_s, start_s, (char *) "1", NULL };
      int fd = open (log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2 (fd, 2);
      dup2 (p[1], 3);
      _exit (vmm_probe_main (7, argv));
    }
  close (p[1]);
  ck_assert_int_eq (waitpid (probe, &status, 0), probe);
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 1);
  ck_assert_int_eq (waitpid (qemu, &status, 0), qemu);
  ck_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  ck_assert_int_eq (kc_read_file (log, &text, &len, NULL), 0);
  ck_assert_ptr_nonnull (strstr (text, "not resetting it"));
  ck_assert_ptr_null (strstr (text, "rebooting it once"));
  free (text);
  close (p[0]);
  unlink (log);
  rmdir (dir);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("vmm-channel");
  TCase *tc = tcase_create ("channel");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, argv_hvsock);
  tcase_add_test (tc, argv_kernel_vsock);
  tcase_add_test (tc, channel_resolution);
  tcase_add_test (tc, task_addresses);
  tcase_add_test (tc, shim_addresses);
  tcase_add_test (tc, hvsock_dial);
  tcase_add_test (tc, probe_does_not_reset_hvsock_guests);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
