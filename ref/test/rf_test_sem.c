// rf_test_sem.c: the semantics layer (rf_sem.c) driven through the protocol, against real host
// peers on loopback (rf_peer.c), over each socket-API table built in: the host kernel's, and
// lwIP's over libslirp (the oracle; -DRF_TEST_ORACLE=0 leaves it out). Each case cites the
// sentence it checks; a failure prints that sentence and the answer that came.
// Usage: rf_test_sem [kernel|lwip]... (default: all built in); TAP, last line
// "ref: N passed, M failed, K skipped"; exit status 1 on any failure.
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../harness/test/hn_capture.h"
#include "../rf_dns.h"
#include "../rf_kernel.h"
#include "rf_peer.h"

#ifndef RF_TEST_ORACLE
#define RF_TEST_ORACLE 1
#endif
#if RF_TEST_ORACLE
#include "../rf_lwip.h"
#include "../rf_net.h"
#endif

#define RT_LIMIT_S 120      // the whole run: SIGALRM ends a hung run with a failure status
#define RT_GUARD "f2.0"     // timeout put on every connected socket, so that no op waits unbounded
#define RT_CHUNK 2000       // divides no power-of-two buffer: a stack that can take part of a chunk shows it
#define RT_MAXSENDS 8000    // non-blocking sends before giving up on EAGAIN: 16 MB
#define RT_DNS_NAME "peer.sockconf.test"
#define RT_DNS_NAME6 "peer6.sockconf.test"   // the DNS peer's AAAA record: the backend's peer_host6

// What differs between the stacks under the layer, as data: the cases never test a name.
typedef struct {
    const char *name;
    const rf_api *api;
    const char *peer_host;  // where this stack reaches the host's 127.0.0.1 (and so the peers)
    const char *peer_host6; // where it reaches the host's ::1 (glibc's inet_ntop text)
    const char *self_host;  // this stack's own address, for bind
    int short_write;        // 1: a full send buffer must take part of a chunk; 0: only report it
    int (*start)(void);     // bring the stack up once (NULL: it is up)
} rt_backend;

static const rt_backend rt_backends[] = {
    // Linux may or may not split a chunk at a full buffer: nothing documents which
    {"kernel", &rf_kernel_api, "127.0.0.1", "::1", "127.0.0.1", 0, NULL},
#if RF_TEST_ORACLE
    // lwIP's non-blocking write takes what fits in snd_buf (TCP_SND_BUF 0xFFFF in Debian's
    // lwipopts.h), as modlwip's does
    {"lwip", &rf_lwip_api, RF_HOST_ADDR, RF_HOST_ADDR6, RF_ORACLE_ADDR, 1, rf_net_start},
#endif
};

typedef struct {
    const char *doc, *section, *quote;  // the sentence checked, exactly as published
    void (*run)(const rt_backend *b);
} rt_case;

// ---- TAP ----

static const rt_backend *rt_b;
static const rt_case *rt_c;
static int rt_n, rt_passed, rt_failed, rt_skipped;

// One TAP line; a failure also says which sentence it checks and what came.
static int rt_check(int ok, const char *what, const char *got) {
    ok ? rt_passed++ : rt_failed++;
    printf("%s %d - %s: %s\n", ok ? "ok" : "not ok", ++rt_n, rt_b->name, what);
    if (!ok && rt_c) {
        printf("#   checks %s, %s: \"%s\"\n", rt_c->doc, rt_c->section, rt_c->quote);
    }
    if (!ok && got) {
        printf("#   got: %.300s\n", got);
    }
    return ok;
}

// A step a case needs before it can check anything: a line only when it fails.
static int rt_setup(int ok, const char *what, const char *got) {
    return ok ? 1 : rt_check(0, what, got);
}

static void rt_skip(const char *what, const char *why) {
    rt_skipped++;
    printf("ok %d - %s: %s # SKIP %s\n", ++rt_n, rt_b->name, what, why);
}

static void rt_note(const char *fmt, ...) {
    va_list ap;
    printf("# %s: ", rt_b->name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static double rt_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// ---- the agent, in process ----

static char rt_in[HN_MAXLINE], rt_out[HN_MAXLINE];
static hn_agent rt_agent;
static hn_port rt_port;
static unsigned rt_seq;

static void rt_hex(uint32_t v, char *dst) {
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 8; k++) {
        dst[k] = hex[(v >> (28 - 4 * k)) & 15];
    }
}

// One request ("S op args ; op args", printf-style, in ap), sealed and fed to the agent. Returns the
// answer's results ("= h0 ; = N"): seq and CRC checked and stripped, a continued answer's lines
// joined (PROTOCOL.md section 4: `+` lines of exactly maxline bytes, then the last); *lines gets
// how many lines it had. Anything else comes back as "(no valid answer: ...)", which no check accepts.
static const char *rt_ask_lines(int *lines, const char *fmt, va_list ap) {
    static char line[HN_MAXLINE + 16], res[sizeof hn_capture];
    char head[24], crc[8];
    int n = snprintf(line, sizeof line, "Q %u ", ++rt_seq);
    n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (n + 10 > HN_MAXLINE) {
        return "(no valid answer: the request is longer than maxline)";
    }
    rt_hex(hn_wire_crc32(line, (size_t)n), line + n + 1);
    line[n] = ' ';
    line[n + 9] = '\n';
    hn_capture_len = 0;
    hn_agent_feed(&rt_agent, line, (size_t)n + 10);

    size_t hl = (size_t)snprintf(head, sizeof head, "R %u ", rt_seq), w = 0, at = 0;
    int ok = hn_capture_len > 0;
    *lines = 0;
    while (ok && at < hn_capture_len) {
        const char *a = hn_capture + at, *nl = memchr(a, '\n', hn_capture_len - at);
        size_t len = nl ? (size_t)(nl - a) + 1 : 0;
        head[0] = nl && nl + 1 < hn_capture + hn_capture_len ? '+' : 'R';
        ok = len >= hl + 10 && memcmp(a, head, hl) == 0 && (head[0] == 'R' || len == HN_MAXLINE);
        if (ok) {
            rt_hex(hn_wire_crc32(a, len - 10), crc);
            ok = a[len - 10] == ' ' && memcmp(crc, a + len - 9, 8) == 0;
        }
        if (ok) {
            memcpy(res + w, a + hl, len - hl - 10);
            w += len - hl - 10;
            at += len;
            (*lines)++;
        }
    }
    if (!ok) {
        snprintf(res, sizeof res, "(no valid answer: %.*s)", (int)(hn_capture_len < 200 ? hn_capture_len : 200),
                 hn_capture);
        return res;
    }
    res[w] = 0;
    return res;
}

// One request, answered in one line (a continued answer is not a valid answer here).
static const char *rt_ask(const char *fmt, ...) {
    va_list ap;
    int lines;
    va_start(ap, fmt);
    const char *r = rt_ask_lines(&lines, fmt, ap);
    va_end(ap);
    return lines <= 1 ? r : "(no valid answer: continued over `+` lines)";
}

// One request, its answer in any number of lines; *lines: how many.
static const char *rt_ask_more(int *lines, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const char *r = rt_ask_lines(lines, fmt, ap);
    va_end(ap);
    return r;
}

// Result k of res, as a cursor over its text ("= i5", "! OSError ..."); 0 if there is none.
static int rt_result(const char *res, int k, hn_val *v) {
    const char *p = res;
    for (int j = 0; j < k && p; j++) {
        p = strstr(p, " ; ");
        p = p ? p + 3 : NULL;
    }
    if (!p || !*p) {
        return 0;
    }
    const char *e = strstr(p, " ; ");
    v->p = p;
    v->end = e ? e : p + strlen(p);
    return 1;
}

// Result k returned a well-formed value; *v is that value.
static int rt_returned(const char *res, int k, hn_val *v) {
    hn_val r;
    const char *next;
    if (!rt_result(res, k, &r) || r.end - r.p < 3 || strncmp(r.p, "= ", 2) != 0) {
        return 0;
    }
    v->p = r.p + 2;
    v->end = r.end;
    return hn_wire_check(*v, HN_MAXDEPTH, &next) == HN_OK && next == v->end;
}

// Result k raised OSError, with errno name errname (NULL: any); *arg0 gets args[0] if it is an int.
static int rt_raised(const char *res, int k, const char *errname, int64_t *arg0) {
    hn_val r, args, a0;
    if (!rt_result(res, k, &r) || r.end - r.p < 12 || strncmp(r.p, "! OSError ", 10) != 0) {
        return 0;
    }
    const char *name = r.p + 10;
    size_t nl = hn_wire_toklen(name, r.end);
    if (errname && !hn_wire_eq(name, nl, errname)) {
        return 0;
    }
    args.p = name + nl + 1;
    args.end = r.end;
    return !arg0 || (hn_wire_item(args, 0, &a0) == HN_OK && hn_wire_int(a0, arg0) == HN_OK);
}

// Every result of res returned (none raised, none `?`).
static int rt_all_returned(const char *res) {
    return strncmp(res, "= ", 2) == 0 && !strstr(res, " ; !") && !strstr(res, " ; ?");
}

// The whole value v (a token or a bracketed run) is exactly text.
static int rt_is(hn_val v, const char *text) {
    const char *next;
    if (hn_wire_check(v, HN_MAXDEPTH, &next) != HN_OK) {
        return 0;
    }
    size_t n = (size_t)(next - v.p);
    return hn_wire_eq(v.p, n && v.p[n - 1] == ' ' ? n - 1 : n, text);
}

// Bytes of a b/y value into dst (cap >= its decoded length); the length or -1.
static long rt_bytes(hn_val v, uint8_t *dst, size_t cap) {
    hn_kind k = hn_wire_kind(v);
    size_t tl = hn_wire_toklen(v.p, v.end);
    if ((k != HN_K_BYTES && k != HN_K_BYTEARRAY) || (tl - 1) / 4 * 3 > cap) {
        return -1;
    }
    return hn_wire_b64dec(v.p + 1, tl - 1, dst);
}

// Socket h0 connected to the peer at port, with RT_GUARD as its timeout; then `more` (" ; op @0 ...").
static int rt_connect(const rt_backend *b, int port, const char *more) {
    const char *r = rt_ask("S socket ; settimeout @0 " RT_GUARD " ; connect @0 ( s%s i%d )%s", b->peer_host, port, more);
    return rt_setup(rt_all_returned(r), "set-up: a socket connected to the peer", r);
}

// A case's end: every socket closed (FIN to the peer), then the peer stopped.
static void rt_end(rf_peer *p) {
    rt_ask("S reset");
    rf_peer_stop(p);
}

// ---- cases ----

static void rt_timeout(const rt_backend *b) {
    rf_peer peer;
    char got[64];
    if (rt_setup(rf_peer_silent(&peer) == 0, "set-up: a silent acceptor", NULL) &&
        rt_connect(b, peer.port, " ; settimeout @0 f0.1")) {
        double t0 = rt_ms();
        const char *r = rt_ask("S recv h0 i16");
        double ms = rt_ms() - t0;
        rt_check(rt_raised(r, 0, "ETIMEDOUT", NULL), "recv after settimeout(0.1) on a silent peer raises OSError ETIMEDOUT", r);
        snprintf(got, sizeof got, "%.1f ms", ms);
        rt_check(ms >= 100.0 && ms <= 150.0, "that ETIMEDOUT comes 100 to 150 ms after the call", got);
        rt_note("recv with timeout 0.1 gave up after %.1f ms", ms);
    }
    rt_end(&peer);
}

static void rt_eof(const rt_backend *b) {
    static const char data[] = "sockconf: these bytes, then FIN";
    uint8_t got[sizeof data + 64];
    size_t n = 0;
    int eof = 0;
    rf_peer peer;
    if (rt_setup(rf_peer_source(&peer, data, sizeof data - 1) == 0, "set-up: a source", NULL) && rt_connect(b, peer.port, "")) {
        const char *r = "";
        for (int k = 0; k < 50 && !eof; k++) {   // bounded: the bytes may come in pieces
            hn_val v;
            r = rt_ask("S recv h0 i64");
            long m = rt_returned(r, 0, &v) ? rt_bytes(v, got + n, sizeof got - n) : -1;
            if (m < 0) {
                break;
            }
            n += (size_t)m;
            eof = m == 0;
        }
        rt_check(eof && n == sizeof data - 1 && memcmp(got, data, n) == 0,
                 "recv returns the peer's bytes, then b'' at its FIN", r);
        r = rt_ask("C recv h0 i64 ; recv h0 i64");
        rt_check(strcmp(r, "= b ; = b") == 0, "recv after EOF returns b'' twice more", r);
    }
    rt_end(&peer);
}

// read and readline without a size over `+` lines (PROTOCOL.md section 4), and what the layer
// does when the read fails after a `+` line went out (SEMANTICS.md, read).
static void rt_read_on(const rt_backend *b) {
    static uint8_t data[10000], got[sizeof data + 64];
    char what[96];
    int lines;
    hn_val v;
    rf_peer peer;
    for (size_t k = 0; k < sizeof data; k++) {
        data[k] = (uint8_t)(k * 7 + 3) == '\n' ? ' ' : (uint8_t)(k * 7 + 3);
    }
    data[6000] = '\n';     // a line longer than a protocol line, then 3999 bytes
    // to EOF: every byte, over `+` lines; then b''
    if (rt_setup(rf_peer_source(&peer, data, sizeof data) == 0, "set-up: a source", NULL) && rt_connect(b, peer.port, "")) {
        const char *r = rt_ask_more(&lines, "C readline h0 ; read h0 ; read h0");
        hn_val line, rest, none;
        long n1 = rt_returned(r, 0, &line) ? rt_bytes(line, got, sizeof got) : -1;
        rt_check(n1 == 6001 && memcmp(got, data, 6001) == 0, "readline() returns a line of 6001 bytes, whole", r);
        long n2 = rt_returned(r, 1, &rest) ? rt_bytes(rest, got, sizeof got) : -1;
        rt_check(n2 == 3999 && memcmp(got, data + 6001, 3999) == 0, "read() returns the rest, until EOF", r);
        rt_check(rt_returned(r, 2, &none) && rt_is(none, "b"), "read() at EOF returns b''", r);
        snprintf(what, sizeof what, "%d lines", lines);
        rt_check(lines == 4, "the answer goes on over three `+` lines", what);
    }
    rt_end(&peer);
    // a timeout after a `+` line: the bytes are the result, the next receive raises it
    if (rt_setup(rf_peer_source_open(&peer, data, sizeof data) == 0, "set-up: an open source", NULL) &&
        rt_connect(b, peer.port, " ; settimeout @0 f0.2")) {
        double t0 = rt_ms();
        const char *r = rt_ask_more(&lines, "C read h0");
        double ms = rt_ms() - t0;
        long n = rt_returned(r, 0, &v) ? rt_bytes(v, got, sizeof got) : -1;
        rt_check(n == (long)sizeof data && memcmp(got, data, sizeof data) == 0 && lines > 1,
                 "read() whose timeout expires after a `+` line returns every byte it took", r);
        snprintf(what, sizeof what, "%.1f ms", ms);
        rt_check(ms >= 200.0 && ms <= 250.0, "when its timeout expired", what);
        t0 = rt_ms();
        r = rt_ask("C recv h0 i16");
        ms = rt_ms() - t0;
        rt_check(rt_raised(r, 0, "ETIMEDOUT", NULL) && ms < 50.0, "the next receive raises that ETIMEDOUT at once", r);
        t0 = rt_ms();
        r = rt_ask("C recv h0 i16");
        ms = rt_ms() - t0;
        rt_check(rt_raised(r, 0, "ETIMEDOUT", NULL) && ms >= 200.0, "and the one after waits its own timeout", r);
    }
    rt_end(&peer);
    // a timeout before any `+` line: it raises, and the bytes are held for the next read
    if (rt_setup(rf_peer_source_open(&peer, data, 100) == 0, "set-up: an open source", NULL) &&
        rt_connect(b, peer.port, " ; settimeout @0 f0.1")) {
        const char *r = rt_ask("C readline h0 ; read h0 i100");
        long n = rt_returned(r, 1, &v) ? rt_bytes(v, got, sizeof got) : -1;
        rt_check(rt_raised(r, 0, "ETIMEDOUT", NULL) && n == 100 && memcmp(got, data, 100) == 0,
                 "readline() whose timeout expires before a `+` line raises; its bytes come next", r);
    }
    rt_end(&peer);
}

static uint8_t rt_sink_buf[RT_MAXSENDS * RT_CHUNK];
static uint16_t rt_counts[RT_MAXSENDS];

// Chunk k: distinct per k, so that a lost, doubled or reordered chunk shows at the sink.
static void rt_chunk(int k, uint8_t *p) {
    for (int j = 0; j < RT_CHUNK; j++) {
        p[j] = (uint8_t)(j * 7 + k * 31 + 3);
    }
}

// Where the sink's bytes first differ from the first counts[k] bytes of each chunk k < sends.
static size_t rt_first_difference(const uint8_t *got, size_t n, int sends) {
    uint8_t chunk[RT_CHUNK];
    size_t at = 0;
    for (int k = 0; k < sends; k++) {
        rt_chunk(k, chunk);
        for (int j = 0; j < rt_counts[k]; j++, at++) {
            if (at >= n || got[at] != chunk[j]) {
                return at;
            }
        }
    }
    return at;
}

static void rt_short_write(const rt_backend *b) {
    static char b64[HN_B64LEN(RT_CHUNK) + 1], last[HN_MAXLINE + 64];
    uint8_t chunk[RT_CHUNK];
    char got[160];
    int sends = 0, shorts = 0, first_short = 0, eagain = 0;
    size_t total = 0;
    rf_peer sink;
    if (!rt_setup(rf_peer_sink(&sink, rt_sink_buf, sizeof rt_sink_buf) == 0, "set-up: a sink", NULL) ||
        !rt_connect(b, sink.port, " ; setblocking @0 F")) {
        rt_end(&sink);
        return;
    }
    for (; sends < RT_MAXSENDS; sends++) {
        hn_val v;
        int64_t n;
        rt_chunk(sends, chunk);
        b64[hn_wire_b64enc(chunk, RT_CHUNK, b64)] = 0;
        const char *r = rt_ask("S send h0 b%s", b64);
        if (rt_returned(r, 0, &v) && hn_wire_int(v, &n) == HN_OK && n > 0 && n <= RT_CHUNK) {
            rt_counts[sends] = (uint16_t)n;
            total += (size_t)n;
            if (n < RT_CHUNK && shorts++ == 0) {
                first_short = (int)n;
            }
            continue;
        }
        snprintf(last, sizeof last, "send %d: %s", sends, r);
        eagain = rt_raised(r, 0, "EAGAIN", NULL);
        break;
    }
    rt_check(eagain, "non-blocking sends to a peer that does not read end in OSError EAGAIN", last);
    snprintf(got, sizeof got, "%d sends took %zu bytes before EAGAIN; %d short (the first took %d of %d)", sends,
             total, shorts, first_short, RT_CHUNK);
    rt_note("%s", got);
    if (b->short_write) {
        rt_check(shorts > 0, "at least one send returns 0 < n < 2000 (a short write)", got);
    }
    // the close queues a FIN after the data; stopped, the sink reads up to it
    rt_ask("S close h0");
    rf_peer_stop(&sink);
    size_t diff = rt_first_difference(rt_sink_buf, sink.got < sizeof rt_sink_buf ? sink.got : sizeof rt_sink_buf, sends);
    snprintf(got, sizeof got, "sends reported %zu bytes; the sink read %zu%s, first difference at %zu", total,
             sink.got, sink.eof ? " and the FIN" : " and no FIN", diff);
    rt_check(sink.eof && sink.got == total && diff == total, "the peer receives exactly the bytes the sends reported", got);
    rt_end(&sink);
}

static void rt_refused(const rt_backend *b) {
    int port = rf_peer_closed_port();
    int64_t err = 0;
    hn_val r2;
    if (!rt_setup(port > 0, "set-up: a closed port", NULL)) {
        return;
    }
    const char *r = rt_ask("S socket ; settimeout @0 " RT_GUARD " ; connect @0 ( s%s i%d )", b->peer_host, port);
    rt_check(rt_raised(r, 2, NULL, &err) && err > 0, "connect to a port nobody listens on raises OSError", r);
    if (rt_result(r, 2, &r2)) {
        rt_note("connect to a closed port: %.*s", (int)(r2.end - r2.p), r2.p);
    }
    rt_ask("S reset");
}

static void rt_bind_twice(const rt_backend *b) {
    hn_val v;
    const char *r = rt_ask("S socket ; bind @0 ( s%s i0 ) ; bind @0 ( s%s i0 )", b->self_host, b->self_host);
    rt_check(rt_returned(r, 1, &v) && rt_raised(r, 2, "EINVAL", NULL), "a second bind on a bound socket raises OSError EINVAL", r);
    rt_ask("S reset");
}

// Every op that takes a socket, from the one op list.
static const struct {
    const char *name, *sig;
} rt_ops[] = {
#define HN_OP(id, name, sig) {name, sig},
#include "../../harness/ops.def"
#undef HN_OP
};

static void rt_closed(const rt_backend *b) {
    char args[128], what[96];
    hn_val v;
    const char *r = rt_ask("S socket ; close @0");
    if (!rt_setup(rt_all_returned(r), "set-up: a socket, closed", r)) {
        return;
    }
    for (size_t k = 0; k < sizeof rt_ops / sizeof rt_ops[0]; k++) {
        const char *sig = rt_ops[k].sig;
        if (sig[0] != 'h' || strcmp(rt_ops[k].name, "close") == 0) {
            continue;
        }
        // the required arguments, each of a type its letter accepts
        size_t n = 0;
        for (; *sig && *sig != '|' && n + 40 < sizeof args; sig++) {
            switch (*sig) {
            case 'h': n += (size_t)snprintf(args + n, sizeof args - n, " h0"); break;
            case 'i': case 'z': n += (size_t)snprintf(args + n, sizeof args - n, " i1"); break;
            case 'n': n += (size_t)snprintf(args + n, sizeof args - n, " f0.5"); break;
            case 'b': n += (size_t)snprintf(args + n, sizeof args - n, " bAAE="); break;
            case 's':   // the one required str of a socket's op: the method pump or sink calls
                n += (size_t)snprintf(args + n, sizeof args - n, " s%s", strcmp(rt_ops[k].name, "sink") ? "send" : "recv");
                break;
            case 'l': n += (size_t)snprintf(args + n, sizeof args - n, " [ ]"); break;
            default: n += (size_t)snprintf(args + n, sizeof args - n, " ( s%s i1 )", b->peer_host); break;
            }
        }
        snprintf(what, sizeof what, "%s on a closed socket raises OSError EBADF", rt_ops[k].name);
        r = rt_ask("S %s%s", rt_ops[k].name, args);
        if (strcmp(r, "? unsupported") == 0) {
            rt_skip(what, "the layer does not have this op");
        } else {
            rt_check(rt_raised(r, 0, "EBADF", NULL), what, r);
        }
    }
    r = rt_ask("S close h0");
    rt_check(rt_returned(r, 0, &v) && rt_is(v, "N"), "a second close returns None", r);
    rt_ask("S reset");
}

static void rt_gai_error(const rt_backend *b) {
    int64_t err = 0;
    (void)b;
    const char *r = rt_ask("S getaddrinfo snonexistent.invalid i80");
    rt_check(rt_raised(r, 0, NULL, &err) && err < 0, "getaddrinfo('nonexistent.invalid', 80) raises OSError with a negative args[0]", r);
    rt_note("getaddrinfo of an NXDOMAIN name: %s", r);
}

// After a request whose op 4 read from the source peer: that the read gave all the peer sent,
// once the peer is ended (rt_end; the request's text kept for the report).
static void rt_read_all_of(const char *r, rf_peer *peer, const char *data, size_t len, const char *what) {
    static char answer[HN_MAXLINE + 64];
    uint8_t got[128];
    hn_val v;
    long n = rt_all_returned(r) && rt_returned(r, 4, &v) ? rt_bytes(v, got, sizeof got) : -1;
    snprintf(answer, sizeof answer, "%s", r);    // the next request reuses r's buffer
    rt_end(peer);
    rt_check(peer->accepted && n == (long)len && len <= sizeof got && memcmp(got, data, len) == 0, what, answer);
}

static void rt_gai_name(const rt_backend *b) {
    static const char data[] = "found by name";
    char addr[64];
    hn_val list, info, last;
    rf_peer peer;
    if (!rt_setup(rf_peer_source(&peer, data, sizeof data - 1) == 0, "set-up: a source", NULL)) {
        return;
    }
    const char *r = rt_ask("S getaddrinfo s" RT_DNS_NAME " i%d ; socket ; settimeout @1 " RT_GUARD
                           " ; connect @1 @0.0.-1 ; read @1 i%d", peer.port, (int)sizeof data - 1);
    snprintf(addr, sizeof addr, "( s%s i%d )", b->peer_host, peer.port);
    rt_check(rt_returned(r, 0, &list) && hn_wire_kind(list) == HN_K_LIST && hn_wire_item(list, 0, &info) == HN_OK &&
             hn_wire_count(info) == 5 && hn_wire_item(info, -1, &last) == HN_OK && rt_is(last, addr),
             "getaddrinfo of the name the DNS peer knows returns 5-tuples ending in its address", r);
    rt_read_all_of(r, &peer, data, sizeof data - 1, "the 5-tuple's last item connects to the peer");
}

// ---- IPv6 ----

// getaddrinfo(name, port, AF_INET6) asks the AAAA record; its 5-tuple is AF_INET6's, ends in
// (ipv6_address, port, 0, 0) and connects an AF_INET6 socket to a peer on the host's ::1.
static void rt_ipv6_name(const rt_backend *b) {
    static const char data[] = "found over IPv6";
    char addr[96], family[16];
    hn_val list, info, item;
    rf_peer peer;
    snprintf(family, sizeof family, "i%d", AF_INET6);
    if (!rt_setup(rf_peer_source6(&peer, data, sizeof data - 1) == 0, "set-up: a source on ::1", NULL)) {
        return;
    }
    const char *r = rt_ask("S getaddrinfo s" RT_DNS_NAME6 " i%d i%d ; socket i%d ; settimeout @1 " RT_GUARD
                           " ; connect @1 @0.0.-1 ; read @1 i%d", peer.port, AF_INET6, AF_INET6, (int)sizeof data - 1);
    snprintf(addr, sizeof addr, "( s%s i%d i0 i0 )", b->peer_host6, peer.port);
    rt_check(rt_returned(r, 0, &list) && hn_wire_kind(list) == HN_K_LIST && hn_wire_count(list) == 1 &&
             hn_wire_item(list, 0, &info) == HN_OK && hn_wire_count(info) == 5 &&
             hn_wire_item(info, 0, &item) == HN_OK && rt_is(item, family) &&
             hn_wire_item(info, -1, &item) == HN_OK && rt_is(item, addr),
             "getaddrinfo(name, port, AF_INET6) gives one AF_INET6 5-tuple ending in (ipv6_address, port, 0, 0)", r);
    rt_read_all_of(r, &peer, data, sizeof data - 1, "the AF_INET6 5-tuple's last item connects to the peer on ::1");
    r = rt_ask("S getaddrinfo s" RT_DNS_NAME6 " i80 i%d", AF_INET);
    rt_check(rt_raised(r, 0, NULL, NULL), "getaddrinfo(name with only an AAAA record, 80, AF_INET) raises", r);
}

// The stack's own ::1: a datagram from an AF_INET6 socket to another bound there, recvfrom's
// address the 4-tuple; and the tuple's checks.
static void rt_ipv6_tuple(const rt_backend *b) {
    char want[64];
    hn_val v, item;
    int port = rf_peer_closed_port();
    (void)b;
    if (!rt_setup(port > 0, "set-up: a free port", NULL)) {
        return;
    }
    const char *r = rt_ask("S socket i%d i%d ; bind @0 ( s::1 i%d i0 i0 ) ; settimeout @0 " RT_GUARD
                           " ; socket i%d i%d ; sendto @3 bc2l4 ( s::1 i%d i0 i0 ) ; recvfrom @0 i16",
                           AF_INET6, SOCK_DGRAM, port, AF_INET6, SOCK_DGRAM, port);
    snprintf(want, sizeof want, "bc2l4");     // b'six'
    rt_check(rt_all_returned(r) && rt_returned(r, 5, &v) && hn_wire_count(v) == 2 && hn_wire_item(v, 0, &item) == HN_OK &&
             rt_is(item, want) && hn_wire_item(v, 1, &item) == HN_OK && hn_wire_count(item) == 4,
             "a datagram to ('::1', port, 0, 0) arrives, and recvfrom gives (bytes, (ipv6_address, port, flowinfo, scopeid))", r);
    r = rt_ask("C socket i%d ; connect @0 ( s::1 i%d i1 i0 ) ; connect @0 ( s" RT_DNS_NAME6 " i%d i0 i0 ) ; "
               "connect @0 ( s::1 i%d ) ; connect @0 ( s::1 i0 i0 i0 ) ; connect @0 ( s1.2.3.4 i%d i0 i0 )",
               AF_INET6, port, port, port, port);
    rt_check(rt_raised(r, 1, "EINVAL", NULL), "flowinfo 1 raises OSError EINVAL (\"flowinfo must be 0.\")", r);
    rt_check(rt_raised(r, 2, "EINVAL", NULL), "a name as ipv6_address raises OSError EINVAL", r);
    rt_check(rt_result(r, 3, &v) && strncmp(v.p, "! TypeError", 11) == 0, "an (address, port) pair on an AF_INET6 socket raises TypeError", r);
    rt_check(rt_raised(r, 4, "EINVAL", NULL), "port 0 in a peer's 4-tuple raises OSError EINVAL", r);
    rt_check(rt_raised(r, 5, "EINVAL", NULL), "a dotted quad as ipv6_address raises OSError EINVAL", r);
    rt_ask("S reset");
}

// inet_pton/inet_ntop for AF_INET6, alike on both stacks: glibc's text, glibc's strictness.
static void rt_ipv6_text(const rt_backend *b) {
    hn_val v;
    (void)b;
    // 2001:db8::1 is IAENuAAAAAAAAAAAAAAAAQ== in base64
    const char *r = rt_ask("C inet_pton i%d s2001:DB8::1 ; inet_ntop i%d bIAENuAAAAAAAAAAAAAAAAQ== ; inet_pton i%d s1.2.3.4 ; "
                           "inet_pton i%d s1::2::3 ; inet_ntop i%d bAQIDBA== ; inet_pton i%d s::ffff:1.2.3.4",
                           AF_INET6, AF_INET6, AF_INET6, AF_INET6, AF_INET6, AF_INET6);
    rt_check(rt_returned(r, 0, &v) && rt_is(v, "bIAENuAAAAAAAAAAAAAAAAQ=="), "inet_pton(AF_INET6, '2001:DB8::1') is its 16 bytes", r);
    rt_check(rt_returned(r, 1, &v) && rt_is(v, "s2001:db8::1"), "inet_ntop(AF_INET6, ...) writes '2001:db8::1' (lowercase, ::)", r);
    rt_check(rt_raised(r, 2, "EINVAL", NULL) && rt_raised(r, 3, "EINVAL", NULL),
             "inet_pton(AF_INET6, ...) refuses a dotted quad alone and a second ::", r);
    rt_check(rt_raised(r, 4, "EINVAL", NULL), "inet_ntop(AF_INET6, 4 bytes) raises OSError EINVAL", r);
    rt_check(rt_returned(r, 5, &v) && rt_is(v, "bAAAAAAAAAAAAAP//AQIDBA=="), "inet_pton(AF_INET6, '::ffff:1.2.3.4') ends in 1.2.3.4", r);
}

static const rt_case rt_cases[] = {
    {"uc386-socket.txt", "Timeouts", "s.settimeout(0.1) # 100 ms; raises OSError(ETIMEDOUT) on expiry", rt_timeout},
    {"uc386-socket.txt", "Quirks on this port", "socket.recv()returnsb''on clean peer FIN, like POSIX.", rt_eof},
    {"micropython-usocket.txt", "socket.send(bytes)",
     "Returns number of bytes sent, which may be smaller than the length of data (“short write”).", rt_short_write},
    {"micropython-usocket.txt", "socket.connect(address)", "Connect to a remote socket at address.", rt_refused},
    {"micropython-usocket.txt", "socket.read([size])",
     "If size is not given, it reads all data available from the socket until EOF; as such the method will not "
     "return until the socket is closed.", rt_read_on},
    {"micropython-usocket.txt", "socket.bind(address)", "The socket must not already be bound.", rt_bind_twice},
    {"micropython-usocket.txt", "socket.close()",
     "Once that happens, all future operations on the socket object will fail.", rt_closed},
    {"micropython-usocket.txt", "usocket.getaddrinfo(host, port, af=0, type=0, proto=0, flags=0, /)",
     "To distinguish getaddrinfo() errors, they are represented by negative numbers, whereas standard system "
     "errors are positive numbers (error numbers are accessible using e.args[0] property from an exception object).",
     rt_gai_error},
    {"micropython-usocket.txt", "usocket.getaddrinfo(host, port, af=0, type=0, proto=0, flags=0, /)",
     "Translate the host/port argument into a sequence of 5-tuples that contain all the necessary arguments for "
     "creating a socket connected to that service.", rt_gai_name},
    {"micropython-usocket.txt", "Socket address format(s)",
     "IPv6: (ipv6_address, port, flowinfo, scopeid), where ipv6_address is a string with colon-notation numeric "
     "IPv6 address, e.g. \"2001:db8::1\", and port is an integer port number in the range 1-65535.", rt_ipv6_tuple},
    {"micropython-usocket.txt", "Socket address format(s)",
     "Note the domain names are not accepted as ipv6_address, they should be resolved first using "
     "usocket.getaddrinfo().", rt_ipv6_name},
    {"micropython-usocket.txt", "usocket.inet_ntop(af, bin_addr)",
     "Convert a binary network address bin_addr of the given address family af to a textual representation:",
     rt_ipv6_text},
};

// The layer's own promise about names (rf_dns.h), checked once per backend after its cases.
static const rt_case rt_dns_only = {"ref/rf_dns.h", "rf_dns_resolve", "No name ever goes to the machine's resolver.", NULL};

// ---- one backend ----

static void rt_backend_run(const rt_backend *b) {
    char port[16], got[96];
    rf_peer dns;
    rt_b = b;
    rt_c = NULL;
    // the DNS peer's port is in the environment before the stack's threads start: none reads it meanwhile
    int ok = rf_peer_dns(&dns, RT_DNS_NAME, b->peer_host, RT_DNS_NAME6, b->peer_host6) == 0;
    if (ok) {
        snprintf(port, sizeof port, "%d", dns.port);
        ok = setenv(RF_DNS_PORT_ENV, port, 1) == 0 && (!b->start || b->start() == 0);
    }
    if (!rt_setup(ok, "set-up: the DNS peer and the stack start", NULL)) {
        rf_peer_stop(&dns);
        return;
    }
    rf_sem_fill(&rt_port, b->api);
    hn_agent_init(&rt_agent, &rt_port, rt_in, rt_out);
    for (size_t k = 0; k < sizeof rt_cases / sizeof rt_cases[0]; k++) {
        rt_c = &rt_cases[k];
        rt_ask("S reset");      // a fresh handle table for each case
        rt_c->run(b);
    }
    rt_ask("S reset");
    rf_peer_stop(&dns);
    rt_c = &rt_dns_only;
    snprintf(got, sizeof got, "asked for its name %d times, for .invalid %d times", dns.asked_name, dns.asked_invalid);
    rt_check(dns.asked_name > 0 && dns.asked_invalid > 0, "getaddrinfo asked the test's DNS peer", got);
}

int main(int argc, char **argv) {
    struct timespec ts;
    setvbuf(stdout, NULL, _IOLBF, 0);     // a run cut short by the alarm still shows how far it got
    signal(SIGPIPE, SIG_IGN);
    alarm(RT_LIMIT_S);
    // lwIP's unix port draws ports and ISNs from rand(), as rf_main.c seeds it
    clock_gettime(CLOCK_REALTIME, &ts);
    srand((unsigned)(ts.tv_nsec ^ ts.tv_sec ^ getpid()));
    hn_capture_fill(&rt_port);
    rt_port.impl = "rf_test_sem";
    rt_port.version = "0";
    rt_port.machine = "test";
    size_t nb = sizeof rt_backends / sizeof rt_backends[0];
    for (int a = 1; a < argc; a++) {
        size_t k = 0;
        while (k < nb && strcmp(argv[a], rt_backends[k].name) != 0) {
            k++;
        }
        if (k == nb) {
            fprintf(stderr, "rf_test_sem: no backend '%s' in this build\n", argv[a]);
            return 2;
        }
    }
    for (size_t k = 0; k < nb; k++) {
        int chosen = argc == 1;
        for (int a = 1; a < argc; a++) {
            chosen |= strcmp(argv[a], rt_backends[k].name) == 0;
        }
        if (chosen) {
            rt_backend_run(&rt_backends[k]);
        }
    }
    printf("1..%d\n", rt_n);
    printf("ref: %d passed, %d failed, %d skipped\n", rt_passed, rt_failed, rt_skipped);
    return rt_failed ? 1 : 0;
}
