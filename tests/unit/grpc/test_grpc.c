/* Unit tests of lib/grpc: an in-process server and client over a unix socket, on one loop. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/thread.h>

#include "grpc/kc_grpc.h"
#include "sandbox_controller.pb-c.h"

#define CTRL "/containerd.services.sandbox.v1.Controller/"

static struct event_base *base;
static kc_grpc_server *srv;
static char dir[64];
static char sock[128];
static char seen_ns[64];
static kc_grpc_call *held; /* a call the Hang handler keeps */

struct result
{
  int done;
  int code;
  char message[512];
  char sandbox_id[64];
  char state[64];
  int order;
};
static int done_order;

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- handlers ---- */

static void
h_status (kc_grpc_call *call, const uint8_t *p, size_t len, void *ud)
{
  Containerd__Services__Sandbox__V1__ControllerStatusRequest *req
      = containerd__services__sandbox__v1__controller_status_request__unpack (NULL, len, p);
  Containerd__Services__Sandbox__V1__ControllerStatusResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_RESPONSE__INIT;
  const char *ns = kc_grpc_call_metadata (call, "containerd-namespace");

  if (ns != NULL)
    snprintf (seen_ns, sizeof seen_ns, "%s", ns);
  if (req == NULL)
    {
      kc_grpc_call_error (call, KC_INVALID_ARGUMENT, "bad request");
      return;
    }
  resp.sandbox_id = req->sandbox_id;
  resp.state = "SANDBOX_READY";
  resp.pid = 42;
  kc_grpc_call_reply (call, &resp.base);
  containerd__services__sandbox__v1__controller_status_request__free_unpacked (req, NULL);
}

static void
h_stop (kc_grpc_call *call, const uint8_t *p, size_t len, void *ud)
{
  kc_grpc_call_error (call, KC_NOT_FOUND, "sandbox %s not found", "p1");
}

static void
later_cb (evutil_socket_t fd, short what, void *arg)
{
  Containerd__Services__Sandbox__V1__ControllerWaitResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_WAIT_RESPONSE__INIT;
  resp.exit_status = 7;
  kc_grpc_call_reply (arg, &resp.base);
}

static void
h_wait (kc_grpc_call *call, const uint8_t *p, size_t len, void *ud)
{
  struct timeval tv = { 0, 200000 };
  event_base_once (base, -1, EV_TIMEOUT, later_cb, call, &tv);
}

static void
h_hang (kc_grpc_call *call, const uint8_t *p, size_t len, void *ud)
{
  held = call;
}

static void
start_server (void)
{
  kc_error_t err = NULL;

  snprintf (dir, sizeof dir, "/tmp/kcgrpc-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (dir));
  snprintf (sock, sizeof sock, "%s/s.sock", dir);
  srv = kc_grpc_server_new (base);
  ck_assert_ptr_nonnull (srv);
  ck_assert_int_eq (kc_grpc_server_register (srv, CTRL "Status", h_status, NULL, &err), 0);
  ck_assert_int_eq (kc_grpc_server_register (srv, CTRL "Stop", h_stop, NULL, &err), 0);
  ck_assert_int_eq (kc_grpc_server_register (srv, CTRL "Wait", h_wait, NULL, &err), 0);
  ck_assert_int_eq (kc_grpc_server_register (srv, CTRL "Hang", h_hang, NULL, &err), 0);
  ck_assert_int_eq (kc_grpc_server_register (srv, CTRL "Status", h_status, NULL, &err), -1);
  kc_error_free (&err);
  if (kc_grpc_server_start (srv, sock, &err) < 0)
    ck_abort_msg ("server start: %s", err->msg);
}

static void
setup (void)
{
  base = event_base_new ();
  held = NULL;
  seen_ns[0] = '\0';
  done_order = 0;
  start_server ();
}

static void
teardown (void)
{
  kc_grpc_server_free (srv);
  srv = NULL;
  event_base_free (base);
  unlink (sock);
  rmdir (dir);
}

/* ---- client side helpers ---- */

static void
on_reply (int code, const char *message, const uint8_t *payload, size_t len, void *ud)
{
  struct result *r = ud;

  ck_assert_int_eq (r->done, 0);
  r->done = 1;
  r->order = ++done_order;
  r->code = code;
  snprintf (r->message, sizeof r->message, "%s", message);
  if (code == KC_OK && len > 0)
    {
      Containerd__Services__Sandbox__V1__ControllerStatusResponse *resp
          = containerd__services__sandbox__v1__controller_status_response__unpack (NULL, len, payload);
      if (resp != NULL)
        {
          snprintf (r->sandbox_id, sizeof r->sandbox_id, "%s", resp->sandbox_id);
          snprintf (r->state, sizeof r->state, "%s", resp->state);
          containerd__services__sandbox__v1__controller_status_response__free_unpacked (resp, NULL);
        }
    }
}

static void
run_until (int *flag, double seconds)
{
  double end = now_s () + seconds;
  struct timeval tick = { 0, 20000 };

  while ((flag == NULL || !*flag) && now_s () < end)
    {
      event_base_loopexit (base, &tick);
      event_base_loop (base, EVLOOP_ONCE);
    }
}

static void
call (kc_grpc_client *cl, const char *method, const char *id, const char *ns, int64_t timeout_ns, struct result *r)
{
  Containerd__Services__Sandbox__V1__ControllerStatusRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  kc_error_t err = NULL;

  req.sandbox_id = (char *) id;
  if (kc_grpc_client_call (cl, method, &req.base, ns, timeout_ns, 0, on_reply, r, &err) < 0)
    ck_abort_msg ("client call: %s", err->msg);
}

static kc_grpc_client *
client (void)
{
  kc_error_t err = NULL;
  kc_grpc_client *cl = kc_grpc_client_new (base, sock, &err);

  if (cl == NULL)
    ck_abort_msg ("client: %s", err->msg);
  return cl;
}

/* ---- tests ---- */

START_TEST (unary_ok_with_metadata)
{
  kc_grpc_client *cl = client ();
  struct result r = { 0 };
  struct stat st;

  ck_assert_int_eq (stat (sock, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);
  call (cl, CTRL "Status", "pod-1", "k8s.io", 5000000000LL, &r);
  ck_assert_int_eq (r.done, 0); /* never from within the call */
  run_until (&r.done, 5);
  ck_assert_int_eq (r.done, 1);
  ck_assert_msg (r.code == KC_OK, "code %d: %s", r.code, r.message);
  ck_assert_str_eq (r.sandbox_id, "pod-1");
  ck_assert_str_eq (r.state, "SANDBOX_READY");
  ck_assert_str_eq (seen_ns, "k8s.io");
  kc_grpc_client_free (cl);
}
END_TEST

START_TEST (error_round_trip)
{
  kc_grpc_client *cl = client ();
  struct result r = { 0 };

  call (cl, CTRL "Stop", "p1", NULL, 5000000000LL, &r);
  run_until (&r.done, 5);
  ck_assert_int_eq (r.done, 1);
  ck_assert_int_eq (r.code, KC_NOT_FOUND);
  ck_assert_str_eq (r.message, "sandbox p1 not found");
  ck_assert_str_eq (seen_ns, "");
  kc_grpc_client_free (cl);
}
END_TEST

START_TEST (later_answer_does_not_block_others)
{
  kc_grpc_client *cl = client ();
  struct result w = { 0 }, s = { 0 };
  double t0 = now_s ();

  call (cl, CTRL "Wait", "p1", "default", 5000000000LL, &w);
  call (cl, CTRL "Status", "p2", "default", 5000000000LL, &s);
  run_until (&w.done, 5);
  ck_assert_int_eq (s.done, 1);
  ck_assert_int_eq (w.done, 1);
  ck_assert_int_eq (s.code, KC_OK);
  ck_assert_int_eq (w.code, KC_OK);
  ck_assert_int_lt (s.order, w.order);
  ck_assert (now_s () - t0 >= 0.19);
  kc_grpc_client_free (cl);
}
END_TEST

START_TEST (deadline_expires_and_server_sees_it)
{
  kc_grpc_client *cl = client ();
  struct result r = { 0 };
  double t0 = now_s ();

  call (cl, CTRL "Hang", "p1", NULL, 200000000LL, &r);
  run_until (&r.done, 5);
  ck_assert_int_eq (r.code, KC_DEADLINE_EXCEEDED);
  ck_assert (now_s () - t0 < 2.0);
  ck_assert_ptr_nonnull (held);
  /* The server learns of the expiry asynchronously: allow a loaded machine some time. */
  for (int i = 0; i < 30 && kc_grpc_call_alive (held); i++)
    run_until (NULL, 0.1);
  ck_assert_int_eq (kc_grpc_call_alive (held), 0);
  kc_grpc_call_error (held, KC_INTERNAL, "too late"); /* dropped */
  held = NULL;
  run_until (NULL, 0.1);
  kc_grpc_client_free (cl);
}
END_TEST

START_TEST (unknown_method_unimplemented)
{
  kc_grpc_client *cl = client ();
  struct result r = { 0 };

  call (cl, "/no.such.Service/Nope", "p1", NULL, 5000000000LL, &r);
  run_until (&r.done, 5);
  ck_assert_int_eq (r.code, KC_UNIMPLEMENTED);
  ck_assert_ptr_nonnull (strstr (r.message, "/no.such.Service/Nope"));
  kc_grpc_client_free (cl);
}
END_TEST

START_TEST (server_down_unavailable_quickly)
{
  kc_error_t err = NULL;
  char target[256];
  kc_grpc_client *cl;
  struct result r = { 0 };
  double t0 = now_s ();

  snprintf (target, sizeof target, "unix://%s/nobody.sock", dir);
  cl = kc_grpc_client_new (base, target, &err);
  ck_assert_ptr_nonnull (cl);
  call (cl, CTRL "Status", "p1", NULL, 10000000000LL, &r);
  run_until (&r.done, 10);
  ck_assert_int_eq (r.code, KC_UNAVAILABLE);
  ck_assert_msg (strstr (r.message, "nobody.sock") != NULL, "message: %s", r.message);
  ck_assert_msg (now_s () - t0 < 2.0, "took %.2fs", now_s () - t0);
  kc_grpc_client_free (cl);
}
END_TEST

START_TEST (fifty_concurrent_calls)
{
  kc_grpc_client *cl = client ();
  struct result r[50];
  char ids[50][16];
  int all = 0;

  memset (r, 0, sizeof r);
  for (int i = 0; i < 50; i++)
    {
      snprintf (ids[i], sizeof ids[i], "pod-%d", i);
      call (cl, i % 5 == 0 ? CTRL "Wait" : CTRL "Status", ids[i], "k8s.io", 10000000000LL, &r[i]);
    }
  for (double end = now_s () + 10; !all && now_s () < end;)
    {
      run_until (NULL, 0.05);
      all = 1;
      for (int i = 0; i < 50; i++)
        all &= r[i].done;
    }
  ck_assert_int_eq (all, 1);
  for (int i = 0; i < 50; i++)
    {
      ck_assert_int_eq (r[i].code, KC_OK);
      if (i % 5 != 0)
        ck_assert_str_eq (r[i].sandbox_id, ids[i]);
    }
  kc_grpc_client_free (cl);
}
END_TEST

START_TEST (free_client_with_pending_calls)
{
  kc_grpc_client *cl = client ();
  struct result a = { 0 }, b = { 0 };

  call (cl, CTRL "Hang", "p1", NULL, 0, &a);
  call (cl, CTRL "Wait", "p2", NULL, 0, &b);
  run_until (NULL, 0.1);
  ck_assert_ptr_nonnull (held);
  kc_grpc_client_free (cl);
  run_until (&b.done, 2);
  run_until (&a.done, 2);
  ck_assert_int_eq (a.done, 1);
  ck_assert_int_eq (b.done, 1);
  ck_assert_int_eq (a.code, KC_CANCELLED);
  ck_assert_int_eq (b.code, KC_CANCELLED);
  run_until (NULL, 0.3); /* the Wait timer answers a dead call */
  for (int i = 0; i < 30 && kc_grpc_call_alive (held); i++) /* the cancel reaches the server */
    run_until (NULL, 0.1);
  ck_assert_int_eq (kc_grpc_call_alive (held), 0);
  kc_grpc_call_error (held, KC_INTERNAL, "late");
  held = NULL;
}
END_TEST

START_TEST (free_server_with_pending_calls)
{
  kc_grpc_client *cl = client ();
  struct result a = { 0 };

  call (cl, CTRL "Hang", "p1", NULL, 0, &a);
  run_until (NULL, 0.2);
  ck_assert_ptr_nonnull (held);
  ck_assert_int_eq (kc_grpc_call_alive (held), 1);
  kc_grpc_server_free (srv);
  srv = NULL;
  ck_assert_int_eq (kc_grpc_call_alive (held), 0);
  kc_grpc_call_reply (held, NULL); /* dropped, no crash */
  held = NULL;
  run_until (&a.done, 5);
  ck_assert_int_eq (a.done, 1);
  ck_assert_int_ne (a.code, KC_OK);
  kc_grpc_client_free (cl);
}
END_TEST

static kc_grpc_client *to_free;

static kc_grpc_client *
steal_client (void)
{
  kc_grpc_client *c = to_free;
  to_free = NULL;
  return c;
}
static struct result freeing_r[2];

static void
on_reply_free (int code, const char *message, const uint8_t *payload, size_t len, void *ud)
{
  on_reply (code, message, payload, len, ud);
  if (to_free != NULL)
    kc_grpc_client_free (steal_client ());
}

START_TEST (client_free_from_callback)
{
  Containerd__Services__Sandbox__V1__ControllerStatusRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  kc_error_t err = NULL;

  to_free = client ();
  memset (freeing_r, 0, sizeof freeing_r);
  req.sandbox_id = "p1";
  ck_assert_int_eq (kc_grpc_client_call (to_free, CTRL "Status", &req.base, NULL, 0, 0, on_reply_free, &freeing_r[0], &err), 0);
  ck_assert_int_eq (kc_grpc_client_call (to_free, CTRL "Hang", &req.base, NULL, 0, 0, on_reply_free, &freeing_r[1], &err), 0);
  run_until (&freeing_r[1].done, 5);
  ck_assert_ptr_null (to_free);
  ck_assert_int_eq (freeing_r[0].code, KC_OK);
  ck_assert_int_eq (freeing_r[1].code, KC_CANCELLED);
  ck_assert_ptr_nonnull (held);
  kc_grpc_call_error (held, KC_INTERNAL, "late");
  held = NULL;
}
END_TEST

/* ---- kc_grpc_call_sync: the server runs on its own loop in a second thread ---- */

static void *
loop_thread (void *arg)
{
  event_base_dispatch (arg);
  return NULL;
}

START_TEST (call_sync_ok_and_errors)
{
  Containerd__Services__Sandbox__V1__ControllerStatusRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse *resp;
  struct event *keep = event_new (base, -1, EV_PERSIST, NULL, NULL);
  struct timeval hour = { 3600, 0 };
  kc_error_t err = NULL;
  uint8_t *reply = NULL;
  size_t len = 0;
  pthread_t th;
  char target[256];

  event_add (keep, &hour);
  ck_assert_int_eq (pthread_create (&th, NULL, loop_thread, base), 0);
  req.sandbox_id = "sync-1";
  snprintf (target, sizeof target, "unix://%s", sock);
  if (kc_grpc_call_sync (target, CTRL "Status", &req.base, "k8s.io", 5000000000LL, &reply, &len, &err) < 0)
    ck_abort_msg ("sync: %s", err->msg);
  resp = containerd__services__sandbox__v1__controller_status_response__unpack (NULL, len, reply);
  ck_assert_ptr_nonnull (resp);
  ck_assert_str_eq (resp->sandbox_id, "sync-1");
  containerd__services__sandbox__v1__controller_status_response__free_unpacked (resp, NULL);
  free (reply);
  ck_assert_int_eq (kc_grpc_call_sync (sock, CTRL "Stop", &req.base, NULL, 5000000000LL, &reply, &len, &err), -1);
  ck_assert_int_eq (err->code, KC_NOT_FOUND);
  ck_assert_str_eq (err->msg, "sandbox p1 not found");
  kc_error_free (&err);
  snprintf (target, sizeof target, "%s/none.sock", dir);
  ck_assert_int_eq (kc_grpc_call_sync (target, CTRL "Stop", &req.base, NULL, 5000000000LL, &reply, &len, &err), -1);
  ck_assert_int_eq (err->code, KC_UNAVAILABLE);
  kc_error_free (&err);
  event_base_loopbreak (base);
  pthread_join (th, NULL);
  event_free (keep);
}
END_TEST

START_TEST (bad_arguments)
{
  kc_error_t err = NULL;
  kc_grpc_client *cl = client ();
  kc_grpc_server *s2 = kc_grpc_server_new (base);
  char path[200];

  ck_assert_int_eq (kc_grpc_client_call (cl, "no-slash", NULL, NULL, 0, 0, on_reply, NULL, &err), -1);
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  kc_error_free (&err);
  ck_assert_ptr_null (kc_grpc_client_new (base, "", &err));
  kc_error_free (&err);
  /* a regular file in the way is not removed */
  snprintf (path, sizeof path, "%s/file", dir);
  fclose (fopen (path, "w"));
  ck_assert_int_eq (kc_grpc_server_start (s2, path, &err), -1);
  ck_assert_int_eq (err->code, KC_ALREADY_EXISTS);
  kc_error_free (&err);
  unlink (path);
  kc_grpc_server_free (s2);
  kc_grpc_client_free (cl);
}
END_TEST

static void
start_later (evutil_socket_t fd, short what, void *arg)
{
  kc_error_t err = NULL;
  if (kc_grpc_server_start (arg, sock, &err) < 0)
    ck_abort_msg ("late start: %s", err->msg);
}

START_TEST (wait_for_ready_queues_until_server_up)
{
  Containerd__Services__Sandbox__V1__ControllerStatusRequest req
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_REQUEST__INIT;
  kc_grpc_server *s2;
  kc_grpc_client *cl;
  struct result r = { 0 }, ff = { 0 };
  struct timeval later = { 0, 300000 };
  kc_error_t err = NULL;
  double t0;

  kc_grpc_server_free (srv); /* the socket goes away with it */
  srv = NULL;
  ck_assert_int_ne (access (sock, F_OK), 0);
  s2 = kc_grpc_server_new (base);
  ck_assert_int_eq (kc_grpc_server_register (s2, CTRL "Status", h_status, NULL, &err), 0);
  cl = client ();
  req.sandbox_id = "ready";
  t0 = now_s ();
  ck_assert_int_eq (kc_grpc_client_call (cl, CTRL "Status", &req.base, NULL, 10000000000LL, 1, on_reply, &r, &err), 0);
  ck_assert_int_eq (kc_grpc_client_call (cl, CTRL "Status", &req.base, NULL, 10000000000LL, 0, on_reply, &ff, &err), 0);
  event_base_once (base, -1, EV_TIMEOUT, start_later, s2, &later);
  run_until (&r.done, 10);
  ck_assert_int_eq (ff.code, KC_UNAVAILABLE); /* fail-fast call did not wait */
  ck_assert_msg (r.code == KC_OK, "code %d: %s", r.code, r.message);
  ck_assert_str_eq (r.sandbox_id, "ready");
  ck_assert_msg (now_s () - t0 < 3.0, "took %.2fs", now_s () - t0);
  kc_grpc_client_free (cl);
  kc_grpc_server_free (s2);
}
END_TEST

START_TEST (socket_path_in_use_or_stale)
{
  kc_error_t err = NULL;
  kc_grpc_server *s2 = kc_grpc_server_new (base);
  kc_grpc_client *cl;
  struct result r = { 0 };

  /* a live server keeps its socket */
  ck_assert_int_eq (kc_grpc_server_start (s2, sock, &err), -1);
  ck_assert_int_eq (err->code, KC_ALREADY_EXISTS);
  kc_error_free (&err);
  kc_grpc_server_free (s2);
  ck_assert_int_eq (access (sock, F_OK), 0); /* the loser did not remove the winner's socket */
  cl = client ();
  call (cl, CTRL "Status", "still", NULL, 5000000000LL, &r);
  run_until (&r.done, 5);
  ck_assert_int_eq (r.code, KC_OK);
  kc_grpc_client_free (cl);
}
END_TEST

static double
cpu_s (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Out of fds with a connection waiting: the listener backs off instead of spinning the loop
   on EMFILE, and takes the connection once fds are available again. */
START_TEST (accept_out_of_fds_backs_off)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct rlimit old, low;
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int probe;
  double cpu0;
  struct result r = { 0 };
  kc_grpc_client *cl;

  ck_assert_int_ge (fd, 0);
  ck_assert_uint_lt (strlen (sock), sizeof sa.sun_path);
  memcpy (sa.sun_path, sock, strlen (sock));
  ck_assert_int_eq (getrlimit (RLIMIT_NOFILE, &old), 0);
  probe = dup (fd);
  ck_assert_int_ge (probe, 0);
  close (probe);
  /* Every fd below the lowest free one is taken: the next accept gets EMFILE. */
  low = old;
  low.rlim_cur = probe;
  ck_assert_int_eq (setrlimit (RLIMIT_NOFILE, &low), 0);
  ck_assert_int_eq (connect (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  cpu0 = cpu_s ();
  run_until (NULL, 0.5);
  ck_assert_msg (cpu_s () - cpu0 < 0.1, "the loop spun on EMFILE: %.3f s of CPU", cpu_s () - cpu0);
  ck_assert_int_eq (setrlimit (RLIMIT_NOFILE, &old), 0);
  close (fd);
  cl = client ();
  call (cl, CTRL "Status", "p1", NULL, 5000000000LL, &r);
  run_until (&r.done, 5);
  ck_assert_int_eq (r.code, KC_OK);
  kc_grpc_client_free (cl);
}
END_TEST

/* ---- a process whose only grpc user is one client: freeing it from its own callback ends
   grpc there (last grpc_shutdown) while the finished call is still being delivered ---- */

static kc_grpc_client *lone;

static void
on_reply_free_lone (int code, const char *message, const uint8_t *payload, size_t len, void *ud)
{
  on_reply (code, message, payload, len, ud);
  kc_grpc_client_free (lone);
  lone = NULL;
}

START_TEST (lone_client_freed_from_callback)
{
  struct result r = { 0 };
  kc_error_t err = NULL;

  base = event_base_new ();
  lone = kc_grpc_client_new (base, "/nonexistent/kc-grpc-test.sock", &err);
  ck_assert_ptr_nonnull (lone);
  ck_assert_int_eq (kc_grpc_client_call (lone, CTRL "Status", NULL, NULL, 0, 0, on_reply_free_lone, &r, &err), 0);
  run_until (&r.done, 10);
  ck_assert_int_eq (r.done, 1);
  ck_assert_int_eq (r.code, KC_UNAVAILABLE);
  ck_assert_ptr_null (lone);
  event_base_free (base);
  base = NULL;
}
END_TEST

static Suite *
suite (void)
{
  Suite *s = suite_create ("grpc");
  TCase *tc = tcase_create ("bridge");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, unary_ok_with_metadata);
  tcase_add_test (tc, error_round_trip);
  tcase_add_test (tc, later_answer_does_not_block_others);
  tcase_add_test (tc, deadline_expires_and_server_sees_it);
  tcase_add_test (tc, unknown_method_unimplemented);
  tcase_add_test (tc, server_down_unavailable_quickly);
  tcase_add_test (tc, fifty_concurrent_calls);
  tcase_add_test (tc, free_client_with_pending_calls);
  tcase_add_test (tc, free_server_with_pending_calls);
  tcase_add_test (tc, client_free_from_callback);
  tcase_add_test (tc, call_sync_ok_and_errors);
  tcase_add_test (tc, bad_arguments);
  tcase_add_test (tc, wait_for_ready_queues_until_server_up);
  tcase_add_test (tc, socket_path_in_use_or_stale);
  tcase_add_test (tc, accept_out_of_fds_backs_off);
  suite_add_tcase (s, tc);
  tc = tcase_create ("lone-client");
  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, lone_client_freed_from_callback);
  suite_add_tcase (s, tc);
  return s;
}

int
main (void)
{
  SRunner *sr;
  int failed;

  evthread_use_pthreads ();
  sr = srunner_create (suite ());
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
