/* The shim's stdio demux (shim/vmm_stdio.c): a FIFO whose reader does not read must not block
   the shim's loop; what it could not take is queued and delivered once the reader reads, and
   the close frame closes the FIFO only after that. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "stdio_mux.h"
#include "vmm.h"

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static struct event_base *base;

/* The socket holds less than the test sends: run the shim's loop while it is full. */
static void
send_all (int fd, const uint8_t *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EAGAIN)
        {
          event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
          continue;
        }
      ck_assert_int_gt (n, 0);
      buf += n, len -= (size_t) n;
    }
}

static void
send_frame (int fd, uint8_t kind, const uint8_t *data, size_t len)
{
  struct kc_mux_frame f = { .kind = kind, .key = "c1", .key_len = 2, .data = data, .data_len = len };
  uint8_t *buf;
  size_t n;

  ck_assert_int_eq (kc_mux_frame_encode (&f, &buf, &n, NULL), 0);
  send_all (fd, buf, n);
  free (buf);
}

/* The VM's end of the stdio connection: the shim connects to <dir>/stdio.sock (sa, listening
   on *lfd), the returned fd is what the guest would write frames to. */
static int
vm_connect (const char *dir, struct sockaddr_un *sa, int *lfd)
{
  int vm;
  snprintf (sa->sun_path, sizeof (sa->sun_path), "%s/stdio.sock", dir);
  *lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_eq (bind (*lfd, (struct sockaddr *) sa, sizeof (*sa)), 0);
  ck_assert_int_eq (listen (*lfd, 1), 0);
  ck_assert_int_eq (shim_vmm_stdio_connect (base, sa->sun_path, NULL), 0);
  vm = accept4 (*lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  ck_assert_int_ge (vm, 0);
  return vm;
}

START_TEST (stuck_fifo_reader_does_not_block)
{
  char dir[] = "/tmp/kc-shim-stdio.XXXXXX", fifo[128];
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  static uint8_t chunk[65536], got[4 * 65536];
  uint8_t kind = KC_MUX_STDOUT;
  size_t have = 0;
  int lfd, vm, rd;
  double t0;

  base = event_base_new ();
  ck_assert_ptr_nonnull (mkdtemp (dir));
  vm = vm_connect (dir, &sa, &lfd);
  snprintf (fifo, sizeof (fifo), "%s/out", dir);
  ck_assert_int_eq (mkfifo (fifo, 0600), 0);
  rd = open (fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* containerd's side, not reading yet */
  ck_assert_int_ge (rd, 0);
  ck_assert_int_eq (shim_vmm_stdio_add ("c1", NULL, fifo, NULL, NULL), 0);

  t0 = now_s ();
  for (int i = 0; i < 4; i++)
    {
      memset (chunk, 'a' + i, sizeof (chunk));
      send_frame (vm, KC_MUX_STDOUT, chunk, sizeof (chunk)); /* 4 x the pipe's 64 KiB */
    }
  send_frame (vm, KC_MUX_CLOSE, &kind, 1);
  for (int i = 0; i < 200; i++)
    event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep (1000);
  /* The old blocking write held the loop 1 s per frame (4+ s here). */
  ck_assert_msg (now_s () - t0 < 2.5, "the loop was blocked %.2f s by a FIFO nobody reads", now_s () - t0);

  /* The reader wakes up: everything arrives in order, then EOF. */
  for (double deadline = now_s () + 5; now_s () < deadline;)
    {
      ssize_t n = read (rd, got + have, sizeof (got) - have);
      if (n == 0 && have == sizeof (got))
        break;
      if (n > 0)
        have += (size_t) n;
      event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
      usleep (1000);
    }
  ck_assert_uint_eq (have, sizeof (got));
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq (got[i * 65536] == 'a' + i && got[i * 65536 + 65535] == 'a' + i, 1);
  ck_assert_int_eq (read (rd, got, 1), 0);

  shim_vmm_stdio_remove ("c1");
  close (rd), close (vm), close (lfd);
  unlink (fifo), unlink (sa.sun_path), rmdir (dir);
  event_base_free (base);
}
END_TEST

/* A short process ends before containerd opened its stdout reader (it does, later, blocking):
   the output must wait in the FIFO for that reader, and the reader must then see EOF. Closing
   the FIFO at the close frame would lose the output and leave the late open waiting forever. */
START_TEST (output_waits_for_a_late_reader)
{
  char dir[] = "/tmp/kc-shim-stdio.XXXXXX", fifo[128], got[64] = "";
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  uint8_t kind = KC_MUX_STDOUT;
  size_t have = 0;
  int lfd, vm, rd;

  base = event_base_new ();
  ck_assert_ptr_nonnull (mkdtemp (dir));
  vm = vm_connect (dir, &sa, &lfd);
  snprintf (fifo, sizeof (fifo), "%s/out", dir);
  ck_assert_int_eq (mkfifo (fifo, 0600), 0);
  ck_assert_int_eq (shim_vmm_stdio_add ("c1", NULL, fifo, NULL, NULL), 0); /* no reader yet */
  send_frame (vm, KC_MUX_STDOUT, (const uint8_t *) "late\n", 5);
  send_frame (vm, KC_MUX_CLOSE, &kind, 1);
  for (int i = 0; i < 100; i++)
    event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep (1000);

  rd = open (fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* containerd's reader, late */
  ck_assert_int_ge (rd, 0);
  for (double deadline = now_s () + 5; now_s () < deadline;)
    {
      ssize_t n = read (rd, got + have, sizeof (got) - 1 - have);
      if (n == 0 && have > 0)
        break; /* EOF after the data: every writer closed */
      if (n > 0)
        have += (size_t) n;
      event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
      usleep (1000);
    }
  ck_assert_str_eq (got, "late\n");
  ck_assert_int_eq (read (rd, got, 1), 0);

  shim_vmm_stdio_remove ("c1");
  close (rd), close (vm), close (lfd);
  unlink (fifo), unlink (sa.sun_path), rmdir (dir);
  event_base_free (base);
}
END_TEST

/* containerd writes stdin and closes its end: the guest gets the bytes, then a close frame. */
START_TEST (stdin_eof_sends_close_after_data)
{
  char dir[] = "/tmp/kc-shim-stdio.XXXXXX", fifo[128];
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  uint8_t buf[256];
  size_t have = 0;
  int lfd, vm, wr;

  base = event_base_new ();
  ck_assert_ptr_nonnull (mkdtemp (dir));
  vm = vm_connect (dir, &sa, &lfd);
  snprintf (fifo, sizeof (fifo), "%s/in", dir);
  ck_assert_int_eq (mkfifo (fifo, 0600), 0);
  ck_assert_int_eq (shim_vmm_stdio_add ("c1", fifo, NULL, NULL, NULL), 0);
  for (int i = 0; i < 50; i++) /* no writer yet: nothing, no close */
    event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep (1000);
  ck_assert_int_lt (read (vm, buf, sizeof (buf)), 0);
  wr = open (fifo, O_WRONLY | O_CLOEXEC);
  ck_assert_int_eq (write (wr, "hi", 2), 2);
  close (wr);
  for (int i = 0; i < 500; i++)
    {
      ssize_t n = read (vm, buf + have, sizeof (buf) - have);
      have += n > 0 ? (size_t) n : 0;
      event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep (1000);
    }
  uint8_t *want1, *want2;
  size_t n1, n2;
  struct kc_mux_frame f
      = { .kind = KC_MUX_STDIN, .key = "c1", .key_len = 2, .data = (const uint8_t *) "hi", .data_len = 2 };
  ck_assert_int_eq (kc_mux_frame_encode (&f, &want1, &n1, NULL), 0);
  ck_assert_int_eq (kc_mux_close_encode ("c1", KC_MUX_STDIN, &want2, &n2, NULL), 0);
  ck_assert_uint_eq (have, n1 + n2);
  ck_assert_int_eq (memcmp (buf, want1, n1), 0);
  ck_assert_int_eq (memcmp (buf + n1, want2, n2), 0);
  free (want1), free (want2);
  shim_vmm_stdio_remove ("c1");
  close (vm), close (lfd);
  unlink (fifo), unlink (sa.sun_path), rmdir (dir);
  event_base_free (base);
}
END_TEST

struct collect
{
  uint8_t *stdin;
  size_t stdin_len;
  int closes, bad_order, last_was_close;
};

static int
collect_frame (const struct kc_mux_frame *f, void *userdata)
{
  struct collect *c = userdata;
  if (f->key_len != 2 || memcmp (f->key, "c1", 2) != 0)
    c->bad_order = 1;
  else if (f->kind == KC_MUX_STDIN)
    {
      c->bad_order |= c->closes > 0; /* data after the close */
      c->stdin = realloc (c->stdin, c->stdin_len + f->data_len);
      memcpy (c->stdin + c->stdin_len, f->data, f->data_len);
      c->stdin_len += f->data_len;
    }
  else if (f->kind == KC_MUX_CLOSE && f->data_len == 1 && f->data[0] == KC_MUX_STDIN)
    c->closes++;
  else
    c->bad_order = 1;
  c->last_was_close = f->kind == KC_MUX_CLOSE;
  return 0;
}

/* CloseIO{stdin} while containerd's last bytes still sit in the FIFO (the loop has not read
   them): they go out as stdin frames before the close frame, and the FIFO is closed. */
START_TEST (close_stdin_flushes_fifo_first)
{
  char dir[] = "/tmp/kc-shim-stdio.XXXXXX", fifo[128], fifo2[128];
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  static uint8_t data[100000], buf[110000];
  size_t have = 0, stdin_bytes = 0;
  int lfd, vm, wr, closes = 0;

  signal (SIGPIPE, SIG_IGN);
  base = event_base_new ();
  ck_assert_ptr_nonnull (mkdtemp (dir));
  vm = vm_connect (dir, &sa, &lfd);
  snprintf (fifo, sizeof (fifo), "%s/in", dir);
  ck_assert_int_eq (mkfifo (fifo, 0600), 0);
  snprintf (fifo2, sizeof (fifo2), "%s/out", dir);
  ck_assert_int_eq (mkfifo (fifo2, 0600), 0);
  ck_assert_int_eq (shim_vmm_stdio_add ("c1", fifo, NULL, NULL, NULL), 0);
  ck_assert_int_eq (shim_vmm_stdio_add ("c1/e1", NULL, fifo2, NULL, NULL), 0);

  /* containerd's writer stays open; more than one read's worth waits in the FIFO (64 KiB
     pipe: write what it takes). */
  wr = open (fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  ck_assert_int_ge (wr, 0);
  for (size_t i = 0; i < sizeof (data); i++)
    data[i] = (uint8_t) (i * 7);
  ssize_t written = write (wr, data, sizeof (data));
  ck_assert_int_gt (written, 32768);

  ck_assert_int_eq (shim_vmm_stdio_close_stdin ("c1"), 1);
  ck_assert_int_eq (shim_vmm_stdio_close_stdin ("c1"), 1);    /* already closed: still through the mux */
  ck_assert_int_eq (shim_vmm_stdio_close_stdin ("c1/e1"), 0); /* no stdin stream */
  ck_assert_int_eq (shim_vmm_stdio_close_stdin ("nope"), 0);
  ck_assert_int_lt (write (wr, "x", 1), 0); /* the shim no longer reads the FIFO */
  ck_assert_int_eq (errno, EPIPE);

  for (int i = 0; i < 500 && have < sizeof (buf); i++)
    {
      ssize_t n = read (vm, buf + have, sizeof (buf) - have);
      have += n > 0 ? (size_t) n : 0;
      event_base_loop (base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep (1000);
    }
  /* Frames: stdin data of c1, in order, then exactly one close of its stdin, last. */
  ck_assert_uint_gt (have, 0);
  {
    struct collect c = { 0 };
    struct kc_mux_decoder dec;
    kc_mux_decoder_init (&dec);
    ck_assert_int_eq (kc_mux_decoder_feed (&dec, buf, have, collect_frame, &c, NULL), 0);
    kc_mux_decoder_free (&dec);
    stdin_bytes = c.stdin_len;
    closes = c.closes;
    ck_assert_int_eq (c.bad_order, 0);
    ck_assert_int_eq (c.last_was_close, 1);
    ck_assert_int_eq (memcmp (c.stdin, data, stdin_bytes), 0);
    free (c.stdin);
  }
  ck_assert_uint_eq (stdin_bytes, (size_t) written);
  ck_assert_int_eq (closes, 1);

  shim_vmm_stdio_remove ("c1");
  shim_vmm_stdio_remove ("c1/e1");
  close (wr), close (vm), close (lfd);
  unlink (fifo), unlink (fifo2), unlink (sa.sun_path), rmdir (dir);
  event_base_free (base);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("vmm-shim-stdio");
  TCase *tc = tcase_create ("core");
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, stuck_fifo_reader_does_not_block);
  tcase_add_test (tc, output_waits_for_a_late_reader);
  tcase_add_test (tc, stdin_eof_sends_close_after_data);
  tcase_add_test (tc, close_stdin_flushes_fifo_first);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
