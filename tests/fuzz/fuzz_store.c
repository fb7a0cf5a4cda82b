/* libFuzzer target: the sandboxer's sandbox.json loader (sandboxer/common/store.c), which a restarted
   sandboxer reads back from <dir>/<id>/sandbox.json (a file that may be truncated or corrupted).
   Any input must give either a record that keeps the store's invariants and survives a
   to_json/from_json round trip unchanged, or a DATA_LOSS error, never a crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox_id.h"
#include "store.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char dir[] = "/tmp/kc-fuzz-store-XXXXXX";
static char path[sizeof dir + sizeof "/" KC_STORE_FILE];

static void
remove_dir (void)
{
  unlink (path);
  rmdir (dir);
}

static void
write_input (const uint8_t *data, size_t size)
{
  FILE *f = fopen (path, "wb");
  if (f == NULL || (size > 0 && fwrite (data, 1, size, f) != size) || fclose (f) != 0)
    {
      perror (path);
      exit (2);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (path[0] == '\0')
    {
      kc_log_init ("fuzz", KC_LOG_ERROR);
      if (mkdtemp (dir) == NULL)
        {
          perror ("mkdtemp");
          exit (2);
        }
      snprintf (path, sizeof path, "%s/%s", dir, KC_STORE_FILE);
      atexit (remove_dir);
    }
  write_input (data, size);

  struct kc_sandbox_record r;
  kc_error_t err = NULL;
  if (kc_store_load (dir, &r, &err) < 0)
    {
      if (err == NULL || err->msg == NULL || (err->code != KC_DATA_LOSS && err->code != KC_OUT_OF_RANGE))
        abort ();
      kc_error_free (&err);
      kc_sandbox_record_clear (&r);
      return 0;
    }
  if (err != NULL || r.id == NULL || kc_sandbox_id_validate (r.id, strlen (r.id), &err) < 0)
    abort ();
  if (r.state < KC_SANDBOX_CREATED || r.state > KC_SANDBOX_NOTREADY || kc_sandbox_state_name (r.state) == NULL)
    abort ();
  if (r.annotations == NULL || r.extensions == NULL)
    abort ();

  /* What was loaded is saved again on the next change: it must read back the same. */
  json_object *j = kc_sandbox_record_to_json (&r);
  char *text = strdup (json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN));
  struct kc_sandbox_record r2;
  kc_sandbox_record_init (&r2);
  if (text == NULL || kc_sandbox_record_from_json (&r2, j, &err) < 0)
    abort ();
  json_object *j2 = kc_sandbox_record_to_json (&r2);
  if (strcmp (text, json_object_to_json_string_ext (j2, JSON_C_TO_STRING_PLAIN)) != 0)
    abort ();
  free (text);
  json_object_put (j);
  json_object_put (j2);
  kc_sandbox_record_clear (&r2);
  kc_sandbox_record_clear (&r);
  return 0;
}
