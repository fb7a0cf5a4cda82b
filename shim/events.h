/* Task events to containerd: Events/Forward on $TTRPC_ADDRESS, queued in order and retried,
   never blocking the caller (PROTOCOLS.md §2.8). */
#ifndef SHIM_EVENTS_H
#define SHIM_EVENTS_H

#include <stddef.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

struct shim_events;

/* ttrpc_address NULL or "" = events are dropped (logged at debug level). */
struct shim_events *shim_events_new (struct event_base *base, const char *ttrpc_address, const char *ns);
void shim_events_free (struct shim_events *ev);
/* Queues topic ("/tasks/create") with msg packed in an Any of type_url ("containerd.events.TaskCreate"). */
void shim_events_publish (struct shim_events *ev, const char *topic, const char *type_url, const ProtobufCMessage *msg);
/* Events queued or in flight. */
size_t shim_events_pending (struct shim_events *ev);

#endif
