// hn_hostsock.h: the host build's socket backend (POSIX sockets) and its tables.
#ifndef HN_HOSTSOCK_H
#define HN_HOSTSOCK_H

#include "../hn_agent.h"

extern const hn_op_fn hn_hostsock_ops[HN_OP_COUNT];
extern const hn_pair hn_hostsock_consts[];
extern const size_t hn_hostsock_nconsts;
extern const hn_pair hn_hostsock_errnos[];
extern const size_t hn_hostsock_nerrnos;
extern const char *const *const hn_hostsock_caps;
extern const size_t hn_hostsock_ncaps;
void hn_hostsock_release(void *ctx, int32_t desc);

#endif
