/* Server and client in one process over a unix socket: unary calls, errors, late and
   out-of-order answers, deadlines, dropped connections, metadata, the sync wrapper. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "rpc_status.pb-c.h"

static struct harness h;

static void
setup (void)
{
  harness_setup (&h);
}

static void
teardown (void)
{
  harness_teardown (&h);
}

static kc_ttrpc_client *
connect_client (void)
{
  kc_error_t err = NULL;
  kc_ttrpc_client *cl = kc_ttrpc_client_connect (h.base, h.address, &err);

  ck_assert_msg (cl != NULL, "connect: %s", err ? err->msg : "?");
  return cl;
}

static void
call_raw (kc_ttrpc_client *cl, const char *service, const char *method, const char *payload, int64_t timeout_ns,
          struct reply *r)
{
  kc_error_t err = NULL;
  int ret = kc_ttrpc_client_call_raw (cl, service, method, (const uint8_t *) payload, payload ? strlen (payload) : 0,
                                      timeout_ns, reply_cb, r, &err);
  ck_assert_msg (ret == 0, "call: %s", err ? err->msg : "?");
  ck_assert_int_eq (r->calls, 0); /* never from within the call */
}

START_TEST (test_unary_ok)
{
  kc_ttrpc_client *cl = connect_client ();
  struct reply r = { 0 }, e = { 0 };

  call_raw (cl, "test.Svc", "Echo", "hello", 0, &r);
  call_raw (cl, "test.Svc", "Empty", NULL, 1000000000, &e);
  harness_run_until (&h, &e.done, 2000);
  harness_run_until (&h, &r.done, 2000);
  ck_assert_int_eq (r.code, KC_OK);
  ck_assert_str_eq (r.message, "");
  ck_assert_uint_eq (r.len, 5);
  ck_assert_mem_eq (r.payload, "hello", 5);
  ck_assert_int_eq (e.code, KC_OK);
  ck_assert_uint_eq (e.len, 0);
  ck_assert_uint_eq (kc_ttrpc_server_conn_count (h.srv), 1);
  ck_assert (kc_ttrpc_client_connected (cl));
  kc_ttrpc_client_free (cl);
  harness_run_for (&h, 50);
  ck_assert_uint_eq (kc_ttrpc_server_conn_count (h.srv), 0);
  ck_assert_int_eq (h.closed_count, 1);
  ck_assert_int_eq (r.calls, 1);
}
END_TEST

START_TEST (test_error_status)
{
  kc_ttrpc_client *cl = connect_client ();
  struct reply r = { 0 };

  call_raw (cl, "test.Svc", "Fail", "pod-7", 0, &r);
  harness_run_until (&h, &r.done, 2000);
  ck_assert_int_eq (r.code, KC_NOT_FOUND);
  ck_assert_str_eq (r.message, "no such thing: pod-7");
  ck_assert_uint_eq (r.len, 0);
  kc_ttrpc_client_free (cl);
}
END_TEST

START_TEST (test_unknown_service_method)
{
  kc_ttrpc_client *cl = connect_client ();
  struct reply s = { 0 }, m = { 0 };

  call_raw (cl, "foo", "Echo", NULL, 0, &s);
  call_raw (cl, "test.Svc", "Nope", NULL, 0, &m);
  harness_run_until (&h, &m.done, 2000);
  harness_run_until (&h, &s.done, 2000);
  ck_assert_int_eq (s.code, KC_UNIMPLEMENTED);
  ck_assert_str_eq (s.message, "service foo");
  ck_assert_int_eq (m.code, KC_UNIMPLEMENTED);
  ck_assert_str_eq (m.message, "method Nope");
  kc_ttrpc_client_free (cl);
}
END_TEST

START_TEST (test_async_reply_later)
{
  kc_ttrpc_client *cl = connect_client ();
  struct reply r = { 0 };
  kc_ttrpc_call *call;

  call_raw (cl, "test.Svc", "Later", "x", 0, &r);
  harness_run_for (&h, 50);
  ck_assert_uint_eq (h.n_held, 1);
  ck_assert_int_eq (r.done, 0);
  call = h.held[0];
  h.n_held = 0;
  ck_assert (kc_ttrpc_call_alive (call));
  ck_assert_str_eq (kc_ttrpc_call_method (call), "Later");
  ck_assert_int_eq (kc_ttrpc_call_timeout_ns (call), 0);
  ck_assert_int_eq (kc_ttrpc_call_peer_pid (call), getpid ());
  kc_ttrpc_call_reply_raw (call, (const uint8_t *) "late", 4);
  harness_run_until (&h, &r.done, 2000);
  ck_assert_int_eq (r.code, KC_OK);
  ck_assert_mem_eq (r.payload, "late", 4);
  kc_ttrpc_client_free (cl);
}
END_TEST

START_TEST (test_64_streams_out_of_order)
{
  kc_ttrpc_client *cl = connect_client ();
  struct reply r[64];
  char payload[16];
  int all = 0;

  memset (r, 0, sizeof r);
  for (int i = 0; i < 64; i++)
    {
      snprintf (payload, sizeof payload, "%d", i);
      call_raw (cl, "test.Svc", "Later", payload, 5000000000LL, &r[i]);
    }
  while (h.n_held < 64)
    harness_run_for (&h, 10);
  /* Answer in a scrambled order, each with its own request's text. */
  for (int k = 0; k < 64; k++)
    {
      size_t i = (k * 37 + 11) % 64;
      char text[16];
      snprintf (text, sizeof text, "r%zu", i);
      ck_assert (kc_ttrpc_call_timeout_ns (h.held[i]) > 0);
      kc_ttrpc_call_reply_raw (h.held[i], (const uint8_t *) text, strlen (text));
    }
  h.n_held = 0;
  while (!all)
    {
      harness_run_for (&h, 10);
      all = 1;
      for (int i = 0; i < 64; i++)
        all &= r[i].done;
    }
  for (int i = 0; i < 64; i++)
    {
      char want[16];
      /* the server got the requests in order: held[i] is request i */
      snprintf (want, sizeof want, "r%d", i);
      ck_assert_int_eq (r[i].calls, 1);
      ck_assert_int_eq (r[i].code, KC_OK);
      ck_assert_uint_eq (r[i].len, strlen (want));
      ck_assert_mem_eq (r[i].payload, want, strlen (want));
    }
  kc_ttrpc_client_free (cl);
}
END_TEST

START_TEST (test_deadline_on_server)
{
  kc_ttrpc_client *cl = connect_client ();
  struct reply r = { 0 }, after = { 0 };

  call_raw (cl, "test.Svc", "Later", "x", 30 * 1000000LL, &r);
  harness_run_until (&h, &r.done, 2000);
  ck_assert_int_eq (r.code, KC_DEADLINE_EXCEEDED);
  ck_assert_uint_eq (h.n_held, 1);
  /* The client's own timer may fire first (same 30 ms): give the server's a moment too. */
  for (int waited = 0; kc_ttrpc_call_alive (h.held[0]) && waited < 2000; waited += 10)
    harness_run_for (&h, 10);
  ck_assert (!kc_ttrpc_call_alive (h.held[0]));
  ck_assert_int_gt (kc_ttrpc_call_timeout_ns (h.held[0]), 0);
  /* The late answer is dropped; the connection keeps working. */
  kc_ttrpc_call_reply_raw (h.held[0], (const uint8_t *) "late", 4);
  h.n_held = 0;
  call_raw (cl, "test.Svc", "Echo", "next", 0, &after);
  harness_run_until (&h, &after.done, 2000);
  ck_assert_int_eq (after.code, KC_OK);
  ck_assert_int_eq (r.calls, 1);
  kc_ttrpc_client_free (cl);
}
END_TEST

START_TEST (test_deadline_on_client)
{
  int sv[2];
  kc_error_t err = NULL;
  kc_ttrpc_client *cl;
  struct reply r = { 0 };
  uint8_t buf[256];

  /* A peer that never answers: only the client's own timer can end the call. */
  ck_assert_int_eq (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  cl = kc_ttrpc_client_new_fd (h.base, sv[0], &err);
  ck_assert_ptr_nonnull (cl);
  call_raw (cl, "test.Svc", "Echo", "x", 20 * 1000000LL, &r);
  harness_run_until (&h, &r.done, 2000);
  ck_assert_int_eq (r.code, KC_DEADLINE_EXCEEDED);
  ck_assert (kc_ttrpc_client_connected (cl));
  /* The request went out with odd id 1 and its timeout_nano. */
  ck_assert_int_ge (recv (sv[1], buf, sizeof buf, MSG_DONTWAIT), 10);
  ck_assert_int_eq (buf[7], 1);
  ck_assert_int_eq (buf[8], KC_TTRPC_TYPE_REQUEST);
  harness_run_for (&h, 30);
  ck_assert_int_eq (r.calls, 1);
  kc_ttrpc_client_free (cl);
  close (sv[1]);
}
END_TEST

static int client_closed;

static void
client_closed_cb (void *userdata)
{
  client_closed++;
}

START_TEST (test_dropped_connection)
{
  kc_ttrpc_client *cl = connect_client ();
  struct reply r[3];
  kc_error_t err = NULL;

  memset (r, 0, sizeof r);
  kc_ttrpc_client_set_closed_cb (cl, client_closed_cb, NULL);
  for (int i = 0; i < 3; i++)
    call_raw (cl, "test.Svc", "Later", "x", 0, &r[i]);
  while (h.n_held < 3)
    harness_run_for (&h, 10);
  /* The server goes away with calls held by its handler. */
  kc_ttrpc_server_free (h.srv);
  h.srv = kc_ttrpc_server_new (h.base);
  harness_run_until (&h, &r[2].done, 2000);
  for (int i = 0; i < 3; i++)
    {
      ck_assert_int_eq (r[i].calls, 1);
      ck_assert_int_eq (r[i].code, KC_UNAVAILABLE);
    }
  ck_assert_int_eq (client_closed, 1);
  ck_assert (!kc_ttrpc_client_connected (cl));
  ck_assert (!kc_ttrpc_call_alive (h.held[0]));
  ck_assert_int_eq (kc_ttrpc_client_call_raw (cl, "test.Svc", "Echo", NULL, 0, 0, reply_cb, &r[0], &err), -1);
  ck_assert_int_eq (err->code, KC_UNAVAILABLE);
  kc_error_free (&err);
  kc_ttrpc_client_free (cl);
  /* teardown answers the held calls of the dead connection: dropped and freed */
}
END_TEST

struct freeing_ctx
{
  kc_ttrpc_client *cl;
  int calls;
  int codes[4];
};

static void
free_client_cb (int code, const char *message, const uint8_t *payload, size_t len, void *userdata)
{
  struct freeing_ctx *ctx = userdata;

  ctx->codes[ctx->calls++] = code;
  kc_ttrpc_client_free (ctx->cl); /* the first does it; the others must be harmless */
}

START_TEST (test_callback_frees_client_on_drop)
{
  struct freeing_ctx ctx = { 0 };
  kc_error_t err = NULL;

  ctx.cl = connect_client ();
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq (kc_ttrpc_client_call_raw (ctx.cl, "test.Svc", "Later", NULL, 0, 0, free_client_cb, &ctx, &err),
                      0);
  while (h.n_held < 3)
    harness_run_for (&h, 10);
  kc_ttrpc_server_free (h.srv);
  h.srv = kc_ttrpc_server_new (h.base);
  harness_run_for (&h, 100);
  ck_assert_int_eq (ctx.calls, 3);
  ck_assert_int_eq (ctx.codes[0], KC_UNAVAILABLE);
  ck_assert_int_eq (ctx.codes[1], KC_CANCELLED);
  ck_assert_int_eq (ctx.codes[2], KC_CANCELLED);
}
END_TEST

START_TEST (test_callback_frees_client_on_reply)
{
  struct freeing_ctx ctx = { 0 };
  kc_error_t err = NULL;

  ctx.cl = connect_client ();
  /* Both replies arrive in one read: the first callback frees the client mid-batch. */
  ck_assert_int_eq (kc_ttrpc_client_call_raw (ctx.cl, "test.Svc", "Echo", NULL, 0, 0, free_client_cb, &ctx, &err), 0);
  ck_assert_int_eq (kc_ttrpc_client_call_raw (ctx.cl, "test.Svc", "Echo", NULL, 0, 0, free_client_cb, &ctx, &err), 0);
  harness_run_for (&h, 100);
  ck_assert_int_eq (ctx.calls, 2);
  ck_assert_int_eq (ctx.codes[0], KC_OK);
  ck_assert_int_eq (ctx.codes[1], KC_CANCELLED);
}
END_TEST

START_TEST (test_free_cancels_pending)
{
  kc_ttrpc_client *cl = connect_client ();
  struct reply r = { 0 };

  call_raw (cl, "test.Svc", "Later", NULL, 1000000000, &r);
  kc_ttrpc_client_free (cl);
  ck_assert_int_eq (r.calls, 1);
  ck_assert_int_eq (r.code, KC_CANCELLED);
  harness_run_for (&h, 50);
  ck_assert_int_eq (r.calls, 1);
}
END_TEST

START_TEST (test_metadata)
{
  kc_ttrpc_client *cl = connect_client ();
  struct reply r = { 0 }, missing = { 0 };

  ck_assert_int_eq (kc_ttrpc_client_add_metadata (cl, "Containerd-Namespace-TTRPC", "k8s.io"), 0);
  call_raw (cl, "test.Svc", "Meta", "containerd-namespace-ttrpc", 0, &r);
  call_raw (cl, "test.Svc", "Meta", "traceparent", 0, &missing);
  harness_run_until (&h, &missing.done, 2000);
  harness_run_until (&h, &r.done, 2000);
  ck_assert_int_eq (r.code, KC_OK);
  ck_assert_uint_eq (r.len, 6);
  ck_assert_mem_eq (r.payload, "k8s.io", 6);
  ck_assert_int_eq (missing.code, KC_NOT_FOUND);
  kc_ttrpc_client_free (cl);
}
END_TEST

START_TEST (test_connect_failures)
{
  kc_error_t err = NULL;

  ck_assert_ptr_null (kc_ttrpc_client_connect (h.base, "unix:///nonexistent/kc.sock", &err));
  ck_assert_int_eq (err->code, KC_NOT_FOUND);
  kc_error_free (&err);
  /* vsock is dialed now (kc_stream_dial): no guest with that CID here. */
  ck_assert_ptr_null (kc_ttrpc_client_connect (h.base, "vsock://3:1024", &err));
  ck_assert_int_eq (err->code, KC_UNAVAILABLE);
  kc_error_free (&err);
  ck_assert_ptr_null (kc_ttrpc_client_connect (h.base, "vsock://3", &err));
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  kc_error_free (&err);
  ck_assert_ptr_null (kc_ttrpc_client_connect (h.base, "tcp://1.2.3.4:5", &err));
  kc_error_free (&err);
}
END_TEST

/* Serves the fixture's server from a child process so the sync call has a peer. */
static pid_t
serve_in_child (void)
{
  pid_t pid = fork ();

  ck_assert_int_ge (pid, 0);
  if (pid == 0)
    {
      event_base_dispatch (h.base);
      _exit (0);
    }
  return pid;
}

START_TEST (test_call_sync)
{
  pid_t pid = serve_in_child ();
  kc_error_t err = NULL;
  uint8_t *reply = NULL;
  size_t len = 0;
  char path_addr[200];

  ck_assert_int_eq (kc_ttrpc_call_sync (h.address, "test.Svc", "Empty", NULL, 1000000000, &reply, &len, &err), 0);
  ck_assert_ptr_null (reply);
  ck_assert_uint_eq (len, 0);
  ck_assert_int_eq (kc_ttrpc_call_sync (h.address, "test.Svc", "Fail", NULL, 1000000000, &reply, &len, &err), -1);
  ck_assert_int_eq (err->code, KC_NOT_FOUND);
  ck_assert_str_eq (err->msg, "no such thing: ");
  kc_error_free (&err);
  ck_assert_int_eq (kc_ttrpc_call_sync (h.address, "test.Svc", "Later", NULL, 30000000, &reply, &len, &err), -1);
  ck_assert_int_eq (err->code, KC_DEADLINE_EXCEEDED);
  kc_error_free (&err);
  ck_assert_int_eq (kc_ttrpc_call_sync ("/nonexistent/x.sock", "test.Svc", "Empty", NULL, 0, &reply, &len, &err), -1);
  ck_assert_int_eq (err->code, KC_NOT_FOUND);
  kc_error_free (&err);
  /* every unix address form reaches the same socket */
  snprintf (path_addr, sizeof path_addr, "unix://%s", h.path);
  ck_assert_int_eq (kc_ttrpc_call_sync (path_addr, "test.Svc", "Echo", NULL, 1000000000, &reply, &len, &err), 0);
  ck_assert_int_eq (kc_ttrpc_call_sync (h.path, "test.Svc", "Echo", NULL, 1000000000, &reply, &len, &err), 0);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
}
END_TEST

START_TEST (test_sync_echo_payload)
{
  pid_t pid = serve_in_child ();
  kc_error_t err = NULL;
  uint8_t *reply = NULL;
  size_t len = 0;
  /* A real message: the request's Status serialized and echoed back. */
  Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;

  st.code = 5;
  st.message = "abc";
  ck_assert_int_eq (kc_ttrpc_call_sync (h.path, "test.Svc", "Echo", &st.base, 1000000000, &reply, &len, &err), 0);
  ck_assert_uint_eq (len, protobuf_c_message_get_packed_size (&st.base));
  {
    Google__Rpc__Status *back = google__rpc__status__unpack (NULL, len, reply);
    ck_assert_ptr_nonnull (back);
    ck_assert_int_eq (back->code, 5);
    ck_assert_str_eq (back->message, "abc");
    google__rpc__status__free_unpacked (back, NULL);
  }
  free (reply);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
}
END_TEST

START_TEST (test_other_user_refused)
{
  pid_t pid;
  int status;

  ck_assert_msg (geteuid () == 0, "this test needs root to connect as another user");
  chmod (h.dir, 0755);
  chmod (h.path, 0666);
  pid = fork ();
  ck_assert_int_ge (pid, 0);
  if (pid == 0)
    {
      uint8_t b;
      int fd;

      if (setgid (65534) < 0 || setuid (65534) < 0)
        _exit (2);
      fd = raw_connect (&h);
      /* The server closes us without an answer. */
      for (int i = 0; i < 200; i++)
        {
          ssize_t n = recv (fd, &b, 1, MSG_DONTWAIT);
          if (n == 0)
            _exit (0);
          if (n > 0)
            _exit (3);
          usleep (10000);
        }
      _exit (4);
    }
  harness_run_for (&h, 300);
  ck_assert_int_eq (waitpid (pid, &status, 0), pid);
  ck_assert (WIFEXITED (status));
  ck_assert_int_eq (WEXITSTATUS (status), 0);
  ck_assert_uint_eq (kc_ttrpc_server_conn_count (h.srv), 0);
}
END_TEST

START_TEST (test_other_user_allowed_when_disabled)
{
  pid_t pid;
  int status;

  ck_assert_msg (geteuid () == 0, "this test needs root to connect as another user");
  kc_ttrpc_server_set_require_same_user (h.srv, 0);
  chmod (h.dir, 0755);
  chmod (h.path, 0666);
  pid = fork ();
  ck_assert_int_ge (pid, 0);
  if (pid == 0)
    {
      kc_error_t err = NULL;
      uint8_t *reply = NULL;
      size_t len;

      if (setgid (65534) < 0 || setuid (65534) < 0)
        _exit (2);
      _exit (kc_ttrpc_call_sync (h.path, "test.Svc", "Empty", NULL, 2000000000, &reply, &len, &err) == 0 ? 0 : 3);
    }
  while (waitpid (pid, &status, WNOHANG) == 0)
    harness_run_for (&h, 10);
  ck_assert (WIFEXITED (status));
  ck_assert_int_eq (WEXITSTATUS (status), 0);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("ttrpc-rpc");
  TCase *tc = tcase_create ("rpc");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 20);
  tcase_add_test (tc, test_unary_ok);
  tcase_add_test (tc, test_error_status);
  tcase_add_test (tc, test_unknown_service_method);
  tcase_add_test (tc, test_async_reply_later);
  tcase_add_test (tc, test_64_streams_out_of_order);
  tcase_add_test (tc, test_deadline_on_server);
  tcase_add_test (tc, test_deadline_on_client);
  tcase_add_test (tc, test_dropped_connection);
  tcase_add_test (tc, test_callback_frees_client_on_drop);
  tcase_add_test (tc, test_callback_frees_client_on_reply);
  tcase_add_test (tc, test_free_cancels_pending);
  tcase_add_test (tc, test_metadata);
  tcase_add_test (tc, test_connect_failures);
  tcase_add_test (tc, test_call_sync);
  tcase_add_test (tc, test_sync_echo_payload);
  tcase_add_test (tc, test_other_user_refused);
  tcase_add_test (tc, test_other_user_allowed_when_disabled);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
