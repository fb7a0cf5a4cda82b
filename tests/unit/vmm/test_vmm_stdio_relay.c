/* The guest's stdio relay (sandboxer/vmm/guest/stdio_relay.c) over a pty standing in for the
   stdio port: a host sending stdin faster than the process reads must be held back (the queue
   capped), and every byte must still arrive in order once the process reads. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "stdio_mux.h"
#include "stdio_relay.h"

#define TOTAL (4 * 1024 * 1024)
#define CHUNK 32768

static int
pty_pair (int *slave_out, char **name)
{
  struct termios tio;
  int master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);

  ck_assert_int_ge (master, 0);
  ck_assert_int_eq (grantpt (master), 0);
  ck_assert_int_eq (unlockpt (master), 0);
  *name = ptsname (master);
  *slave_out = open (*name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  ck_assert_int_ge (*slave_out, 0);
  ck_assert_int_eq (tcgetattr (*slave_out, &tio), 0);
  cfmakeraw (&tio);
  ck_assert_int_eq (tcsetattr (*slave_out, TCSANOW, &tio), 0);
  fcntl (master, F_SETFL, O_NONBLOCK);
  return master;
}

/* The host side: TOTAL bytes of stdin for "c1" (byte i = i % 251) as CHUNK frames. */
static uint8_t *
stdin_stream (size_t *len)
{
  static uint8_t data[CHUNK];
  uint8_t *all = malloc (TOTAL + TOTAL / CHUNK * 64), *frame;
  size_t n = 0, flen;
  kc_error_t err = NULL;

  ck_assert_ptr_nonnull (all);
  for (size_t off = 0; off < TOTAL; off += CHUNK)
    {
      for (size_t i = 0; i < CHUNK; i++)
        data[i] = (uint8_t) ((off + i) % 251);
      struct kc_mux_frame f = { .kind = KC_MUX_STDIN, .key = "c1", .key_len = 2, .data = data, .data_len = CHUNK };
      ck_assert_int_eq (kc_mux_frame_encode (&f, &frame, &flen, &err), 0);
      memcpy (all + n, frame, flen);
      n += flen;
      free (frame);
    }
  *len = n;
  return all;
}

/* Writes what the pty takes while the loop runs; returns once it took nothing for ~patience ms. */
static void
pump (struct event_base *base, int master, const uint8_t *buf, size_t len, size_t *sent, int patience)
{
  for (int idle = 0; idle < patience && *sent < len;)
    {
      ssize_t w = write (master, buf + *sent, len - *sent > 4096 ? 4096 : len - *sent);
      if (w > 0)
        *sent += (size_t) w, idle = 0;
      else
        idle++, usleep (1000);
      event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
}

START_TEST (stdin_queue_is_capped_without_loss)
{
  struct event_base *base = event_base_new ();
  kc_error_t err = NULL;
  size_t len, sent = 0, got = 0;
  uint8_t *stream = stdin_stream (&len), rbuf[65536];
  int slave, in[2], bad = 0;
  char *name;
  int master = pty_pair (&slave, &name);
  kc_stdio_relay *r = kc_stdio_relay_open (base, name, &err);

  ck_assert_ptr_nonnull (r);
  ck_assert_int_eq (pipe2 (in, O_CLOEXEC), 0);
  ck_assert_int_eq (kc_stdio_relay_add (r, "c1", in[1], -1, -1, &err), 0);
  pump (base, master, stream, len, &sent, 300);
  /* Cap (1 MiB) + pipe + one port read + pty buffers; without the cap all 4 MiB went in. */
  ck_assert_msg (sent < 2 * 1024 * 1024, "host got %zu bytes in while nobody read stdin", sent);
  fcntl (in[0], F_SETFL, O_NONBLOCK);
  for (int idle = 0; idle < 3000 && got < TOTAL;)
    {
      ssize_t n = read (in[0], rbuf, sizeof (rbuf));
      for (ssize_t i = 0; i < n; i++)
        bad |= rbuf[i] != (uint8_t) ((got + (size_t) i) % 251);
      got += n > 0 ? (size_t) n : 0;
      idle = n > 0 ? 0 : idle + 1;
      size_t before = sent;
      pump (base, master, stream, len, &sent, 2);
      idle = sent > before ? 0 : idle;
      event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
      usleep (n > 0 ? 0 : 1000);
    }
  ck_assert_int_eq (got, TOTAL);
  ck_assert_int_eq (bad, 0);
  kc_stdio_relay_free (r);
  close (in[0]);
  close (slave);
  close (master);
  free (stream);
  event_base_free (base);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("vmm-stdio-relay");
  TCase *tc = tcase_create ("relay");
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, stdin_queue_is_capped_without_loss);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
