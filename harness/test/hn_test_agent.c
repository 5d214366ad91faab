// hn_test_agent.c: the agent under a stub socket backend (it stands in for sockets only; the
// request checking, references, dispatch and in-place result encoding are what is tested):
//  1. recv and recvfrom at every size around the room a response has (in-place base64 at its edge);
//  2. read without a size at every length around the places a result is cut into `+` lines
//     (PROTOCOL.md section 4), after results of every length, and references to it after it;
//  3. hostile input: mutations of every vector line, half of them re-sealed with a valid CRC so
//     they reach the deep checks; every answer must be one well-formed, CRC-valid response
//     (its `+` lines, each exactly maxline bytes, then its last line).
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

// read/readline/readall without a size: st_len pattern bytes in pieces of 7 (base64 groups cut
// across pieces), then a raise if st_raise (ignored once a `+` line went out). With a size: recv.
static size_t st_len = 100;
static int st_raise;

static void st_stream(hn_call *c) {
    if (hn_argc(c) > 1) {
        st_receive(c, 0);
        return;
    }
    uint8_t piece[7];
    hn_ret_begin(c, 'b');
    for (size_t k = 0; k < st_len; k += sizeof piece) {
        size_t n = st_len - k < sizeof piece ? st_len - k : sizeof piece;
        for (size_t j = 0; j < n; j++) {
            piece[j] = t_pattern(k + j);
        }
        hn_ret_more(c, piece, n);
    }
    if (st_raise) {
        hn_raise_errno(c, 22);
    }
}

static void st_raise_msg(hn_call *c) {
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

// Every answer line: printable, "R " or "X ", sealed with a valid CRC, within maxline; before an
// "R", any number of "+" lines of its seq, each exactly maxline bytes.
static int well_formed(const char *p, size_t n) {
    size_t start = 0, seqlen = 0;
    const char *seq = 0;    // the seq of the `+` lines so far
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
        if (len + 1 > HN_MAXLINE || len < 12 || !(l[0] == 'R' || l[0] == 'X' || l[0] == '+') || l[1] != ' ' ||
            l[len - 9] != ' ') {
            return 0;
        }
        size_t sl = strcspn(l + 2, " ");
        if ((l[0] == '+' && len + 1 != HN_MAXLINE) || (seq && (l[0] == 'X' || sl != seqlen || memcmp(seq, l + 2, sl)))) {
            return 0;
        }
        seq = l[0] == '+' ? l + 2 : 0;
        seqlen = sl;
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
    return start == n && !seq;
}

// The response in hn_capture joined from its lines (PROTOCOL.md section 4): "R <seq> ", then the
// text of each line after its "<seq> " and before its " <crc>". Returns its length; 0 if none.
static size_t joined(char *dst, size_t cap, int *lines) {
    size_t w = 0, start = 0;
    *lines = 0;
    for (size_t k = 0; k < hn_capture_len; k++) {
        if (hn_capture[k] != '\n') {
            continue;
        }
        const char *l = hn_capture + start;
        size_t head = 3 + strcspn(l + 2, " "), len = k - start - 9;
        if (w == 0) {
            memcpy(dst, "R ", 2);
            memcpy(dst + 2, l + 2, head - 2);
            w = head;
        }
        if (w + len - head >= cap) {
            return 0;
        }
        memcpy(dst + w, l + head, len - head);
        w += len - head;
        (*lines)++;
        start = k + 1;
    }
    dst[w] = 0;
    return w;
}

// read without a size after a result of pad characters: every length of its bytes around the
// first three cuts, so that each `+` line ends on every place of a base64 group and of a token.
static void test_continued(void) {
    static char body[HN_MAXLINE], text[HN_MAXLINE * 64];
    static uint8_t dec[HN_MAXLINE * 48];
    int cut_in_token = 0, most = 0;
    for (int pad = 0; pad < 3; pad++) {
        // bytes by 97, and one by one from 40 before to 40 after where the first three cuts fall
        // (every 4081 characters: 3045, 6106 and 9166 bytes)
        for (size_t n = 0; n < 9300; n += (n + 40) % 3061 < 80 ? 1 : n % 3061 < 2900 ? 97 : 1) {
            hn_agent_init(&agent, &port, in, out);
            st_len = n;
            // an echo of pad characters moves where the bytes start; then what follows the bytes
            snprintf(body, sizeof body, "Q 77 C socket ; echo s%.*s ; read @0 ; echo @2 ; echo @1 ; echo i5", pad,
                     "xyz");
            size_t len = ask(body);
            int lines;
            size_t tl = joined(text, sizeof text, &lines);
            check(well_formed(hn_capture, len), "continued answer is well formed", (long)n);
            // the line holds 4096 - 13 - 2 bytes of text: only a longer one is continued
            size_t want_lines = tl <= 4081 + 5 ? 1 : (tl - 5 + 4080) / 4081;
            check(lines >= 1 && (size_t)lines == want_lines, "as many lines as the text needs", (long)n);
            most = lines > most ? lines : most;
            for (size_t at = 0, k = 0; k + 1 < (size_t)lines; k++) {
                at += HN_MAXLINE;
                // (never at a space: only the base64 is continued, and it starts before the last 16)
                char last = hn_capture[at - 11], first = hn_capture[at + 5];
                check(last != ' ' && first != ' ', "a cut inside the base64", (long)n);
                cut_in_token = 1;
            }
            char want[32];
            snprintf(want, sizeof want, "R 77 = h0 ; = ( s%.*s ) ; = b", pad, "xyz");
            check(tl > 0 && strncmp(text, want, strlen(want)) == 0, "joined text starts with its results", (long)n);
            const char *b64 = text + strlen(want);
            size_t bl = strcspn(b64, " ");
            long got = hn_wire_b64dec(b64, bl, dec);
            int same = got == (long)n;
            for (long k = 0; same && k < got; k++) {
                same = dec[k] == t_pattern((size_t)k);
            }
            check(same, "the joined base64 is the bytes, whole", (long)n);
            // after a `+` line, a reference to the continued op or to one before it is `? ref`; the
            // results after it are all there, unless the last line had no room left for them
            const char *rest = b64 + bl;
            size_t last = hn_capture_len - (size_t)(lines - 1) * HN_MAXLINE - 10;
            if (lines > 1) {
                static const char after[] = " ; ? ref ; ? ref ; = ( i5 )";
                check(strncmp(after, rest, strlen(rest)) == 0 && (rest[0] == 0 || rest[0] == ' '),
                      "references after a `+` line are `? ref`", (long)n);
                check(strlen(rest) == strlen(after) || last + 16 > HN_MAXLINE - 10, "later ops ran while they fit",
                      (long)n);
            } else {
                check(strstr(rest, "? ref") == NULL, "references to a result that was not continued resolve", (long)n);
            }
        }
    }
    check(cut_in_token && most >= 3, "cuts, and three lines and more", most);
    // a raise after a `+` line is ignored; before one it is the result
    st_raise = 1;
    for (size_t n = 10; n <= 6010; n += 6000) {
        hn_agent_init(&agent, &port, in, out);
        st_len = n;
        size_t len = ask("Q 78 C socket ; read @0 ; echo i1");
        int lines;
        size_t tl = joined(text, sizeof text, &lines);
        check(well_formed(hn_capture, len) && tl > 0, "answer with a raise is well formed", (long)n);
        const char *want = n < 3000 ? "R 78 = h0 ; ! OSError EINVAL ( i22 ) ; = ( i1 )" : "R 78 = h0 ; = b";
        check(strncmp(text, want, strlen(want)) == 0 && strstr(text, " ; = ( i1 )") != NULL,
              "a raise counts only before a `+` line", (long)n);
    }
    st_raise = 0;
    st_len = 100;
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
static int nseeds, runs[MAXSEEDS], nruns;     // runs: the seeds a vector answers `R` (requests that run)

static void load_seeds(const char *path) {
    static char line[16384];
    FILE *fp = fopen(path, "r");
    if (!fp) {
        check(0, "open vector file", 0);
        return;
    }
    int last = -1;      // the seed of the send before this line
    while (fgets(line, sizeof line, fp) && nseeds < MAXSEEDS) {
        if (strncmp(line, "send: Q ", 8) == 0) {
            const char *v = strchr(line, ' ') + 1;
            size_t n = strcspn(v, "\n");
            last = -1;
            if (n > 9 && n < HN_MAXLINE - 16) {
                memcpy(seeds[nseeds], v, n - 9);   // without the CRC: re-sealed or not below
                seedlen[nseeds] = n - 9;
                last = nseeds++;
            }
        } else if (last >= 0 && (strncmp(line, "expect: R ", 10) == 0 || strncmp(line, "expect: + ", 10) == 0)) {
            runs[nruns++] = last;
            last = -1;
        } else if (strncmp(line, "expect: ", 8) == 0) {
            last = -1;
        }
    }
    fclose(fp);
}

static const char *const splice[] = {" ", ";", " ; ", "(", ")", "[", "]", "@0", "@0.0.-1", "@15.3", "h0", "h7",
    "i-9223372036854775808", "i99999999999999999999", "i4000", "i2900", "b", "bAAE=", "y////", "s%25",
    "s%C3%A9", "N", "f1e-05", "fnan", " recv h0 i3000", " send h0 bAAAA", " recvfrom @0 i2800", " socket",
    " read h0", " readline @0", " readall h0"};
// keyword arguments, put where one may stand: before an op's `;` or at the end of the line
static const char *const kwsplice[] = {"kflags i0", "kx @0", "k_y2 ( i1 )", "kflags N", "kx i1 kx i2", "k kx"};

static void test_hostile(long iterations) {
    static char line[HN_MAXLINE * 2];
    long bad = 0, answers[4] = {0};   // R with a result, X crc, X long, other X
    for (long it = 0; it < iterations; it++) {
        if (it % 64 == 0) {
            hn_agent_init(&agent, &port, in, out);
        }
        // three in four from a request that runs, so that mutations reach the dispatch, however
        // many of the vectors are rejections
        int s = nruns && rnd(4) ? runs[rnd((uint32_t)nruns)] : (int)rnd((uint32_t)nseeds);
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
            if (rnd(4) == 0) {
                t = kwsplice[rnd(sizeof kwsplice / sizeof kwsplice[0])];
                int ends = 0;
                for (int j = 2; j < nsp; j++) {
                    ends += line[sp[j] + 1] == ';';
                }
                int pick = (int)rnd((uint32_t)ends + 1);
                at = n + 1;     // at the end of the line, after a space put there below
                for (int j = 2; j < nsp; j++) {
                    if (line[sp[j] + 1] == ';' && pick-- == 0) {
                        at = sp[j] + 1;
                    }
                }
                old = 0;
                if (at == n + 1) {
                    if (n + 1 + strlen(t) >= HN_MAXLINE - 16) {
                        break;
                    }
                    line[n] = ' ';
                    memcpy(line + n + 1, t, strlen(t));
                    n += 1 + strlen(t);
                    continue;
                }
            }
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
        st_len = (size_t)rnd(3) * 4000 + rnd(100);   // without a size: none, one or two `+` lines
        st_raise = rnd(4) == 0;
        int fed = hn_agent_feed(&agent, line, n);
        if (hn_capture_len > 2) {
            answers[hn_capture[0] == 'R' || hn_capture[0] == '+' ? 0 : strncmp(hn_capture, "X - crc", 7) == 0 ? 1 : strncmp(hn_capture, "X - long", 8) == 0 ? 2 : 3]++;
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
    st_ops[HN_OP_GETADDRINFO] = st_raise_msg;
    st_ops[HN_OP_READ] = st_stream;
    st_ops[HN_OP_READLINE] = st_stream;
    st_ops[HN_OP_READALL] = st_stream;
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
    test_continued();
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
