/* The completion-queue thread: polls grpc and queues each finished operation for the libevent
   loop, woken through an eventfd, so every tag runs on the loop thread. */
#include "grpc_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

static void
push (struct kc_grpc_bridge *b, struct kc_grpc_tag *tag, int ok)
{
  uint64_t one = 1;

  tag->ok = ok;
  tag->next = NULL;
  pthread_mutex_lock (&b->lock);
  *b->tail = tag;
  b->tail = &tag->next;
  pthread_cond_broadcast (&b->cond);
  pthread_mutex_unlock (&b->lock);
  if (write (b->efd, &one, sizeof one) < 0 && errno != EAGAIN)
    kc_log_warn ("grpc bridge: wake the loop: %m");
}

static void *
cq_thread (void *arg)
{
  struct kc_grpc_bridge *b = arg;

  for (;;)
    {
      grpc_event ev = grpc_completion_queue_next (b->cq, gpr_inf_future (GPR_CLOCK_REALTIME), NULL);
      if (ev.type == GRPC_QUEUE_SHUTDOWN)
        break;
      if (ev.type == GRPC_OP_COMPLETE)
        push (b, ev.tag, ev.success);
    }
  return NULL;
}

static struct kc_grpc_tag *
pop (struct kc_grpc_bridge *b, bool wait)
{
  struct kc_grpc_tag *tag;

  pthread_mutex_lock (&b->lock);
  while (wait && b->head == NULL)
    pthread_cond_wait (&b->cond, &b->lock);
  tag = b->head;
  if (tag != NULL)
    {
      b->head = tag->next;
      if (b->head == NULL)
        b->tail = &b->head;
    }
  pthread_mutex_unlock (&b->lock);
  return tag;
}

static void
unref (struct kc_grpc_bridge *b)
{
  if (--b->refs > 0)
    return;
  pthread_mutex_destroy (&b->lock);
  pthread_cond_destroy (&b->cond);
  free (b);
}

static void
dispatch (struct kc_grpc_bridge *b)
{
  struct kc_grpc_tag *tag;

  b->refs++;
  while (!b->dead && (tag = pop (b, false)) != NULL)
    tag->fn (tag, tag->ok);
  unref (b);
}

void
kc_grpc_bridge_wait (struct kc_grpc_bridge *b)
{
  struct kc_grpc_tag *tag = pop (b, true);

  tag->fn (tag, tag->ok);
}

static void
on_wake (evutil_socket_t fd, short what, void *arg)
{
  uint64_t n;

  if (read (fd, &n, sizeof n) < 0 && errno != EAGAIN)
    kc_log_warn ("grpc bridge: read eventfd: %m");
  dispatch (arg);
}

struct kc_grpc_bridge *
kc_grpc_bridge_new (struct event_base *base, kc_error_t *err)
{
  struct kc_grpc_bridge *b = calloc (1, sizeof *b);
  int ret;

  if (b == NULL)
    {
      kc_error (err, ENOMEM, "grpc bridge");
      return NULL;
    }
  b->refs = 1;
  b->tail = &b->head;
  pthread_mutex_init (&b->lock, NULL);
  pthread_cond_init (&b->cond, NULL);
  b->efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (b->efd < 0)
    {
      kc_error (err, errno, "eventfd");
      goto fail;
    }
  b->ev = event_new (base, b->efd, EV_READ | EV_PERSIST, on_wake, b);
  if (b->ev == NULL || event_add (b->ev, NULL) < 0)
    {
      kc_error_code (err, KC_INTERNAL, "register grpc wake-up event");
      goto fail;
    }
  grpc_init ();
  b->cq = grpc_completion_queue_create_for_next (NULL);
  ret = pthread_create (&b->thread, NULL, cq_thread, b);
  if (ret != 0)
    {
      kc_error (err, ret, "start grpc completion-queue thread");
      goto fail;
    }
  b->thread_started = true;
  return b;
fail:
  kc_grpc_bridge_free (b);
  return NULL;
}

void
kc_grpc_bridge_free (struct kc_grpc_bridge *b)
{
  struct kc_grpc_tag *tag;

  if (b == NULL)
    return;
  if (b->cq != NULL)
    {
      grpc_completion_queue_shutdown (b->cq);
      if (b->thread_started)
        pthread_join (b->thread, NULL);
      while ((tag = pop (b, false)) != NULL)
        tag->fn (tag, tag->ok);
      grpc_completion_queue_destroy (b->cq);
      grpc_shutdown ();
    }
  if (b->ev != NULL)
    event_free (b->ev);
  if (b->efd >= 0)
    close (b->efd);
  b->dead = true;
  unref (b);
}
