// rf_sem.c: the documented socket semantics (ref/SEMANTICS.md) over a BSD socket API table.
// Every descriptor is non-blocking underneath; blocking, timeouts (ETIMEDOUT within ms of t),
// EOF that stays EOF, no short writes for sendall/write and no short reads for read/readinto are
// this layer's, so they do not depend on the stack's own option quirks.
#define _GNU_SOURCE
#include "rf_sem.h"

#include "rf_dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RF_MAXFD 1024
#define RF_LISTEN_DEFAULT 2     // MicroPython's MICROPY_PY_SOCKET_LISTEN_BACKLOG_DEFAULT
#define RF_PIECE 512            // bytes a read without a size takes from the stack at a time

typedef struct {
    int32_t timeout;    // -1 blocking, 0 non-blocking, >0 milliseconds
    uint8_t eof;        // a stream saw the peer's FIN: every later read is b''
    uint8_t err;        // the connection failed (reset, aborted): every later send and recv raise it
    uint8_t connected;  // a stream that connected or was accepted
    uint16_t held;      // bytes a read took from the stack before it raised: the next read's first
    int16_t pend;       // the error a continued read could not raise: the next receive's (rf_read_on)
    uint8_t bound;
    uint8_t dgram;
    uint8_t v6;         // AF_INET6: its addresses are (ipv6_address, port, flowinfo, scopeid)
    uint8_t fwd_udp;
    uint16_t fwd_port;  // forwarded from the host, 0: none
} rf_sock;

// An address of either family, as the stack's calls take it.
typedef union {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
} rf_sockaddr;

static const rf_api *rf;
static rf_sock rf_socks[RF_MAXFD];
// A read that raises (its timeout expired, the connection reset) after taking bytes from the stack
// gives them back here, so no byte is lost: the next read returns them first. One response line
// bounds what one read takes.
static uint8_t rf_held[RF_MAXFD][HN_MAXLINE];

static void rf_hold(int fd, const uint8_t *p, size_t n) {
    size_t have = rf_socks[fd].held;
    if (n == 0 || have + n > HN_MAXLINE) {
        return;
    }
    memmove(rf_held[fd] + n, rf_held[fd], have);    // in front of what is held already
    memcpy(rf_held[fd], p, n);
    rf_socks[fd].held = (uint16_t)(have + n);
}

static size_t rf_unhold(int fd, uint8_t *p, size_t n) {
    size_t take = rf_socks[fd].held < n ? rf_socks[fd].held : n;
    memcpy(p, rf_held[fd], take);
    memmove(rf_held[fd], rf_held[fd] + take, rf_socks[fd].held - take);
    rf_socks[fd].held = (uint16_t)(rf_socks[fd].held - take);
    return take;
}

// Microseconds: a millisecond clock would let a wait end up to 1 ms before its timeout.
static int64_t rf_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t rf_deadline(int fd) {
    return rf_now_us() + (rf_socks[fd].timeout > 0 ? (int64_t)rf_socks[fd].timeout * 1000 : 0);
}

// Wait until fd is ready for ev, within the socket's timeout. 0 when ready, else the errno:
// EAGAIN for a non-blocking socket, ETIMEDOUT when the deadline passed.
static int rf_wait(int fd, short ev, int64_t deadline) {
    int32_t t = rf_socks[fd].timeout;
    if (t == 0) {
        return EAGAIN;
    }
    for (;;) {
        int wait = -1;
        if (t > 0) {
            int64_t left = deadline - rf_now_us();
            if (left <= 0) {
                return ETIMEDOUT;
            }
            wait = (int)((left + 999) / 1000);   // rounded up: never before the deadline
        }
        struct pollfd p = {fd, ev, 0};
        int r = rf->poll(&p, 1, wait);
        if (r > 0) {
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            return errno;
        }
    }
}

// The socket's descriptor, or raises EBADF (closed socket) and returns -1.
static int rf_fd(hn_call *c) {
    int32_t fd = hn_desc(c);
    if (fd < 0 || fd >= RF_MAXFD) {
        hn_raise_errno(c, EBADF);
        return -1;
    }
    return fd;
}

// The error fd's op meets; a failed connection stays failed, as in modlwip, where a socket whose
// state is an lwIP error raises that error on every stream op (lwIP's own sockets say ENOTCONN).
static int rf_fault(int fd, int err) {
    if (err == ENOTCONN && rf_socks[fd].connected) {
        // lwIP hands the reset's error to the recv that still returned data, and drops it there;
        // afterwards its socket only says ENOTCONN. (A FIN never gets here: EOF is this layer's.)
        err = ECONNRESET;
    }
    if (rf_socks[fd].connected && (err == ECONNRESET || err == ECONNABORTED || err == EPIPE)) {
        rf_socks[fd].err = (uint8_t)err;
    }
    return err;
}

static void rf_raise(hn_call *c, int fd, int err) {
    hn_raise_errno(c, rf_fault(fd, err));
}

static int rf_adopt(int fd, int dgram, int v6, int32_t timeout) {
    if (fd >= RF_MAXFD) {
        rf->close(fd);
        errno = EMFILE;
        return -1;
    }
    rf->set_nonblocking(fd);
    rf_socks[fd] = (rf_sock){.timeout = timeout, .dgram = (uint8_t)dgram, .v6 = (uint8_t)v6};
    return fd;
}

static void rf_forget(int fd) {
    if (rf_socks[fd].fwd_port && rf->unforward) {
        rf->unforward(rf_socks[fd].fwd_udp, rf_socks[fd].v6, rf_socks[fd].fwd_port);
    }
    rf_socks[fd] = (rf_sock){.timeout = -1};
}

// (A socket bound to the stack's own loopback, ::1, is not forwarded: no host reaches it.)
static void rf_forward(int fd) {
    rf_sockaddr a;
    socklen_t n = sizeof a;
    if (!rf->forward || rf_socks[fd].fwd_port || rf->getsockname(fd, &a.sa, &n) < 0) {
        return;
    }
    int v6 = a.sa.sa_family == AF_INET6;
    if (v6 && IN6_IS_ADDR_LOOPBACK(&a.v6.sin6_addr)) {
        return;
    }
    int port = ntohs(v6 ? a.v6.sin6_port : a.v4.sin_port);
    if (port && rf->forward(rf_socks[fd].dgram, v6, port) == 0) {
        rf_socks[fd].fwd_port = (uint16_t)port;
        rf_socks[fd].fwd_udp = rf_socks[fd].dgram;
    } else if (port) {
        fprintf(stderr, "sockconf-ref: no host forward for %s%s port %d: %s\n", rf_socks[fd].dgram ? "UDP" : "TCP",
                v6 ? " (IPv6)" : "", port, strerror(errno));
    }
}

// A dot-notation IPv4 address, strictly: four decimal parts of 0-255, no leading zeros, as glibc's
// inet_pton. (lwIP's inet_pton, like
// inet_aton, also takes "1.2.3" and "0x7f.1", which the docs' "dot-notation" does not describe.)
static int rf_ipv4(const char *s, struct in_addr *out) {
    uint8_t b[4];
    for (int k = 0; k < 4; k++) {
        int v = 0, digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++) {
            v = v * 10 + (*s - '0');
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[-digits] == '0') ||
            *s != (k < 3 ? '.' : '\0')) {
            return 0;
        }
        b[k] = (uint8_t)v;
        s += k < 3;
    }
    memcpy(out, b, 4);
    return 1;
}

static int rf_hex(int ch) {
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

// A colon-notation IPv6 address, strictly, as glibc's inet_pton: groups of 1-4 hex digits, at
// most one "::" standing for one or more zero groups, a dotted quad (strict, as rf_ipv4) only as
// the last 32 bits; no zone ("%eth0": the scope is the tuple's scopeid), no other character.
// (lwIP's ip6addr_aton is laxer; the layer's answer does not depend on the stack.)
static int rf_ipv6(const char *s, struct in6_addr *out) {
    uint8_t b[16];
    int n = 0, gap = -1;
    if (s[0] == ':' && s[1] != ':') {
        return 0;      // a leading single colon
    }
    if (s[0] == ':') {
        gap = 0;
        s += 2;
        if (!*s) {
            memset(out, 0, 16);
            return 1;   // "::"
        }
    }
    for (;;) {
        const char *start = s;
        int v = 0, digits = 0;
        for (; rf_hex(*s) >= 0 && digits < 5; s++, digits++) {
            v = v << 4 | rf_hex(*s);
        }
        if (*s == '.' && n <= 12) {
            struct in_addr a4;
            if (!rf_ipv4(start, &a4)) {
                return 0;
            }
            memcpy(b + n, &a4, 4);
            n += 4;
            break;
        }
        if (digits == 0 || digits > 4 || n > 14) {
            return 0;
        }
        b[n++] = (uint8_t)(v >> 8);
        b[n++] = (uint8_t)v;
        if (!*s) {
            break;
        }
        if (*s != ':') {
            return 0;
        }
        s++;
        if (*s == ':') {
            if (gap >= 0) {
                return 0;   // a second "::"
            }
            gap = n;
            s++;
            if (!*s) {
                break;
            }
        } else if (!*s) {
            return 0;       // a trailing single colon
        }
    }
    if (gap < 0 ? n != 16 : n > 14) {
        return 0;
    }
    if (gap >= 0) {
        memmove(b + 16 - (n - gap), b + gap, (size_t)(n - gap));
        memset(b + gap, 0, (size_t)(16 - n));
    }
    memcpy(out, b, 16);
    return 1;
}

// An IPv6 address's text as glibc's inet_ntop (RFC 5952's form): lowercase, no leading zeros, the
// longest run of two or more zero groups (the first of equal ones) as "::", and the last 32 bits
// as a dotted quad after 96 zero bits (other than :: and ::1) or ::ffff:. On both stacks alike
// (lwIP's ip6addr_ntoa writes uppercase digits).
static void rf_ntop6(const uint8_t *b, char *dst) {
    int w[8], best = -1, bestlen = 0;
    for (int k = 0; k < 8; k++) {
        w[k] = b[2 * k] << 8 | b[2 * k + 1];
    }
    for (int k = 0; k < 8;) {
        int len = 0;
        while (k + len < 8 && w[k + len] == 0) {
            len++;
        }
        if (len > bestlen) {
            best = k, bestlen = len;
        }
        k += len ? len : 1;
    }
    if (bestlen < 2) {
        best = -1;
    }
    char *o = dst;
    for (int k = 0; k < 8; k++) {
        if (k == best) {
            *o++ = ':';
            if (k == 0) {
                *o++ = ':';
            }
            k += bestlen - 1;
            continue;
        }
        if (k == 6 && best == 0 && (bestlen == 6 || (bestlen == 5 && w[5] == 0xffff))) {
            sprintf(o, "%d.%d.%d.%d", b[12], b[13], b[14], b[15]);
            return;
        }
        o += sprintf(o, "%x%s", (unsigned)w[k], k < 7 ? ":" : "");
    }
    *o = '\0';
}

static int rf_str(hn_val v, char *dst, size_t cap) {
    return hn_wire_str(v, dst, cap) >= 0;
}

static int64_t rf_int_or(hn_call *c, int i, int64_t dflt) {
    int64_t v = dflt;
    if (i < hn_argc(c)) {
        hn_arg_int(c, i, &v);
    }
    return v;
}

// ---- addresses: (ipv4, port) and (ipv6, port, flowinfo, scopeid) tuples, as the docs describe
// and getaddrinfo returns ----

// The tuple for a socket of family v6 into sa (its length in *len). A peer's port is "in the range
// 1-65535"; bind also takes 0, any free port. Outside: EINVAL, like an address that is not
// numeric ("domain names are not accepted"); "flowinfo must be 0": another value is EINVAL too; a
// scopeid goes to the stack as it is (0 to 2**32-1). A tuple of the other family, or not a tuple
// of those types: TypeError.
static int rf_addr(hn_call *c, hn_val v, int v6, rf_sockaddr *sa, socklen_t *len, int64_t minport) {
    char ip[64];
    hn_val item;
    int64_t port = -1, flow = 0, scope = 0;
    int ok = hn_wire_kind(v) == HN_K_TUPLE && hn_wire_count(v) == (v6 ? 4 : 2) &&
             hn_wire_item(v, 0, &item) == HN_OK && rf_str(item, ip, sizeof ip) &&
             hn_wire_item(v, 1, &item) == HN_OK && hn_wire_int(item, &port) == HN_OK;
    if (ok && v6) {
        ok = hn_wire_item(v, 2, &item) == HN_OK && hn_wire_int(item, &flow) == HN_OK &&
             hn_wire_item(v, 3, &item) == HN_OK && hn_wire_int(item, &scope) == HN_OK;
    }
    if (!ok) {
        hn_raise_msg(c, "TypeError", v6 ? "address must be a tuple (ipv6_address, port, flowinfo, scopeid)"
                                        : "address must be a tuple (ipv4_address, port)");
        return -1;
    }
    if (port < minport || port > 65535 || flow != 0 || scope < 0 || scope > 0xffffffffLL) {
        hn_raise_errno(c, EINVAL);
        return -1;
    }
    memset(sa, 0, sizeof *sa);
    if (v6) {
        sa->v6.sin6_family = AF_INET6;
        sa->v6.sin6_port = htons((uint16_t)port);
        sa->v6.sin6_scope_id = (uint32_t)scope;
        ok = rf_ipv6(ip, &sa->v6.sin6_addr);
        *len = sizeof sa->v6;
    } else {
        sa->v4.sin_family = AF_INET;
        sa->v4.sin_port = htons((uint16_t)port);
        ok = rf_ipv4(ip, &sa->v4.sin_addr);
        *len = sizeof sa->v4;
    }
    if (!ok) {
        hn_raise_errno(c, EINVAL);     // domain names are not accepted in a tuple: resolve them first
        return -1;
    }
    return 0;
}

// (ipv4, port), or (ipv6, port, flowinfo, scopeid) as the document writes it.
static void rf_ret_addr(hn_call *c, const rf_sockaddr *sa) {
    char ip[64];
    hn_ret_open(c, '(');
    if (sa->sa.sa_family == AF_INET6) {
        rf_ntop6(sa->v6.sin6_addr.s6_addr, ip);
        hn_ret_str(c, ip, strlen(ip));
        hn_ret_int(c, ntohs(sa->v6.sin6_port));
        hn_ret_int(c, ntohl(sa->v6.sin6_flowinfo));
        hn_ret_int(c, sa->v6.sin6_scope_id);
    } else {
        rf->inet_ntop(AF_INET, &sa->v4.sin_addr, ip, sizeof ip);
        hn_ret_str(c, ip, strlen(ip));
        hn_ret_int(c, ntohs(sa->v4.sin_port));
    }
    hn_ret_close(c, ')');
}

// ---- socket, bind, listen, accept, connect, close ----

// AF_INET and AF_INET6; TCP and UDP; a proto must suit the type.
static void rf_socket(hn_call *c) {
    int64_t af = rf_int_or(c, 0, AF_INET), type = rf_int_or(c, 1, SOCK_STREAM), proto = rf_int_or(c, 2, 0);
    int err = af != AF_INET && af != AF_INET6 ? EAFNOSUPPORT
              : type != SOCK_STREAM && type != SOCK_DGRAM ? EINVAL
              : proto != 0 && proto != (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP) ? EPROTONOSUPPORT
              : 0;
    if (err) {
        hn_raise_errno(c, err);
        return;
    }
    int fd = rf->socket((int)af, (int)type, (int)proto);
    if (fd < 0 || rf_adopt(fd, type == SOCK_DGRAM, af == AF_INET6, -1) < 0) {
        hn_raise_errno(c, errno);
        return;
    }
    hn_ret_new_handle(c, fd);
}

static void rf_close(hn_call *c) {
    int32_t fd = hn_desc(c);
    if (fd == HN_CLOSED) {
        return;     // a second close returns None, as MicroPython's ports do
    }
    rf_forget(fd);
    rf->close(fd);
}

static void rf_bind(hn_call *c) {
    rf_sockaddr sa;
    socklen_t sl;
    int fd = rf_fd(c);
    if (fd < 0 || rf_addr(c, hn_arg(c, 1), rf_socks[fd].v6, &sa, &sl, 0) < 0) {
        return;
    }
    if (rf_socks[fd].bound) {
        hn_raise_errno(c, EINVAL);     // "The socket must not already be bound."
        return;
    }
    if (rf->bind(fd, &sa.sa, sl) < 0) {
        hn_raise_errno(c, errno);
        return;
    }
    rf_socks[fd].bound = 1;
    if (rf_socks[fd].dgram) {
        rf_forward(fd);
    }
}

static void rf_listen(hn_call *c) {
    int fd = rf_fd(c);
    int64_t backlog = rf_int_or(c, 1, RF_LISTEN_DEFAULT);
    if (fd < 0) {
        return;
    }
    if (rf->listen(fd, backlog < 0 ? 0 : backlog > 255 ? 255 : (int)backlog) < 0) {
        hn_raise_errno(c, errno);
        return;
    }
    rf_socks[fd].bound = 1;
    rf_forward(fd);
}

static void rf_accept(hn_call *c) {
    int fd = rf_fd(c);
    if (fd < 0) {
        return;
    }
    int64_t deadline = rf_deadline(fd);
    for (;;) {
        rf_sockaddr sa;
        socklen_t len = sizeof sa;
        int nfd = rf->accept(fd, &sa.sa, &len);
        if (nfd >= 0) {
            // the new socket has the listener's timeout, as in MicroPython's lwIP port
            if (rf_adopt(nfd, 0, rf_socks[fd].v6, rf_socks[fd].timeout) < 0) {
                hn_raise_errno(c, errno);
                return;
            }
            rf_socks[nfd].bound = 1;
            rf_socks[nfd].connected = 1;
            hn_ret_open(c, '(');
            if (hn_ret_new_handle(c, nfd) >= 0) {
                rf_ret_addr(c, &sa);
                hn_ret_close(c, ')');
            }
            return;
        }
        int err = (errno == EAGAIN || errno == EWOULDBLOCK) ? rf_wait(fd, POLLIN, deadline) : errno;
        if (err) {
            hn_raise_errno(c, err);
            return;
        }
    }
}

static void rf_connect(hn_call *c) {
    rf_sockaddr sa;
    socklen_t sl;
    int fd = rf_fd(c);
    if (fd < 0 || rf_addr(c, hn_arg(c, 1), rf_socks[fd].v6, &sa, &sl, 1) < 0) {
        return;
    }
    int64_t deadline = rf_deadline(fd);
    rf_socks[fd].connected = 1;    // a stream: from now on, a reset is what ENOTCONN means
    if (rf->connect(fd, &sa.sa, sl) == 0) {
        return;
    }
    if (errno != EINPROGRESS || rf_socks[fd].timeout == 0) {
        hn_raise_errno(c, errno);      // non-blocking: EINPROGRESS, as the docs' POSIX model has it
        return;
    }
    int err = rf_wait(fd, POLLOUT, deadline);
    if (err == 0) {
        socklen_t el = sizeof err;
        rf->getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    }
    if (err) {
        rf_raise(c, fd, err);   // refused, or reset before this could see it connected: it stays
    }
}

// The error a stream op must raise before it touches the stack, or 0: the connection's sticky
// error, or ENOTCONN on a stream that never connected (as modlwip: the kernel would say EPIPE on
// send and wait on recv, lwIP ENOTCONN on send and wait on recv).
static int rf_stream_state(int fd) {
    if (rf_socks[fd].dgram) {
        return 0;    // a datagram socket receives whether connected or not
    }
    return rf_socks[fd].err ? rf_socks[fd].err : rf_socks[fd].connected ? 0 : ENOTCONN;
}

// ---- sending ----

// Send with the socket's blocking rules; all: until every byte is out. Returns the count, -1
// after raising (nothing could be sent, or all was required and the wait failed), or -2 when a
// non-blocking stream write could send nothing.
static long rf_send_some(hn_call *c, int fd, const uint8_t *p, size_t n, int all, int stream, int64_t deadline) {
    size_t done = 0;
    // send on a datagram socket needs a connect()ed peer ("The socket must be connected to a
    // remote socket."): lwIP took it and returned the count; the kernel says EDESTADDRREQ
    int state = rf_socks[fd].dgram ? (rf_socks[fd].connected ? 0 : EDESTADDRREQ) : rf_stream_state(fd);
    if (state) {
        hn_raise_errno(c, state);
        return -1;
    }
    for (;;) {
        ssize_t r = n > done ? rf->send(fd, p + done, n - done, rf->send_flags) : 0;
        if (r >= 0) {
            done += (size_t)r;
            if (!all || done == n) {
                return (long)done;
            }
            continue;
        }
        int err = (errno == EAGAIN || errno == EWOULDBLOCK) ? rf_wait(fd, POLLOUT, deadline) : errno;
        if (err == EAGAIN && done > 0) {
            return (long)done;     // a non-blocking write returns what it wrote
        }
        if (err == EAGAIN && stream) {
            return -2;             // nothing fitted: a stream write answers None (mp_stream_write)
        }
        if (err) {
            rf_raise(c, fd, err);
            return -1;
        }
    }
}

// send, sendall, write; stream: the stream method (write), whose non-blocking call that could
// write nothing returns None rather than raising EAGAIN.
static void rf_send_op(hn_call *c, int all, int count, int stream) {
    const uint8_t *p;
    size_t n;
    int fd = rf_fd(c);
    if (fd < 0 || hn_arg_data(c, 1, &p, &n) != HN_OK) {
        return;
    }
    long r = rf_send_some(c, fd, p, n, all, stream, rf_deadline(fd));
    if (r == -2) {
        hn_ret_none(c);
    } else if (r >= 0 && count) {
        hn_ret_int(c, r);
    }
}

static void rf_send(hn_call *c) {
    rf_send_op(c, 0, 1, 0);
}

static void rf_sendall(hn_call *c) {
    rf_send_op(c, 1, 0, 0);
}

static void rf_write(hn_call *c) {
    int32_t fd = hn_desc(c);
    // "no short writes" for blocking sockets; a non-blocking one returns what it wrote
    rf_send_op(c, fd >= 0 && fd < RF_MAXFD && rf_socks[fd].timeout != 0, 1, 1);
}

static void rf_sendto(hn_call *c) {
    const uint8_t *p;
    size_t n;
    rf_sockaddr sa;
    socklen_t sl;
    int fd = rf_fd(c);
    if (fd < 0 || hn_arg_data(c, 1, &p, &n) != HN_OK || rf_addr(c, hn_arg(c, 2), rf_socks[fd].v6, &sa, &sl, 1) < 0) {
        return;
    }
    ssize_t r = rf->sendto(fd, p, n, rf->send_flags, &sa.sa, sl);
    if (r < 0) {
        hn_raise_errno(c, errno);
    } else {
        hn_ret_int(c, r);
    }
}

// ---- receiving ----

// Receive into buf: once (recv) or until n bytes or EOF (full: read), by the deadline. Returns the
// count, or -2 when a non-blocking full read found nothing (the op answers None, as streams do).
// On failure *err is the errno and the count is what it took first (the caller raises and holds
// it, or returns it). Bytes held from an earlier read come first; an error a continued read left
// (rf_read_on) comes before anything else.
static long rf_recv_some(int fd, uint8_t *buf, size_t n, int full, rf_sockaddr *from, int64_t deadline,
                         int *err) {
    *err = rf_socks[fd].pend;
    rf_socks[fd].pend = 0;
    if (*err) {
        return 0;
    }
    size_t done = from ? 0 : rf_unhold(fd, buf, n);
    if (done > 0 && !full) {
        return (long)done;
    }
    while (done < n || (n == 0 && done == 0 && !full)) {
        if (!from && rf_socks[fd].eof) {
            break;     // "b'' at EOF, every time it is called after EOF"
        }
        *err = from ? 0 : rf_stream_state(fd);
        if (*err) {
            return (long)done;
        }
        socklen_t len = sizeof *from;
        ssize_t r = from ? rf->recvfrom(fd, buf, n, 0, &from->sa, &len)
                         : rf->recv(fd, buf + done, n - done, 0);
        if (r == 0 && !from && !rf_socks[fd].dgram && n > done) {
            rf_socks[fd].eof = 1;     // a stream's FIN (an empty datagram is not an EOF)
            break;
        }
        if (r >= 0) {
            done += (size_t)r;
            if (!full || from || n == 0) {
                break;
            }
            continue;
        }
        int e = (errno == EAGAIN || errno == EWOULDBLOCK) ? rf_wait(fd, POLLIN, deadline) : errno;
        if (e == EAGAIN && full) {
            if (done == 0) {
                return -2;
            }
            break;
        }
        if (e) {
            *err = e;
            return (long)done;
        }
    }
    return (long)done;
}

// recv, read, recvfrom and the buffer ops: one body. Buffer ops (into): argument 1 is the
// buffer's length, argument 2 the method's own nbytes.
static void rf_receive(hn_call *c, int full, int with_from, int into) {
    int fd = rf_fd(c);
    int64_t size = -1;
    hn_arg_int(c, 1, &size);
    if (fd < 0) {
        return;
    }
    if (size < 0 && !full) {
        hn_raise_errno(c, EINVAL);
        return;
    }
    size_t room = hn_ret_room(c);
    size_t n = size < 0 || (size_t)size > room ? room : (size_t)size;
    size_t want = n;
    if (into && hn_argc(c) > 2) {
        int64_t nbytes = -1;
        hn_arg_int(c, 2, &nbytes);
        if (nbytes >= 0 && (size_t)nbytes < want) {
            want = (size_t)nbytes;
        }
    }
    uint8_t *buf = hn_ret_reserve(c, n);
    rf_sockaddr from;
    int err;
    memset(&from, 0, sizeof from);
    memset(buf, 0, n);
    long got = rf_recv_some(fd, buf, want, full, with_from ? &from : 0, rf_deadline(fd), &err);
    if (err) {
        if (!with_from) {
            rf_hold(fd, buf, (size_t)got);
        }
        rf_raise(c, fd, err);
        return;
    }
    if (got == -2 && !into) {
        hn_ret_none(c);
        return;
    }
    if (into) {
        // ( return value, the buffer after the call )
        hn_ret_open(c, '(');
        if (got == -2) {
            hn_ret_none(c);
        } else if (with_from) {
            hn_ret_open(c, '(');
            hn_ret_int(c, got);
            rf_ret_addr(c, &from);
            hn_ret_close(c, ')');
        } else {
            hn_ret_int(c, got);
        }
        hn_ret_data(c, 'y', buf, n);
        hn_ret_close(c, ')');
    } else if (with_from) {
        hn_ret_open(c, '(');
        hn_ret_data(c, 'b', buf, (size_t)got);
        rf_ret_addr(c, &from);
        hn_ret_close(c, ')');
    } else {
        hn_ret_data(c, 'b', buf, (size_t)got);
    }
}

// One piece of a read without a size: up to RF_PIECE bytes (line: up to and including a newline,
// one byte at a time, so that the rest stays for the next read). As rf_recv_some.
static long rf_piece(int fd, uint8_t *piece, int line, int64_t deadline, int *err) {
    if (!line) {
        return rf_recv_some(fd, piece, RF_PIECE, 1, 0, deadline, err);
    }
    long got = 0;
    while (got < RF_PIECE) {
        long r = rf_recv_some(fd, piece + got, 1, 1, 0, deadline, err);
        if (r == -2) {
            return got ? got : -2;
        }
        got += r;
        if (*err || r == 0 || piece[got - 1] == '\n') {
            break;
        }
    }
    return got;
}

// read without a size, until EOF ("If size is not given, it reads all data available from the
// socket until EOF"), and readline without a size, a whole line of any length: the bytes go out
// as they come, continued over `+` lines (PROTOCOL.md section 4). One timeout covers it all;
// non-blocking, it returns what is there (None if nothing is). A failure before a `+` line went
// out raises, and every byte taken is held for the next read, as for a sized read; after one, what
// was sent cannot be taken back: the bytes are the result, and the next receive raises the error.
static void rf_read_on(hn_call *c, int fd, int line) {
    static uint8_t taken[HN_MAXLINE];   // what went into the response while the op could still raise
    uint8_t piece[RF_PIECE];
    size_t ntaken = 0;
    int64_t deadline = rf_deadline(fd);
    int started = 0;
    for (;;) {
        int err;
        long got = rf_piece(fd, piece, line, deadline, &err);
        if (got == -2) {
            if (!started) {
                hn_ret_none(c);     // non-blocking, nothing there: None, as a sized read
                return;
            }
            break;
        }
        if (err && !hn_ret_sent(c)) {
            rf_hold(fd, piece, (size_t)got);
            rf_hold(fd, taken, ntaken);     // in front of it
            rf_raise(c, fd, err);
            return;
        }
        if (!started) {
            hn_ret_begin(c, 'b');
            started = 1;
        }
        hn_ret_more(c, piece, (size_t)got);
        // (before the first `+` line the response holds less than a line of bytes: they fit)
        if (!hn_ret_sent(c) && ntaken + (size_t)got <= sizeof taken) {
            memcpy(taken + ntaken, piece, (size_t)got);
            ntaken += (size_t)got;
        }
        if (err) {
            rf_socks[fd].pend = (int16_t)rf_fault(fd, err);
            break;
        }
        if (got < RF_PIECE || (line && piece[got - 1] == '\n')) {
            break;      // EOF, no more there (non-blocking), or the end of the line
        }
    }
    if (!started) {
        hn_ret_begin(c, 'b');
    }
    hn_ret_end(c);
}

static void rf_recv(hn_call *c) {
    rf_receive(c, 0, 0, 0);
}

static void rf_recvfrom(hn_call *c) {
    rf_receive(c, 0, 1, 0);
}

static void rf_read(hn_call *c) {
    if (hn_argc(c) == 1) {
        int fd = rf_fd(c);
        if (fd >= 0) {
            rf_read_on(c, fd, 0);
        }
        return;
    }
    rf_receive(c, 1, 0, 0);
}

static void rf_readinto(hn_call *c) {
    rf_receive(c, 1, 0, 1);
}

static void rf_recv_into(hn_call *c) {
    rf_receive(c, 0, 0, 1);
}

static void rf_recvfrom_into(hn_call *c) {
    rf_receive(c, 0, 1, 1);
}

// One timeout for the whole line; a line cut short by a raise is held for the next read; a
// non-blocking readline with nothing there answers None, as MicroPython's stream readline.
static void rf_readline(hn_call *c) {
    int fd = rf_fd(c);
    if (fd < 0) {
        return;
    }
    if (hn_argc(c) == 1) {
        rf_read_on(c, fd, 1);
        return;
    }
    int64_t size = -1;
    hn_arg_int(c, 1, &size);
    size_t room = hn_ret_room(c);
    size_t n = size < 0 || (size_t)size > room ? room : (size_t)size;
    uint8_t *buf = hn_ret_reserve(c, n);
    int64_t deadline = rf_deadline(fd);
    size_t done = 0;
    while (done < n) {
        int err;
        long r = rf_recv_some(fd, buf + done, 1, 1, 0, deadline, &err);
        if (err) {
            rf_hold(fd, buf, done + (size_t)r);
            rf_raise(c, fd, err);
            return;
        }
        if (r == -2 && done == 0) {
            hn_ret_none(c);
            return;
        }
        if (r <= 0) {
            break;
        }
        if (buf[done++] == '\n') {
            break;     // "Read a line, ending in a newline character."
        }
    }
    hn_ret_data(c, 'b', buf, done);
}

// ---- options and modes ----

static void rf_setsockopt(hn_call *c) {
    int fd = rf_fd(c);
    int64_t level = 0, name = 0, iv = 0;
    hn_arg_int(c, 1, &level);
    hn_arg_int(c, 2, &name);
    if (fd < 0) {
        return;
    }
    hn_val v = hn_arg(c, 3);
    hn_kind k = hn_wire_kind(v);
    int r;
    if (k == HN_K_INT || k == HN_K_TRUE || k == HN_K_FALSE) {
        if (k == HN_K_INT) {
            hn_wire_int(v, &iv);
        }
        int x = k == HN_K_TRUE ? 1 : (int)iv;
        r = rf->setsockopt(fd, (int)level, (int)name, &x, sizeof x);
    } else if (k == HN_K_BYTES || k == HN_K_BYTEARRAY) {
        const uint8_t *p;
        size_t n;
        if (hn_arg_data(c, 3, &p, &n) != HN_OK) {
            return;
        }
        r = rf->setsockopt(fd, (int)level, (int)name, p, (socklen_t)n);
    } else {
        hn_raise_msg(c, "TypeError", "value must be an int or a bytes-like object");
        return;
    }
    if (r < 0) {
        hn_raise_errno(c, errno);
    }
}

static void rf_settimeout(hn_call *c) {
    int fd = rf_fd(c);
    hn_val v = hn_arg(c, 1);
    double t = 0;
    if (fd < 0) {
        return;
    }
    if (hn_wire_kind(v) == HN_K_NONE) {
        rf_socks[fd].timeout = -1;
        return;
    }
    hn_wire_float(v, &t);
    if (!(t >= 0)) {
        hn_raise_msg(c, "ValueError", "Timeout value must be non-negative");
        return;
    }
    double ms = t * 1000.0;
    // round up: a positive timeout never becomes 0 (non-blocking)
    rf_socks[fd].timeout = ms == 0 ? 0 : ms > 2e9 ? 2000000000 : (int32_t)ms + ((double)(int32_t)ms < ms);
}

// Python's truth of a value: None, False, zero, and empty str, bytes, tuples and lists are false.
static int rf_truthy(hn_val v) {
    double d;
    switch (hn_wire_kind(v)) {
    case HN_K_NONE:
    case HN_K_FALSE:
        return 0;
    case HN_K_INT:
    case HN_K_FLOAT:
        return hn_wire_float(v, &d) != HN_OK || d != 0.0;
    case HN_K_BYTES:
    case HN_K_BYTEARRAY:
    case HN_K_STR:
        return hn_wire_toklen(v.p, v.end) > 1;      // the type letter alone is empty
    case HN_K_TUPLE:
    case HN_K_LIST:
        return hn_wire_count(v) != 0;
    default:
        return 1;
    }
}

// "if flag is false, the socket is set to non-blocking, else to blocking mode": any false value.
static void rf_setblocking(hn_call *c) {
    int fd = rf_fd(c);
    if (fd < 0) {
        return;
    }
    rf_socks[fd].timeout = rf_truthy(hn_arg(c, 1)) ? -1 : 0;
}

static void rf_makefile(hn_call *c) {
    if (rf_fd(c) >= 0) {
        hn_ret_handle(c, hn_handle_of(c));   // the socket itself: makefile is a no-op
    }
}

static void rf_fileno(hn_call *c) {
    int fd = rf_fd(c);
    if (fd >= 0) {
        hn_ret_int(c, fd);
    }
}

// ---- addresses and names ----

static void rf_getaddrinfo(hn_call *c) {
    char host[256], portstr[16];
    int64_t port;
    if (!rf_str(hn_arg(c, 0), host, sizeof host)) {
        hn_raise_msg(c, "TypeError", "host must be a str");
        return;
    }
    hn_val pv = hn_arg(c, 1);
    if (hn_wire_int(pv, &port) != HN_OK) {
        char *end;
        if (!rf_str(pv, portstr, sizeof portstr)) {
            hn_raise_msg(c, "TypeError", "port must be an int or a str");
            return;
        }
        port = strtol(portstr, &end, 10);
        if (!portstr[0] || *end) {
            hn_raise_errno(c, EAI_SERVICE);   // no service names: negative, getaddrinfo's own namespace
            return;
        }
    }
    int64_t af = rf_int_or(c, 2, 0), type = rf_int_or(c, 3, 0), proto = rf_int_or(c, 4, 0);
    if (port < 0 || port > 65535) {
        hn_raise_errno(c, EAI_SERVICE);
        return;
    }
    if (af != 0 && af != AF_INET && af != AF_INET6) {
        hn_raise_errno(c, EAI_FAMILY);
        return;
    }
    if (type != 0 && type != SOCK_STREAM && type != SOCK_DGRAM) {
        hn_raise_errno(c, EAI_SOCKTYPE);
        return;
    }
    if (proto != 0 && proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
        hn_raise_errno(c, EAI_SERVICE);       // as glibc: no such protocol for any type
        return;
    }
    if (type == 0) {
        // "if type is not specified, an address for SOCK_STREAM" (unless proto asks for UDP)
        type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
    }
    if (proto != 0 && proto != (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP)) {
        hn_raise_errno(c, EAI_SOCKTYPE);      // a type and a protocol that do not go together
        return;
    }
    // A numeric address of the other family than af asked for: EAI_ADDRFAMILY, as glibc. A name:
    // af AF_INET asks the A record, AF_INET6 the AAAA record, 0 the A record, else the AAAA one.
    rf_sockaddr sa;
    memset(&sa, 0, sizeof sa);
    int v6;
    if (rf_ipv4(host, &sa.v4.sin_addr)) {
        v6 = 0;
    } else if (rf_ipv6(host, &sa.v6.sin6_addr)) {
        v6 = 1;
    } else {
        v6 = af == AF_INET6;
        int r = rf_dns_resolve(rf, host, v6, v6 ? (void *)&sa.v6.sin6_addr : (void *)&sa.v4.sin_addr);
        if (r == EAI_NODATA && af == 0) {
            v6 = 1;
            r = rf_dns_resolve(rf, host, 1, &sa.v6.sin6_addr);
        }
        if (r != 0) {
            hn_raise_errno(c, r);
            return;
        }
    }
    if (af != 0 && af != (v6 ? AF_INET6 : AF_INET)) {
        hn_raise_errno(c, EAI_ADDRFAMILY);
        return;
    }
    if (v6) {
        sa.v6.sin6_family = AF_INET6;
        sa.v6.sin6_port = htons((uint16_t)port);
    } else {
        sa.v4.sin_family = AF_INET;
        sa.v4.sin_port = htons((uint16_t)port);
    }
    hn_ret_open(c, '[');
    hn_ret_open(c, '(');
    hn_ret_int(c, v6 ? AF_INET6 : AF_INET);
    hn_ret_int(c, type);
    hn_ret_int(c, proto ? proto : type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
    hn_ret_str(c, "", 0);
    rf_ret_addr(c, &sa);
    hn_ret_close(c, ')');
    hn_ret_close(c, ']');
}

// AF_INET: a strict dotted quad (rf_ipv4); AF_INET6: strict colon notation (rf_ipv6). Another
// family: EAFNOSUPPORT; text that is not such an address: EINVAL.
static void rf_inet_pton(hn_call *c) {
    int64_t af = 0;
    char txt[64];
    uint8_t bin[16];
    hn_arg_int(c, 0, &af);
    if (af != AF_INET && af != AF_INET6) {
        hn_raise_errno(c, EAFNOSUPPORT);
        return;
    }
    if (!rf_str(hn_arg(c, 1), txt, sizeof txt) ||
        !(af == AF_INET ? rf_ipv4(txt, (struct in_addr *)bin) : rf_ipv6(txt, (struct in6_addr *)bin))) {
        hn_raise_errno(c, EINVAL);
        return;
    }
    hn_ret_data(c, 'b', bin, af == AF_INET ? 4 : 16);
}

static void rf_inet_ntop(hn_call *c) {
    int64_t af = 0;
    const uint8_t *p;
    size_t n;
    char txt[64];
    hn_arg_int(c, 0, &af);
    if (hn_arg_data(c, 1, &p, &n) != HN_OK) {
        return;
    }
    if (af != AF_INET && af != AF_INET6) {
        hn_raise_errno(c, EAFNOSUPPORT);
        return;
    }
    if (n != (af == AF_INET ? 4u : 16u)) {
        hn_raise_errno(c, EINVAL);     // 4 bytes for AF_INET, 16 for AF_INET6, nothing else
        return;
    }
    if (af == AF_INET6) {
        rf_ntop6(p, txt);
    } else if (!rf->inet_ntop((int)af, p, txt, sizeof txt)) {
        hn_raise_errno(c, EINVAL);
        return;
    }
    hn_ret_str(c, txt, strlen(txt));
}

static void rf_poll(hn_call *c) {
    struct pollfd fds[HN_MAXHANDLES];
    int handles[HN_MAXHANDLES];
    hn_val list = hn_arg(c, 0);
    int n = hn_wire_count(list);
    int64_t timeout = -1;
    hn_arg_int(c, 1, &timeout);
    if (n < 0 || n > HN_MAXHANDLES) {
        hn_raise_errno(c, EINVAL);
        return;
    }
    for (int k = 0; k < n; k++) {
        hn_val entry, hv, mv;
        int64_t mask = 0;
        int32_t desc;
        if (hn_wire_item(list, k, &entry) != HN_OK || hn_wire_item(entry, 0, &hv) != HN_OK ||
            hn_wire_item(entry, 1, &mv) != HN_OK || hn_wire_int(mv, &mask) != HN_OK ||
            hn_val_handle(c, hv, &handles[k], &desc) != HN_OK) {
            hn_fail(c, "type");
            return;
        }
        fds[k] = (struct pollfd){desc, (short)mask, 0};
        if (desc >= 0 && desc < RF_MAXFD && (rf_socks[desc].held || rf_socks[desc].pend) && (mask & POLLIN)) {
            timeout = 0;    // held bytes, or an error a continued read left, are ready now
        }
    }
    int r = rf->poll(fds, (nfds_t)n, timeout < 0 ? -1 : timeout > 2000000000 ? 2000000000 : (int)timeout);
    for (int k = 0; r >= 0 && k < n; k++) {
        int fd = fds[k].fd;
        if (fd >= 0 && fd < RF_MAXFD && (rf_socks[fd].held || rf_socks[fd].pend) && (fds[k].events & POLLIN)) {
            fds[k].revents |= POLLIN;
        }
    }
    if (r < 0) {
        hn_raise_errno(c, errno);
        return;
    }
    hn_ret_open(c, '[');
    for (int k = 0; k < n; k++) {
        if (fds[k].revents) {
            hn_ret_open(c, '(');
            hn_ret_handle(c, handles[k]);
            hn_ret_int(c, fds[k].revents);
            hn_ret_close(c, ')');
        }
    }
    hn_ret_close(c, ']');
}

// ---- tables ----

static const hn_op_fn rf_ops[HN_OP_COUNT] = {
    [HN_OP_SOCKET] = rf_socket,
    [HN_OP_CLOSE] = rf_close,
    [HN_OP_BIND] = rf_bind,
    [HN_OP_LISTEN] = rf_listen,
    [HN_OP_ACCEPT] = rf_accept,
    [HN_OP_CONNECT] = rf_connect,
    [HN_OP_SEND] = rf_send,
    [HN_OP_SENDALL] = rf_sendall,
    [HN_OP_RECV] = rf_recv,
    [HN_OP_SENDTO] = rf_sendto,
    [HN_OP_RECVFROM] = rf_recvfrom,
    [HN_OP_SETSOCKOPT] = rf_setsockopt,
    [HN_OP_SETTIMEOUT] = rf_settimeout,
    [HN_OP_SETBLOCKING] = rf_setblocking,
    [HN_OP_MAKEFILE] = rf_makefile,
    [HN_OP_READ] = rf_read,
    [HN_OP_READINTO] = rf_readinto,
    [HN_OP_READLINE] = rf_readline,
    [HN_OP_WRITE] = rf_write,
    [HN_OP_FILENO] = rf_fileno,
    [HN_OP_GETADDRINFO] = rf_getaddrinfo,
    [HN_OP_INET_PTON] = rf_inet_pton,
    [HN_OP_INET_NTOP] = rf_inet_ntop,
    [HN_OP_POLL] = rf_poll,
    [HN_OP_RECV_INTO] = rf_recv_into,
    [HN_OP_RECVFROM_INTO] = rf_recvfrom_into,
};

static void rf_release(void *ctx, int32_t desc) {
    (void)ctx;
    if (desc >= 0 && desc < RF_MAXFD) {
        rf_forget(desc);
        rf->close(desc);
    }
}

#define RF_C(name) {#name, name}
static const hn_pair rf_consts[] = {
    RF_C(AF_INET), RF_C(AF_INET6), RF_C(SOCK_STREAM), RF_C(SOCK_DGRAM),
    RF_C(IPPROTO_IP), RF_C(IPPROTO_TCP), RF_C(IPPROTO_UDP), RF_C(SOL_SOCKET), RF_C(SO_REUSEADDR),
    RF_C(SO_KEEPALIVE), RF_C(SO_BROADCAST), RF_C(SO_RCVTIMEO), RF_C(SO_SNDTIMEO), RF_C(TCP_NODELAY),
    RF_C(MSG_PEEK), RF_C(MSG_DONTWAIT), RF_C(POLLIN), RF_C(POLLOUT), RF_C(POLLERR), RF_C(POLLHUP),
};

static const hn_pair rf_errnos[] = {
    RF_C(EPERM), RF_C(ENOENT), RF_C(EINTR), RF_C(EIO), RF_C(EBADF), RF_C(EAGAIN), RF_C(ENOMEM),
    RF_C(EACCES), RF_C(EFAULT), RF_C(EBUSY), RF_C(EEXIST), RF_C(EINVAL), RF_C(ENFILE), RF_C(EMFILE),
    RF_C(ENOSPC), RF_C(EPIPE), RF_C(ERANGE), RF_C(ENOTSOCK), RF_C(EDESTADDRREQ), RF_C(EMSGSIZE),
    RF_C(EPROTOTYPE), RF_C(ENOPROTOOPT), RF_C(EPROTONOSUPPORT), RF_C(EOPNOTSUPP),
    RF_C(EAFNOSUPPORT), RF_C(EADDRINUSE), RF_C(EADDRNOTAVAIL), RF_C(ENETDOWN), RF_C(ENETUNREACH),
    RF_C(ECONNABORTED), RF_C(ECONNRESET), RF_C(ENOBUFS), RF_C(EISCONN), RF_C(ENOTCONN),
    RF_C(ETIMEDOUT), RF_C(ECONNREFUSED), RF_C(EHOSTUNREACH), RF_C(EALREADY), RF_C(EINPROGRESS),
};

// suite-dns: names are resolved by the suite's DNS peer ($SOCKCONF_DNS_PORT), never the machine's;
// AF_INET6: IPv6 sockets, and on the stack's own ::1 (lwIP's loopback; the kernel's lo)
static const char *const rf_caps[] = {"tuple-address", "settimeout", "suite-dns", "AF_INET6"};

#define RF_COUNT(a) (sizeof(a) / sizeof((a)[0]))

void rf_sem_fill(hn_port *port, const rf_api *api) {
    rf = api;
    for (int fd = 0; fd < RF_MAXFD; fd++) {
        rf_socks[fd].timeout = -1;
    }
    port->consts = rf_consts;
    port->nconsts = RF_COUNT(rf_consts);
    port->errnos = rf_errnos;
    port->nerrnos = RF_COUNT(rf_errnos);
    port->caps = rf_caps;
    port->ncaps = RF_COUNT(rf_caps);
    port->ops = rf_ops;
    port->release = rf_release;
}
