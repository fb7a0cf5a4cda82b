/* Unit tests of vmm-task's pure parts: the stdio mux codec, the OCI spec subset and mount
   options, and the module load order from modules.dep. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"
#include "cmdline.h"
#include "modules.h"
#include "safe_path.h"
#include "spec.h"
#include "stdio_mux.h"

struct seen
{
  int n;
  uint8_t kinds[8];
  char text[256];
};

static int
collect (const struct kc_mux_frame *f, void *userdata)
{
  struct seen *s = userdata;
  size_t used = strlen (s->text);

  s->kinds[s->n++] = f->kind;
  snprintf (s->text + used, sizeof (s->text) - used, "%.*s:%.*s;", (int) f->key_len, f->key, (int) f->data_len,
            (const char *) f->data);
  return 0;
}

START_TEST (mux_round_trip_byte_by_byte)
{
  struct kc_mux_frame f1
      = { .kind = KC_MUX_STDOUT, .key = "c1", .key_len = 2, .data = (const uint8_t *) "hi\n", .data_len = 3 };
  struct kc_mux_frame f2 = { .kind = KC_MUX_STDERR, .key = "c1/e1", .key_len = 5, .data = NULL, .data_len = 0 };
  uint8_t *b1, *b2, *b3, all[256];
  size_t l1, l2, l3, n = 0;
  struct kc_mux_decoder d;
  struct seen s = { 0 };

  ck_assert_int_eq (kc_mux_frame_encode (&f1, &b1, &l1, NULL), 0);
  ck_assert_int_eq (kc_mux_frame_encode (&f2, &b2, &l2, NULL), 0);
  ck_assert_int_eq (kc_mux_close_encode ("c1", KC_MUX_STDOUT, &b3, &l3, NULL), 0);
  ck_assert_uint_eq (l1, 8 + 2 + 3);
  ck_assert_int_eq (b1[0], 1);
  ck_assert_int_eq (b1[1], 2);
  ck_assert_int_eq (b1[7], 3);
  memcpy (all, b1, l1), n += l1;
  memcpy (all + n, b2, l2), n += l2;
  memcpy (all + n, b3, l3), n += l3;
  kc_mux_decoder_init (&d);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq (kc_mux_decoder_feed (&d, all + i, 1, collect, &s, NULL), 0);
  ck_assert_int_eq (s.n, 3);
  ck_assert_str_eq (s.text, "c1:hi\n;c1/e1:;c1:\x01;");
  ck_assert_int_eq (s.kinds[2], KC_MUX_CLOSE);
  kc_mux_decoder_free (&d);
  free (b1), free (b2), free (b3);
}
END_TEST

START_TEST (mux_rejects_bad_frames)
{
  uint8_t hdr[8], bad[8] = { 9, 1, 0, 0, 0, 0, 0, 0 };
  struct kc_mux_decoder d;
  struct seen s = { 0 };
  kc_error_t err = NULL;

  ck_assert_int_lt (kc_mux_header_encode (hdr, 0, 1, 0, NULL), 0);
  ck_assert_int_lt (kc_mux_header_encode (hdr, 1, 0, 0, NULL), 0);
  ck_assert_int_lt (kc_mux_header_encode (hdr, 1, 256, 0, NULL), 0);
  ck_assert_int_lt (kc_mux_header_encode (hdr, 1, 1, KC_MUX_MAX_DATA + 1, NULL), 0);
  kc_mux_decoder_init (&d);
  ck_assert_int_lt (kc_mux_decoder_feed (&d, bad, sizeof (bad), collect, &s, &err), 0);
  ck_assert_int_eq (err->code, KC_DATA_LOSS);
  kc_error_free (&err);
  kc_mux_decoder_free (&d);
}
END_TEST

START_TEST (spec_parses_process_user_mounts)
{
  const char *json = "{\"process\":{\"args\":[\"sh\",\"-c\",\"x\"],\"env\":[\"A=1\"],\"user\":{\"uid\":5,\"gid\":6,"
                     "\"additionalGids\":[7]},\"terminal\":true},\"hostname\":\"h\",\"root\":{\"path\":\"rootfs\","
                     "\"readonly\":true},\"mounts\":[{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"options\":"
                     "[\"nosuid\",\"size=1m\"]}]}";
  struct kc_vmm_spec spec;
  unsigned long flags, prop;
  char *data;

  ck_assert_int_eq (kc_vmm_spec_parse (json, strlen (json), &spec, NULL), 0);
  ck_assert_str_eq (spec.process.args[2], "x");
  ck_assert_str_eq (spec.process.cwd, "/");
  ck_assert_int_eq (spec.process.uid, 5);
  ck_assert_int_eq (spec.process.gid, 6);
  ck_assert_int_eq (spec.process.additional_gids[0], 7);
  ck_assert_int_eq (spec.process.terminal, 1);
  ck_assert_str_eq (spec.hostname, "h");
  ck_assert_int_eq (spec.root_readonly, 1);
  ck_assert_uint_eq (spec.nmounts, 1);
  ck_assert_int_eq (kc_vmm_mount_options (spec.mounts[0].options, &flags, &prop, &data, NULL), 0);
  ck_assert (flags & MS_NOSUID);
  ck_assert_str_eq (data, "size=1m");
  free (data);
  kc_vmm_spec_free (&spec);
  ck_assert_int_lt (kc_vmm_spec_parse ("{\"process\":{\"args\":[]}}", 24, &spec, NULL), 0);
  ck_assert_int_lt (kc_vmm_spec_parse ("[1]", 3, &spec, NULL), 0);
}
END_TEST

START_TEST (spec_parses_resources)
{
  const char *json = "{\"process\":{\"args\":[\"sh\"]},\"linux\":{\"resources\":{\"memory\":{\"limit\":"
                     "33554432},\"cpu\":{\"quota\":50000,\"period\":100000,\"shares\":512}}}}";
  const char *none = "{\"process\":{\"args\":[\"sh\"]},\"linux\":{}}";
  const char *bad = "{\"process\":{\"args\":[\"sh\"]},\"linux\":{\"resources\":{\"cpu\":{\"shares\":-1}}}}";
  struct kc_vmm_spec spec;

  ck_assert_int_eq (kc_vmm_spec_parse (json, strlen (json), &spec, NULL), 0);
  ck_assert_int_eq (spec.resources.has_memory_limit, 1);
  ck_assert_int_eq (spec.resources.memory_limit, 33554432);
  ck_assert_int_eq (spec.resources.has_cpu_quota, 1);
  ck_assert_int_eq (spec.resources.cpu_quota, 50000);
  ck_assert_uint_eq (spec.resources.cpu_period, 100000);
  ck_assert_uint_eq (spec.resources.cpu_shares, 512);
  kc_vmm_spec_free (&spec);
  ck_assert_int_eq (kc_vmm_spec_parse (none, strlen (none), &spec, NULL), 0);
  ck_assert_int_eq (spec.resources.has_memory_limit, 0);
  ck_assert_int_eq (spec.resources.has_cpu_quota, 0);
  kc_vmm_spec_free (&spec);
  ck_assert_int_lt (kc_vmm_spec_parse (bad, strlen (bad), &spec, NULL), 0);
}
END_TEST

START_TEST (mount_options_propagation_and_bind)
{
  char *opts[] = { "rbind", "ro", "rprivate", "mode=755", "uid=0", NULL };
  unsigned long flags, prop;
  char *data;

  ck_assert_int_eq (kc_vmm_mount_options (opts, &flags, &prop, &data, NULL), 0);
  ck_assert (flags & MS_BIND && flags & MS_REC && flags & MS_RDONLY);
  ck_assert_uint_eq (prop, MS_PRIVATE | MS_REC);
  ck_assert_str_eq (data, "mode=755,uid=0");
  free (data);
}
END_TEST

START_TEST (modules_dependencies_first)
{
  const char *dep = "kernel/fs/9p/9p.ko: kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko kernel/net/9p/9pnet.ko\n"
                    "kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko\n"
                    "kernel/fs/netfs/netfs.ko:\n"
                    "kernel/net/9p/9pnet.ko:\n";
  char **order;
  size_t n;

  ck_assert_int_eq (kc_modules_order (dep, &order, &n, NULL), 0);
  ck_assert_uint_eq (n, 4);
  ck_assert_str_eq (order[0], "kernel/fs/netfs/netfs.ko");
  ck_assert_str_eq (order[1], "kernel/fs/fscache/fscache.ko");
  ck_assert_str_eq (order[2], "kernel/net/9p/9pnet.ko");
  ck_assert_str_eq (order[3], "kernel/fs/9p/9p.ko");
  for (size_t i = 0; i < n; i++)
    free (order[i]);
  free (order);
}
END_TEST

START_TEST (modules_cmdline_params)
{
  char *p = kc_modules_cmdline_params ("console=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 quiet "
                                       "virtio_mmio.device=512@0xfeb00c00:11 9p.x=1\n",
                                       "virtio_mmio");
  ck_assert_str_eq (p, "device=512@0xfeb00e00:12 device=512@0xfeb00c00:11");
  free (p);
}
END_TEST

/* <tmp>/root (the rootfs) and <tmp>/other (another container's share), both empty. */
static int
two_dirs (char *tmp, char *root, char *other)
{
  ck_assert_ptr_nonnull (mkdtemp (tmp));
  snprintf (root, 512, "%s/root", tmp);
  snprintf (other, 512, "%s/other", tmp);
  ck_assert_int_eq (mkdir (root, 0755), 0);
  ck_assert_int_eq (mkdir (other, 0755), 0);
  return open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int
dir_empty (const char *dir)
{
  char cmd[600];
  snprintf (cmd, sizeof (cmd), "test -z \"$(ls -A %s)\"", dir);
  return system (cmd) == 0;
}

static void
rm_rf (const char *dir)
{
  char cmd[600];
  snprintf (cmd, sizeof (cmd), "rm -rf %s", dir);
  ck_assert_int_eq (system (cmd), 0);
}

/* An image whose /etc points out of it (absolute, or up with ..): the mount points made for
   /etc/hosts and /etc/x/y land in the rootfs or fail, never in the other share. */
START_TEST (cmdline_kuasar_values)
{
  const char *cl = "console=ttyS0 kuasar.share=virtiofs  kuasar.ip=10.1.2.3/16\tkuasar.gw=none kuasar.x= "
                   "kuasar.sharex=no kuasar.share=9p\n";
  char v[32];
  ck_assert_int_eq (kc_cmdline_value (cl, "kuasar.share", v, sizeof (v)), 1);
  ck_assert_str_eq (v, "9p"); /* the last one wins, as for the kernel's own parameters */
  ck_assert_int_eq (kc_cmdline_value (cl, "kuasar.ip", v, sizeof (v)), 1);
  ck_assert_str_eq (v, "10.1.2.3/16");
  ck_assert_int_eq (kc_cmdline_value (cl, "kuasar.gw", v, sizeof (v)), 1);
  ck_assert_str_eq (v, "none");
  ck_assert_int_eq (kc_cmdline_value (cl, "kuasar.x", v, sizeof (v)), 1);
  ck_assert_str_eq (v, "");
  ck_assert_int_eq (kc_cmdline_value (cl, "kuasar.channel", v, sizeof (v)), 0);
  ck_assert_int_eq (kc_cmdline_value (cl, "kuasar", v, sizeof (v)), 0);
  ck_assert_int_eq (kc_cmdline_value (cl, "kuasar.ip", v, 5), -1);
  ck_assert_int_eq (kc_cmdline_value ("", "kuasar.ip", v, sizeof (v)), 0);
}
END_TEST

START_TEST (cmdline_channel)
{
  ck_assert_int_eq (kc_channel_from_cmdline ("console=ttyS0 kuasar.channel=hvsock"), KC_CHANNEL_VSOCK);
  ck_assert_int_eq (kc_channel_from_cmdline ("kuasar.channel=vsock quiet"), KC_CHANNEL_VSOCK);
  ck_assert_int_eq (kc_channel_from_cmdline ("kuasar.channel=virtio-serial"), KC_CHANNEL_VIRTIO_SERIAL);
  ck_assert_int_eq (kc_channel_from_cmdline ("kuasar.channel=vsockx kuasar.channelx=vsock"), KC_CHANNEL_VIRTIO_SERIAL);
  ck_assert_int_eq (kc_channel_from_cmdline (""), KC_CHANNEL_VIRTIO_SERIAL);
}
END_TEST

START_TEST (safe_target_stays_in_root)
{
  const char *links[] = { NULL, "../../other", "/../other" };
  char tmp[] = "/tmp/kc-safe-XXXXXX", root[512], other[512], link[600], path[700];
  int rootfd = two_dirs (tmp, root, other), fd;
  kc_error_t err = NULL;

  links[0] = other;
  ck_assert_int_ge (rootfd, 0);
  snprintf (link, sizeof (link), "%s/etc", root);
  for (size_t i = 0; i < 3; i++)
    {
      unlink (link);
      ck_assert_int_eq (symlink (links[i], link), 0);
      fd = kc_safe_target (rootfd, "/etc/hosts", 1, &err);
      if (fd >= 0)
        close (fd);
      kc_error_free (&err);
      fd = kc_safe_target (rootfd, "/etc/x/y", 0, &err);
      if (fd >= 0)
        close (fd);
      kc_error_free (&err);
      ck_assert_msg (dir_empty (other), "escaped through /etc -> %s", links[i]);
    }
  /* A symlink inside the root is followed as the container would see it. */
  snprintf (path, sizeof (path), "%s/realetc", root);
  ck_assert_int_eq (mkdir (path, 0755), 0);
  unlink (link);
  ck_assert_int_eq (symlink ("/realetc", link), 0);
  fd = kc_safe_target (rootfd, "/etc/hosts", 1, &err);
  ck_assert_int_ge (fd, 0);
  close (fd);
  snprintf (path, sizeof (path), "%s/realetc/hosts", root);
  ck_assert_int_eq (access (path, F_OK), 0);
  fd = kc_safe_target (rootfd, "/dev/pts", 0, &err);
  ck_assert_int_ge (fd, 0);
  close (fd);
  snprintf (path, sizeof (path), "%s/dev/pts", root);
  ck_assert_int_eq (access (path, F_OK), 0);
  ck_assert (dir_empty (other));
  close (rootfd);
  rm_rf (tmp);
}
END_TEST

/* root.path: only a directory under the container's share (bundle) is its rootfs. */
START_TEST (rootfs_path_under_bundle)
{
  char tmp[] = "/tmp/kc-safe-XXXXXX", bundle[512], other[512], path[700], *out = NULL;
  int rootfd = two_dirs (tmp, bundle, other);
  kc_error_t err = NULL;

  close (rootfd);
  snprintf (path, sizeof (path), "%s/rootfs", bundle);
  ck_assert_int_eq (mkdir (path, 0755), 0);
  ck_assert_int_eq (kc_safe_rootfs_path (bundle, "rootfs", &out, &err), 0);
  ck_assert_str_eq (out, path);
  free (out);
  ck_assert_int_eq (kc_safe_rootfs_path (bundle, "/no/such/host/path", &out, &err), 0);
  ck_assert_str_eq (out, path);
  free (out);
  ck_assert_int_eq (kc_safe_rootfs_path (bundle, path, &out, &err), 0);
  free (out);
  const char *bad[] = { "/", "/tmp", "..", "../other", ".", other };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      ck_assert_msg (kc_safe_rootfs_path (bundle, bad[i], &out, &err) < 0, "accepted `%s`", bad[i]);
      ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
      kc_error_free (&err);
    }
  /* A symlink in the share pointing out of it is resolved first. */
  snprintf (path, sizeof (path), "%s/escape", bundle);
  ck_assert_int_eq (symlink (other, path), 0);
  ck_assert_int_lt (kc_safe_rootfs_path (bundle, "escape", &out, &err), 0);
  kc_error_free (&err);
  rm_rf (tmp);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("vmm-guest");
  TCase *tc = tcase_create ("pure");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, mux_round_trip_byte_by_byte);
  tcase_add_test (tc, mux_rejects_bad_frames);
  tcase_add_test (tc, spec_parses_process_user_mounts);
  tcase_add_test (tc, spec_parses_resources);
  tcase_add_test (tc, mount_options_propagation_and_bind);
  tcase_add_test (tc, modules_dependencies_first);
  tcase_add_test (tc, modules_cmdline_params);
  tcase_add_test (tc, cmdline_kuasar_values);
  tcase_add_test (tc, cmdline_channel);
  tcase_add_test (tc, safe_target_stays_in_root);
  tcase_add_test (tc, rootfs_path_under_bundle);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
