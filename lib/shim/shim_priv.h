/* Internals of libkcshim shared by its files: the kc_shim state and each verb's entry point. */
#ifndef KC_SHIM_PRIV_H
#define KC_SHIM_PRIV_H

#include <stdio.h>

#include "kc_shim.h"

struct kc_shim_events;
struct kc_shim_watch;

struct kc_shim
{
  const struct kc_shim_ops *ops;
  struct kc_shim_flags flags;
  char *extra_set[KC_SHIM_MAX_EXTRA_FLAGS]; /* values replaced by kc_shim_set_flag */
  char **argv;
  char *bundle;
  void *data;
  /* serve */
  struct event_base *base;
  kc_ttrpc_server *server;
  struct kc_shim_events *events;
  struct kc_shim_watch *watches;
  struct event *exit_timer;
  int exit_ticks;
  int exiting;
};

int kc_shim_start_main (struct kc_shim *shim);
int kc_shim_delete_main (struct kc_shim *shim);
int kc_shim_serve_main (struct kc_shim *shim);
int kc_shim_info_main (struct kc_shim *shim);
void kc_shim_usage (const struct kc_shim_ops *ops, FILE *out);

/* Binds and listens on path (dir 0711, socket 0600); EADDRINUSE kept in err->errno_. */
int kc_shim_socket_listen (const char *path, kc_error_t *err);
/* Reads all of fd until EOF. */
int kc_shim_read_fd (int fd, char **out, size_t *len, kc_error_t *err);

/* Events publisher (events.c). */
struct kc_shim_events *kc_shim_events_new (struct event_base *base, const char *ttrpc_address, const char *ns);
void kc_shim_events_free (struct kc_shim_events *ev);
int kc_shim_events_publish (struct kc_shim_events *ev, const char *topic, const char *type_url,
                            const ProtobufCMessage *msg);
size_t kc_shim_events_count (struct kc_shim_events *ev);

/* Reaper (reaper.c): reaps every exited child and runs its watcher. */
void kc_shim_reap (struct kc_shim *shim);
void kc_shim_watches_clear (struct kc_shim *shim);

#endif
