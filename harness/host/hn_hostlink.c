// hn_hostlink.c: the link of a harness on a host: stdin/stdout or a pty.
#define _GNU_SOURCE
#include "hn_hostlink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static long hn_host_read(void *ctx, char *buf, size_t n, uint32_t timeout_ms) {
    hn_host_link *l = ctx;
    struct pollfd p = {l->rfd, POLLIN, 0};
    int r = poll(&p, 1, (int)timeout_ms);
    if (r < 0) {
        return errno == EINTR ? 0 : -1;
    }
    if (r == 0) {
        return 0;
    }
    ssize_t got = read(l->rfd, buf, n);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
        return 0;
    }
    return got > 0 ? got : -1;
}

static long hn_host_write(void *ctx, const char *buf, size_t n) {
    hn_host_link *l = ctx;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(l->wfd, buf + done, n - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        done += (size_t)w;
    }
    return (long)done;
}

static uint32_t hn_host_millis(void *ctx) {
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000u + ts.tv_nsec / 1000000u);
}

static int hn_host_pty(hn_host_link *l) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
        return -1;
    }
    const char *name = ptsname(m);
    // Hold the slave open so reads never see EIO between clients; raw mode for the client.
    int s = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    struct termios t;
    if (s < 0 || tcgetattr(s, &t) < 0) {
        return -1;
    }
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    fprintf(stderr, "pty: %s\n", name);
    fflush(stderr);
    l->rfd = l->wfd = m;
    return 0;
}

int hn_hostlink_open(hn_host_link *l, hn_port *port, int argc, char **argv, const char *prog) {
    l->rfd = 0;
    l->wfd = 1;
    if (argc > 1 && strcmp(argv[1], "--pty") == 0) {
        if (hn_host_pty(l) < 0) {
            fprintf(stderr, "%s: cannot open a pty: %s\n", prog, strerror(errno));
            return 1;
        }
    } else if (argc > 1) {
        fprintf(stderr, "usage: %s [--pty]\n", prog);
        return 2;
    }
    port->ctx = l;
    port->link_read = hn_host_read;
    port->link_write = hn_host_write;
    port->millis = hn_host_millis;
    return 0;
}
