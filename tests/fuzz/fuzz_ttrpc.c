/* libFuzzer target: the input is what a client writes into a server connection (socketpair),
   served by echo, error and deferred-answer handlers; the loop runs until the server is idle. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "ttrpc/ttrpc.h"

#define MAX_HELD 64

static struct event_base *base;
static kc_ttrpc_server *srv;
static kc_ttrpc_call *held[MAX_HELD];
static size_t n_held;

static void
echo_handler (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  /* touch what a real handler would read */
  kc_ttrpc_call_metadata (call, "containerd-namespace-ttrpc");
  kc_ttrpc_call_timeout_ns (call);
  kc_ttrpc_call_reply_raw (call, payload, len);
}

static void
fail_handler (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  kc_ttrpc_call_error (call, len % 17, "failed on %zu bytes", len);
}

/* Answered only after the connection is gone (or later in the same input). */
static void
later_handler (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  if (n_held == MAX_HELD)
    {
      kc_ttrpc_call_reply (call, NULL);
      return;
    }
  held[n_held++] = call;
}

static void
setup_once (void)
{
  kc_error_t err = NULL;

  kc_log_init ("fuzz", KC_LOG_ERROR - 1); /* silent */
  base = event_base_new ();
  srv = kc_ttrpc_server_new (base);
  if (base == NULL || srv == NULL || kc_ttrpc_server_register (srv, "t", "Echo", echo_handler, NULL, &err) < 0
      || kc_ttrpc_server_register (srv, "t", "Fail", fail_handler, NULL, &err) < 0
      || kc_ttrpc_server_register (srv, "t", "Later", later_handler, NULL, &err) < 0)
    abort ();
}

/* Reads and discards what the server wrote back. */
static void
drain (int fd)
{
  uint8_t buf[65536];
  while (recv (fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
    ;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  kc_error_t err = NULL;
  size_t off = 0;
  int sv[2];

  if (base == NULL)
    setup_once ();
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
    abort ();
  if (kc_ttrpc_server_add_conn_fd (srv, sv[1], &err) < 0)
    abort ();
  /* Feed the input while serving; then EOF so the server closes the connection. A server that
     never gets idle is a hang: libFuzzer's -timeout reports it. */
  while (off < size)
    {
      ssize_t n = send (sv[0], data + off, size - off, MSG_NOSIGNAL);
      if (n > 0)
        off += n;
      else if (n < 0 && errno != EAGAIN)
        break;
      event_base_loop (base, EVLOOP_NONBLOCK);
      drain (sv[0]);
      /* half the deferred calls are answered while the connection is still up */
      while (n_held > 1)
        kc_ttrpc_call_reply_raw (held[--n_held], data, size % 64);
    }
  shutdown (sv[0], SHUT_WR);
  while (kc_ttrpc_server_conn_count (srv) > 0)
    {
      event_base_loop (base, EVLOOP_NONBLOCK);
      drain (sv[0]);
    }
  while (n_held > 0)
    kc_ttrpc_call_error (held[--n_held], 2, "late");
  close (sv[0]);
  return 0;
}
