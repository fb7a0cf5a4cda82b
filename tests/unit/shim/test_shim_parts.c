/* Unit tests of the shim's pure parts: flags, runtime options on stdin, TOML lookup, socket
   naming and process records. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flavor.h"
#include "kc_shim.h"
#include "procs.h"
#include "runtime_opts.h"
#include "task_oom.h"
#include "vmm.h"
#include "vmm_address.h"

#include "cgroups_metrics.pb-c.h"
#include "cgroups_v2_metrics.pb-c.h"
#include "task.pb-c.h"

static const struct shim_flavor wasm = { "containerd-shim-kuasar-wasm-v2", "io.containerd.kuasar-wasm.v2",
                                         "/run/wasm-sandboxer.sock", "KUASAR_WASM_SANDBOXER_ADDRESS" };

START_TEST (test_flags_go_style)
{
  char *argv[] = {
    "shim",   "-namespace", "k8s.io", "--address=/run/c.sock", "-publish-binary", "/usr/bin/containerd", "-id", "pod",
    "-debug", "start",      NULL
  };
  struct kc_shim_flags f;
  kc_error_t err = NULL;

  ck_assert_int_eq (kc_shim_flags_parse (&f, NULL, 10, argv, &err), 0);
  ck_assert_str_eq (f.namespace_, "k8s.io");
  ck_assert_str_eq (f.address, "/run/c.sock");
  ck_assert_str_eq (f.id, "pod");
  ck_assert_int_eq (f.debug, 1);
  ck_assert_str_eq (f.action, "start");
}
END_TEST

START_TEST (test_flags_errors)
{
  char *bad_flag[] = { "shim", "-nope", "x", NULL };
  char *bad_action[] = { "shim", "-id", "x", "frobnicate", NULL };
  char *missing[] = { "shim", "-id", NULL };
  struct kc_shim_flags f;
  kc_error_t err = NULL;

  ck_assert_int_eq (kc_shim_flags_parse (&f, NULL, 3, bad_flag, &err), -1);
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  kc_error_free (&err);
  ck_assert_int_eq (kc_shim_flags_parse (&f, NULL, 4, bad_action, &err), -1);
  kc_error_free (&err);
  ck_assert_int_eq (kc_shim_flags_parse (&f, NULL, 2, missing, &err), -1);
  kc_error_free (&err);
}
END_TEST

START_TEST (test_flags_extra)
{
  static const char *const extra[] = { SHIM_SANDBOXER_FLAG, NULL };
  char *argv[] = { "shim", "-id", "p", "-sandboxer-address=/s.sock", "-debug=false", "delete", NULL };
  char *unknown[] = { "shim", "-sandboxer-address", "/s.sock", NULL };
  struct kc_shim_flags f;
  kc_error_t err = NULL;

  ck_assert_int_eq (kc_shim_flags_parse (&f, extra, 6, argv, &err), 0);
  ck_assert_str_eq (f.extra[0], "/s.sock");
  ck_assert_int_eq (f.debug, 0);
  ck_assert_str_eq (f.action, "delete");
  ck_assert_int_eq (kc_shim_flags_parse (&f, NULL, 3, unknown, &err), -1);
  kc_error_free (&err);
}
END_TEST

START_TEST (test_sandboxer_address_precedence)
{
  unsetenv ("KUASAR_WASM_SANDBOXER_ADDRESS");
  unsetenv ("KUASAR_SANDBOXER_ADDRESS");
  ck_assert_str_eq (shim_sandboxer_address (&wasm, NULL), "/run/wasm-sandboxer.sock");
  setenv ("KUASAR_SANDBOXER_ADDRESS", "/generic.sock", 1);
  ck_assert_str_eq (shim_sandboxer_address (&wasm, NULL), "/generic.sock");
  setenv ("KUASAR_WASM_SANDBOXER_ADDRESS", "/wasm.sock", 1);
  ck_assert_str_eq (shim_sandboxer_address (&wasm, NULL), "/wasm.sock");
  ck_assert_str_eq (shim_sandboxer_address (&wasm, "/option.sock"), "/option.sock");
  ck_assert_str_eq (shim_sandboxer_address (&wasm, ""), "/wasm.sock");
  unsetenv ("KUASAR_WASM_SANDBOXER_ADDRESS");
  unsetenv ("KUASAR_SANDBOXER_ADDRESS");
}
END_TEST

/* Appends a length-delimited field. */
static size_t
put (uint8_t *out, int field, const void *data, size_t len)
{
  out[0] = (uint8_t) (field << 3 | 2);
  out[1] = (uint8_t) len;
  memcpy (out + 2, data, len);
  return len + 2;
}

START_TEST (test_runtime_options_any)
{
  const char *toml = "# kuasar\n[x]\n  sandboxer_address = \"/run/private-sandboxer.sock\"\nother = 1\n";
  const char *url = "runtimeoptions.v1.Options";
  uint8_t opts[256], any[300];
  size_t olen = 0, alen = 0;
  struct shim_runtime_opts o;

  olen += put (opts + olen, 1, "x", 1);
  olen += put (opts + olen, 3, toml, strlen (toml));
  alen += put (any + alen, 1, url, strlen (url));
  alen += put (any + alen, 2, opts, olen);
  shim_runtime_opts_parse (any, alen, &o);
  ck_assert_ptr_nonnull (o.sandboxer_address);
  ck_assert_str_eq (o.sandboxer_address, "/run/private-sandboxer.sock");
  shim_runtime_opts_free (&o);
  shim_runtime_opts_parse (NULL, 0, &o);
  ck_assert_ptr_null (o.sandboxer_address);
  shim_runtime_opts_parse ((const uint8_t *) "\xff\xff\xff", 3, &o); /* garbage is ignored */
  ck_assert_ptr_null (o.sandboxer_address);
}
END_TEST

START_TEST (test_socket_path_is_containerd_hash)
{
  char *path = NULL;
  kc_error_t err = NULL;

  /* printf '/tmp/fake.sock/ns1/pod1' | sha256sum */
  ck_assert_int_eq (kc_shim_socket_path ("/tmp/fake.sock", "ns1", "pod1", &path, &err), 0);
  ck_assert_str_eq (path, "/run/containerd/s/f50ca9ed2bf260dff29419c59b491d33feeecdb63d06d96c90558b41f5aa725f");
  free (path);
  ck_assert_str_eq (kc_shim_socket_path_of_address ("ttrpc+unix:///a/b"), "/a/b");
  ck_assert_ptr_null (kc_shim_socket_path_of_address ("vsock://3:1024"));
}
END_TEST

START_TEST (test_procs)
{
  struct shim_procs ps = { NULL };

  ck_assert_ptr_nonnull (shim_procs_add (&ps, "c1", ""));
  ck_assert_ptr_nonnull (shim_procs_add (&ps, "c1", "e1"));
  ck_assert_ptr_nonnull (shim_procs_add (&ps, "c2", ""));
  ck_assert_ptr_eq (shim_procs_add (&ps, "c1", "e1"), shim_procs_find (&ps, "c1", "e1"));
  shim_procs_remove (&ps, "c1", "");
  ck_assert_ptr_null (shim_procs_find (&ps, "c1", "e1"));
  ck_assert_ptr_nonnull (shim_procs_find (&ps, "c2", NULL));
  shim_procs_clear (&ps);
  ck_assert_ptr_null (ps.head);
}
END_TEST

/* A StatsResponse holding Metrics with the given oom_kill (or no OOM control when < 0). */
static size_t
pack_stats (const char *type_url, long oom_kill, uint8_t *out)
{
  Io__Containerd__Cgroups__V1__Metrics m = IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;
  Io__Containerd__Cgroups__V1__MemoryOomControl oc = IO__CONTAINERD__CGROUPS__V1__MEMORY_OOM_CONTROL__INIT;
  Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  uint8_t buf[256];

  if (oom_kill >= 0)
    {
      oc.oom_kill = (uint64_t) oom_kill;
      m.memory_oom_control = &oc;
    }
  any.type_url = (char *) type_url;
  any.value.len = io__containerd__cgroups__v1__metrics__pack (&m, buf);
  any.value.data = buf;
  resp.stats = &any;
  return containerd__task__v2__stats_response__pack (&resp, out);
}

/* The same with io.containerd.cgroups.v2.Metrics: memory_events (absent when oom_kill < 0). */
static size_t
pack_stats_v2 (const char *type_url, long oom_kill, uint8_t *out)
{
  Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
  Io__Containerd__Cgroups__V2__MemoryEvents ev = IO__CONTAINERD__CGROUPS__V2__MEMORY_EVENTS__INIT;
  Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  uint8_t buf[256];

  if (oom_kill >= 0)
    {
      ev.oom = (uint64_t) oom_kill;
      ev.oom_kill = (uint64_t) oom_kill;
      m.memory_events = &ev;
    }
  any.type_url = (char *) type_url;
  any.value.len = io__containerd__cgroups__v2__metrics__pack (&m, buf);
  any.value.data = buf;
  resp.stats = &any;
  return containerd__task__v2__stats_response__pack (&resp, out);
}

START_TEST (test_oom_from_stats)
{
  uint8_t out[512];

  ck_assert_int_eq (shim_oom_stats_say_killed (out, pack_stats ("io.containerd.cgroups.v1.Metrics", 1, out)), 1);
  ck_assert_int_eq (
      shim_oom_stats_say_killed (out, pack_stats ("type.googleapis.com/io.containerd.cgroups.v1.Metrics", 3, out)), 1);
  ck_assert_int_eq (shim_oom_stats_say_killed (out, pack_stats ("io.containerd.cgroups.v1.Metrics", 0, out)), 0);
  ck_assert_int_eq (shim_oom_stats_say_killed (out, pack_stats ("io.containerd.cgroups.v1.Metrics", -1, out)), 0);
  /* v2: memory_events.oom_kill; a v1 message under the v2 name is not read as v1. */
  ck_assert_int_eq (shim_oom_stats_say_killed (out, pack_stats_v2 ("io.containerd.cgroups.v2.Metrics", 1, out)), 1);
  ck_assert_int_eq (
      shim_oom_stats_say_killed (out, pack_stats_v2 ("type.googleapis.com/io.containerd.cgroups.v2.Metrics", 2, out)),
      1);
  ck_assert_int_eq (shim_oom_stats_say_killed (out, pack_stats_v2 ("io.containerd.cgroups.v2.Metrics", 0, out)), 0);
  ck_assert_int_eq (shim_oom_stats_say_killed (out, pack_stats_v2 ("io.containerd.cgroups.v2.Metrics", -1, out)), 0);
  ck_assert_int_eq (shim_oom_stats_say_killed (out, pack_stats ("io.containerd.cgroups.v2.Metrics", 1, out)), 0);
  ck_assert_int_eq (shim_oom_stats_say_killed (out, pack_stats_v2 ("io.containerd.cgroups.v3.Metrics", 1, out)), 0);
  ck_assert_int_eq (shim_oom_stats_say_killed ((const uint8_t *) "\xff\xff", 2), 0);
  ck_assert_int_eq (shim_oom_stats_say_killed (NULL, 0), 0);
}
END_TEST

START_TEST (test_vmm_cid)
{
  ck_assert_int_eq (shim_vmm_cid_ok ("c1"), 1);
  ck_assert_int_eq (shim_vmm_cid_ok ("a.b"), 1);
  ck_assert_int_eq (shim_vmm_cid_ok (NULL), 0);
  ck_assert_int_eq (shim_vmm_cid_ok (""), 0);
  ck_assert_int_eq (shim_vmm_cid_ok ("."), 0);
  ck_assert_int_eq (shim_vmm_cid_ok (".."), 0);
  ck_assert_int_eq (shim_vmm_cid_ok ("a/b"), 0);
}
END_TEST

/* A Create refused for its id must not clean up <shared>/<id>: for ".." that is the sandbox dir. */
START_TEST (test_vmm_create_bad_id_removes_nothing)
{
  static const char *const ids[] = { "..", "." };
  char dir[64], shared[128], keep[160];

  for (size_t i = 0; i < sizeof (ids) / sizeof (ids[0]); i++)
    {
      Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
      size_t len;
      uint8_t *payload;
      kc_error_t err = NULL;
      FILE *f;

      snprintf (dir, sizeof dir, "/tmp/kc-vmm-cid-XXXXXX");
      ck_assert_ptr_nonnull (mkdtemp (dir));
      snprintf (shared, sizeof shared, "%s/shared", dir);
      ck_assert_int_eq (mkdir (shared, 0755), 0);
      snprintf (keep, sizeof keep, "%s/shared/keep", dir);
      f = fopen (keep, "w");
      ck_assert_ptr_nonnull (f);
      fclose (f);
      req.id = (char *) ids[i];
      req.bundle = dir;
      len = containerd__task__v2__create_task_request__get_packed_size (&req);
      payload = malloc (len + 1);
      containerd__task__v2__create_task_request__pack (&req, payload);
      ck_assert_int_eq (shim_vmm_create_prepare (shared, &payload, &len, &err), -1);
      ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
      kc_error_free (&err);
      ck_assert_msg (access (keep, F_OK) == 0, "Create of id `%s` removed %s", ids[i], keep);
      free (payload);
      unlink (keep);
      rmdir (shared);
      rmdir (dir);
    }
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("shim-parts");
  TCase *tc = tcase_create ("parts");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, test_flags_go_style);
  tcase_add_test (tc, test_flags_errors);
  tcase_add_test (tc, test_flags_extra);
  tcase_add_test (tc, test_sandboxer_address_precedence);
  tcase_add_test (tc, test_runtime_options_any);
  tcase_add_test (tc, test_socket_path_is_containerd_hash);
  tcase_add_test (tc, test_procs);
  tcase_add_test (tc, test_oom_from_stats);
  tcase_add_test (tc, test_vmm_cid);
  tcase_add_test (tc, test_vmm_create_bad_id_removes_nothing);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
