/* The server against a raw socket, byte by byte: Go-exact replies, oversized frames, stream-id
   rules, bad input, server deadlines, slow readers. */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "ttrpc.pb-c.h"

static struct harness h;
static int fd;

static void
setup (void)
{
  harness_setup (&h);
  fd = raw_connect (&h);
}

static void
teardown (void)
{
  if (fd >= 0)
    close (fd);
  harness_teardown (&h);
}

/* The connection still answers an Echo on sid. */
static void
assert_still_works (uint32_t sid)
{
  struct reply r;

  raw_send_request (&h, fd, sid, "test.Svc", "Echo", "ping", 0);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), sid);
  ck_assert_int_eq (r.code, KC_OK);
  ck_assert_uint_eq (r.len, 4);
  ck_assert_mem_eq (r.payload, "ping", 4);
}

START_TEST (test_go_exact_empty_reply)
{
  static const uint8_t want[] = { 0, 0, 0, 2, 0, 0, 0, 1, 2, 0, 0x0a, 0x00 };
  uint8_t got[sizeof want];

  raw_send_request (&h, fd, 1, "test.Svc", "Empty", NULL, 0);
  raw_recv (&h, fd, got, sizeof got);
  ck_assert_mem_eq (got, want, sizeof want);
  ck_assert (raw_quiet (&h, fd, 30));
}
END_TEST

START_TEST (test_go_exact_unimplemented)
{
  static const uint8_t want[] = { 0, 0, 0, 0x11, 0, 0, 0, 3, 2, 0, 0x0a, 0x0f, 0x08, 0x0c, 0x12, 0x0b,
                                  's', 'e', 'r', 'v', 'i', 'c', 'e', ' ', 'f', 'o', 'o' };
  uint8_t got[sizeof want];

  raw_send_request (&h, fd, 3, "foo", "Bar", NULL, 0);
  raw_recv (&h, fd, got, sizeof got);
  ck_assert_mem_eq (got, want, sizeof want);
}
END_TEST

START_TEST (test_go_worked_example_request)
{
  /* PROTOCOLS.md 1.6: the Connect request bytes containerd sends, answered by our server. */
  static const uint8_t hdr[] = { 0, 0, 0, 0x4f, 0, 0, 0, 1, 1, 0 };
  static const char body[] = "\x0a\x17"
                             "containerd.task.v2.Task"
                             "\x12\x07"
                             "Connect"
                             "\x1a\x05\x0a\x03"
                             "abc"
                             "\x2a\x24\x0a\x1a"
                             "containerd-namespace-ttrpc"
                             "\x12\x06"
                             "k8s.io";
  struct reply r;

  ck_assert_uint_eq (sizeof body - 1, 0x4f);
  raw_send (&h, fd, hdr, sizeof hdr);
  raw_send (&h, fd, body, sizeof body - 1);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 1);
  ck_assert_int_eq (r.code, KC_UNIMPLEMENTED);
  ck_assert_str_eq (r.message, "service containerd.task.v2.Task");
}
END_TEST

START_TEST (test_oversized_frame)
{
  const size_t len = KC_TTRPC_MAX_DATA + 1;
  uint8_t *junk = calloc (1, len);
  struct reply r;

  /* Garbage that would be a valid header if it were not skipped. */
  memset (junk, 0x01, len);
  raw_send_frame (&h, fd, 5, KC_TTRPC_TYPE_REQUEST, 0, junk, len);
  free (junk);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 5);
  ck_assert_int_eq (r.code, KC_RESOURCE_EXHAUSTED);
  ck_assert_str_eq (r.message, "message length 4194305 exceed maximum message size of 4194304");
  assert_still_works (7);
}
END_TEST

START_TEST (test_max_size_frame_accepted)
{
  /* Exactly 4 MiB is legal: an undecodable but complete request of that size. */
  const size_t len = KC_TTRPC_MAX_DATA;
  uint8_t *junk = malloc (len);
  struct reply r;

  memset (junk, 0xff, len);
  raw_send_frame (&h, fd, 1, KC_TTRPC_TYPE_REQUEST, 0, junk, len);
  free (junk);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 1);
  ck_assert_int_eq (r.code, KC_INVALID_ARGUMENT);
  assert_still_works (3);
}
END_TEST

START_TEST (test_stream_id_rules)
{
  struct reply r;

  raw_send_request (&h, fd, 2, "test.Svc", "Echo", "x", 0);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 2);
  ck_assert_int_eq (r.code, KC_INVALID_ARGUMENT);
  ck_assert_str_eq (r.message, "StreamID must be odd for client initiated streams");
  assert_still_works (5);
  raw_send_request (&h, fd, 5, "test.Svc", "Echo", "x", 0);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 5);
  ck_assert_int_eq (r.code, KC_INVALID_ARGUMENT);
  ck_assert_str_eq (r.message, "StreamID cannot be re-used and must increment");
  raw_send_request (&h, fd, 3, "test.Svc", "Echo", "x", 0);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 3);
  ck_assert_int_eq (r.code, KC_INVALID_ARGUMENT);
  ck_assert_str_eq (r.message, "StreamID cannot be re-used and must increment");
  assert_still_works (7);
}
END_TEST

START_TEST (test_data_on_unknown_stream)
{
  struct reply r;

  raw_send_frame (&h, fd, 9, KC_TTRPC_TYPE_DATA, 0, "abc", 3);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 9);
  ck_assert_int_eq (r.code, KC_INVALID_ARGUMENT);
  ck_assert_str_eq (r.message, "StreamID is no longer active");
  assert_still_works (11);
}
END_TEST

START_TEST (test_unknown_types_ignored)
{
  raw_send_frame (&h, fd, 1, 0x7f, 0xff, "zz", 2);
  raw_send_frame (&h, fd, 2, 0x00, 0, NULL, 0);
  raw_send_frame (&h, fd, 3, KC_TTRPC_TYPE_RESPONSE, 0, "\x0a\x00", 2);
  assert_still_works (1);
}
END_TEST

START_TEST (test_undecodable_request)
{
  struct reply r;

  raw_send_frame (&h, fd, 1, KC_TTRPC_TYPE_REQUEST, 0, "\xff\xff\xff", 3);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 1);
  ck_assert_int_eq (r.code, KC_INVALID_ARGUMENT);
  ck_assert_msg (strncmp (r.message, "unmarshal request error: ", 25) == 0, "%s", r.message);
  assert_still_works (3);
}
END_TEST

START_TEST (test_server_deadline)
{
  struct reply r;

  raw_send_request (&h, fd, 1, "test.Svc", "Later", NULL, 20 * 1000000LL);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 1);
  ck_assert_int_eq (r.code, KC_DEADLINE_EXCEEDED);
  ck_assert_uint_eq (h.n_held, 1);
  /* A late answer is dropped: the next bytes on the wire are the next call's. */
  kc_ttrpc_call_error (h.held[0], KC_INTERNAL, "too late");
  h.n_held = 0;
  assert_still_works (3);
  ck_assert (raw_quiet (&h, fd, 30));
  /* After expiry the stream is over: Data on it is refused. */
  raw_send_frame (&h, fd, 1, KC_TTRPC_TYPE_DATA, 0, NULL, 0);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 1);
  ck_assert_str_eq (r.message, "StreamID is no longer active");
}
END_TEST

/* Encodes a Request frame for service/method with payload into a malloc'ed buffer. */
static uint8_t *
encode_request (uint32_t sid, const char *method, const uint8_t *payload, size_t plen, size_t *len)
{
  Ttrpc__Request req = TTRPC__REQUEST__INIT;
  struct kc_ttrpc_header hdr = { 0, sid, KC_TTRPC_TYPE_REQUEST, 0 };
  uint8_t *buf;

  req.service = "test.Svc";
  req.method = (char *) method;
  req.payload.data = (uint8_t *) payload;
  req.payload.len = plen;
  hdr.length = protobuf_c_message_get_packed_size (&req.base);
  buf = malloc (KC_TTRPC_HEADER_SIZE + hdr.length);
  kc_ttrpc_header_encode (&hdr, buf);
  protobuf_c_message_pack (&req.base, buf + KC_TTRPC_HEADER_SIZE);
  *len = KC_TTRPC_HEADER_SIZE + hdr.length;
  return buf;
}

START_TEST (test_extreme_timeouts)
{
  struct reply r;

  /* INT64_MAX ns from the peer: a deadline far away, no overflow; negative: no deadline. */
  raw_send_request (&h, fd, 1, "test.Svc", "Later", NULL, INT64_MAX);
  raw_send_request (&h, fd, 3, "test.Svc", "Later", NULL, -5);
  assert_still_works (5);
  ck_assert_uint_eq (h.n_held, 2);
  ck_assert (kc_ttrpc_call_alive (h.held[0]));
  ck_assert_int_gt (kc_ttrpc_call_timeout_ns (h.held[0]), (int64_t) 1 << 62);
  ck_assert_int_eq (kc_ttrpc_call_timeout_ns (h.held[1]), 0);
  kc_ttrpc_call_reply (h.held[1], NULL);
  kc_ttrpc_call_reply (h.held[0], NULL);
  h.n_held = 0;
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 3);
  ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 1);
}
END_TEST

START_TEST (test_peer_hangs_up_before_answers)
{
  struct sigaction sa;

  /* Answers to a peer that is gone: EPIPE for us, never a SIGPIPE death. */
  for (uint32_t sid = 1; sid < 200; sid += 2)
    raw_send_request (&h, fd, sid, "test.Svc", "Echo", "bye", 0);
  close (fd);
  fd = -1;
  harness_run_for (&h, 100);
  ck_assert_uint_eq (kc_ttrpc_server_conn_count (h.srv), 0);
  ck_assert_int_eq (sigaction (SIGPIPE, NULL, &sa), 0);
  ck_assert (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
}
END_TEST

START_TEST (test_split_and_batched_frames)
{
  uint8_t all[256];
  size_t n = 0, len;
  struct reply r;

  /* Two requests delivered one byte at a time... */
  for (uint32_t sid = 1; sid <= 3; sid += 2)
    {
      uint8_t *buf = encode_request (sid, "Echo", NULL, 0, &len);
      for (size_t i = 0; i < len; i++)
        {
          raw_send (&h, fd, buf + i, 1);
          event_base_loop (h.base, EVLOOP_NONBLOCK);
        }
      free (buf);
      ck_assert_uint_eq (raw_recv_response (&h, fd, &r), sid);
      ck_assert_int_eq (r.code, KC_OK);
    }
  /* ...then three in a single write. */
  for (uint32_t k = 0; k < 3; k++)
    {
      uint8_t *buf = encode_request (5 + 2 * k, "Empty", NULL, 0, &len);
      memcpy (all + n, buf, len);
      n += len;
      free (buf);
    }
  raw_send (&h, fd, all, n);
  for (uint32_t k = 0; k < 3; k++)
    ck_assert_uint_eq (raw_recv_response (&h, fd, &r), 5 + 2 * k);
}
END_TEST

/* Sends what the socket takes of buf while the loop runs, until it stays full for 300 ms;
   returns how many bytes went out. */
static size_t
send_until_blocked (const uint8_t *buf, size_t len)
{
  size_t off = 0;
  int idle = 0;

  while (off < len && idle < 300)
    {
      ssize_t n = send (fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0)
        {
          off += n;
          idle = 0;
          continue;
        }
      event_base_loop (h.base, EVLOOP_NONBLOCK);
      usleep (1000);
      idle++;
    }
  return off;
}

static void
recv_echo_of (uint32_t sid, size_t payload_len)
{
  uint8_t raw[KC_TTRPC_HEADER_SIZE];
  struct kc_ttrpc_header hdr;
  uint8_t *body;

  raw_recv (&h, fd, raw, sizeof raw);
  kc_ttrpc_header_decode (raw, &hdr);
  ck_assert_uint_eq (hdr.stream_id, sid);
  ck_assert_uint_gt (hdr.length, payload_len);
  body = malloc (hdr.length);
  raw_recv (&h, fd, body, hdr.length);
  free (body);
}

START_TEST (test_slow_reader)
{
  /* Up to 64 MiB of answers to a peer that does not read: the server must stop reading
     (bounded buffering) and still deliver everything once the peer reads. */
  enum
  {
    N = 1024,
    PAYLOAD = 64 * 1024
  };
  uint8_t *payload = malloc (PAYLOAD), *buf = NULL;
  size_t len = 0, off = 0;
  uint32_t sid = 1;
  int sent = 0;

  memset (payload, 'p', PAYLOAD);
  for (; sent < N; sent++, sid += 2)
    {
      buf = encode_request (sid, "Echo", payload, PAYLOAD, &len);
      off = send_until_blocked (buf, len);
      if (off < len)
        break;
      free (buf);
      buf = NULL;
    }
  ck_assert_msg (sent < N, "the server never pushed back");
  /* 16 MiB of output plus socket buffers: far less than everything we offered */
  ck_assert_int_lt (sent, 512);
  for (int got = 0; got < sent; got++)
    recv_echo_of (1 + 2 * got, PAYLOAD);
  /* The frame we were blocked in goes through once the server reads again. */
  raw_send (&h, fd, buf + off, len - off);
  recv_echo_of (sid, PAYLOAD);
  free (buf);
  free (payload);
  assert_still_works (sid + 2);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("ttrpc-wire");
  TCase *tc = tcase_create ("wire");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, test_go_exact_empty_reply);
  tcase_add_test (tc, test_go_exact_unimplemented);
  tcase_add_test (tc, test_go_worked_example_request);
  tcase_add_test (tc, test_oversized_frame);
  tcase_add_test (tc, test_max_size_frame_accepted);
  tcase_add_test (tc, test_stream_id_rules);
  tcase_add_test (tc, test_data_on_unknown_stream);
  tcase_add_test (tc, test_unknown_types_ignored);
  tcase_add_test (tc, test_undecodable_request);
  tcase_add_test (tc, test_server_deadline);
  tcase_add_test (tc, test_extreme_timeouts);
  tcase_add_test (tc, test_peer_hangs_up_before_answers);
  tcase_add_test (tc, test_split_and_batched_frames);
  tcase_add_test (tc, test_slow_reader);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
