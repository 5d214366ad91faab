// hn_hostsock.c: a socket backend on the host's POSIX sockets, for the host build of the harness
// (a stand-in target until the lwIP oracle exists, and a reference for what a backend does).
// Every descriptor is non-blocking; blocking and timeouts are done here with poll().
#define _GNU_SOURCE
#include "hn_hostsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HS_MAXFD 1024
#define HS_LISTEN_DEFAULT 2

// Per descriptor: -1 blocking, 0 non-blocking, >0 timeout in ms.
static int32_t hs_timeout[HS_MAXFD];

static int64_t hs_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int hs_adopt(int fd) {
    if (fd >= HS_MAXFD) {
        close(fd);
        errno = EMFILE;
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    hs_timeout[fd] = -1;
    return fd;
}

// Wait until fd is ready for ev within the socket's timeout, or the deadline passed.
// Returns 0 when ready, or an errno value.
static int hs_wait(int fd, short ev, int64_t deadline) {
    int32_t t = hs_timeout[fd];
    if (t == 0) {
        return EAGAIN;
    }
    int wait = -1;
    if (t > 0) {
        int64_t left = deadline - hs_now_ms();
        if (left <= 0) {
            return ETIMEDOUT;
        }
        wait = (int)left;
    }
    struct pollfd p = {fd, ev, 0};
    int r = poll(&p, 1, wait);
    if (r < 0) {
        return errno == EINTR ? 0 : errno;
    }
    return r == 0 ? ETIMEDOUT : 0;
}

static int64_t hs_deadline(int fd) {
    return hs_now_ms() + (hs_timeout[fd] > 0 ? hs_timeout[fd] : 0);
}

static int hs_fd(hn_call *c) {
    int32_t fd = hn_desc(c);
    if (fd < 0 || fd >= HS_MAXFD) {
        hn_raise_errno(c, EBADF);
        return -1;
    }
    return fd;
}

static int hs_str(hn_val v, char *dst, size_t cap) {
    return hn_wire_str(v, dst, cap) >= 0;
}

// Tuple address (ip, port[, flowinfo, scopeid]) to a sockaddr; 0 or raises.
static int hs_addr(hn_call *c, hn_val v, struct sockaddr_storage *ss, socklen_t *len) {
    char ip[64];
    hn_val item;
    int64_t port = -1;
    int n = hn_wire_count(v);
    if (hn_wire_kind(v) != HN_K_TUPLE || (n != 2 && n != 4) || hn_wire_item(v, 0, &item) != HN_OK ||
        !hs_str(item, ip, sizeof ip) || hn_wire_item(v, 1, &item) != HN_OK ||
        hn_wire_int(item, &port) != HN_OK) {
        hn_raise_msg(c, "TypeError", "address must be a tuple (host, port)");
        return -1;
    }
    if (port < 0 || port > 65535) {
        hn_raise_msg(c, "OverflowError", "port must be 0-65535.");
        return -1;
    }
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof *s4;
    } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        int64_t scope = 0;
        if (n == 4 && hn_wire_item(v, 3, &item) == HN_OK) {
            hn_wire_int(item, &scope);
        }
        s6->sin6_scope_id = (uint32_t)scope;
        *len = sizeof *s6;
    } else {
        hn_raise_errno(c, EINVAL);
        return -1;
    }
    return 0;
}

static void hs_ret_addr(hn_call *c, const struct sockaddr_storage *ss) {
    char ip[INET6_ADDRSTRLEN];
    hn_ret_open(c, '(');
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        hn_ret_str(c, ip, strlen(ip));
        hn_ret_int(c, ntohs(s6->sin6_port));
        hn_ret_int(c, ntohl(s6->sin6_flowinfo));
        hn_ret_int(c, s6->sin6_scope_id);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        hn_ret_str(c, ip, strlen(ip));
        hn_ret_int(c, ntohs(s4->sin_port));
    }
    hn_ret_close(c, ')');
}

static int64_t hs_int_or(hn_call *c, int i, int64_t dflt) {
    int64_t v = dflt;
    if (i < hn_argc(c)) {
        hn_arg_int(c, i, &v);
    }
    return v;
}

static void hs_socket(hn_call *c) {
    int fd = socket((int)hs_int_or(c, 0, AF_INET), (int)hs_int_or(c, 1, SOCK_STREAM), (int)hs_int_or(c, 2, 0));
    if (fd < 0 || hs_adopt(fd) < 0) {
        hn_raise_errno(c, errno);
        return;
    }
    hn_ret_new_handle(c, fd);
}

static void hs_close(hn_call *c) {
    int32_t fd = hn_desc(c);
    if (fd == HN_CLOSED) {
        return;     // a second close returns None, as MicroPython's ports do
    }
    close(fd);
}

static void hs_bind(hn_call *c) {
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = hs_fd(c);
    if (fd < 0 || hs_addr(c, hn_arg(c, 1), &ss, &len) < 0) {
        return;
    }
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        hn_raise_errno(c, errno);
    }
}

static void hs_connect(hn_call *c) {
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = hs_fd(c);
    if (fd < 0 || hs_addr(c, hn_arg(c, 1), &ss, &len) < 0) {
        return;
    }
    int64_t deadline = hs_deadline(fd);
    if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
        return;
    }
    if (errno != EINPROGRESS || hs_timeout[fd] == 0) {
        hn_raise_errno(c, errno);
        return;
    }
    int err = hs_wait(fd, POLLOUT, deadline);
    if (err == 0) {
        socklen_t el = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    }
    if (err) {
        hn_raise_errno(c, err);
    }
}

static void hs_listen(hn_call *c) {
    int fd = hs_fd(c);
    int64_t backlog = hs_int_or(c, 1, HS_LISTEN_DEFAULT);
    if (fd >= 0 && listen(fd, backlog < 0 ? 0 : (int)backlog) < 0) {
        hn_raise_errno(c, errno);
    }
}

static void hs_accept(hn_call *c) {
    int fd = hs_fd(c);
    if (fd < 0) {
        return;
    }
    int64_t deadline = hs_deadline(fd);
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int nfd = accept(fd, (struct sockaddr *)&ss, &len);
        if (nfd >= 0) {
            if (hs_adopt(nfd) < 0) {
                hn_raise_errno(c, errno);
                return;
            }
            hn_ret_open(c, '(');
            if (hn_ret_new_handle(c, nfd) >= 0) {
                hs_ret_addr(c, &ss);
                hn_ret_close(c, ')');
            }
            return;
        }
        int err = errno == EAGAIN ? hs_wait(fd, POLLIN, deadline) : errno;
        if (err) {
            hn_raise_errno(c, err);
            return;
        }
    }
}

// Send with the socket's blocking rules; all: keep going until every byte is out.
// Returns bytes sent, or -1 after raising (when nothing could be sent or all was required).
static long hs_send_some(hn_call *c, int fd, const uint8_t *p, size_t n, int all, int64_t deadline) {
    size_t done = 0;
    for (;;) {
        ssize_t r = n > done ? send(fd, p + done, n - done, MSG_NOSIGNAL) : 0;
        if (r >= 0) {
            done += (size_t)r;
            if (!all || done == n) {
                return (long)done;
            }
            continue;
        }
        int err = errno == EAGAIN ? hs_wait(fd, POLLOUT, deadline) : errno;
        if (err == EAGAIN && done > 0) {
            return (long)done;
        }
        if (err) {
            hn_raise_errno(c, err);
            return -1;
        }
    }
}

static void hs_send(hn_call *c) {
    const uint8_t *p;
    size_t n;
    int fd = hs_fd(c);
    if (fd >= 0 && hn_arg_data(c, 1, &p, &n) == HN_OK) {
        long r = hs_send_some(c, fd, p, n, 0, hs_deadline(fd));
        if (r >= 0) {
            hn_ret_int(c, r);
        }
    }
}

static void hs_sendall(hn_call *c) {
    const uint8_t *p;
    size_t n;
    int fd = hs_fd(c);
    if (fd >= 0 && hn_arg_data(c, 1, &p, &n) == HN_OK) {
        hs_send_some(c, fd, p, n, 1, hs_deadline(fd));
    }
}

static void hs_write(hn_call *c) {
    const uint8_t *p;
    size_t n;
    int fd = hs_fd(c);
    if (fd >= 0 && hn_arg_data(c, 1, &p, &n) == HN_OK) {
        long r = hs_send_some(c, fd, p, n, hs_timeout[fd] != 0, hs_deadline(fd));
        if (r >= 0) {
            hn_ret_int(c, r);
        }
    }
}

static void hs_sendto(hn_call *c) {
    const uint8_t *p;
    size_t n;
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = hs_fd(c);
    if (fd < 0 || hn_arg_data(c, 1, &p, &n) != HN_OK || hs_addr(c, hn_arg(c, 2), &ss, &len) < 0) {
        return;
    }
    ssize_t r = sendto(fd, p, n, MSG_NOSIGNAL, (struct sockaddr *)&ss, len);
    if (r < 0) {
        hn_raise_errno(c, errno);
    } else {
        hn_ret_int(c, r);
    }
}

// Receive into buf: once (recv) or until n bytes or EOF (read). Returns bytes, or -1 after raising.
// A non-blocking read that found nothing returns -2 (the op answers None, as MicroPython's streams do).
static long hs_recv_some(hn_call *c, int fd, uint8_t *buf, size_t n, int full, struct sockaddr_storage *from) {
    int64_t deadline = hs_deadline(fd);
    size_t done = 0;
    while (done < n || (n == 0 && done == 0 && !full)) {
        socklen_t len = sizeof *from;
        ssize_t r = from ? recvfrom(fd, buf, n, 0, (struct sockaddr *)from, &len)
                         : recv(fd, buf + done, n - done, 0);
        if (r == 0 && !from) {
            break;      // EOF
        }
        if (r >= 0) {
            done += (size_t)r;
            if (!full || from) {
                break;
            }
            continue;
        }
        int err = errno == EAGAIN ? hs_wait(fd, POLLIN, deadline) : errno;
        if (err == EAGAIN && full) {
            if (done == 0) {
                return -2;
            }
            break;
        }
        if (err) {
            hn_raise_errno(c, err);
            return -1;
        }
    }
    return (long)done;
}

// recv, read, recvfrom and the buffer ops: one body, told apart by the op's shape.
// Buffer ops (into): argument 1 is the buffer's length, argument 2 the method's own nbytes.
static void hs_receive(hn_call *c, int full, int with_from, int into) {
    int fd = hs_fd(c);
    int64_t size = -1;
    hn_arg_int(c, 1, &size);
    if (fd < 0) {
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
    struct sockaddr_storage from;
    memset(&from, 0, sizeof from);
    memset(buf, 0, n);
    long got = hs_recv_some(c, fd, buf, want, full, with_from ? &from : 0);
    if (got == -1) {
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
            hs_ret_addr(c, &from);
            hn_ret_close(c, ')');
        } else {
            hn_ret_int(c, got);
        }
        hn_ret_data(c, 'y', buf, n);
        hn_ret_close(c, ')');
    } else if (with_from) {
        hn_ret_open(c, '(');
        hn_ret_data(c, 'b', buf, (size_t)got);
        hs_ret_addr(c, &from);
        hn_ret_close(c, ')');
    } else {
        hn_ret_data(c, 'b', buf, (size_t)got);
    }
}

static void hs_recv(hn_call *c) {
    hs_receive(c, 0, 0, 0);
}

static void hs_recvfrom(hn_call *c) {
    hs_receive(c, 0, 1, 0);
}

static void hs_read(hn_call *c) {
    hs_receive(c, 1, 0, 0);
}

static void hs_readinto(hn_call *c) {
    hs_receive(c, 1, 0, 1);
}

static void hs_recv_into(hn_call *c) {
    hs_receive(c, 0, 0, 1);
}

static void hs_recvfrom_into(hn_call *c) {
    hs_receive(c, 0, 1, 1);
}

static void hs_readline(hn_call *c) {
    int fd = hs_fd(c);
    if (fd < 0) {
        return;
    }
    int64_t size = -1;
    hn_arg_int(c, 1, &size);
    size_t room = hn_ret_room(c);
    size_t n = size < 0 || (size_t)size > room ? room : (size_t)size;
    uint8_t *buf = hn_ret_reserve(c, n);
    size_t done = 0;
    while (done < n) {
        long r = hs_recv_some(c, fd, buf + done, 1, 1, 0);
        if (r == -1) {
            return;
        }
        if (r <= 0) {
            break;
        }
        if (buf[done++] == '\n') {
            break;
        }
    }
    hn_ret_data(c, 'b', buf, done);
}

static void hs_setsockopt(hn_call *c) {
    int fd = hs_fd(c);
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
        r = setsockopt(fd, (int)level, (int)name, &x, sizeof x);
    } else if (k == HN_K_BYTES || k == HN_K_BYTEARRAY) {
        const uint8_t *p;
        size_t n;
        hn_arg_data(c, 3, &p, &n);
        r = setsockopt(fd, (int)level, (int)name, p, (socklen_t)n);
    } else {
        hn_raise_msg(c, "TypeError", "value must be an int or a bytes-like object");
        return;
    }
    if (r < 0) {
        hn_raise_errno(c, errno);
    }
}

static void hs_settimeout(hn_call *c) {
    int fd = hs_fd(c);
    hn_val v = hn_arg(c, 1);
    double t = 0;
    if (fd < 0) {
        return;
    }
    if (hn_wire_kind(v) == HN_K_NONE) {
        hs_timeout[fd] = -1;
        return;
    }
    hn_wire_float(v, &t);
    if (!(t >= 0)) {
        hn_raise_msg(c, "ValueError", "Timeout value must be non-negative");
        return;
    }
    double ms = t * 1000.0;
    hs_timeout[fd] = ms == 0 ? 0 : ms > 2e9 ? 2000000000 : (int32_t)ms + ((double)(int32_t)ms < ms);
}

static void hs_setblocking(hn_call *c) {
    int fd = hs_fd(c);
    hn_kind k = hn_wire_kind(hn_arg(c, 1));
    int64_t iv = 1;
    if (fd < 0) {
        return;
    }
    if (k == HN_K_INT) {
        hn_arg_int(c, 1, &iv);
    }
    hs_timeout[fd] = (k == HN_K_FALSE || k == HN_K_NONE || iv == 0) ? 0 : -1;
}

static void hs_makefile(hn_call *c) {
    if (hs_fd(c) >= 0) {
        hn_ret_handle(c, hn_handle_of(c));   // the socket itself: makefile is a no-op
    }
}

static void hs_fileno(hn_call *c) {
    int fd = hs_fd(c);
    if (fd >= 0) {
        hn_ret_int(c, fd);
    }
}

static void hs_getaddrinfo(hn_call *c) {
    char host[256], port[16];
    hn_val hv = hn_arg(c, 0), pv = hn_arg(c, 1);
    int64_t pnum;
    if (!hs_str(hv, host, sizeof host)) {
        hn_raise_msg(c, "TypeError", "host must be a str");
        return;
    }
    if (hn_wire_int(pv, &pnum) == HN_OK) {
        char tmp[24];
        size_t n = hn_wire_fmtint(pnum, tmp);
        memcpy(port, tmp, n);
        port[n] = 0;
    } else if (!hs_str(pv, port, sizeof port)) {
        hn_raise_msg(c, "TypeError", "port must be an int or a str");
        return;
    }
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = (int)hs_int_or(c, 2, 0);
    hints.ai_socktype = (int)hs_int_or(c, 3, 0);
    hints.ai_protocol = (int)hs_int_or(c, 4, 0);
    hints.ai_flags = (int)hs_int_or(c, 5, 0);
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0) {
        hn_raise_errno(c, r);  // negative: getaddrinfo's own namespace, as the docs describe
        return;
    }
    hn_ret_open(c, '[');
    for (ai = res; ai; ai = ai->ai_next) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
        hn_ret_open(c, '(');
        hn_ret_int(c, ai->ai_family);
        hn_ret_int(c, ai->ai_socktype);
        hn_ret_int(c, ai->ai_protocol);
        hn_ret_str(c, "", 0);
        hs_ret_addr(c, &ss);
        hn_ret_close(c, ')');
    }
    hn_ret_close(c, ']');
    freeaddrinfo(res);
}

static void hs_inet_pton(hn_call *c) {
    int64_t af = 0;
    char txt[64];
    uint8_t bin[16];
    hn_arg_int(c, 0, &af);
    if (!hs_str(hn_arg(c, 1), txt, sizeof txt) || inet_pton((int)af, txt, bin) != 1) {
        hn_raise_errno(c, EINVAL);
        return;
    }
    hn_ret_data(c, 'b', bin, af == AF_INET6 ? 16 : 4);
}

static void hs_inet_ntop(hn_call *c) {
    int64_t af = 0;
    const uint8_t *p;
    size_t n;
    char txt[INET6_ADDRSTRLEN];
    hn_arg_int(c, 0, &af);
    hn_arg_data(c, 1, &p, &n);
    if (n != (af == AF_INET6 ? 16u : 4u) || !inet_ntop((int)af, p, txt, sizeof txt)) {
        hn_raise_errno(c, EINVAL);
        return;
    }
    hn_ret_str(c, txt, strlen(txt));
}

static void hs_poll(hn_call *c) {
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
        fds[k].fd = desc;
        fds[k].events = (short)mask;
        fds[k].revents = 0;
    }
    int r = poll(fds, (nfds_t)n, timeout < 0 ? -1 : timeout > 2000000000 ? 2000000000 : (int)timeout);
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

static const hn_op_fn hs_ops[HN_OP_COUNT] = {
    [HN_OP_SOCKET] = hs_socket,
    [HN_OP_CLOSE] = hs_close,
    [HN_OP_BIND] = hs_bind,
    [HN_OP_LISTEN] = hs_listen,
    [HN_OP_ACCEPT] = hs_accept,
    [HN_OP_CONNECT] = hs_connect,
    [HN_OP_SEND] = hs_send,
    [HN_OP_SENDALL] = hs_sendall,
    [HN_OP_RECV] = hs_recv,
    [HN_OP_SENDTO] = hs_sendto,
    [HN_OP_RECVFROM] = hs_recvfrom,
    [HN_OP_SETSOCKOPT] = hs_setsockopt,
    [HN_OP_SETTIMEOUT] = hs_settimeout,
    [HN_OP_SETBLOCKING] = hs_setblocking,
    [HN_OP_MAKEFILE] = hs_makefile,
    [HN_OP_READ] = hs_read,
    [HN_OP_READINTO] = hs_readinto,
    [HN_OP_READLINE] = hs_readline,
    [HN_OP_WRITE] = hs_write,
    [HN_OP_FILENO] = hs_fileno,
    [HN_OP_GETADDRINFO] = hs_getaddrinfo,
    [HN_OP_INET_PTON] = hs_inet_pton,
    [HN_OP_INET_NTOP] = hs_inet_ntop,
    [HN_OP_POLL] = hs_poll,
    [HN_OP_RECV_INTO] = hs_recv_into,
    [HN_OP_RECVFROM_INTO] = hs_recvfrom_into,
};

void hn_hostsock_release(void *ctx, int32_t desc) {
    (void)ctx;
    if (desc >= 0) {
        close(desc);
    }
}

#define HS_C(name) {#name, name}
static const hn_pair hs_consts[] = {
    HS_C(AF_INET), HS_C(AF_INET6), HS_C(SOCK_STREAM), HS_C(SOCK_DGRAM), HS_C(SOCK_RAW),
    HS_C(IPPROTO_IP), HS_C(IPPROTO_TCP), HS_C(IPPROTO_UDP), HS_C(SOL_SOCKET), HS_C(SO_REUSEADDR),
    HS_C(SO_KEEPALIVE), HS_C(SO_BROADCAST), HS_C(SO_RCVTIMEO), HS_C(SO_SNDTIMEO), HS_C(TCP_NODELAY),
    HS_C(MSG_PEEK), HS_C(MSG_DONTWAIT), HS_C(POLLIN), HS_C(POLLOUT), HS_C(POLLERR), HS_C(POLLHUP),
};

static const hn_pair hs_errnos[] = {
    HS_C(EPERM), HS_C(ENOENT), HS_C(EINTR), HS_C(EIO), HS_C(EBADF), HS_C(EAGAIN), HS_C(ENOMEM),
    HS_C(EACCES), HS_C(EFAULT), HS_C(EBUSY), HS_C(EEXIST), HS_C(EINVAL), HS_C(ENFILE), HS_C(EMFILE),
    HS_C(ENOSPC), HS_C(EPIPE), HS_C(ERANGE), HS_C(ENOTSOCK), HS_C(EDESTADDRREQ), HS_C(EMSGSIZE),
    HS_C(EPROTOTYPE), HS_C(ENOPROTOOPT), HS_C(EPROTONOSUPPORT), HS_C(EOPNOTSUPP),
    HS_C(EAFNOSUPPORT), HS_C(EADDRINUSE), HS_C(EADDRNOTAVAIL), HS_C(ENETDOWN), HS_C(ENETUNREACH),
    HS_C(ECONNABORTED), HS_C(ECONNRESET), HS_C(ENOBUFS), HS_C(EISCONN), HS_C(ENOTCONN),
    HS_C(ETIMEDOUT), HS_C(ECONNREFUSED), HS_C(EHOSTUNREACH), HS_C(EALREADY), HS_C(EINPROGRESS),
};

static const char *const hs_caps[] = {"AF_INET6", "tuple-address", "settimeout"};

#define HS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

void hn_hostsock_fill(hn_port *port) {
    port->consts = hs_consts;
    port->nconsts = HS_COUNT(hs_consts);
    port->errnos = hs_errnos;
    port->nerrnos = HS_COUNT(hs_errnos);
    port->caps = hs_caps;
    port->ncaps = HS_COUNT(hs_caps);
    port->ops = hs_ops;
    port->release = hn_hostsock_release;
}
