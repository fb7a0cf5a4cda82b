/* Unit test of the tasker's argv as wasm-sandboxer builds it (wasm_backend.c): the AOT flags. */
#include <string.h>

#include "test_tasker_module.h"
#include "wasm_backend.h"

static int
has_pair (char **argv, const char *flag, const char *value)
{
  for (int i = 0; argv[i] != NULL; i++)
    if (strcmp (argv[i], flag) == 0)
      return value == NULL || (argv[i + 1] != NULL && strcmp (argv[i + 1], value) == 0);
  return 0;
}

START_TEST (argv_precompile_flags)
{
  struct kc_config cfg;
  struct kc_backend_ctx ctx = { .tasker_path = "/bin/tasker", .log_level = "info", .config = &cfg };
  struct kc_sandbox_record rec;
  char **argv;

  memset (&rec, 0, sizeof (rec));
  rec.id = (char *) "sb1";
  kc_config_init (&cfg);
  argv = kc_wasm_tasker_argv (&ctx, &rec, "/run/kuasar-wasm/sb1");
  ck_assert (!has_pair (argv, "--precompile", NULL) && !has_pair (argv, "--cache-dir", NULL));
  kc_wasm_tasker_argv_free (argv);
  cfg.precompile = 1;
  argv = kc_wasm_tasker_argv (&ctx, &rec, "/run/kuasar-wasm/sb1");
  ck_assert (has_pair (argv, "--precompile", NULL));
  ck_assert (has_pair (argv, "--cache-dir", "/run/kuasar-wasm/cache"));
  ck_assert (has_pair (argv, "--ready-fd", NULL) && has_pair (argv, "--id", "sb1"));
  kc_wasm_tasker_argv_free (argv);
  cfg.cache_dir = (char *) "/var/cache/kw";
  rec.netns_path = (char *) "/run/netns/x";
  rec.cgroup_parent = (char *) "/kubepods";
  argv = kc_wasm_tasker_argv (&ctx, &rec, "/run/kuasar-wasm/sb1");
  ck_assert (has_pair (argv, "--cache-dir", "/var/cache/kw") && has_pair (argv, "--netns", "/run/netns/x"));
  kc_wasm_tasker_argv_free (argv);
}
END_TEST

TCase *
kc_test_argv_tcase (void)
{
  TCase *tc = tcase_create ("argv");

  tcase_add_test (tc, argv_precompile_flags);
  return tc;
}
