/* The end of a shim containerd gave up on: see orphan.h. */
#include <errno.h>
#include <sys/stat.h>

#include "log.h"
#include "orphan.h"

#define ORPHAN_CHECK_SECONDS 1

static int
bundle_removed (const char *bundle)
{
  struct stat st;

  return stat (bundle, &st) < 0 && errno == ENOENT;
}

static void
orphan_check (evutil_socket_t fd, short what, void *arg)
{
  struct shim *shim = arg;
  struct timeval tv = { ORPHAN_CHECK_SECONDS, 0 };

  if (kc_shim_exiting (shim->lib))
    return;
  if (!bundle_removed (shim->bundle))
    {
      evtimer_add (shim->orphan_watch, &tv);
      return;
    }
  kc_log_warn ("sandbox %s: containerd removed the bundle %s without a successful ShutdownSandbox: exiting", shim->id,
               shim->bundle);
  shim_request_exit (shim);
}

void
shim_orphan_watch (struct shim *shim)
{
  struct timeval tv = { ORPHAN_CHECK_SECONDS, 0 };

  if (shim->orphan_watch == NULL)
    shim->orphan_watch = evtimer_new (shim->base, orphan_check, shim);
  if (shim->orphan_watch == NULL)
    {
      kc_log_error ("sandbox %s: cannot watch the bundle %s (out of memory)", shim->id, shim->bundle);
      return;
    }
  if (!evtimer_pending (shim->orphan_watch, NULL))
    evtimer_add (shim->orphan_watch, &tv);
}
