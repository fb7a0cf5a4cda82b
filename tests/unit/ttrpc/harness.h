/* Shared fixture of the ttrpc unit tests: a server with test services on a temp unix socket,
   loop helpers, and a raw-socket peer that speaks frames byte by byte. */
#ifndef KC_TEST_TTRPC_HARNESS_H
#define KC_TEST_TTRPC_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "ttrpc/ttrpc.h"

#define HARNESS_MAX_HELD 256

struct harness
{
  struct event_base *base;
  kc_ttrpc_server *srv;
  char dir[64];
  char path[128];
  char address[160];
  /* Calls of test.Svc/Later, kept for the test to answer. */
  kc_ttrpc_call *held[HARNESS_MAX_HELD];
  size_t n_held;
  int closed_count;
};

/* A reply seen by a client callback. */
struct reply
{
  int done;
  int calls; /* how often the callback ran: must end up 1 */
  int code;
  char message[256];
  uint8_t payload[256];
  size_t len;
};

void harness_setup (struct harness *h);
void harness_teardown (struct harness *h);
/* Runs the loop until *flag becomes non-zero, failing the test after timeout_ms. */
void harness_run_until (struct harness *h, const int *flag, int timeout_ms);
/* Runs the loop for about ms milliseconds. */
void harness_run_for (struct harness *h, int ms);
void reply_cb (int code, const char *message, const uint8_t *payload, size_t len, void *userdata);

/* Raw peer: a blocking-free socket to the server, driven together with the loop. */
int raw_connect (struct harness *h);
void raw_send (struct harness *h, int fd, const void *buf, size_t len);
void raw_send_frame (struct harness *h, int fd, uint32_t sid, uint8_t type, uint8_t flags, const void *data,
                     size_t len);
/* Sends a Request frame for service/method with payload and timeout. */
void raw_send_request (struct harness *h, int fd, uint32_t sid, const char *service, const char *method,
                       const char *payload, int64_t timeout_ns);
/* Reads exactly len bytes, driving the loop; fails the test after 5 s. */
void raw_recv (struct harness *h, int fd, void *buf, size_t len);
/* Reads one Response frame and decodes its status and payload into *r; returns its stream id. */
uint32_t raw_recv_response (struct harness *h, int fd, struct reply *r);
/* 1 if nothing arrives on fd within ms while the loop runs. */
int raw_quiet (struct harness *h, int fd, int ms);

#endif
