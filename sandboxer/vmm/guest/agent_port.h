/* The "agent" port: relays the host's ttrpc byte stream to our ttrpc server through a socketpair,
   so that a host reconnect (seen as POLLHUP, or as a request whose stream id does not increase)
   starts a fresh server connection: stream ids may restart at 1. */
#ifndef KC_VMM_AGENT_PORT_H
#define KC_VMM_AGENT_PORT_H

#include <stdint.h>

#include <event2/event.h>

#include "error.h"
#include "ttrpc/ttrpc.h"

typedef struct kc_agent_port kc_agent_port;

kc_agent_port *kc_agent_port_open (struct event_base *base, const char *dev_path, kc_ttrpc_server *srv,
                                   kc_error_t *err);
void kc_agent_port_free (kc_agent_port *a);

#endif
