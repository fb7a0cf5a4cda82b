/* ttrpc latency and throughput over a unix socket: a forked echo server, one client keeping
   1 or 64 unary calls in flight; prints p50/p99 latency and calls/s. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ttrpc/ttrpc.h"

#define PAYLOAD_SIZE 128

struct bench
{
  struct event_base *base;
  kc_ttrpc_client *cl;
  uint8_t payload[PAYLOAD_SIZE];
  int total, started, finished, failed;
  int64_t *latency_ns;
};

struct slot
{
  struct bench *b;
  int64_t sent_ns;
};

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
echo_handler (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  kc_ttrpc_call_reply_raw (call, payload, len);
}

/* The server lives wholly in the child: a libevent base must not be shared across fork (the
   epoll set would be). Returns once the child listens. */
static pid_t
start_server (const char *path)
{
  int ready[2];
  char c;
  pid_t pid;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    exit (1);
  pid = fork ();
  if (pid == 0)
    {
      struct event_base *base = event_base_new ();
      kc_ttrpc_server *srv = kc_ttrpc_server_new (base);
      kc_error_t err = NULL;

      if (kc_ttrpc_server_register (srv, "bench.Echo", "Echo", echo_handler, NULL, &err) < 0
          || kc_ttrpc_server_listen_path (srv, path, &err) < 0)
        {
          fprintf (stderr, "server: %s\n", err->msg);
          _exit (1);
        }
      if (write (ready[1], "r", 1) != 1)
        _exit (1);
      event_base_dispatch (base);
      _exit (0);
    }
  close (ready[1]);
  if (pid < 0 || read (ready[0], &c, 1) != 1)
    {
      fprintf (stderr, "the server did not start\n");
      exit (1);
    }
  close (ready[0]);
  return pid;
}

static void send_one (struct slot *s);

static void
reply_cb (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct slot *s = userdata;
  struct bench *b = s->b;

  if (code != KC_OK || len != PAYLOAD_SIZE)
    b->failed++;
  b->latency_ns[b->finished++] = now_ns () - s->sent_ns;
  if (b->started < b->total)
    send_one (s);
  else if (b->finished == b->total)
    event_base_loopbreak (b->base);
}

static void
send_one (struct slot *s)
{
  struct bench *b = s->b;
  kc_error_t err = NULL;

  s->sent_ns = now_ns ();
  b->started++;
  if (kc_ttrpc_client_call_raw (b->cl, "bench.Echo", "Echo", b->payload, sizeof b->payload, 5000000000LL, reply_cb,
                                s, &err)
      < 0)
    {
      fprintf (stderr, "call: %s\n", err->msg);
      exit (1);
    }
}

static int
cmp_i64 (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return (x > y) - (x < y);
}

static void
run (const char *address, int concurrency, int total)
{
  struct bench b = { 0 };
  struct slot *slots = calloc (concurrency, sizeof (*slots));
  kc_error_t err = NULL;
  int64_t t0, elapsed;

  b.base = event_base_new ();
  b.cl = kc_ttrpc_client_connect (b.base, address, &err);
  if (b.cl == NULL)
    {
      fprintf (stderr, "connect: %s\n", err->msg);
      exit (1);
    }
  b.total = total;
  b.latency_ns = calloc (total, sizeof (int64_t));
  memset (b.payload, 'x', sizeof b.payload);
  t0 = now_ns ();
  for (int i = 0; i < concurrency && b.started < total; i++)
    {
      slots[i].b = &b;
      send_one (&slots[i]);
    }
  event_base_dispatch (b.base);
  elapsed = now_ns () - t0;
  qsort (b.latency_ns, b.finished, sizeof (int64_t), cmp_i64);
  printf ("| %7d | %5d | %8.1f | %8.1f | %9.0f | %d |\n", concurrency, b.finished,
          b.latency_ns[b.finished / 2] / 1000.0, b.latency_ns[(int) (b.finished * 0.99)] / 1000.0,
          b.finished / (elapsed / 1e9), b.failed);
  kc_ttrpc_client_free (b.cl);
  event_base_free (b.base);
  free (b.latency_ns);
  free (slots);
}

int
main (int argc, char **argv)
{
  int total = argc > 1 ? atoi (argv[1]) : 100000;
  char dir[] = "/tmp/kc-bench-ttrpc-XXXXXX";
  char path[128], address[160];
  pid_t server;

  if (total <= 0 || mkdtemp (dir) == NULL)
    {
      fprintf (stderr, "usage: bench-ttrpc [calls]\n");
      return 1;
    }
  snprintf (path, sizeof path, "%s/bench.sock", dir);
  snprintf (address, sizeof address, "unix://%s", path);
  server = start_server (path);
  printf ("ttrpc unary Echo, %d-byte payload, unix socket, server in another process\n\n", PAYLOAD_SIZE);
  printf ("| streams | calls | p50 (us) | p99 (us) | calls/s | failed |\n|---|---|---|---|---|---|\n");
  run (address, 1, total);
  run (address, 64, total);
  kill (server, SIGTERM);
  waitpid (server, NULL, 0);
  unlink (path);
  rmdir (dir);
  return 0;
}
