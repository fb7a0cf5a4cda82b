/* Scope-bound ownership helpers (crun style) and the explicit hand-over of what a local owns. */
#ifndef KC_CLEANUP_H
#define KC_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
kc_freep (void *p)
{
  free (*(void **) p);
}

static inline void
kc_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

static inline void
kc_fclosep (FILE **f)
{
  if (*f != NULL)
    fclose (*f);
}

#define cleanup_free __attribute__ ((cleanup (kc_freep)))
#define cleanup_close __attribute__ ((cleanup (kc_closep)))
#define cleanup_file __attribute__ ((cleanup (kc_fclosep)))

static inline int
steal_fd (int *fd)
{
  int ret = *fd;
  *fd = -1;
  return ret;
}

static inline void *
steal_pointer_ (void *pp)
{
  void **p = (void **) pp;
  void *ret = *p;
  *p = NULL;
  return ret;
}
#define steal_pointer(pp) steal_pointer_ (pp)

#endif
