/* Unit tests of args[0] resolution (path normalising, PATH lookup inside a scratch rootfs, error
   messages) and of the AOT cache's sha256 and cache hit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aot.h"
#include "fsutil.h"
#include "module.h"
#include "module_path.h"
#include "test_tasker_module.h"

static const char wasm_bytes[] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
static char root[64];

static void
put (const char *rel, const char *data, size_t len)
{
  char path[256];
  int fd;

  snprintf (path, sizeof (path), "%s/%s", root, rel);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ck_assert_int_ge (fd, 0);
  ck_assert_int_eq (write (fd, data, len), (ssize_t) len);
  close (fd);
}

static void
make_rootfs (void)
{
  const char *dirs[] = { "bin", "usr/bin", "usr/local/bin", "opt/app", "work", "custom" };
  char path[256];

  strcpy (root, "/tmp/kc-module-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (root));
  for (size_t i = 0; i < sizeof (dirs) / sizeof (dirs[0]); i++)
    {
      snprintf (path, sizeof (path), "%s/%s", root, dirs[i]);
      ck_assert_int_eq (kc_mkdir_p (path, 0755, NULL), 0);
    }
  put ("bin/busybox", "\177ELF\2\1\1", 7);
  snprintf (path, sizeof (path), "%s/bin/sh", root);
  ck_assert_int_eq (symlink ("/bin/busybox", path), 0); /* resolved inside the rootfs */
  put ("usr/bin/tool.wasm", wasm_bytes, sizeof (wasm_bytes));
  put ("usr/local/bin/tool.wasm", wasm_bytes, sizeof (wasm_bytes));
  put ("opt/app/app.wasm", wasm_bytes, sizeof (wasm_bytes));
  put ("custom/only.wasm", wasm_bytes, sizeof (wasm_bytes));
  put ("work/rel.wasm", wasm_bytes, sizeof (wasm_bytes));
  snprintf (path, sizeof (path), "%s/usr/bin/dir.wasm", root);
  ck_assert_int_eq (mkdir (path, 0755), 0); /* a directory earlier in PATH is skipped */
  put ("bin/dir.wasm", wasm_bytes, sizeof (wasm_bytes));
}

static void
drop_rootfs (void)
{
  kc_rm_rf (root, NULL);
}

/* Opens arg0 and returns the resolved path (freed by the caller), or NULL with *err. */
static char *
resolve (const char *arg0, const char *cwd, const char *env0, kc_error_t *err)
{
  const char *env[] = { "A=1", env0 };
  struct kc_module_ref ref = { .arg0 = arg0, .cwd = cwd, .env = env, .nenv = env0 != NULL ? 2 : 1 };
  char *path = NULL;
  int fd = kc_wasm_module_open (root, &ref, &path, err);

  if (fd < 0)
    return NULL;
  close (fd);
  return path;
}

START_TEST (path_normalize_and_join)
{
  struct
  {
    const char *in, *out;
  } cases[] = { { "//sh", "/sh" },        { "/a//b/./c/", "/a/b/c" },       { "/./", "/" },
                { "/a/../b", "/a/../b" }, { "/.hidden/x.", "/.hidden/x." }, { "/", "/" } };
  const char *env[] = { "X=PATH=no", "PATH=/a:/b", "PATH=/second" };
  char *p;

  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      char buf[64];
      snprintf (buf, sizeof (buf), "%s", cases[i].in);
      kc_path_normalize (buf);
      ck_assert_str_eq (buf, cases[i].out);
    }
  ck_assert_str_eq ((p = kc_path_join ("/", "/", "sh")), "/sh");
  free (p);
  ck_assert_str_eq ((p = kc_path_join ("/work/", "bin", "sh")), "/work/bin/sh");
  free (p);
  ck_assert_str_eq ((p = kc_path_join (NULL, "", "sh")), "/sh");
  free (p);
  ck_assert_str_eq ((p = kc_path_join ("/w", ".", "./x/y")), "/w/x/y");
  free (p);
  ck_assert_str_eq (kc_env_path (env, 3), "/a:/b");
  ck_assert_str_eq (kc_env_path (env, 1), KC_DEFAULT_PATH);
  ck_assert_str_eq (kc_env_path (NULL, 0), KC_DEFAULT_PATH);
}
END_TEST

START_TEST (lookup_in_default_and_env_path)
{
  kc_error_t err = NULL;
  char *p;

  make_rootfs ();
  /* Default PATH: /usr/local/bin comes before /usr/bin; a directory is not a match. */
  ck_assert_str_eq ((p = resolve ("tool.wasm", "/", NULL, &err)), "/usr/local/bin/tool.wasm");
  free (p);
  ck_assert_str_eq ((p = resolve ("dir.wasm", "/", NULL, &err)), "/bin/dir.wasm");
  free (p);
  /* The process's PATH, with a relative entry (against cwd) and an empty one (cwd itself). */
  ck_assert_str_eq ((p = resolve ("only.wasm", "/", "PATH=/nope:/custom", &err)), "/custom/only.wasm");
  free (p);
  ck_assert_str_eq ((p = resolve ("app.wasm", "/opt", "PATH=/nope:app", &err)), "/opt/app/app.wasm");
  free (p);
  ck_assert_str_eq ((p = resolve ("rel.wasm", "/work", "PATH=/nope:", &err)), "/work/rel.wasm");
  free (p);
  ck_assert_ptr_null (err);
  drop_rootfs ();
}
END_TEST

START_TEST (paths_with_a_slash)
{
  kc_error_t err = NULL;
  char *p;

  make_rootfs ();
  ck_assert_str_eq ((p = resolve ("//opt/app//app.wasm", "/", NULL, &err)), "/opt/app/app.wasm");
  free (p);
  ck_assert_str_eq ((p = resolve ("./rel.wasm", "/work/", NULL, &err)), "/work/rel.wasm");
  free (p);
  ck_assert_str_eq ((p = resolve ("app/app.wasm", "/opt", NULL, &err)), "/opt/app/app.wasm");
  free (p);
  /* Never escapes the rootfs: ".." stops at its root. */
  ck_assert_str_eq ((p = resolve ("../../../opt/app/app.wasm", "/work", NULL, &err)),
                    "/work/../../../opt/app/app.wasm");
  free (p);
  /* A bare name is not taken from cwd when PATH lacks it. */
  ck_assert_ptr_null (resolve ("rel.wasm", "/work", NULL, &err));
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  kc_error_free (&err);
  drop_rootfs ();
}
END_TEST

START_TEST (errors_say_what_is_wrong)
{
  kc_error_t err = NULL;

  make_rootfs ();
  ck_assert_ptr_null (resolve ("sh", "/", NULL, &err));
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  ck_assert_str_eq (err->msg, "/bin/sh: not a WebAssembly module (starts with 7f 45 4c 46, not 00 61 73 6d): "
                              "kuasar-wasm runs WASI modules only");
  kc_error_free (&err);
  ck_assert_ptr_null (resolve ("nosuch", "/", "PATH=/bin:/usr/bin", &err));
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  ck_assert_str_eq (err->msg, "nosuch: not found in the rootfs (PATH=/bin:/usr/bin)");
  kc_error_free (&err);
  ck_assert_ptr_null (resolve ("nosuch", "/", NULL, &err));
  ck_assert_str_eq (err->msg, "nosuch: not found in the rootfs (PATH=" KC_DEFAULT_PATH ")");
  kc_error_free (&err);
  ck_assert_ptr_null (resolve ("/usr//bin", "/", NULL, &err));
  ck_assert_str_eq (err->msg,
                    "/usr/bin: not a WebAssembly module (not a regular file): kuasar-wasm runs WASI modules only");
  kc_error_free (&err);
  ck_assert_ptr_null (resolve ("/nope.wasm", "/", NULL, &err));
  ck_assert_str_eq (err->msg, "/nope.wasm: cannot open the module in the rootfs: No such file or directory");
  kc_error_free (&err);
  ck_assert_ptr_null (resolve ("", "/", NULL, &err));
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  kc_error_free (&err);
  drop_rootfs ();
}
END_TEST

static int
fake_compile (const char *in, const char *out, kc_error_t *err)
{
  (void) in;
  (void) err;
  return kc_write_file_atomic (out, "compiled", 8, 0600, NULL) < 0 ? -1 : 0;
}

START_TEST (sha256_and_cache_hit)
{
  static const struct kc_wasm_engine fake = { .name = "fake", .compile = fake_compile };
  char hex[KC_SHA256_HEX_LEN + 1], expect[256];
  kc_error_t err = NULL;
  int fd, compiled;
  char *p;

  make_rootfs ();
  put ("abc", "abc", 3);
  snprintf (expect, sizeof (expect), "%s/abc", root);
  fd = open (expect, O_RDONLY | O_CLOEXEC);
  ck_assert_int_eq (kc_sha256_fd (fd, hex, &err), 0);
  ck_assert_str_eq (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  p = kc_aot_prepare (&fake, root, fd, &compiled, &err);
  snprintf (expect, sizeof (expect), "%s/%s.so", root, hex);
  ck_assert_str_eq (p, expect);
  ck_assert_int_eq (compiled, 1);
  free (p);
  p = kc_aot_prepare (&fake, root, fd, &compiled, &err);
  ck_assert_str_eq (p, expect);
  ck_assert_int_eq (compiled, 0);
  free (p);
  close (fd);
  drop_rootfs ();
}
END_TEST

TCase *
kc_test_module_tcase (void)
{
  TCase *tc = tcase_create ("module");

  tcase_add_test (tc, path_normalize_and_join);
  tcase_add_test (tc, lookup_in_default_and_env_path);
  tcase_add_test (tc, paths_with_a_slash);
  tcase_add_test (tc, errors_say_what_is_wrong);
  tcase_add_test (tc, sha256_and_cache_hit);
  return tc;
}
