/* In-process fakes for the shim tests: a sandboxer (gRPC Controller), a tasker (ttrpc Task) and
   containerd's Events service, all on one libevent loop in a background thread. */
#ifndef SHIM_TEST_FAKES_H
#define SHIM_TEST_FAKES_H

#include <pthread.h>

#define FAKE_MAX_EVENTS 32

struct fakes
{
  pthread_mutex_t lock;
  char dir[64];
  char sandboxer_sock[128];
  char tasker_sock[128];
  char events_sock[128];
  /* what the fake sandboxer saw */
  int created;
  char create_netns[128];
  char create_ns[64];
  char create_options_type[128];
  int stopped;
  int shutdown;
  /* what the fake tasker saw */
  char task_calls[512];
  /* events containerd would have received */
  int n_events;
  char topics[FAKE_MAX_EVENTS][32];
  char event_types[FAKE_MAX_EVENTS][64];
  char event_ns[FAKE_MAX_EVENTS][32];
};

extern struct fakes fk;

void fakes_start (void);
void fakes_stop (void);
int fakes_event_count (void);

#endif
