// hn_capture.h: a link for tests: what the agent writes is kept in hn_capture; reading ends the link.
#ifndef HN_CAPTURE_H
#define HN_CAPTURE_H

#include <string.h>

#include "../hn_port.h"

static char hn_capture[HN_MAXLINE * 64];   // a response continued over many `+` lines, too
static size_t hn_capture_len;

static long hn_capture_write(void *ctx, const char *buf, size_t n) {
    (void)ctx;
    if (hn_capture_len + n > sizeof hn_capture) {
        return -1;
    }
    memcpy(hn_capture + hn_capture_len, buf, n);
    hn_capture_len += n;
    return (long)n;
}

static long hn_capture_read(void *ctx, char *buf, size_t n, uint32_t timeout_ms) {
    (void)ctx, (void)buf, (void)n, (void)timeout_ms;
    return -1;
}

static uint32_t hn_capture_millis(void *ctx) {
    (void)ctx;
    return 0;
}

// The link part of a port for tests.
static void hn_capture_fill(hn_port *port) {
    port->link_read = hn_capture_read;
    port->link_write = hn_capture_write;
    port->millis = hn_capture_millis;
}

#endif
