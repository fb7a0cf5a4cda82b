/* Pure codec tests: frame headers, the frame reader over an evbuffer, address parsing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ttrpc/ttrpc-internal.h"

START_TEST (test_header_round_trip)
{
  struct kc_ttrpc_header in = { 0x00abcdef, 0x80000001, KC_TTRPC_TYPE_DATA, KC_TTRPC_FLAG_REMOTE_CLOSED | 4 }, out;
  static const uint8_t want[] = { 0x00, 0xab, 0xcd, 0xef, 0x80, 0x00, 0x00, 0x01, 0x03, 0x05 };
  uint8_t raw[KC_TTRPC_HEADER_SIZE];

  kc_ttrpc_header_encode (&in, raw);
  ck_assert_mem_eq (raw, want, sizeof want);
  kc_ttrpc_header_decode (raw, &out);
  ck_assert_uint_eq (out.length, in.length);
  ck_assert_uint_eq (out.stream_id, in.stream_id);
  ck_assert_uint_eq (out.type, in.type);
  ck_assert_uint_eq (out.flags, in.flags);
}
END_TEST

START_TEST (test_response_encoding)
{
  struct evbuffer *b = evbuffer_new ();
  static const uint8_t ok_empty[] = { 0, 0, 0, 2, 0, 0, 0, 1, 2, 0, 0x0a, 0x00 };
  /* PROTOCOLS.md 1.6: ConnectResponse{1234, 5678} after the empty status */
  static const uint8_t ok_payload[] = { 0, 0, 0, 10, 0, 0, 0, 1, 2, 0, 0x0a, 0x00,
                                        0x12, 0x06, 0x08, 0xd2, 0x09, 0x10, 0xae, 0x2c };
  static const uint8_t payload[] = { 0x08, 0xd2, 0x09, 0x10, 0xae, 0x2c };
  uint8_t got[64];

  ck_assert_int_eq (kc_ttrpc_frame_add_response (b, 1, KC_OK, "", NULL, 0), 0);
  ck_assert_uint_eq (evbuffer_get_length (b), sizeof ok_empty);
  evbuffer_remove (b, got, sizeof got);
  ck_assert_mem_eq (got, ok_empty, sizeof ok_empty);
  ck_assert_int_eq (kc_ttrpc_frame_add_response (b, 1, KC_OK, NULL, payload, sizeof payload), 0);
  ck_assert_uint_eq (evbuffer_get_length (b), sizeof ok_payload);
  evbuffer_remove (b, got, sizeof got);
  ck_assert_mem_eq (got, ok_payload, sizeof ok_payload);
  evbuffer_free (b);
}
END_TEST

START_TEST (test_oversized_response_becomes_error)
{
  struct evbuffer *b = evbuffer_new ();
  struct kc_ttrpc_frame_reader rd = { 0 };
  struct kc_ttrpc_header hdr;
  const uint8_t *data;
  uint8_t *big = calloc (1, KC_TTRPC_MAX_DATA);
  Ttrpc__Response *resp;

  ck_assert_int_eq (kc_ttrpc_frame_add_response (b, 7, KC_OK, "", big, KC_TTRPC_MAX_DATA), 0);
  free (big);
  ck_assert_int_eq (kc_ttrpc_frame_next (&rd, b, &hdr, &data), KC_TTRPC_FRAME_READY);
  ck_assert_uint_eq (hdr.stream_id, 7);
  resp = ttrpc__response__unpack (NULL, hdr.length, data);
  ck_assert_ptr_nonnull (resp);
  ck_assert_int_eq (resp->status->code, KC_RESOURCE_EXHAUSTED);
  ck_assert_uint_eq (resp->payload.len, 0);
  ttrpc__response__free_unpacked (resp, NULL);
  kc_ttrpc_frame_consume (b, &hdr);

  /* An error whose message alone is too big: one RESOURCE_EXHAUSTED frame instead. */
  big = malloc (KC_TTRPC_MAX_DATA + 1);
  memset (big, 'x', KC_TTRPC_MAX_DATA);
  big[KC_TTRPC_MAX_DATA] = '\0';
  ck_assert_int_eq (kc_ttrpc_frame_add_response (b, 9, KC_INTERNAL, (char *) big, NULL, 0), 0);
  free (big);
  ck_assert_int_eq (kc_ttrpc_frame_next (&rd, b, &hdr, &data), KC_TTRPC_FRAME_READY);
  ck_assert_uint_eq (hdr.stream_id, 9);
  resp = ttrpc__response__unpack (NULL, hdr.length, data);
  ck_assert_ptr_nonnull (resp);
  ck_assert_int_eq (resp->status->code, KC_RESOURCE_EXHAUSTED);
  ck_assert_ptr_nonnull (strstr (resp->status->message, "exceed maximum message size"));
  ttrpc__response__free_unpacked (resp, NULL);
  kc_ttrpc_frame_consume (b, &hdr);
  ck_assert_uint_eq (evbuffer_get_length (b), 0);
  evbuffer_free (b);
}
END_TEST

START_TEST (test_request_round_trip)
{
  struct evbuffer *b = evbuffer_new ();
  struct kc_ttrpc_frame_reader rd = { 0 };
  Ttrpc__Request req = TTRPC__REQUEST__INIT, *back;
  Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT, *md[1] = { &kv };
  struct kc_ttrpc_header hdr;
  const uint8_t *data;
  kc_error_t err = NULL;

  req.service = "containerd.task.v2.Task";
  req.method = "Connect";
  req.payload.data = (uint8_t *) "\x0a\x03" "abc";
  req.payload.len = 5;
  req.timeout_nano = 5000000000LL;
  kv.key = "containerd-namespace-ttrpc";
  kv.value = "k8s.io";
  req.metadata = md;
  req.n_metadata = 1;
  ck_assert_int_eq (kc_ttrpc_frame_add_message (b, 3, KC_TTRPC_TYPE_REQUEST, 0, &req.base, &err), 0);
  ck_assert_int_eq (kc_ttrpc_frame_next (&rd, b, &hdr, &data), KC_TTRPC_FRAME_READY);
  ck_assert_uint_eq (hdr.type, KC_TTRPC_TYPE_REQUEST);
  back = ttrpc__request__unpack (NULL, hdr.length, data);
  ck_assert_ptr_nonnull (back);
  ck_assert_str_eq (back->service, "containerd.task.v2.Task");
  ck_assert_str_eq (back->method, "Connect");
  ck_assert_int_eq (back->timeout_nano, 5000000000LL);
  ck_assert_uint_eq (back->n_metadata, 1);
  ck_assert_str_eq (back->metadata[0]->value, "k8s.io");
  ttrpc__request__free_unpacked (back, NULL);
  kc_ttrpc_frame_consume (b, &hdr);
  ck_assert_uint_eq (evbuffer_get_length (b), 0);
  evbuffer_free (b);
}
END_TEST

START_TEST (test_reader_partial_and_oversized)
{
  struct evbuffer *b = evbuffer_new ();
  struct kc_ttrpc_frame_reader rd = { 0 };
  struct kc_ttrpc_header hdr, big = { KC_TTRPC_MAX_DATA + 3, 9, KC_TTRPC_TYPE_REQUEST, 0 },
                              small = { 2, 11, KC_TTRPC_TYPE_DATA, 0 };
  uint8_t raw[KC_TTRPC_HEADER_SIZE], chunk[4096];
  const uint8_t *data;
  size_t left = big.length;

  kc_ttrpc_header_encode (&small, raw);
  evbuffer_add (b, raw, 5);
  ck_assert_int_eq (kc_ttrpc_frame_next (&rd, b, &hdr, &data), KC_TTRPC_FRAME_NEED_MORE);
  evbuffer_add (b, raw + 5, 5);
  evbuffer_add (b, "x", 1);
  ck_assert_int_eq (kc_ttrpc_frame_next (&rd, b, &hdr, &data), KC_TTRPC_FRAME_NEED_MORE);
  evbuffer_add (b, "y", 1);
  ck_assert_int_eq (kc_ttrpc_frame_next (&rd, b, &hdr, &data), KC_TTRPC_FRAME_READY);
  ck_assert_mem_eq (data, "xy", 2);
  kc_ttrpc_frame_consume (b, &hdr);

  /* An oversized frame is skipped chunk by chunk, never buffered whole. */
  kc_ttrpc_header_encode (&big, raw);
  evbuffer_add (b, raw, sizeof raw);
  memset (chunk, 0, sizeof chunk);
  while (left > 0)
    {
      size_t n = left < sizeof chunk ? left : sizeof chunk;
      ck_assert_int_eq (kc_ttrpc_frame_next (&rd, b, &hdr, &data), KC_TTRPC_FRAME_NEED_MORE);
      ck_assert_uint_eq (evbuffer_get_length (b), 0);
      evbuffer_add (b, chunk, n);
      left -= n;
    }
  kc_ttrpc_header_encode (&small, raw);
  evbuffer_add (b, raw, sizeof raw);
  evbuffer_add (b, "zz", 2);
  ck_assert_int_eq (kc_ttrpc_frame_next (&rd, b, &hdr, &data), KC_TTRPC_FRAME_OVERSIZED);
  ck_assert_uint_eq (hdr.stream_id, 9);
  ck_assert_uint_eq (hdr.length, KC_TTRPC_MAX_DATA + 3);
  ck_assert_int_eq (kc_ttrpc_frame_next (&rd, b, &hdr, &data), KC_TTRPC_FRAME_READY);
  ck_assert_uint_eq (hdr.stream_id, 11);
  kc_ttrpc_frame_consume (b, &hdr);
  evbuffer_free (b);
}
END_TEST

START_TEST (test_oversized_request_refused)
{
  struct evbuffer *b = evbuffer_new ();
  Ttrpc__Request req = TTRPC__REQUEST__INIT;
  kc_error_t err = NULL;

  req.service = "s";
  req.method = "m";
  req.payload.data = calloc (1, KC_TTRPC_MAX_DATA);
  req.payload.len = KC_TTRPC_MAX_DATA;
  ck_assert_int_eq (kc_ttrpc_frame_add_message (b, 1, KC_TTRPC_TYPE_REQUEST, 0, &req.base, &err), -1);
  ck_assert_int_eq (err->code, KC_RESOURCE_EXHAUSTED);
  ck_assert_uint_eq (evbuffer_get_length (b), 0);
  kc_error_free (&err);
  free (req.payload.data);
  evbuffer_free (b);
}
END_TEST

static void
assert_address (const char *address, const char *scheme, const char *rest)
{
  char *s = NULL, *r = NULL;
  kc_error_t err = NULL;

  ck_assert_msg (kc_address_parse (address, &s, &r, &err) == 0, "%s: %s", address, err ? err->msg : "");
  ck_assert_str_eq (s, scheme);
  ck_assert_str_eq (r, rest);
  free (s);
  free (r);
}

static void
assert_bad_address (const char *address)
{
  char *s = NULL, *r = NULL;
  kc_error_t err = NULL;

  ck_assert_msg (kc_address_parse (address, &s, &r, &err) == -1, "accepted `%s`", address ? address : "(null)");
  ck_assert_int_eq (err->code, KC_INVALID_ARGUMENT);
  ck_assert_ptr_null (s);
  ck_assert_ptr_null (r);
  kc_error_free (&err);
}

START_TEST (test_address_parse)
{
  assert_address ("/run/x.sock", "unix", "/run/x.sock");
  assert_address ("unix:///run/x.sock", "unix", "/run/x.sock");
  assert_address ("ttrpc+unix:///run/kuasar/1/task.sock", "unix", "/run/kuasar/1/task.sock");
  assert_address ("unix://@abstract", "unix", "@abstract");
  assert_address ("vsock://3:1024", "vsock", "3:1024");
  assert_address ("ttrpc+vsock://4294967295:4294967295", "vsock", "4294967295:4294967295");
  assert_address ("hvsock:///run/vm/kuasar.hvsock:1024", "hvsock", "/run/vm/kuasar.hvsock:1024");
  assert_address ("ttrpc+hvsock:///a:b:2", "hvsock", "/a:b:2");
  assert_bad_address (NULL);
  assert_bad_address ("");
  assert_bad_address ("unix://");
  assert_bad_address ("relative/path");
  assert_bad_address ("tcp://1.2.3.4:5");
  assert_bad_address ("ttrpc+tcp://x");
  assert_bad_address ("ttrpc+/x");
  assert_bad_address ("vsock://3");
  assert_bad_address ("vsock://x:1024");
  assert_bad_address ("vsock://3:");
  assert_bad_address ("vsock://3:99999999999");
  assert_bad_address ("vsock://:5");
  assert_bad_address ("hvsock:///path");
  assert_bad_address ("hvsock://:5");
  assert_bad_address ("unix:/x");
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("ttrpc-codec");
  TCase *tc = tcase_create ("codec");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, test_header_round_trip);
  tcase_add_test (tc, test_response_encoding);
  tcase_add_test (tc, test_oversized_response_becomes_error);
  tcase_add_test (tc, test_request_round_trip);
  tcase_add_test (tc, test_reader_partial_and_oversized);
  tcase_add_test (tc, test_oversized_request_refused);
  tcase_add_test (tc, test_address_parse);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
