// hn_hostsock.h: the host build's socket backend (POSIX sockets) and its tables.
#ifndef HN_HOSTSOCK_H
#define HN_HOSTSOCK_H

#include "../hn_agent.h"

// Fill port's backend part: the op table, constants, errno table, capabilities and release.
void hn_hostsock_fill(hn_port *port);
void hn_hostsock_release(void *ctx, int32_t desc);

#endif
