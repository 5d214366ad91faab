// rf_peer.c: host peers for the ref layer's C tests (rf_peer.h): POSIX sockets on 127.0.0.1 or ::1.
#define _GNU_SOURCE
#include "rf_peer.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RF_PEER_DNS_MAX 512

static int64_t rf_peer_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Wait until fd is readable (fd < 0: only for the stop byte), at most until `until`.
// 1: fd is readable; 0: stopped or the deadline passed. The stop byte is never read, so every
// later wait sees it too.
static int rf_peer_wait(rf_peer *p, int fd, int64_t until) {
    struct pollfd w[2] = {{p->stop[0], POLLIN, 0}, {fd, POLLIN, 0}};
    nfds_t n = fd >= 0 ? 2 : 1;
    for (;;) {
        int64_t left = until - rf_peer_ms();
        if (left <= 0) {
            return 0;
        }
        if (poll(w, n, (int)left) <= 0) {
            continue;   // EINTR or the deadline: the loop's check decides
        }
        if (n == 2 && w[1].revents) {
            return 1;   // before the stop byte: a connection queued just before the stop is still taken
        }
        if (w[0].revents) {
            return 0;
        }
    }
}

// ---- TCP peers ----

static void rf_peer_send_all(int conn, const uint8_t *p, size_t n, int64_t until) {
    size_t done = 0;
    while (done < n && rf_peer_ms() < until) {
        ssize_t r = send(conn, p + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r > 0) {
            done += (size_t)r;
        } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return;
        } else {
            struct pollfd w = {conn, POLLOUT, 0};
            poll(&w, 1, 10);
        }
    }
}

static void rf_peer_drain(rf_peer *p, int conn) {
    uint8_t spill[16384];   // bytes past cap: counted, not kept
    int64_t until = rf_peer_ms() + RF_PEER_DRAIN_MS;
    while (rf_peer_ms() < until) {
        struct pollfd w = {conn, POLLIN, 0};
        if (poll(&w, 1, 50) <= 0) {
            continue;
        }
        size_t room = p->got < p->cap ? p->cap - p->got : 0;
        ssize_t r = room ? recv(conn, p->buf + p->got, room, MSG_DONTWAIT)
                         : recv(conn, spill, sizeof spill, MSG_DONTWAIT);
        if (r == 0) {
            p->eof = 1;
            return;
        }
        if (r > 0) {
            p->got += (size_t)r;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return;     // a reset: eof stays 0 and the test says so
        }
    }
}

static void *rf_peer_tcp(void *arg) {
    rf_peer *p = arg;
    int64_t until = rf_peer_ms() + RF_PEER_LIFE_MS;
    int conn = -1;
    while (conn < 0 && rf_peer_wait(p, p->fd, until)) {
        conn = accept(p->fd, NULL, NULL);
    }
    if (conn >= 0) {
        p->accepted = 1;
        if (p->kind == RF_PEER_SOURCE) {
            rf_peer_send_all(conn, p->data, p->len, until);
            if (!p->no_fin) {
                shutdown(conn, SHUT_WR);
            }
        }
        rf_peer_wait(p, -1, until);     // hold the connection until stopped
        if (p->kind == RF_PEER_SINK) {
            rf_peer_drain(p, conn);
        }
        close(conn);
    }
    return NULL;
}

// ---- DNS ----

// The answer to query q (n bytes) in r; its length, or 0 for no answer (not a query we can parse).
static size_t rf_peer_dns_answer(rf_peer *p, const uint8_t *q, size_t n, uint8_t *r) {
    char name[256];
    size_t at = 12, nl = 0;
    if (n < 17 || (q[2] & 0x80)) {
        return 0;
    }
    while (at < n && q[at]) {
        size_t l = q[at];
        if (l > 63 || at + 1 + l >= n || nl + l + 1 >= sizeof name) {
            return 0;
        }
        for (size_t k = 0; k < l; k++) {
            name[nl++] = (char)tolower(q[at + 1 + k]);
        }
        name[nl++] = '.';
        at += 1 + l;
    }
    if (at + 5 > n || nl == 0) {
        return 0;
    }
    name[--nl] = 0;
    at += 5;    // the root label, QTYPE, QCLASS
    int type = q[at - 4] << 8 | q[at - 3];
    int known4 = strcmp(name, p->name) == 0, known6 = p->name6 && strcmp(name, p->name6) == 0;
    int known = known4 || known6;
    int invalid = nl >= 8 && strcmp(name + nl - 8, ".invalid") == 0;
    p->asked_name += known;
    p->asked_invalid += invalid;
    int rcode = known ? 0 : invalid ? 3 : 2;
    int answers = (known4 && type == 1) || (known6 && type == 28);
    memcpy(r, q, at);
    r[2] = 0x81;                    // QR, RD
    r[3] = (uint8_t)(0x80 | rcode); // RA
    static const uint8_t counts[] = {0, 1, 0, 0, 0, 0, 0, 0};  // QDCOUNT 1; ANCOUNT set below
    memcpy(r + 4, counts, sizeof counts);
    r[7] = (uint8_t)answers;
    if (answers) {
        uint8_t rr[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};  // the name, A, IN, TTL 60, length
        size_t len = known6 ? 16 : 4;
        rr[3] = (uint8_t)type;
        rr[11] = (uint8_t)len;
        memcpy(r + at, rr, sizeof rr);
        memcpy(r + at + sizeof rr, known6 ? p->addr6 : p->addr, len);
        at += sizeof rr + len;
    }
    return at;
}

static void *rf_peer_dns_loop(void *arg) {
    rf_peer *p = arg;
    uint8_t q[RF_PEER_DNS_MAX], r[RF_PEER_DNS_MAX + 16];
    int64_t until = rf_peer_ms() + RF_PEER_LIFE_MS;
    while (rf_peer_wait(p, p->fd, until)) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(p->fd, q, sizeof q, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        size_t rl = n > 0 ? rf_peer_dns_answer(p, q, (size_t)n, r) : 0;
        if (rl) {
            sendto(p->fd, r, rl, 0, (struct sockaddr *)&from, fl);
        }
    }
    return NULL;
}

// ---- starting and stopping ----

static int rf_peer_fail(rf_peer *p, const char *what) {
    fprintf(stderr, "rf_peer: %s: %s\n", what, strerror(errno));
    if (p->fd >= 0) {
        close(p->fd);
    }
    if (p->stop[0] >= 0) {
        close(p->stop[0]);
        close(p->stop[1]);
    }
    p->fd = p->stop[0] = p->stop[1] = -1;
    return -1;
}

// A socket of type bound to 127.0.0.1:0 or [::1]:0 (listening if TCP), its port and the stop
// pipe; then the thread.
static int rf_peer_start(rf_peer *p, rf_peer_kind kind, int rcvbuf) {
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } a;
    socklen_t al = p->v6 ? sizeof a.v6 : sizeof a.v4;
    int type = kind == RF_PEER_DNS ? SOCK_DGRAM : SOCK_STREAM;
    p->kind = kind;
    p->accepted = p->eof = p->asked_name = p->asked_invalid = 0;
    p->got = 0;
    p->stop[0] = p->stop[1] = -1;
    p->fd = socket(p->v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        return rf_peer_fail(p, "socket");
    }
    // before listen: an accepted socket inherits it, and the window it advertises starts small
    if (rcvbuf && setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
        return rf_peer_fail(p, "SO_RCVBUF");
    }
    memset(&a, 0, sizeof a);
    if (p->v6) {
        a.v6.sin6_family = AF_INET6;
        a.v6.sin6_addr = in6addr_loopback;           // loopback only: nothing else can reach a peer
    } else {
        a.v4.sin_family = AF_INET;
        a.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    if (bind(p->fd, &a.sa, al) < 0 || getsockname(p->fd, &a.sa, &al) < 0) {
        return rf_peer_fail(p, "bind");
    }
    if (type == SOCK_STREAM && listen(p->fd, 4) < 0) {
        return rf_peer_fail(p, "listen");
    }
    fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
    p->port = ntohs(p->v6 ? a.v6.sin6_port : a.v4.sin_port);
    if (pipe2(p->stop, O_CLOEXEC) < 0) {
        return rf_peer_fail(p, "pipe");
    }
    errno = pthread_create(&p->thread, NULL, kind == RF_PEER_DNS ? rf_peer_dns_loop : rf_peer_tcp, p);
    return errno ? rf_peer_fail(p, "pthread_create") : 0;
}

// A source on 127.0.0.1 or ::1 (v6) that sends data, then ends the stream unless no_fin.
static int rf_peer_source_on(rf_peer *p, int v6, const void *data, size_t n, int no_fin) {
    p->v6 = v6;
    p->data = data;
    p->len = n;
    p->no_fin = no_fin;
    return rf_peer_start(p, RF_PEER_SOURCE, 0);
}

int rf_peer_source(rf_peer *p, const void *data, size_t n) {
    return rf_peer_source_on(p, 0, data, n, 0);
}

int rf_peer_source6(rf_peer *p, const void *data, size_t n) {
    return rf_peer_source_on(p, 1, data, n, 0);
}

int rf_peer_source_open(rf_peer *p, const void *data, size_t n) {
    return rf_peer_source_on(p, 0, data, n, 1);
}

int rf_peer_sink(rf_peer *p, uint8_t *buf, size_t cap) {
    p->v6 = 0;
    p->buf = buf;
    p->cap = cap;
    return rf_peer_start(p, RF_PEER_SINK, RF_PEER_SINK_RCVBUF);
}

int rf_peer_silent(rf_peer *p) {
    p->v6 = 0;
    return rf_peer_start(p, RF_PEER_SILENT, 0);
}

int rf_peer_dns(rf_peer *p, const char *name, const char *ipv4, const char *name6, const char *ipv6) {
    p->v6 = 0;
    p->name = name;
    p->name6 = name6;
    if (inet_pton(AF_INET, ipv4, p->addr) != 1 || (name6 && inet_pton(AF_INET6, ipv6, p->addr6) != 1)) {
        p->fd = p->stop[0] = -1;
        errno = EINVAL;
        return rf_peer_fail(p, ipv4);
    }
    return rf_peer_start(p, RF_PEER_DNS, 0);
}

void rf_peer_stop(rf_peer *p) {
    if (p->fd < 0) {
        return;
    }
    if (write(p->stop[1], "x", 1) != 1) {
        // cannot happen with an empty pipe; the thread still ends at RF_PEER_LIFE_MS
    }
    pthread_join(p->thread, NULL);
    close(p->fd);
    close(p->stop[0]);
    close(p->stop[1]);
    p->fd = p->stop[0] = p->stop[1] = -1;
}

int rf_peer_closed_port(void) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return -1;
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &al) == 0;
    close(s);   // the port is free again, and nobody listens on it
    return ok ? ntohs(a.sin_port) : -1;
}
