/* kuasar.* words of the kernel command line. */
#include "cmdline.h"

#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

int
kc_cmdline_value (const char *cmdline, const char *key, char *out, size_t max)
{
  size_t klen = strlen (key);
  int found = 0;
  for (const char *p = cmdline; *p != '\0';)
    {
      size_t word = strcspn (p, " \t\n");
      if (word > klen && strncmp (p, key, klen) == 0 && p[klen] == '=')
        {
          size_t vlen = word - klen - 1;
          if (vlen >= max)
            return -1;
          memcpy (out, p + klen + 1, vlen);
          out[vlen] = '\0';
          found = 1;
        }
      p += word;
      p += strspn (p, " \t\n");
    }
  return found;
}

int
kc_cmdline_get (const char *key, char *out, size_t max)
{
  static char *cmdline;
  size_t len;
  if (cmdline == NULL && kc_read_file ("/proc/cmdline", &cmdline, &len, NULL) < 0)
    cmdline = NULL;
  return cmdline != NULL ? kc_cmdline_value (cmdline, key, out, max) : 0;
}
