/* The guest's agent port (sandboxer/vmm/guest/agent_port.c) over a pty standing in for the
   virtio-serial port: a host that reconnects without the guest seeing a detach (its new client
   restarts at stream id 1) must get answers on the fresh session. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent_port.h"
#include "ttrpc/ttrpc.h"

#define SEC 1000000000LL

struct reply
{
  int done, code;
  char text[64];
};

static void
on_echo (kc_ttrpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  kc_ttrpc_call_reply_raw (call, payload, len);
}

static void
on_reply (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct reply *r = userdata;

  r->done = 1;
  r->code = code;
  snprintf (r->text, sizeof (r->text), "%.*s", (int) len, (const char *) payload);
}

static void
echo_call (struct event_base *base, kc_ttrpc_client *cl, const char *text, struct reply *r)
{
  kc_error_t err = NULL;

  memset (r, 0, sizeof (*r));
  ck_assert_int_eq (kc_ttrpc_client_call_raw (cl, "test.Echo", "Echo", (const uint8_t *) text, strlen (text), 5 * SEC,
                                              on_reply, r, &err),
                    0);
  for (int i = 0; i < 5000 && !r->done; i++)
    event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep (1000);
}

START_TEST (host_reconnect_with_stream_id_reset)
{
  struct event_base *base = event_base_new ();
  kc_ttrpc_server *srv = kc_ttrpc_server_new (base);
  kc_error_t err = NULL;
  struct termios tio;
  struct reply r;
  int master, slave;
  kc_agent_port *port;
  kc_ttrpc_client *cl;

  kc_ttrpc_server_set_require_same_user (srv, 0);
  ck_assert_int_eq (kc_ttrpc_server_register (srv, "test.Echo", "Echo", on_echo, NULL, &err), 0);
  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  ck_assert_int_ge (master, 0);
  ck_assert_int_eq (grantpt (master), 0);
  ck_assert_int_eq (unlockpt (master), 0);
  slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ck_assert_int_ge (slave, 0);
  ck_assert_int_eq (tcgetattr (slave, &tio), 0);
  cfmakeraw (&tio);
  ck_assert_int_eq (tcsetattr (slave, TCSANOW, &tio), 0);
  port = kc_agent_port_open (base, ptsname (master), srv, &err);
  ck_assert_ptr_nonnull (port);

  /* The first host client: stream ids 1, 3. */
  cl = kc_ttrpc_client_new_fd (base, fcntl (master, F_DUPFD_CLOEXEC, 3), &err);
  ck_assert_ptr_nonnull (cl);
  echo_call (base, cl, "one", &r);
  ck_assert (r.done && r.code == 0);
  ck_assert_str_eq (r.text, "one");
  echo_call (base, cl, "two", &r);
  ck_assert_str_eq (r.text, "two");
  kc_ttrpc_client_free (cl);

  /* A new client on the still-open port (the guest saw no POLLHUP): stream id 1 again. */
  cl = kc_ttrpc_client_new_fd (base, fcntl (master, F_DUPFD_CLOEXEC, 3), &err);
  ck_assert_ptr_nonnull (cl);
  echo_call (base, cl, "again", &r);
  ck_assert_msg (r.done && r.code == 0, "reply after the reconnect: done %d code %d", r.done, r.code);
  ck_assert_str_eq (r.text, "again");
  echo_call (base, cl, "and more", &r);
  ck_assert_str_eq (r.text, "and more");
  kc_ttrpc_client_free (cl);

  kc_agent_port_free (port);
  kc_ttrpc_server_free (srv);
  close (slave);
  close (master);
  event_base_free (base);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("vmm-agent-port");
  TCase *tc = tcase_create ("core");
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, host_reconnect_with_stream_id_reset);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
