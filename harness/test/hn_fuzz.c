// hn_fuzz.c: libFuzzer target: the agent's line assembly, request checks, references and dispatch
// over a stub backend. Every answer is checked against PROTOCOL.md, and the stub checks what the
// agent promises a backend; a violation calls abort(), which the fuzzer reports as a crash.
//
// Input: byte 0 picks the mode, the rest is what the host sends.
//   0 raw:    fed to hn_agent_feed in one call (CRC, `long`, '\r', framing), then "\n";
//   1 chunks: fed in chunks of 1..64 bytes (byte 0 >> 2, plus 1): lines split across reads;
//   2 sealed: each '\n'-separated line gets a valid CRC (over its bytes without '\r'), then
//             hn_agent_feed: past the CRC check into the parser and dispatch;
//   3 line:   each line sealed (over all its bytes) and given to hn_agent_line in a buffer of
//             exactly its size, so that a read past its end is caught.
// After the input: the stub's open sockets are exactly the agent's open handles, and a plain
// request is still answered, and no answer holds a reference (one inside a tuple or list is
// `syntax`: `echo ( @0 )` used to echo it back unresolved). A response continued over `+` lines
// (PROTOCOL.md section 4) is checked line by line, then as the one response its lines make.
// Seeds and dictionary: hn_fuzz_seeds.py; a bounded session: hn_fuzz.sh.
// Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iharness
//        harness/hn_wire.c harness/hn_agent.c harness/test/hn_fuzz.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hn_agent.h"

#define FZ_MAXIN (1 << 16)      // longer inputs are skipped (hn_fuzz.sh runs -max_len=4200)
#define FZ_DESC0 100            // the stub's first descriptor
#define FZ_MAXDESC 256          // descriptors the stub hands out per input
#define FZ_DEPTH 64             // nesting a response or a resolved argument may have
#define FZ_MAXJOIN (HN_MAXLINE * 80)    // a continued response, joined: 16 reads of 9000 bytes fit

enum { FZ_RAW, FZ_CHUNKS, FZ_SEALED, FZ_LINE };

static void fz_fail(const char *what, const char *p, size_t n, int line) {
    fprintf(stderr, "hn_fuzz.c:%d: %s (%zu bytes): ", line, what, n);
    for (size_t k = 0; p && k < n; k++) {
        unsigned char ch = (unsigned char)p[k];
        if (k == 300 && n > 600) {
            fprintf(stderr, " ... ");
            k = n - 300;
        }
        fprintf(stderr, ch >= 0x20 && ch < 0x7F ? "%c" : "\\x%02x", ch);
    }
    fputc('\n', stderr);
    abort();
}

#define FZ_ASSERT(ok, what, p, n) ((ok) ? (void)0 : fz_fail(what, p, n, __LINE__))

// The checks below walk every byte; coverage of them would only slow the fuzzer (clang >= 13).
#ifdef __clang__
#define FZ_PLAIN __attribute__((no_sanitize("coverage")))
#else
#define FZ_PLAIN
#endif

// CRC-32 with a table: independent of the agent's hn_wire_crc32, which it checks.
FZ_PLAIN static uint32_t fz_crc32(const char *p, size_t n) {
    static uint32_t table[256];
    if (!table[1]) {
        for (uint32_t k = 0; k < 256; k++) {
            uint32_t c = k;
            for (int j = 0; j < 8; j++) {
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            table[k] = c;
        }
    }
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c = table[(c ^ (uint8_t)*p++) & 0xFF] ^ (c >> 8);
    }
    return ~c;
}

static const char *const fz_sigs[HN_OP_COUNT] = {
#define HN_OP(id, name, sig) sig,
#include "../ops.def"
#undef HN_OP
};

static hn_agent fz_agent;
static hn_port fz_port;

// ---- the stub backend: sockets are numbers; it checks what the agent hands it ----

static uint8_t fz_open[FZ_MAXDESC];
static int fz_ndesc;

static void fz_release(void *ctx, int32_t desc) {
    (void)ctx;
    FZ_ASSERT(desc >= FZ_DESC0 && desc < FZ_DESC0 + fz_ndesc && fz_open[desc - FZ_DESC0],
              "release of a descriptor that is not open", 0, 0);
    fz_open[desc - FZ_DESC0] = 0;
}

static int32_t fz_new_desc(void) {
    if (fz_ndesc == FZ_MAXDESC) {
        return -1;
    }
    fz_open[fz_ndesc] = 1;
    return FZ_DESC0 + fz_ndesc++;
}

static int fz_tokeq(hn_val v, const char *s, size_t n) {
    return hn_wire_toklen(v.p, v.end) == n && memcmp(v.p, s, n) == 0;
}

// Letter of argument i of sig, or 0 past the last one (the agent's rule, written again).
static char fz_letter(const char *sig, int i, int *min, int *max) {
    char letter = 0;
    int idx = 0, req = 1;
    *min = 0;
    *max = 0;
    for (const char *s = sig; *s; s++) {
        if (*s == '|') {
            req = 0;
            continue;
        }
        if (s[1] == '*') {
            letter = i >= idx ? *s : letter;
            *max = HN_MAXARGS;
            s++;
            continue;
        }
        letter = idx == i ? *s : letter;
        *min += req;
        *max = *max < HN_MAXARGS ? idx + 1 : *max;
        idx++;
    }
    return letter;
}

static int fz_kind_ok(char letter, hn_kind k) {
    switch (letter) {
    case 'h': return k == HN_K_HANDLE;
    case 'i':
    case 'z': return k == HN_K_INT;
    case 'n': return k == HN_K_INT || k == HN_K_FLOAT || k == HN_K_NONE;
    case 'b': return k == HN_K_BYTES || k == HN_K_BYTEARRAY;
    case 's': return k == HN_K_STR;
    case 'l': return k == HN_K_LIST;
    case 'v': return k != HN_K_BAD && k != HN_K_REF;
    default: return 0;
    }
}

// Decode a value with every accessor of hn_wire.h; canonical tokens must encode back to themselves.
static void fz_walk(hn_val v, int depth) {
    static char text[HN_MAXLINE * 3];
    static uint8_t raw[HN_MAXLINE];
    size_t n = hn_wire_toklen(v.p, v.end);
    hn_kind k = hn_wire_kind(v);
    FZ_ASSERT(depth > 0 && k != HN_K_BAD, "a bad value reached the backend", v.p, n);
    if (k == HN_K_INT) {
        int64_t x;
        FZ_ASSERT(hn_wire_int(v, &x) == HN_OK, "an int beyond 64 bits reached the backend", v.p, n);
        text[0] = 'i';
        size_t w = 1 + hn_wire_fmtint(x, text + 1);
        FZ_ASSERT(w == n && memcmp(text, v.p, n) == 0, "int does not encode back to its token", v.p, n);
    } else if (k == HN_K_FLOAT) {
        double d;
        FZ_ASSERT(hn_wire_float(v, &d) == HN_OK, "float does not decode", v.p, n);
    } else if (k == HN_K_BYTES || k == HN_K_BYTEARRAY) {
        long got = hn_wire_b64dec(v.p + 1, n - 1, raw);
        FZ_ASSERT(got >= 0 && (size_t)got <= (n - 1) / 4 * 3, "base64 does not decode", v.p, n);
        size_t w = hn_wire_b64enc(raw, (size_t)got, text);
        FZ_ASSERT(w == n - 1 && memcmp(text, v.p + 1, w) == 0, "bytes do not encode back", v.p, n);
    } else if (k == HN_K_STR) {
        long got = hn_wire_str(v, (char *)raw, sizeof raw);
        FZ_ASSERT(got >= 0, "str does not decode", v.p, n);
        long w = hn_wire_stresc((const char *)raw, (size_t)got, text, sizeof text);
        FZ_ASSERT(w == (long)n - 1 && memcmp(text, v.p + 1, (size_t)w) == 0, "str does not encode back", v.p, n);
    } else if (k == HN_K_TUPLE || k == HN_K_LIST) {
        int count = hn_wire_count(v);
        hn_val item, last;
        FZ_ASSERT(count >= 0, "container without a count", v.p, n);
        FZ_ASSERT(hn_wire_item(v, count, &item) == HN_ERANGE && hn_wire_item(v, -count - 1, &item) == HN_ERANGE,
                  "item past the end", v.p, n);
        for (int j = 0; j < count && j < 16; j++) {
            FZ_ASSERT(hn_wire_item(v, j, &item) == HN_OK, "item does not exist", v.p, n);
            fz_walk(item, depth - 1);
        }
        if (count > 0) {
            FZ_ASSERT(hn_wire_item(v, count - 1, &item) == HN_OK && hn_wire_item(v, -1, &last) == HN_OK &&
                      item.p == last.p, "item -1 is not the last item", v.p, n);
        }
    }
}

static void fz_address(hn_call *c) {
    static const char addr[] = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    hn_ret_open(c, '(');
    hn_ret_str(c, addr, sizeof addr - 1);
    hn_ret_int(c, 65535);
    hn_ret_close(c, ')');
}

static int fz_closed(hn_call *c) {
    if (hn_desc(c) == HN_CLOSED) {
        hn_raise_errno(c, 9);
        return 1;
    }
    return 0;
}

// read, readline and readall without a size: pattern bytes in pieces of 7, as many as the handle
// says: h%4 == 0: 100; 1: 5000, over a `+` line; 2: 9000, then a raise the agent must ignore;
// 3: 10, then a raise that stands.
static void fz_stream(hn_call *c) {
    static const size_t lens[4] = {100, 5000, 9000, 10};
    int h = hn_handle_of(c);
    size_t len = lens[h % 4];
    uint8_t piece[7];
    hn_ret_begin(c, 'b');
    for (size_t k = 0; k < len; k += sizeof piece) {
        size_t n = len - k < sizeof piece ? len - k : sizeof piece;
        for (size_t j = 0; j < n; j++) {
            piece[j] = (uint8_t)((k + j) * 7 + 3);
        }
        hn_ret_more(c, piece, n);
    }
    FZ_ASSERT(hn_ret_sent(c) == (len > 3100), "a result that may be continued was (not) continued", 0, 0);
    if (h % 4 >= 2) {
        hn_raise_errno(c, 22);
    }
}

// recv, read, readline, readall, recvfrom and the buffer ops: returns pattern bytes
static void fz_receive(hn_call *c, int op) {
    int64_t size = -1;
    int sized = hn_argc(c) > 1;
    if (!sized && (op == HN_OP_READ || op == HN_OP_READLINE || op == HN_OP_READALL)) {
        if (!fz_closed(c)) {
            fz_stream(c);
        }
        return;
    }
    if (sized) {
        FZ_ASSERT(hn_arg_int(c, 1, &size) == HN_OK, "size is not an int", 0, 0);
        if (size >= 0) {
            // PROTOCOL.md section 5: a size whose answer cannot fit is `? range` before the target
            FZ_ASSERT(hn_ret_reserve(c, (size_t)size) != NULL, "a size the agent let through does not fit", 0, 0);
        }
    }
    if (fz_closed(c)) {
        return;
    }
    if (size == 13) {
        hn_raise_errno(c, 110);     // not in the errno table: `N`
        return;
    }
    if (size == 17) {
        hn_fail(c, "unsupported");
        return;
    }
    if (size == 19) {   // pieces of any other op's result must fit: `? overflow`, never a `+` line
        uint8_t piece[64] = {0};
        hn_ret_begin(c, 'b');
        for (int k = 0; k < 100; k++) {
            hn_ret_more(c, piece, sizeof piece);
        }
        FZ_ASSERT(!hn_ret_sent(c), "a result that may not be continued was", 0, 0);
        hn_ret_end(c);
        return;
    }
    if (size < 0) {
        if (op == HN_OP_RECV || op == HN_OP_RECVFROM || op >= HN_OP_RECV_INTO || op == HN_OP_READINTO) {
            hn_raise_errno(c, 22);
            return;
        }
        size = (int64_t)hn_ret_room(c);
    }
    uint8_t *buf = hn_ret_reserve(c, (size_t)size);
    FZ_ASSERT(buf != NULL, "room does not fit", 0, 0);
    for (int64_t k = 0; k < size; k++) {
        buf[k] = (uint8_t)(k * 7 + 3);
    }
    if (op == HN_OP_READINTO || op == HN_OP_RECV_INTO || op == HN_OP_RECVFROM_INTO) {
        int64_t nbytes = size;
        if (hn_argc(c) > 2) {
            FZ_ASSERT(hn_arg_int(c, 2, &nbytes) == HN_OK, "nbytes is not an int", 0, 0);
        }
        hn_ret_open(c, '(');
        if (op == HN_OP_RECVFROM_INTO) {
            hn_ret_open(c, '(');
            hn_ret_int(c, nbytes);
            fz_address(c);
            hn_ret_close(c, ')');
        } else {
            hn_ret_int(c, nbytes);
        }
        hn_ret_data(c, 'y', buf, (size_t)size);
        hn_ret_close(c, ')');
    } else if (op == HN_OP_RECVFROM) {
        hn_ret_open(c, '(');
        hn_ret_data(c, 'b', buf, (size_t)size);
        fz_address(c);
        hn_ret_close(c, ')');
    } else {
        hn_ret_data(c, 'b', buf, (size_t)size);
    }
}

// One of each op: the agent's promises (arity, argument types after references, handles, sizes)
// are checked before the op does anything.
static void fz_op(hn_call *c, int op) {
    const char *sig = fz_sigs[op];
    int argc = hn_argc(c), min, max;
    fz_letter(sig, 0, &min, &max);
    FZ_ASSERT(argc >= min && argc <= max, "arity the signature does not allow", sig, strlen(sig));
    for (int i = 0; i < argc; i++) {
        hn_val v = hn_arg(c, i);
        const char *next;
        char letter = fz_letter(sig, i, &min, &max);
        FZ_ASSERT(fz_kind_ok(letter, hn_wire_kind(v)), "argument of the wrong type reached the backend", v.p,
                  (size_t)(v.end - v.p));
        FZ_ASSERT(hn_wire_check(v, FZ_DEPTH, &next) == HN_OK && next == v.end, "argument is not exactly one value",
                  v.p, (size_t)(v.end - v.p));
        fz_walk(v, FZ_DEPTH);
    }
    if (sig[0] == 'h') {
        int h = hn_handle_of(c);
        hn_val v = hn_arg(c, 0);
        char want[16];
        int w = snprintf(want, sizeof want, "h%d", h);
        FZ_ASSERT(h >= 0 && h < HN_MAXHANDLES && fz_agent.handles[h].used && fz_tokeq(v, want, (size_t)w),
                  "handle argument is not the handle called", v.p, (size_t)(v.end - v.p));
        FZ_ASSERT(hn_desc(c) == (fz_agent.handles[h].open ? fz_agent.handles[h].desc : HN_CLOSED),
                  "descriptor is not the handle's", 0, 0);
    }
    int64_t x = 0;
    const uint8_t *data, *again;
    size_t n, n2;
    switch (op) {
    case HN_OP_SOCKET: {
        if (argc > 0 && hn_arg_int(c, 0, &x) == HN_OK && x == 99) {
            hn_raise_errno(c, 97);
            return;
        }
        int32_t d = fz_new_desc();
        if (d < 0) {
            hn_raise_errno(c, 24);
            return;
        }
        if (hn_ret_new_handle(c, d) < 0) {
            FZ_ASSERT(!fz_open[d - FZ_DESC0], "a full table kept the descriptor open", 0, 0);
        }
        return;
    }
    case HN_OP_CLOSE:
        if (!fz_closed(c)) {
            fz_release(0, hn_desc(c));
        }
        return;
    case HN_OP_WITH:    // `with s: pass`: it closes the socket (again: no error); odd handles are no
                        // context manager, raise, and stay as they were
        if (hn_handle_of(c) % 2) {
            hn_raise_msg(c, "AttributeError", "'socket' object has no attribute '__exit__'");
        } else if (hn_desc(c) != HN_CLOSED) {
            fz_release(0, hn_desc(c));
        }
        return;
    case HN_OP_BIND:
    case HN_OP_CONNECT:
        if (!fz_closed(c) && hn_wire_count(hn_arg(c, 1)) != 2) {
            hn_raise_errno(c, 22);
        }
        return;
    case HN_OP_LISTEN:
        if (argc > 1 && hn_arg_int(c, 1, &x) == HN_OK && x <= 0 && x > -3) {
            hn_raise_errno(c, (int)x);  // errno 0 and negatives: `N`
        }
        return;
    case HN_OP_ACCEPT: {
        if (fz_closed(c)) {
            return;
        }
        int32_t d = fz_new_desc();
        if (d < 0) {
            hn_raise_errno(c, 24);
            return;
        }
        hn_ret_open(c, '(');
        if (hn_ret_new_handle(c, d) < 0) {
            FZ_ASSERT(!fz_open[d - FZ_DESC0], "a full table kept the descriptor open", 0, 0);
            return;
        }
        fz_address(c);
        hn_ret_close(c, ')');
        return;
    }
    case HN_OP_SEND:
    case HN_OP_SENDALL:
    case HN_OP_WRITE:
    case HN_OP_SENDTO:
        if (hn_arg_data(c, 1, &data, &n) != HN_OK) {
            return;     // answered `? range` or `? type`
        }
        FZ_ASSERT(hn_arg_data(c, 1, &again, &n2) == HN_OK && again == data && n2 == n, "data decoded twice", 0, 0);
        if (fz_closed(c)) {
            return;
        }
        if (op == HN_OP_SENDALL) {
            hn_ret_none(c);
        } else {
            hn_ret_int(c, n > 0 && data[0] == 0xFF ? (int64_t)n - 1 : (int64_t)n);
        }
        return;
    case HN_OP_RECV:
    case HN_OP_RECVFROM:
    case HN_OP_READ:
    case HN_OP_READLINE:
    case HN_OP_READALL:
    case HN_OP_READINTO:
    case HN_OP_RECV_INTO:
    case HN_OP_RECVFROM_INTO:
        fz_receive(c, op);
        return;
    case HN_OP_SETSOCKOPT:
        if (hn_wire_kind(hn_arg(c, 3)) == HN_K_BYTES || hn_wire_kind(hn_arg(c, 3)) == HN_K_BYTEARRAY) {
            if (hn_arg_data(c, 3, &data, &n) != HN_OK) {
                return;
            }
        }
        if (!fz_closed(c)) {
            hn_ret_none(c);
        }
        return;
    case HN_OP_SETTIMEOUT: {
        double d = 0;
        hn_val v = hn_arg(c, 1);
        if (hn_wire_kind(v) != HN_K_NONE) {
            FZ_ASSERT(hn_wire_float(v, &d) == HN_OK, "a number that is not a number", v.p, (size_t)(v.end - v.p));
        }
        if (d != d || d < 0) {
            hn_raise_msg(c, "ValueError", "timeout must be non-negative");
        }
        return;
    }
    case HN_OP_SETBLOCKING:
        hn_ret_bool(c, hn_wire_kind(hn_arg(c, 1)) == HN_K_TRUE);
        return;
    case HN_OP_MAKEFILE:
        hn_ret_handle(c, hn_handle_of(c));
        return;
    case HN_OP_FILENO:
        if (!fz_closed(c)) {
            hn_ret_int(c, hn_desc(c));
        }
        return;
    case HN_OP_GETADDRINFO: {
        char host[64];
        long hl = hn_wire_str(hn_arg(c, 0), host, sizeof host);
        if (hl < 0 || hn_wire_eq(host, (size_t)hl, "fail")) {
            hn_raise_msg(c, "OSError", "[addrinfo error -2]");
            return;
        }
        int64_t count = 1;
        hn_arg_int(c, 1, &count);   // a large port number: a list that overflows
        hn_ret_open(c, '[');
        for (int64_t k = 0; k < count && k < 400; k++) {
            hn_ret_open(c, '(');
            hn_ret_int(c, 2);
            hn_ret_int(c, 1);
            hn_ret_int(c, 6);
            hn_ret_str(c, host, (size_t)hl);
            hn_ret_open(c, '(');
            hn_ret_str(c, host, (size_t)hl);
            hn_ret_int(c, k);
            hn_ret_close(c, ')');
            hn_ret_close(c, ')');
        }
        hn_ret_close(c, ']');
        return;
    }
    case HN_OP_INET_PTON: {
        char txt[64];
        long tl = hn_wire_str(hn_arg(c, 1), txt, sizeof txt);
        if (tl < 4) {
            hn_raise_errno(c, 22);
            return;
        }
        hn_ret_data(c, 'b', (const uint8_t *)txt, 4);
        return;
    }
    case HN_OP_INET_NTOP:
        if (hn_arg_data(c, 1, &data, &n) != HN_OK) {
            return;
        }
        if (n != 4) {
            hn_raise_errno(c, 22);
            return;
        }
        {
            char txt[16];
            int tl = snprintf(txt, sizeof txt, "%u.%u.%u.%u", data[0], data[1], data[2], data[3]);
            hn_ret_str(c, txt, (size_t)tl);
        }
        return;
    case HN_OP_POLL: {
        hn_val list = hn_arg(c, 0), entry, hv;
        int count = hn_wire_count(list);
        hn_ret_open(c, '[');
        for (int k = 0; k < count; k++) {
            int h;
            int32_t d;
            if (hn_wire_item(list, k, &entry) != HN_OK || hn_wire_item(entry, 0, &hv) != HN_OK ||
                hn_val_handle(c, hv, &h, &d) != HN_OK) {
                hn_raise_errno(c, 22);
                return;
            }
            FZ_ASSERT(h >= 0 && h < HN_MAXHANDLES && fz_agent.handles[h].used &&
                      d == (fz_agent.handles[h].open ? fz_agent.handles[h].desc : HN_CLOSED), "poll handle", 0, 0);
            hn_ret_open(c, '(');
            hn_ret_handle(c, h);
            hn_ret_int(c, d == HN_CLOSED ? 32 : 4);
            hn_ret_close(c, ')');
        }
        hn_ret_close(c, ']');
        return;
    }
    case HN_OP_IP_TO_TUPLE: {
        char txt[HN_MAXLINE];
        long tl = hn_wire_str(hn_arg(c, 0), txt, sizeof txt);
        FZ_ASSERT(tl >= 0, "str argument does not decode", 0, 0);
        hn_ret_open(c, '(');
        hn_ret_str(c, txt, (size_t)tl);
        hn_ret_str(c, txt, (size_t)tl);     // twice: long ones overflow
        hn_ret_close(c, ')');
        return;
    }
    default:
        FZ_ASSERT(0, "the backend was called for a core op", fz_sigs[op], strlen(fz_sigs[op]));
    }
}

#define HN_OP(id, name, sig) static void fz_op_##id(hn_call *c) { fz_op(c, HN_OP_##id); }
#include "../ops.def"
#undef HN_OP

static hn_op_fn fz_ops[HN_OP_COUNT] = {
#define HN_OP(id, name, sig) fz_op_##id,
#include "../ops.def"
#undef HN_OP
};

// ---- the answers: one per non-empty line, each a well-formed response to it ----

typedef struct {
    const char *p;      // the line as the agent sees it ('\r' removed), CRC included
    size_t n;
    uint8_t overlong;   // longer than maxline: `X - long`
    uint8_t sealed;     // the fuzzer put a valid CRC on it
} fz_line;

static fz_line fz_lines[FZ_MAXIN + 8];
static int fz_nlines, fz_answered;

FZ_PLAIN static int fz_in(const char *s, const char *const *set) {
    for (; *set; set++) {
        if (strcmp(s, *set) == 0) {
            return 1;
        }
    }
    return 0;
}

FZ_PLAIN static int fz_seq_ok(const char *p, size_t n) {
    if (n == 0 || n > 9 || (n > 1 && p[0] == '0')) {
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        if (p[k] < '0' || p[k] > '9') {
            return 0;
        }
    }
    return 1;
}

FZ_PLAIN static int fz_name_ok(const char *p, size_t n, int errno_name) {
    for (size_t k = 0; k < n; k++) {
        char ch = p[k];
        int alpha = errno_name ? (ch >= 'A' && ch <= 'Z') : (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
        int more = (ch >= '0' && ch <= '9') || ch == '_' || (!errno_name && ch == '.');
        if (!(alpha || (k > 0 && more))) {
            return 0;
        }
    }
    return n > 0;
}

// End of the op that starts at op in a request body: the space before its ';', or end.
FZ_PLAIN static const char *fz_op_end(const char *op, const char *end) {
    for (const char *q = op; q < end; q += hn_wire_toklen(q, end) + 1) {
        if (q[0] == ';' && hn_wire_toklen(q, end) == 1) {
            return q - 1;
        }
    }
    return end;
}

// One line the agent wrote: printable, its CRC, its '\n', at most maxline bytes.
FZ_PLAIN static void fz_check_frame(const char *a, size_t n) {
    static const char hex[] = "0123456789abcdef";
    FZ_ASSERT(n >= 16 && n <= HN_MAXLINE && a[n - 1] == '\n', "answer length or no newline", a, n);
    size_t len = n - 1;
    for (size_t k = 0; k < len; k++) {
        FZ_ASSERT(a[k] >= 0x20 && a[k] <= 0x7E, "byte outside printable ASCII", a, n);
    }
    uint32_t crc = fz_crc32(a, len - 9);
    for (int j = 0; j < 8; j++) {
        FZ_ASSERT(a[len - 8 + j] == hex[(crc >> (28 - 4 * j)) & 15] && a[len - 9] == ' ', "bad CRC", a, n);
    }
}

// The response to line l: its body a (a line without " <crc>\n", or a continued response's
// lines joined), n bytes; last: the body length of its last line.
FZ_PLAIN static void fz_check_answer(const fz_line *l, const char *a, size_t n, size_t last) {
    static const char *const xcodes[] = {"crc", "long", "syntax", "op", "arity", "type", "range", 0};
    static const char *const qcodes[] = {"type", "range", "handle", "ref", "unsupported", "full", "overflow", 0};
    char tok[48];
    for (size_t k = 0; k < n; k++) {
        FZ_ASSERT(a[k] != ' ' || (k > 0 && k + 1 < n && a[k + 1] != ' '), "not single-spaced", a, n);
    }
    const char *end = a + n;
    // the request's seq, mode and op count (meaningful when it was answered with its seq)
    const char *rseq = l->p + 2;
    size_t rseqlen = l->n > 2 ? hn_wire_toklen(rseq, l->p + l->n) : 0;
    char mode = l->n > 3 + rseqlen ? l->p[3 + rseqlen] : 0;
    const char *p = a + 2;
    size_t sl = hn_wire_toklen(p, end);
    if (a[0] == 'X' && a[1] == ' ') {
        const char *code = p + sl + 1;
        size_t cl = hn_wire_toklen(code, end);
        FZ_ASSERT(code < end && code + cl == end && cl < sizeof tok, "X is not `X seq code`", a, n);
        memcpy(tok, code, cl);
        tok[cl] = 0;
        FZ_ASSERT(fz_in(tok, xcodes), "unknown X code", a, n);
        FZ_ASSERT(!l->overlong || (sl == 1 && p[0] == '-' && strcmp(tok, "long") == 0), "overlong line not `X - long`", a, n);
        FZ_ASSERT(l->overlong || strcmp(tok, "long") != 0, "`X - long` for a line that fits", a, n);
        FZ_ASSERT(!l->sealed || l->overlong || strcmp(tok, "crc") != 0, "`X crc` for a sealed line", a, n);
        if (sl == 1 && p[0] == '-') {
            FZ_ASSERT(fz_in(tok, (const char *const[]){"crc", "long", "syntax", 0}), "X - with a code that has a seq", a, n);
        } else {
            FZ_ASSERT(sl == rseqlen && memcmp(p, rseq, sl) == 0 && fz_seq_ok(p, sl) && l->p[0] == 'Q' && l->p[1] == ' ',
                      "X seq is not the request's", a, n);
            FZ_ASSERT(strcmp(tok, "crc") != 0 && strcmp(tok, "long") != 0, "X crc/long with a seq", a, n);
        }
        return;
    }
    FZ_ASSERT(a[0] == 'R' && a[1] == ' ' && !l->overlong, "neither R nor X", a, n);
    FZ_ASSERT(sl == rseqlen && memcmp(p, rseq, sl) == 0 && fz_seq_ok(p, sl) && l->p[0] == 'Q' && l->p[1] == ' ',
              "R seq is not the request's", a, n);
    FZ_ASSERT(mode == 'S' || mode == 'C', "R to a request without a mode", a, n);
    FZ_ASSERT(l->n > 9 + 4 + rseqlen, "R to a request without ops", a, n);
    int nops = 1;
    for (size_t k = 4 + rseqlen; k + 2 < l->n - 9; k++) {
        nops += l->p[k] == ' ' && l->p[k + 1] == ';' && l->p[k + 2] == ' ';
    }
    int results = 0, stopped = 0;
    const char *op = l->p + 5 + rseqlen, *rend = l->p + l->n - 9;     // the request's op run next
    p += sl + 1;
    while (p < end) {
        FZ_ASSERT(!stopped, "S request ran on after an op that did not return", a, n);
        const char *gend = p;
        while (gend < end && !(gend + 2 < end && gend[0] == ' ' && gend[1] == ';' && gend[2] == ' ')) {
            gend++;
        }
        FZ_ASSERT(++results <= nops, "more results than ops", a, n);
        size_t rl = hn_wire_toklen(p, gend);
        const char *rest = p + rl + 1;
        const char *next;
        FZ_ASSERT(rl == 1 && rest < gend, "result is one token", a, n);
        if (p[0] == '=') {
            hn_val val = {rest, gend};
            FZ_ASSERT(hn_wire_check(val, FZ_DEPTH, &next) == HN_OK && next == gend, "`=` is not one value", a, n);
            for (const char *q = rest; q < gend; q = q + hn_wire_toklen(q, gend) + 1) {
                FZ_ASSERT(q[0] != '@', "a reference in a response", a, n);
            }
            // echo without references returns its arguments as they were sent
            const char *oend = fz_op_end(op, rend), *args = op + 4 < oend ? op + 5 : oend;
            int refs = 0;
            for (const char *q = args; q < oend; q += hn_wire_toklen(q, oend) + 1) {
                refs |= q[0] == '@';
            }
            if (hn_wire_toklen(op, oend) == 4 && memcmp(op, "echo", 4) == 0 && !refs) {
                size_t al = (size_t)(oend - args);
                FZ_ASSERT((size_t)(gend - rest) == (al ? al + 4 : 3) && rest[0] == '(' &&
                          (al == 0 || memcmp(rest + 2, args, al) == 0), "echo did not return its arguments", a, n);
            }
        } else if (p[0] == '!') {
            const char *cls = rest;
            const char *en = cls + hn_wire_toklen(cls, gend) + 1;
            const char *args = en < gend ? en + hn_wire_toklen(en, gend) + 1 : gend;
            hn_val val = {args, gend};
            FZ_ASSERT(args < gend && fz_name_ok(cls, (size_t)(en - 1 - cls), 0) &&
                      ((args - 1 - en == 1 && en[0] == 'N') || fz_name_ok(en, (size_t)(args - 1 - en), 1)),
                      "bad `! Class ERRNO`", a, n);
            FZ_ASSERT(hn_wire_kind(val) == HN_K_TUPLE && hn_wire_check(val, FZ_DEPTH, &next) == HN_OK && next == gend,
                      "exception args are not one tuple", a, n);
            stopped = mode == 'S';
        } else {
            size_t cl = (size_t)(gend - rest);
            FZ_ASSERT(p[0] == '?' && cl < sizeof tok, "result is not = ! ?", a, n);
            memcpy(tok, rest, cl);
            tok[cl] = 0;
            FZ_ASSERT(fz_in(tok, qcodes), "unknown ? code", a, n);
            stopped = mode == 'S';
        }
        p = gend + 3;
        op = fz_op_end(op, rend) + 3;
    }
    FZ_ASSERT(results >= 1 && results <= nops && results <= HN_MAXOPS, "result count", a, n);
    // fewer results: an S request stopped, or the line is too full for another `? code` (16 bytes)
    FZ_ASSERT(results == nops || stopped || last + 16 > HN_MAXLINE - 10,
              "fewer results than ops, and nothing stopped", a, n);
}

static char fz_joined[FZ_MAXJOIN];  // the response being continued: "R <seq> " and its lines' text
static size_t fz_joined_len;        // 0: no `+` line came

static long fz_write(void *ctx, const char *buf, size_t n) {
    (void)ctx;
    FZ_ASSERT(fz_answered < fz_nlines, "an answer to no line (or two to one)", buf, n);
    fz_check_frame(buf, n);
    const fz_line *l = &fz_lines[fz_answered];
    size_t head = 3 + hn_wire_toklen(buf + 2, buf + n - 10), len = n - 10;
    if (buf[0] == '+' || fz_joined_len) {
        // PROTOCOL.md section 4: `+ <seq> <Pi> <crc>`, exactly maxline bytes, then `R <seq> <Pn> <crc>`
        size_t rseqlen = l->n > 2 ? hn_wire_toklen(l->p + 2, l->p + l->n) : 0;
        FZ_ASSERT(buf[1] == ' ' && head - 3 == rseqlen && memcmp(buf + 2, l->p + 2, rseqlen) == 0 && len > head,
                  "a line of a continued response without the request's seq, or empty", buf, n);
        FZ_ASSERT(buf[0] == 'R' || (buf[0] == '+' && n == HN_MAXLINE), "a `+` line not maxline bytes, or an X",
                  buf, n);
        if (!fz_joined_len) {
            memcpy(fz_joined, "R ", 2);
            memcpy(fz_joined + 2, buf + 2, head - 2);
            fz_joined_len = head;
        }
        FZ_ASSERT(fz_joined_len + len - head <= sizeof fz_joined, "continued response too long", buf, n);
        memcpy(fz_joined + fz_joined_len, buf + head, len - head);
        fz_joined_len += len - head;
        if (buf[0] == '+') {
            return (long)n;
        }
        fz_check_answer(&fz_lines[fz_answered++], fz_joined, fz_joined_len, len);
        fz_joined_len = 0;
        return (long)n;
    }
    fz_check_answer(&fz_lines[fz_answered++], buf, len, len);
    return (long)n;
}

static long fz_read(void *ctx, char *buf, size_t n, uint32_t timeout_ms) {
    (void)ctx, (void)buf, (void)n, (void)timeout_ms;
    return -1;
}

static uint32_t fz_millis(void *ctx) {
    (void)ctx;
    return 0;
}

// ---- inputs ----

static char fz_shadow[FZ_MAXIN * 2];    // the lines as the agent will see them
static size_t fz_shadow_len, fz_line_start;

// Split what the host sends into the lines the agent should answer (PROTOCOL.md section 1).
FZ_PLAIN static void fz_expect(const char *p, size_t n, int sealed) {
    for (size_t k = 0; k < n; k++) {
        if (p[k] == '\n') {
            size_t len = fz_shadow_len - fz_line_start;
            if (len > 0) {
                fz_line *l = &fz_lines[fz_nlines++];
                l->p = fz_shadow + fz_line_start;
                l->n = len;
                l->overlong = len + 1 > HN_MAXLINE;
                l->sealed = (uint8_t)sealed;
            }
            fz_line_start = fz_shadow_len;
        } else if (p[k] != '\r') {
            fz_shadow[fz_shadow_len++] = p[k];
        }
    }
}

FZ_PLAIN static size_t fz_seal(const char *body, size_t n, char *dst, int skip_cr) {
    static const char hex[] = "0123456789abcdef";
    static char clean[FZ_MAXIN];
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (!(skip_cr && body[k] == '\r')) {
            clean[m++] = body[k];
        }
    }
    uint32_t crc = fz_crc32(clean, m);
    memmove(dst, body, n);
    dst[n++] = ' ';
    for (int k = 28; k >= 0; k -= 4) {
        dst[n++] = hex[(crc >> k) & 15];
    }
    return n;
}

static void fz_feed(const char *p, size_t n, int sealed) {
    fz_expect(p, n, sealed);
    FZ_ASSERT(hn_agent_feed(&fz_agent, p, n) == 0, "feed failed", 0, 0);
}

static void fz_after(void) {
    FZ_ASSERT(fz_answered == fz_nlines && fz_joined_len == 0, "a line got no answer, or `+` lines no last line", 0, 0);
    // every socket the stub holds open is held by exactly one open handle, and no handle holds more
    for (int d = 0; d < fz_ndesc; d++) {
        int holders = 0;
        for (int h = 0; h < HN_MAXHANDLES; h++) {
            holders += fz_agent.handles[h].used && fz_agent.handles[h].open && fz_agent.handles[h].desc == FZ_DESC0 + d;
        }
        FZ_ASSERT(holders == fz_open[d], "the handle table lost or doubled a socket", 0, 0);
    }
    for (int h = 0; h < HN_MAXHANDLES; h++) {
        int32_t d = fz_agent.handles[h].desc;
        FZ_ASSERT(!(fz_agent.handles[h].used && fz_agent.handles[h].open) ||
                  (d >= FZ_DESC0 && d < FZ_DESC0 + fz_ndesc && fz_open[d - FZ_DESC0]), "an open handle on a closed socket", 0, 0);
    }
    // and the agent still serves
    static const char want[] = "R 1 = ( i1 ) ";
    char line[64] = "Q 1 S echo i1";
    size_t n = fz_seal(line, strlen(line), line, 0);
    line[n++] = '\n';
    int before = fz_answered;
    fz_feed(line, n, 1);
    FZ_ASSERT(fz_answered == before + 1 && memcmp(fz_agent.out, want, sizeof want - 1) == 0,
              "not served after the input", fz_agent.out, 20);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const hn_pair errnos[] = {{"EBADF", 9}, {"EINVAL", 22}, {"EMFILE", 24}, {"EAFNOSUPPORT", 97}};
    static const hn_pair consts[] = {{"AF_INET", 2}, {"SOCK_STREAM", 1}, {"SOL_SOCKET", 1}};
    static const char *const caps[] = {"stub", "tuple-address"};
    fz_ops[HN_OP_DNSSERVER] = 0;    // one op the target does not have: `? unsupported`
    fz_port.link_read = fz_read;
    fz_port.link_write = fz_write;
    fz_port.millis = fz_millis;
    fz_port.impl = "stub";
    fz_port.version = "0";
    fz_port.machine = "fuzz";
    fz_port.host = "10.0.2.2";
    fz_port.listen_host = "10.0.2.15";
    fz_port.consts = consts;
    fz_port.nconsts = sizeof consts / sizeof consts[0];
    fz_port.errnos = errnos;
    fz_port.nerrnos = sizeof errnos / sizeof errnos[0];
    fz_port.caps = caps;
    fz_port.ncaps = sizeof caps / sizeof caps[0];
    fz_port.ops = fz_ops;
    fz_port.release = fz_release;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *in, *out;
    static char buf[FZ_MAXIN + 16];
    if (size < 1 || size > FZ_MAXIN) {
        return 0;
    }
    if (!in) {
        in = malloc(HN_MAXLINE);    // the heap: ASan sees one byte past either buffer
        out = malloc(HN_MAXLINE);
    }
    hn_agent_init(&fz_agent, &fz_port, in, out);
    memset(fz_open, 0, sizeof fz_open);
    fz_ndesc = 0;
    fz_nlines = fz_answered = 0;
    fz_joined_len = 0;
    fz_shadow_len = fz_line_start = 0;
    int mode = data[0] & 3;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (mode == FZ_RAW || mode == FZ_CHUNKS) {
        size_t chunk = mode == FZ_RAW ? n : (size_t)(data[0] >> 2) + 1;
        for (size_t k = 0; k < n; k += chunk) {
            fz_feed(p + k, n - k < chunk ? n - k : chunk, 0);
        }
        fz_feed("\n", 1, 0);
    } else {
        for (size_t k = 0; k <= n;) {
            size_t e = k;
            while (e < n && p[e] != '\n') {
                e++;
            }
            size_t len = fz_seal(p + k, e - k, buf, mode == FZ_SEALED);
            if (mode == FZ_SEALED) {
                buf[len++] = '\n';
                fz_feed(buf, len, 1);
            } else if (len + 1 <= HN_MAXLINE) {
                char *line = malloc(len);
                memcpy(line, buf, len);
                fz_expect(buf, len, 1);
                fz_expect("\n", 1, 1);
                size_t got = hn_agent_line(&fz_agent, line, len);
                FZ_ASSERT(got > 0, "no answer to a line", buf, len);
                fz_write(0, fz_agent.out, got);
                free(line);
            }
            k = e + 1;
        }
    }
    fz_after();
    return 0;
}
