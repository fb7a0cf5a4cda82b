/* vmm host side, machine and share: the q35 / virtiofs QEMU command lines, "auto" resolved
   against given `-machine help` texts and virtiofsd presence, running `-machine help` (a fake
   QEMU), virtiofsd's command line, its startup errors and its reclaim. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argv_check.h"
#include "machine_help.h"
#include "qemu.h"
#include "virtiofsd.h"
#include "vmm_config.h"
#include "vmm_plan.h"

static const char help_with_microvm[]
    = "Supported machines are:\n"
      "microvm              microvm (i386)\n"
      "pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)\n"
      "q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)\n"
      "pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)\n"
      "none                 empty machine\n";
static const char help_without_microvm[] = "Supported machines are:\n"
                                           "q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)\n"
                                           "pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)\n"
                                           "microvm-like         not the same name\n";

static struct vmm_config
config_with (const char *machine, const char *share)
{
  struct vmm_config c;
  vmm_config_init (&c);
  c.kernel = (char *) "/k/vmlinux";
  c.initrd = (char *) "/i/guest.initrd";
  c.memory_mib = 384;
  c.machine = (char *) machine;
  c.share = (char *) share;
  c.channel = (char *) "auto";
  c.virtiofsd = (char *) "/usr/lib/qemu/virtiofsd";
  return c;
}

static int
has_prefix (char **argv, const char *prefix)
{
  for (int i = 0; argv[i]; i++)
    if (strncmp (argv[i], prefix, strlen (prefix)) == 0)
      return 1;
  return 0;
}

START_TEST (argv_q35_virtiofs)
{
  struct vmm_config c = config_with ("q35", "virtiofs");
  struct vmm_plan plan = { .accel = "tcg", .machine = "q35", .share = "virtiofs", .channel = "virtio-serial" };
  char **argv = vmm_qemu_argv (&c, "qemu", &plan, "/run/kv/pod1");
  ck_assert_ptr_nonnull (argv);
  ck_assert_str_eq (arg_after (argv, "-M", 0), "q35,sata=off,smbus=off,vmport=off,hpet=off");
  ck_assert (has_arg (argv, "-nodefaults"));
  ck_assert (has_arg (argv, "virtio-serial-pci"));
  ck_assert (!has_prefix (argv, "virtio-serial-device"));
  /* All guest memory shared with virtiofsd: a memfd backend of exactly -m. */
  ck_assert_str_eq (arg_after (argv, "-m", 0), "384");
  ck_assert_str_eq (arg_after (argv, "-object", 0), "memory-backend-memfd,id=vm-mem,size=384M,share=on");
  ck_assert_str_eq (arg_after (argv, "-machine", 0), "memory-backend=vm-mem");
  ck_assert (has_arg (argv, "socket,id=virtiofs,path=/run/kv/pod1/fs.sock"));
  ck_assert (has_arg (argv, "vhost-user-fs-pci,chardev=virtiofs,tag=kuasar"));
  ck_assert_ptr_null (arg_after (argv, "-fsdev", 0));
  ck_assert_ptr_nonnull (strstr (arg_after (argv, "-append", 0), " kuasar.share=virtiofs"));
  vmm_qemu_argv_free (argv);
}
END_TEST

START_TEST (argv_q35_9p_and_microvm)
{
  struct vmm_config c = config_with ("q35", "9p");
  struct vmm_plan plan = { .accel = "tcg", .machine = "q35", .share = "9p", .channel = "virtio-serial" };
  char **argv = vmm_qemu_argv (&c, "qemu", &plan, "/d");
  ck_assert_ptr_nonnull (argv);
  ck_assert (has_arg (argv, "virtio-9p-pci,fsdev=shared,mount_tag=kuasar"));
  ck_assert_str_eq (arg_after (argv, "-fsdev", 0), "local,id=shared,path=/d/shared,security_model=none");
  ck_assert_ptr_null (arg_after (argv, "-object", 0));
  ck_assert_ptr_nonnull (strstr (arg_after (argv, "-append", 0), " kuasar.share=9p"));
  vmm_qemu_argv_free (argv);
  plan.machine = "microvm";
  argv = vmm_qemu_argv (&c, "qemu", &plan, "/d");
  ck_assert_str_eq (arg_after (argv, "-M", 0), "microvm,pit=on,pic=on,rtc=on");
  ck_assert (has_arg (argv, "virtio-serial-device"));
  ck_assert (has_arg (argv, "virtio-9p-device,fsdev=shared,mount_tag=kuasar"));
  ck_assert (!has_prefix (argv, "virtio-9p-pci") && !has_prefix (argv, "virtio-serial-pci"));
  vmm_qemu_argv_free (argv);
}
END_TEST

START_TEST (machine_help_lookup)
{
  ck_assert (vmm_machine_help_has (help_with_microvm, "microvm"));
  ck_assert (vmm_machine_help_has (help_with_microvm, "q35"));
  ck_assert (!vmm_machine_help_has (help_with_microvm, "pc-q35"));
  ck_assert (!vmm_machine_help_has (help_without_microvm, "microvm"));
  ck_assert (!vmm_machine_help_has ("", "q35"));
}
END_TEST

/* Resolves cfg against a host; returns the error message ("" when none) in msg. */
static int
resolve (const char *machine, const char *share, const char *help, int virtiofsd_ok, struct vmm_plan *plan, char *msg,
         size_t max)
{
  struct vmm_config c = config_with (machine, share);
  struct vmm_plan_host host = { .machine_help = help, .virtiofsd_ok = virtiofsd_ok };
  kc_error_t err = NULL;
  int ret = vmm_plan_resolve_for (&c, "tcg", &host, plan, &err);
  snprintf (msg, max, "%s", err ? err->msg : "");
  kc_error_free (&err);
  return ret;
}

static void
assert_plan (const char *machine, const char *share, const char *help, int virtiofsd_ok, const char *want_machine,
             const char *want_share)
{
  struct vmm_plan plan;
  char msg[256];
  ck_assert_msg (resolve (machine, share, help, virtiofsd_ok, &plan, msg, sizeof (msg)) == 0, "%s/%s: %s", machine,
                 share, msg);
  ck_assert_str_eq (plan.machine, want_machine);
  ck_assert_str_eq (plan.share, want_share);
  ck_assert_str_eq (plan.accel, "tcg");
}

static void
assert_refused (const char *machine, const char *share, const char *help, int virtiofsd_ok, const char *want)
{
  struct vmm_plan plan;
  char msg[256];
  ck_assert_int_lt (resolve (machine, share, help, virtiofsd_ok, &plan, msg, sizeof (msg)), 0);
  ck_assert_msg (strstr (msg, want) != NULL, "%s/%s: got `%s`, want `%s`", machine, share, msg, want);
}

START_TEST (plan_auto)
{
  assert_plan ("auto", "auto", help_with_microvm, 1, "microvm", "9p");
  assert_plan ("auto", "auto", help_without_microvm, 1, "q35", "virtiofs");
  assert_plan ("auto", "auto", help_without_microvm, 0, "q35", "9p");
  assert_plan ("auto", "auto", NULL, 1, "microvm", "9p"); /* QEMU not askable: the default */
  assert_plan ("q35", "auto", help_with_microvm, 1, "q35", "virtiofs");
  assert_plan ("q35", "auto", help_with_microvm, 0, "q35", "9p");
  assert_plan ("q35", "9p", help_with_microvm, 1, "q35", "9p");
  assert_plan ("microvm", "auto", help_with_microvm, 1, "microvm", "9p");
  assert_plan ("auto", "virtiofs", help_without_microvm, 1, "q35", "virtiofs");
}
END_TEST

START_TEST (plan_refusals)
{
  assert_refused ("microvm", "auto", help_without_microvm, 1, "machine = \"microvm\": this QEMU lacks that machine");
  assert_refused ("q35", "auto", "Supported machines are:\nmicrovm  x\n", 1, "machine = \"q35\"");
  assert_refused ("microvm", "virtiofs", help_with_microvm, 1, "share = \"virtiofs\" needs machine = \"q35\"");
  assert_refused ("auto", "virtiofs", help_with_microvm, 1, "needs machine = \"q35\"");
  assert_refused ("q35", "virtiofs", help_with_microvm, 0, "virtiofsd `/usr/lib/qemu/virtiofsd` is not executable");
}
END_TEST

static char tmp[64];

static void
make_tmp (void)
{
  snprintf (tmp, sizeof (tmp), "/tmp/kc-vmm-ms-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (tmp));
}

static void
rm_tmp (void)
{
  char cmd[128];
  snprintf (cmd, sizeof (cmd), "rm -rf %s", tmp);
  ck_assert_int_eq (system (cmd), 0);
}

/* An executable shell script at <tmp>/<name>. */
static const char *
script (const char *name, const char *body)
{
  static char path[128];
  snprintf (path, sizeof (path), "%s/%s", tmp, name);
  FILE *f = fopen (path, "w");
  ck_assert_ptr_nonnull (f);
  fprintf (f, "#!/bin/sh\n%s\n", body);
  fclose (f);
  chmod (path, 0755);
  return path;
}

START_TEST (machine_help_runs_qemu)
{
  kc_error_t err = NULL;
  char *text = NULL;
  make_tmp ();
  const char *qemu = script ("qemu", "[ \"$1 $2\" = \"-machine help\" ] || exit 3\n"
                                     "echo 'Supported machines are:'; echo 'q35   Standard PC'");
  ck_assert_int_eq (vmm_machine_help_run (qemu, 10000, &text, &err), 0);
  ck_assert (vmm_machine_help_has (text, "q35") && !vmm_machine_help_has (text, "microvm"));
  free (text);
  qemu = script ("bad-qemu", "exit 1");
  ck_assert_int_lt (vmm_machine_help_run (qemu, 10000, &text, &err), 0);
  ck_assert_ptr_nonnull (strstr (err->msg, "-machine help` failed"));
  kc_error_free (&err);
  qemu = script ("slow-qemu", "exec sleep 30");
  ck_assert_int_lt (vmm_machine_help_run (qemu, 100, &text, &err), 0);
  ck_assert_int_eq (err->code, KC_DEADLINE_EXCEEDED);
  kc_error_free (&err);
  ck_assert_int_lt (vmm_machine_help_run ("/nonexistent/qemu", 10000, &text, &err), 0);
  kc_error_free (&err);
  rm_tmp ();
}
END_TEST

START_TEST (virtiofsd_command_line)
{
  char **argv = vmm_virtiofsd_argv ("/usr/lib/qemu/virtiofsd", "/run/kv/pod1");
  ck_assert_ptr_nonnull (argv);
  ck_assert_str_eq (argv[0], "/usr/lib/qemu/virtiofsd");
  ck_assert (has_arg (argv, "--fd=3"));
  ck_assert_str_eq (arg_after (argv, "-o", 0), "source=/run/kv/pod1/shared");
  ck_assert (has_arg (argv, "sandbox=chroot") && has_arg (argv, "cache=none"));
  ck_assert (!has_prefix (argv, "--socket-path"));
  vmm_qemu_argv_free (argv);
}
END_TEST

START_TEST (virtiofsd_startup_errors)
{
  kc_error_t err = NULL;
  char log[128];
  make_tmp ();
  ck_assert_int_lt (vmm_virtiofsd_start ("/nonexistent/virtiofsd", tmp, 5000, NULL, &err), 0);
  ck_assert_int_eq (err->code, KC_FAILED_PRECONDITION);
  ck_assert_ptr_nonnull (strstr (err->msg, "is not executable"));
  kc_error_free (&err);
  const char *bad = script ("virtiofsd", "echo \"fuse: unknown option $3\" >&2; exit 1");
  ck_assert_int_lt (vmm_virtiofsd_start (bad, tmp, 5000, NULL, &err), 0);
  ck_assert_msg (strstr (err->msg, "exited at startup") && strstr (err->msg, "fuse: unknown option"), "%s", err->msg);
  kc_error_free (&err);
  snprintf (log, sizeof (log), "%s/" VMM_VIRTIOFSD_LOG, tmp);
  ck_assert_int_eq (access (log, R_OK), 0);
  rm_tmp ();
}
END_TEST

/* A virtiofsd stand-in that never exits: reclaim kills it by its pid file, once. */
START_TEST (virtiofsd_kill_by_pid_file)
{
  make_tmp ();
  pid_t pid = fork ();
  if (pid == 0)
    {
      execlp ("sleep", "sleep", "60", (char *) NULL);
      _exit (127);
    }
  usleep (100000);
  char path[128], text[64];
  unsigned long long start = 0;
  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  FILE *f = fopen (path, "r");
  ck_assert_ptr_nonnull (f);
  ck_assert_int_eq (
      fscanf (f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start),
      1);
  fclose (f);
  snprintf (path, sizeof (path), "%s/" VMM_VIRTIOFSD_PID, tmp);
  f = fopen (path, "w");
  fprintf (f, "%d %llu\n", (int) pid, start + 1); /* a recycled pid: not ours to kill */
  fclose (f);
  ck_assert_int_eq (vmm_virtiofsd_kill (tmp), 0);
  ck_assert_int_eq (kill (pid, 0), 0);
  snprintf (text, sizeof (text), "%d %llu\n", (int) pid, start);
  f = fopen (path, "w");
  fputs (text, f);
  fclose (f);
  ck_assert_int_eq (vmm_virtiofsd_kill (tmp), 1);
  int status;
  ck_assert_int_eq (waitpid (pid, &status, 0), pid);
  ck_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  ck_assert_int_eq (vmm_virtiofsd_kill (tmp), 0);
  rm_tmp ();
}
END_TEST

START_TEST (config_virtiofsd_key)
{
  struct vmm_config c;
  kc_error_t err = NULL;
  const char *text = "[vmm]\nmachine = \"q35\"\nshare = \"virtiofs\"\nvirtiofsd = \"/opt/virtiofsd\"\n";
  vmm_config_init (&c);
  ck_assert_int_eq (vmm_config_parse (&c, text, strlen (text), &err), 0);
  ck_assert_str_eq (c.machine, "q35");
  ck_assert_str_eq (c.share, "virtiofs");
  ck_assert_str_eq (c.virtiofsd, "/opt/virtiofsd");
  vmm_config_clear (&c);
  text = "[vmm]\nvirtiofsd = \"\"\n";
  ck_assert_int_lt (vmm_config_parse (&c, text, strlen (text), &err), 0);
  ck_assert_ptr_nonnull (strstr (err->msg, "line 2: [vmm] virtiofsd must be a non-empty string"));
  kc_error_free (&err);
  vmm_config_clear (&c);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("vmm-machine-share");
  TCase *tc = tcase_create ("machine-share");
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, argv_q35_virtiofs);
  tcase_add_test (tc, argv_q35_9p_and_microvm);
  tcase_add_test (tc, machine_help_lookup);
  tcase_add_test (tc, plan_auto);
  tcase_add_test (tc, plan_refusals);
  tcase_add_test (tc, machine_help_runs_qemu);
  tcase_add_test (tc, virtiofsd_command_line);
  tcase_add_test (tc, virtiofsd_startup_errors);
  tcase_add_test (tc, virtiofsd_kill_by_pid_file);
  tcase_add_test (tc, config_virtiofsd_key);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
