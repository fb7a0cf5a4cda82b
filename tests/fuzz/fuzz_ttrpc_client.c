/* libFuzzer target: the input is what a server writes back to a client with 16 calls pending
   (some with deadlines); every callback must run exactly once, whatever the bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "ttrpc/ttrpc.h"

#define CALLS 16

static struct event_base *base;
static int seen[CALLS];

static void
reply_cb (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  int *count = userdata;

  if (message == NULL || (len > 0 && payload == NULL))
    abort ();
  (*count)++;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  kc_error_t err = NULL;
  kc_ttrpc_client *cl;
  size_t off = 0;
  uint8_t sink[65536];
  int sv[2];

  if (base == NULL)
    {
      kc_log_init ("fuzz", KC_LOG_ERROR - 1);
      base = event_base_new ();
    }
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
    abort ();
  cl = kc_ttrpc_client_new_fd (base, sv[0], &err);
  if (cl == NULL)
    abort ();
  memset (seen, 0, sizeof seen);
  for (int i = 0; i < CALLS; i++)
    if (kc_ttrpc_client_call_raw (cl, "t", "M", data, size < 32 ? size : 32, i % 4 == 0 ? 1000 : 0, reply_cb,
                                  &seen[i], &err)
        < 0)
      abort ();
  while (off < size)
    {
      ssize_t n = send (sv[1], data + off, size - off, MSG_NOSIGNAL);
      if (n > 0)
        off += n;
      else if (n < 0 && errno != EAGAIN)
        break;
      event_base_loop (base, EVLOOP_NONBLOCK);
      while (recv (sv[1], sink, sizeof sink, MSG_DONTWAIT) > 0)
        ;
    }
  /* The server hangs up: every call still pending fails now. */
  close (sv[1]);
  while (kc_ttrpc_client_connected (cl))
    event_base_loop (base, EVLOOP_NONBLOCK);
  for (int i = 0; i < CALLS; i++)
    if (seen[i] != 1)
      abort ();
  kc_ttrpc_client_free (cl);
  return 0;
}
