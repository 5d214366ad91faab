// hn_port.h: the one contract between the harness core and a platform.
// A port supplies the link, a clock, its tables and a socket backend; nothing else reaches the core.
#ifndef HN_PORT_H
#define HN_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "hn_ops.h"

// Sizes (override with -D): every buffer of the core is sized by these.
#ifndef HN_MAXLINE
#define HN_MAXLINE 4096     // longest line, '\n' included; caller-owned in and out buffers
#endif
#ifndef HN_MAXOPS
#define HN_MAXOPS 16        // ops per request
#endif
#ifndef HN_MAXHANDLES
#define HN_MAXHANDLES 8     // sockets the agent holds at once
#endif
#ifndef HN_MAXARGS
#define HN_MAXARGS 8        // arguments per op
#endif
#ifndef HN_MAXDEPTH
#define HN_MAXDEPTH 8       // nesting of tuples and lists
#endif
#ifndef HN_NAMEMAX
#define HN_NAMEMAX 48       // longest constant name looked up by `const`
#endif

#define HN_CLOSED (-1)      // descriptor a backend sees for a handle whose socket was closed

typedef struct hn_call hn_call;
typedef void (*hn_op_fn)(hn_call *call);

typedef struct {
    const char *name;
    int32_t value;
} hn_pair;

typedef struct hn_port {
    void *ctx;
    // Read up to n bytes: >0 bytes read, 0 on timeout, <0 when the link is gone.
    long (*link_read)(void *ctx, char *buf, size_t n, uint32_t timeout_ms);
    // Write all n bytes: <0 when the link is gone.
    long (*link_write)(void *ctx, const char *buf, size_t n);
    // Monotonic milliseconds (wraps).
    uint32_t (*millis)(void *ctx);
    const char *impl, *version, *machine;
    const char *host;           // where this target reaches the host's loopback peers (HELLO `host`);
                                // NULL: 127.0.0.1, the host itself
    const char *listen_host;    // where the host reaches this target's listening ports (HELLO
                                // `listen_host`); NULL: 127.0.0.1, the same port
    const hn_pair *consts;      // module constants, for `const`
    size_t nconsts;
    const hn_pair *errnos;      // errno table, for HELLO and exception names
    size_t nerrnos;
    const char *const *caps;    // capabilities, for HELLO
    size_t ncaps;
    const hn_op_fn *ops;        // HN_OP_COUNT entries; NULL: unsupported (hello/reset/const are the core's)
    void (*release)(void *ctx, int32_t desc);   // close a descriptor (RESET, handle table full)
} hn_port;

#endif
