// hn_test_agent.c: the agent under a stub socket backend (it stands in for sockets only; the
// request checking, references, dispatch and in-place result encoding are what is tested):
//  1. recv and recvfrom at every size around the room a response has (in-place base64 at its edge);
//  2. hostile input: mutations of every vector line, half of them re-sealed with a valid CRC so
//     they reach the deep checks; every answer must be one well-formed, CRC-valid line.
// Usage: hn_test_agent ITERATIONS FILE.vec... ; TAP, then "N passed, N failed".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hn_agent.h"
#include "hn_capture.h"

static int passed, failed;
static void check(int ok, const char *what, long detail) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("not ok %d - %s (%ld)\n", passed + failed, what, detail);
    }
}

static void t_release(void *ctx, int32_t desc) {
    (void)ctx, (void)desc;
}

static uint8_t t_pattern(size_t k) {
    return (uint8_t)(k * 7 + 3);
}

// ---- the stub backend ----

static void st_socket(hn_call *c) {
    hn_ret_new_handle(c, 100);
}

static void st_receive(hn_call *c, int from) {
    int64_t n = 0;
    hn_arg_int(c, 1, &n);
    if (n < 0) {
        hn_raise_errno(c, 22);
        return;
    }
    uint8_t *buf = hn_ret_reserve(c, (size_t)n);
    if (!buf) {
        hn_fail(c, "range");
        return;
    }
    for (size_t k = 0; k < (size_t)n; k++) {
        buf[k] = t_pattern(k);
    }
    if (from) {
        static const char addr[] = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
        hn_ret_open(c, '(');
        hn_ret_data(c, 'b', buf, (size_t)n);
        hn_ret_open(c, '(');
        hn_ret_str(c, addr, sizeof addr - 1);
        hn_ret_int(c, 65535);
        hn_ret_int(c, 4294967295);
        hn_ret_int(c, 4294967295);
        hn_ret_close(c, ')');
        hn_ret_close(c, ')');
    } else {
        hn_ret_data(c, 'b', buf, (size_t)n);
    }
}

static void st_recv(hn_call *c) {
    st_receive(c, 0);
}

static void st_recvfrom(hn_call *c) {
    st_receive(c, 1);
}

static void st_send(hn_call *c) {
    const uint8_t *p;
    size_t n;
    if (hn_arg_data(c, 1, &p, &n) != HN_OK) {
        return;  // the agent has answered `? range` or `? type`
    }
    hn_ret_int(c, (int64_t)n);
}

static void st_close(hn_call *c) {
    (void)c;
}

static void st_raise(hn_call *c) {
    hn_raise_msg(c, "OSError", "[addrinfo error -2]");
}

static hn_op_fn st_ops[HN_OP_COUNT];
static const hn_pair st_errnos[] = {{"EINVAL", 22}, {"EBADF", 9}};
static const hn_pair st_consts[] = {{"AF_INET", 2}};
static const char *const st_caps[] = {"stub"};

// ---- helpers ----

static char in[HN_MAXLINE], out[HN_MAXLINE];
static hn_agent agent;
static hn_port port;

static size_t seal(char *line, size_t n) {
    static const char hex[] = "0123456789abcdef";
    uint32_t crc = hn_wire_crc32(line, n);
    line[n++] = ' ';
    for (int k = 28; k >= 0; k -= 4) {
        line[n++] = hex[(crc >> k) & 15];
    }
    return n;
}

// One request; returns the answer's length (0 if none) in hn_capture.
static size_t ask(const char *body) {
    static char line[HN_MAXLINE + 64];
    size_t n = strlen(body);
    memcpy(line, body, n);
    n = seal(line, n);
    line[n++] = '\n';
    hn_capture_len = 0;
    hn_agent_feed(&agent, line, n);
    return hn_capture_len;
}

// Every answer line: printable, "R " or "X ", sealed with a valid CRC, within maxline.
static int well_formed(const char *p, size_t n) {
    size_t start = 0;
    if (n == 0) {
        return 1;
    }
    for (size_t k = 0; k < n; k++) {
        if (p[k] != '\n') {
            if (p[k] < 0x20 || p[k] > 0x7E) {
                return 0;
            }
            continue;
        }
        size_t len = k - start;
        const char *l = p + start;
        if (len + 1 > HN_MAXLINE || len < 12 || !(l[0] == 'R' || l[0] == 'X') || l[1] != ' ' || l[len - 9] != ' ') {
            return 0;
        }
        char want[9];
        static const char hex[] = "0123456789abcdef";
        uint32_t crc = hn_wire_crc32(l, len - 9);
        for (int j = 0; j < 8; j++) {
            want[j] = hex[(crc >> (28 - 4 * j)) & 15];
        }
        if (memcmp(want, l + len - 8, 8) != 0) {
            return 0;
        }
        start = k + 1;
    }
    return start == n;
}

static void test_room_edges(int from) {
    char body[64];
    int saw_range = 0, saw_data = 0;
    for (int n = 2700; n <= 3100; n++) {
        hn_agent_init(&agent, &port, in, out);
        snprintf(body, sizeof body, "Q 1 S socket ; %s @0 i%d", from ? "recvfrom" : "recv", n);
        size_t len = ask(body);
        check(well_formed(hn_capture, len), "answer is well formed", n);
        const char *res = strstr(hn_capture, " ; ");
        if (!res) {
            check(0, "two results", n);
            continue;
        }
        if (strncmp(res, " ; ? range ", 11) == 0) {
            saw_range = 1;
            check(saw_data, "range only above the sizes that fit", n);
            continue;
        }
        saw_data = 1;
        check(!saw_range, "a size that fits after one that did not", n);
        const char *tok = res + (from ? 7 : 5);
        check(strncmp(res, from ? " ; = ( b" : " ; = b", from ? 8 : 6) == 0, "bytes result", n);
        size_t tl = strcspn(tok + 1, " ");
        static uint8_t dec[HN_MAXLINE];
        long got = hn_wire_b64dec(tok + 1, tl, dec);
        int same = got == n;
        for (long k = 0; same && k < n; k++) {
            same = dec[k] == t_pattern((size_t)k);
        }
        check(same, "returned bytes are the bytes received", n);
    }
    check(saw_range && saw_data, "both sides of the edge were reached", 0);
}

// Bytes passed on by reference are decoded into the free end of the response: when they cannot
// fit, send is answered `? range`, never a value the target did not return.
static void test_ref_data(void) {
    char body[64], want[32];
    int saw_range = 0, saw_sent = 0;
    for (int n = 600; n <= 2200; n += 7) {
        hn_agent_init(&agent, &port, in, out);
        snprintf(body, sizeof body, "Q 1 C socket ; recv @0 i%d ; send @0 @1", n);
        size_t len = ask(body);
        check(well_formed(hn_capture, len), "answer is well formed", n);
        const char *last = hn_capture;
        for (const char *q; (q = strstr(last, " ; ")) != NULL;) {
            last = q + 3;
        }
        snprintf(want, sizeof want, "= i%d ", n);
        if (strncmp(last, "? range ", 8) == 0) {
            saw_range = 1;
        } else {
            check(strncmp(last, want, strlen(want)) == 0, "send of a referenced result returns its length", n);
            check(!saw_range, "a referenced size that fits after one that did not", n);
            saw_sent = 1;
        }
    }
    check(saw_range && saw_sent, "both sides of the reference edge were reached", 0);
}

// ---- hostile input ----

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

#define MAXSEEDS 512
static char seeds[MAXSEEDS][HN_MAXLINE];
static size_t seedlen[MAXSEEDS];
static int nseeds;

static void load_seeds(const char *path) {
    static char line[16384];
    FILE *fp = fopen(path, "r");
    if (!fp) {
        check(0, "open vector file", 0);
        return;
    }
    while (fgets(line, sizeof line, fp) && nseeds < MAXSEEDS) {
        if (strncmp(line, "send: Q ", 8) == 0) {
            const char *v = strchr(line, ' ') + 1;
            size_t n = strcspn(v, "\n");
            if (n > 9 && n < HN_MAXLINE - 16) {
                memcpy(seeds[nseeds], v, n - 9);   // without the CRC: re-sealed or not below
                seedlen[nseeds++] = n - 9;
            }
        }
    }
    fclose(fp);
}

static const char *const splice[] = {" ", ";", " ; ", "(", ")", "[", "]", "@0", "@0.0.-1", "@15.3", "h0", "h7",
    "i-9223372036854775808", "i99999999999999999999", "i4000", "i2900", "b", "bAAE=", "y////", "s%25",
    "s%C3%A9", "N", "f1e-05", "fnan", " recv h0 i3000", " send h0 bAAAA", " recvfrom @0 i2800", " socket"};

static void test_hostile(long iterations) {
    static char line[HN_MAXLINE * 2];
    long bad = 0, answers[4] = {0};   // R with a result, X crc, X long, other X
    for (long it = 0; it < iterations; it++) {
        if (it % 64 == 0) {
            hn_agent_init(&agent, &port, in, out);
        }
        int s = (int)rnd((uint32_t)nseeds);
        size_t n = seedlen[s];
        memcpy(line, seeds[s], n);
        int structured = (int)rnd(2);
        int edits = 1 + (int)rnd(structured ? 2 : 4);
        for (int e = 0; structured && e < edits; e++) {
            // token-aware: replace the token after a space, or insert one there
            size_t sp[256];
            int nsp = 0;
            for (size_t k = 0; k < n && nsp < 256; k++) {
                if (line[k] == ' ') {
                    sp[nsp++] = k;
                }
            }
            if (nsp < 3) {
                break;
            }
            size_t at = sp[2 + rnd((uint32_t)nsp - 2)] + 1;   // after Q, seq and mode
            size_t old = 0;
            while (rnd(2) && at + old < n && line[at + old] != ' ') {
                old++;
            }
            while (old && at + old < n && line[at + old] != ' ') {
                old++;
            }
            const char *t = splice[rnd(sizeof splice / sizeof splice[0])];
            size_t tl = strlen(t) + (old ? 0 : 1);
            if (n - old + tl >= HN_MAXLINE - 16) {
                break;
            }
            memmove(line + at + tl, line + at + old, n - at - old);
            memcpy(line + at, t, strlen(t));
            if (!old) {
                line[at + tl - 1] = ' ';
            }
            n = n - old + tl;
        }
        for (int e = 0; !structured && e < edits; e++) {
            size_t at = n ? rnd((uint32_t)n + 1) : 0;
            switch (rnd(5)) {
            case 0:     // flip a byte
                if (n) {
                    line[rnd((uint32_t)n)] ^= (char)(1 << rnd(8));
                }
                break;
            case 1:     // cut
                n = at;
                break;
            case 2: {   // splice a token
                const char *t = splice[rnd(sizeof splice / sizeof splice[0])];
                size_t tl = strlen(t);
                if (n + tl < HN_MAXLINE - 16) {
                    memmove(line + at + tl, line + at, n - at);
                    memcpy(line + at, t, tl);
                    n += tl;
                }
                break;
            }
            case 3:     // delete a run
                if (n > at) {
                    size_t d = rnd((uint32_t)(n - at)) + 1;
                    memmove(line + at, line + at + d, n - at - d);
                    n -= d;
                }
                break;
            default:    // random byte
                if (n < HN_MAXLINE - 16) {
                    memmove(line + at + 1, line + at, n - at);
                    line[at] = (char)rnd(256);
                    n++;
                }
                break;
            }
        }
        if (structured || rnd(2)) {
            n = seal(line, n);
        }
        if (rnd(50) == 0) {     // now and then, past maxline
            size_t fill = HN_MAXLINE + rnd(64);
            memset(line + n, 'A', fill - n < sizeof line - n ? fill - n : 0);
            n = fill < sizeof line - 1 ? fill : sizeof line - 1;
        }
        line[n++] = '\n';
        hn_capture_len = 0;
        int fed = hn_agent_feed(&agent, line, n);
        if (hn_capture_len > 2) {
            answers[hn_capture[0] == 'R' ? 0 : strncmp(hn_capture, "X - crc", 7) == 0 ? 1 : strncmp(hn_capture, "X - long", 8) == 0 ? 2 : 3]++;
        }
        if (fed < 0 || !well_formed(hn_capture, hn_capture_len)) {
            if (bad++ < 5) {
                printf("# bad answer to a mutated line: %.*s\n", (int)(hn_capture_len < 200 ? hn_capture_len : 200), hn_capture);
            }
        }
    }
    printf("# %ld lines: %ld R, %ld X crc, %ld X long, %ld other X\n", iterations, answers[0], answers[1],
           answers[2], answers[3]);
    check(answers[0] > iterations / 20 && answers[3] > iterations / 20, "mutations reach the deep checks", answers[0]);
    check(bad == 0, "every mutated line got one well-formed answer or none", bad);
    // and the agent still serves
    hn_agent_init(&agent, &port, in, out);
    size_t len = ask("Q 5 S echo i1");
    check(len > 0 && strncmp(hn_capture, "R 5 = ( i1 ) ", 13) == 0, "served after the hostile run", 0);
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 100000;
    st_ops[HN_OP_SOCKET] = st_socket;
    st_ops[HN_OP_RECV] = st_recv;
    st_ops[HN_OP_RECVFROM] = st_recvfrom;
    st_ops[HN_OP_SEND] = st_send;
    st_ops[HN_OP_CLOSE] = st_close;
    st_ops[HN_OP_GETADDRINFO] = st_raise;
    hn_capture_fill(&port);
    port.impl = "stub";
    port.version = "0";
    port.machine = "test";
    port.consts = st_consts;
    port.nconsts = 1;
    port.errnos = st_errnos;
    port.nerrnos = 2;
    port.caps = st_caps;
    port.ncaps = 1;
    port.ops = st_ops;
    port.release = t_release;
    test_room_edges(0);
    test_room_edges(1);
    test_ref_data();
    for (int f = 2; f < argc; f++) {
        load_seeds(argv[f]);
    }
    check(nseeds > 30, "seeds loaded", nseeds);
    if (nseeds) {
        test_hostile(iterations);
    }
    printf("1..%d\n", passed + failed);
    printf("agent: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
