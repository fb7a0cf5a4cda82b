/* Unit test of container records (tasker record.c) and the sandboxer's reclaim from them
   (sandboxer/wasm/reclaim.c), on a fake cgroup root; the rootfs bind mount only as root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "reclaim.h"
#include "record.h"
#include "test_tasker_module.h"

static void
mkdirs (const char *fmt, const char *root, const char *tail)
{
  char cmd[600];

  snprintf (cmd, sizeof (cmd), fmt, root, tail);
  ck_assert_int_eq (system (cmd), 0);
}

START_TEST (record_then_reclaim)
{
  char tmp[] = "/tmp/kc-record-XXXXXX", root[300], sbdir[300], rootfs[300], layer[300], path[700];
  char cg_mem[400], cg_pids[400], outside[400];
  char *cgroups[4] = { cg_mem, cg_pids, outside, NULL }, *rec = NULL;
  kc_error_t err = NULL;
  int as_root = geteuid () == 0;

  ck_assert_ptr_nonnull (mkdtemp (tmp));
  snprintf (root, sizeof (root), "%s/cg", tmp);
  snprintf (sbdir, sizeof (sbdir), "%s/sb1", tmp);
  snprintf (rootfs, sizeof (rootfs), "%s/bundle/rootfs", tmp);
  snprintf (layer, sizeof (layer), "%s/layer", tmp);
  mkdirs ("mkdir -p %s/memory/kw/sb1/c1 %s", root, "");
  mkdirs ("mkdir -p %s/pids/kw/sb1/c1 %s/pids/kw/other", root, root);
  mkdirs ("mkdir -p %s %s", rootfs, layer);
  mkdirs ("mkdir -p %s %s", sbdir, tmp);
  snprintf (cg_mem, sizeof (cg_mem), "%s/memory/kw/sb1/c1", root);
  snprintf (cg_pids, sizeof (cg_pids), "%s/pids/kw/sb1/c1", root);
  snprintf (outside, sizeof (outside), "%s/layer", tmp); /* not under the cgroup root: refused */
  if (as_root)
    ck_assert_int_eq (mount (layer, rootfs, NULL, MS_BIND, NULL), 0);

  ck_assert_int_eq (kc_record_write (sbdir, "c1", rootfs, as_root ? 1 : 0, cgroups, &rec, &err), 0);
  snprintf (path, sizeof (path), "%s/containers/c1.json", sbdir);
  ck_assert_str_eq (rec, path);
  ck_assert_int_eq (access (path, F_OK), 0);

  ck_assert_int_eq (kc_wasm_reclaim (sbdir, root, "kw/sb1"), 1);
  ck_assert_int_ne (access (path, F_OK), 0);
  ck_assert_int_ne (access (cg_mem, F_OK), 0);
  ck_assert_int_ne (access (cg_pids, F_OK), 0);
  ck_assert_int_eq (access (outside, F_OK), 0);
  snprintf (path, sizeof (path), "%s/memory/kw/sb1", root); /* the pod level too */
  ck_assert_int_ne (access (path, F_OK), 0);
  snprintf (path, sizeof (path), "%s/pids/kw/other", root); /* another pod's: kept */
  ck_assert_int_eq (access (path, F_OK), 0);
  if (as_root)
    ck_assert_int_ne (umount2 (rootfs, MNT_DETACH), 0); /* already unmounted */
  /* Idempotent; the tasker's own removal of a missing record is fine. */
  ck_assert_int_eq (kc_wasm_reclaim (sbdir, root, "kw/sb1"), 0);
  kc_record_remove (rec);
  free (rec);
  mkdirs ("rm -rf %s %s", tmp, "");
}
END_TEST

/* A corrupt or hostile record: a controller's root cgroup, another pod's cgroup, ".." tricks and a
   mount that is not a container rootfs are all refused (left as they are). */
START_TEST (reclaim_refuses_what_is_not_the_pods)
{
  char tmp[] = "/tmp/kc-record-XXXXXX", root[300], sbdir[300], path[700], json[4096];
  const char *kept[] = { "pids", "pids/kw/other/c9", "memory/kw/sb1x/c1", "memory/kw" };
  FILE *f;

  ck_assert_ptr_nonnull (mkdtemp (tmp));
  snprintf (root, sizeof (root), "%s/cg", tmp);
  snprintf (sbdir, sizeof (sbdir), "%s/sb1", tmp);
  mkdirs ("mkdir -p %s/pids/kw/other/c9 %s", root, "");
  mkdirs ("mkdir -p %s/memory/kw/sb1x/c1 %s", root, "");
  mkdirs ("mkdir -p %s/containers %s", sbdir, "");
  snprintf (json, sizeof (json),
            "{\"id\":\"c1\",\"mounts\":[\"/\",\"%s/../rootfs\",\"relative/rootfs\"],"
            "\"cgroups\":[\"%s/pids\",\"%s/pids/kw/other/c9\",\"%s/memory/kw/sb1/../sb1x/c1\","
            "\"%s/memory/kw\",\"%s/memory/kw/sb1x/c1\",\"%s/pids/kw/sb1/..\"]}",
            tmp, root, root, root, root, root, root);
  snprintf (path, sizeof (path), "%s/containers/c1.json", sbdir);
  ck_assert_ptr_nonnull (f = fopen (path, "w"));
  fputs (json, f);
  fclose (f);

  ck_assert_int_eq (kc_wasm_reclaim (sbdir, root, "kw/sb1"), 1);
  for (size_t i = 0; i < sizeof (kept) / sizeof (kept[0]); i++)
    {
      snprintf (path, sizeof (path), "%s/%s", root, kept[i]);
      ck_assert_msg (access (path, F_OK) == 0, "%s was removed", path);
    }
  mkdirs ("rm -rf %s %s", tmp, "");
}
END_TEST

TCase *
kc_test_record_tcase (void)
{
  TCase *tc = tcase_create ("record");

  tcase_add_test (tc, record_then_reclaim);
  tcase_add_test (tc, reclaim_refuses_what_is_not_the_pods);
  return tc;
}
