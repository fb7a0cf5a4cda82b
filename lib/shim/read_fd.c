/* Reading a whole fd (the runtime options containerd writes on the stdin of start and -info). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "shim_priv.h"

int
kc_shim_read_fd (int fd, char **out, size_t *len, kc_error_t *err)
{
  size_t cap = 4096, n = 0;
  char *buf = malloc (cap + 1);

  if (buf == NULL)
    return kc_error (err, ENOMEM, "read");
  for (;;)
    {
      ssize_t r;
      if (n == cap)
        {
          char *nb = realloc (buf, cap * 2 + 1);
          if (nb == NULL)
            {
              free (buf);
              return kc_error (err, ENOMEM, "read");
            }
          buf = nb;
          cap *= 2;
        }
      r = read (fd, buf + n, cap - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int saved = errno;
          free (buf);
          return kc_error (err, saved, "read");
        }
      if (r == 0)
        break;
      n += (size_t) r;
    }
  buf[n] = '\0';
  *out = buf;
  if (len != NULL)
    *len = n;
  return 0;
}
