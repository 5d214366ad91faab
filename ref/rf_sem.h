// rf_sem.h: the documented socket semantics (ref/SEMANTICS.md) as a harness backend, over a BSD
// socket API given as a table: lwIP's (the oracle, target `ref`) or the host kernel's (target
// `harness`). The two targets differ only in the TCP/IP stack under this layer.
#ifndef RF_SEM_H
#define RF_SEM_H

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../harness/hn_agent.h"

typedef struct rf_api {
    int (*socket)(int domain, int type, int protocol);
    int (*bind)(int s, const struct sockaddr *a, socklen_t n);
    int (*listen)(int s, int backlog);
    int (*accept)(int s, struct sockaddr *a, socklen_t *n);
    int (*connect)(int s, const struct sockaddr *a, socklen_t n);
    ssize_t (*send)(int s, const void *p, size_t n, int flags);
    ssize_t (*recv)(int s, void *p, size_t n, int flags);
    ssize_t (*sendto)(int s, const void *p, size_t n, int flags, const struct sockaddr *a, socklen_t an);
    ssize_t (*recvfrom)(int s, void *p, size_t n, int flags, struct sockaddr *a, socklen_t *an);
    int (*setsockopt)(int s, int level, int name, const void *v, socklen_t n);
    int (*getsockopt)(int s, int level, int name, void *v, socklen_t *n);
    int (*getsockname)(int s, struct sockaddr *a, socklen_t *n);
    int (*close)(int s);
    int (*set_nonblocking)(int s);
    int (*poll)(struct pollfd *fds, nfds_t n, int timeout_ms);
    int (*inet_pton)(int af, const char *src, void *dst);
    const char *(*inet_ntop)(int af, const void *src, char *dst, socklen_t n);
    const char *dns_server;   // where this stack reaches the suite's DNS peer (see rf_dns.h)
    // Make a listening or bound port reachable from the host (NULL: it already is); v6: an
    // AF_INET6 socket's, from the host's ::1.
    int (*forward)(int udp, int v6, int port);
    void (*unforward)(int udp, int v6, int port);
    int send_flags;     // MSG_NOSIGNAL where the stack has it
} rf_api;

// Fill port's backend part for api: op table, constants, errno table, capabilities, release.
void rf_sem_fill(hn_port *port, const rf_api *api);

#endif
