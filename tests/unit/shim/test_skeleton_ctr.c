/* The example skeleton shim end to end: a private containerd 1.7 (tests/interop harness), the
   busybox image of images/build.py imported, `ctr run --runtime <abs shim> ... echo hi`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Runs a shell command; *out gets its stdout (at most size - 1 bytes). Returns its status. */
static int
run_capture (const char *cmd, char *out, size_t size)
{
  FILE *p = popen (cmd, "r");
  size_t n = 0;

  if (p == NULL)
    return -1;
  while (n + 1 < size && fgets (out + n, (int) (size - n), p) != NULL)
    n = strlen (out);
  out[n] = '\0';
  return pclose (p);
}

int
main (void)
{
  const char *shim = getenv ("SKELETON_SHIM");
  const char *src = getenv ("KC_SOURCE_ROOT");
  const char *images = getenv ("KC_IMAGES_DIR");
  struct containerd c;
  char cmd[2048], out[4096];
  int status;

  if (shim == NULL || src == NULL || images == NULL)
    {
      fprintf (stderr, "FAIL: SKELETON_SHIM, KC_SOURCE_ROOT and KC_IMAGES_DIR must be set\n");
      return 1;
    }
  if (harness_start (&c) < 0)
    return 1;
  snprintf (cmd, sizeof cmd, "python3 %s/images/build.py --out %s --import --address %s busybox 2>&1", src, images,
            c.grpc_sock);
  status = run_capture (cmd, out, sizeof out);
  CHECK (status == 0, "image import failed: %s", out);
  snprintf (cmd, sizeof cmd, "timeout 60 ctr --address %s -n k8s.io run --rm --runtime %s kc.test/busybox:1 x echo hi",
            c.grpc_sock, shim);
  status = run_capture (cmd, out, sizeof out);
  CHECK (status == 0 && strcmp (out, "hi\n") == 0, "ctr run: status %d, output `%s`", status, out);
  snprintf (cmd, sizeof cmd, "ctr --address %s -n k8s.io containers ls -q 2>&1", c.grpc_sock);
  run_capture (cmd, out, sizeof out);
  CHECK (strstr (out, "x") == NULL, "container x left behind: %s", out);
  harness_stop (&c);
  printf ("ok: ctr run with the skeleton shim printed hi\n");
  return 0;
fail:
  harness_dump_log (&c);
  harness_stop (&c);
  return 1;
}
