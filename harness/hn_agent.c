// hn_agent.c: request checking, references, dispatch and responses (PROTOCOL.md sections 3-6).
#include "hn_agent.h"

#define HN_TRAILER 10   // " xxxxxxxx\n"
#define HN_SLACK 128    // room kept after returned data for brackets and an address
#define HN_LASTROOM 16  // " ; ? unsupported": the longest answer an op can fall back to
#define HN_KWMAX 32     // longest keyword name (PROTOCOL.md section 3)

typedef struct {
    const char *name;
    const char *sig;
} hn_opinfo;

static const hn_opinfo hn_ops[HN_OP_COUNT] = {
#define HN_OP(id, name, sig) {name, sig},
#include "ops.def"
#undef HN_OP
};

struct hn_call {
    hn_agent *a;
    int op;
    int argc;           // arguments: the positional ones, then the keyword values
    int npos;           // positional arguments
    hn_val args[HN_MAXARGS];
    uint8_t from_ref[HN_MAXARGS];
    uint8_t decoded[HN_MAXARGS];
    const uint8_t *data[HN_MAXARGS];
    size_t datalen[HN_MAXARGS];
    int handle;
    int32_t desc;
    size_t start;       // where this result starts in a->out
    size_t pos;         // write position in a->out
    size_t limit;       // end of the writable part of a->out
    uint8_t raised;
    uint8_t overflow;
    const char *fail;
    uint8_t more_ok;    // this op's result may be continued over `+` lines (PROTOCOL.md section 4)
    uint8_t sent;       // a `+` line of this op's result has gone out: it can no longer raise
    uint8_t mute;       // it raised after that: what it writes is dropped
    uint8_t open;       // a hn_ret_begin value is open
    uint8_t ncarry;     // bytes of a base64 group waiting for the rest of it
    uint8_t carry[3];
};

static size_t hn_len(const char *s) {
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

// ---- writing ----

static size_t hn_seal(hn_agent *a, size_t pos) {
    static const char hex[] = "0123456789abcdef";
    uint32_t crc = hn_wire_crc32(a->out, pos);
    a->out[pos++] = ' ';
    for (int k = 28; k >= 0; k -= 4) {
        a->out[pos++] = hex[(crc >> k) & 15];
    }
    a->out[pos++] = '\n';
    return pos;
}

// The line is full and more of a continued result follows: the line goes out as a `+` line,
// exactly maxline bytes, and the text goes on after "R <seq> " (PROTOCOL.md section 4).
static void hn_flush(hn_call *c) {
    hn_agent *a = c->a;
    a->out[0] = '+';
    size_t n = hn_seal(a, c->pos);
    if (!a->broken && a->port->link_write(a->port->ctx, a->out, n) < 0) {
        a->broken = 1;
    }
    a->out[0] = 'R';
    c->pos = a->hdr;
    c->sent = 1;
}

// One character of the result: a full line goes on in a `+` line if the result may be continued,
// else the result overflows.
static void hn_emit(hn_call *c, char ch) {
    if (c->overflow) {
        return;
    }
    if (c->pos == c->limit) {
        if (!c->more_ok) {
            c->overflow = 1;
            return;
        }
        hn_flush(c);
    }
    c->a->out[c->pos++] = ch;
}

// What the op writes goes through hn_emit: the value of an op whose result may be continued. (A
// raise, a `? code` and any other op's result must fit in the line.)
static int hn_emitting(const hn_call *c) {
    return c->more_ok && !c->raised;
}

static void hn_putn(hn_call *c, const char *s, size_t n) {
    if (c->mute) {
        return;
    }
    if (hn_emitting(c)) {
        hn_emit(c, ' ');
        for (size_t k = 0; k < n; k++) {
            hn_emit(c, s[k]);
        }
        return;
    }
    if (c->overflow || c->pos + 1 + n > c->limit) {
        c->overflow = 1;
        return;
    }
    c->a->out[c->pos++] = ' ';
    for (size_t k = 0; k < n; k++) {
        c->a->out[c->pos++] = s[k];
    }
}

static void hn_put(hn_call *c, const char *s) {
    hn_putn(c, s, hn_len(s));
}

static void hn_put_prefixed_int(hn_call *c, char prefix, int64_t v) {
    char tmp[24];
    tmp[0] = prefix;
    hn_putn(c, tmp, 1 + hn_wire_fmtint(v, tmp + 1));
}

static void hn_put_str(hn_call *c, const char *s, size_t n) {
    long w = -1;
    if (c->mute) {
        return;
    }
    if (hn_emitting(c)) {
        char esc[3];
        hn_putn(c, "s", 1);
        for (size_t k = 0; k < n; k++) {
            long e = hn_wire_stresc(s + k, 1, esc, sizeof esc);
            for (long j = 0; j < e; j++) {
                hn_emit(c, esc[j]);
            }
        }
        return;
    }
    if (!c->overflow && c->pos + 2 <= c->limit) {
        w = hn_wire_stresc(s, n, c->a->out + c->pos + 2, c->limit - c->pos - 2);
    }
    if (w < 0) {
        c->overflow = 1;
        return;
    }
    c->a->out[c->pos] = ' ';
    c->a->out[c->pos + 1] = 's';
    c->pos += 2 + (size_t)w;
}

void hn_ret_none(hn_call *c) {
    hn_put(c, "N");
}

void hn_ret_bool(hn_call *c, int b) {
    hn_put(c, b ? "T" : "F");
}

void hn_ret_int(hn_call *c, int64_t v) {
    hn_put_prefixed_int(c, 'i', v);
}

void hn_ret_str(hn_call *c, const char *s, size_t n) {
    hn_put_str(c, s, n);
}

void hn_ret_open(hn_call *c, char bracket) {
    hn_putn(c, &bracket, 1);
}

void hn_ret_close(hn_call *c, char bracket) {
    hn_putn(c, &bracket, 1);
}

void hn_ret_handle(hn_call *c, int handle) {
    hn_put_prefixed_int(c, 'h', handle);
}

int hn_ret_new_handle(hn_call *c, int32_t desc) {
    hn_agent *a = c->a;
    for (int h = 0; h < HN_MAXHANDLES; h++) {
        if (!a->handles[h].used) {
            a->handles[h].used = 1;
            a->handles[h].open = 1;
            a->handles[h].desc = desc;
            hn_ret_handle(c, h);
            return h;
        }
    }
    a->port->release(a->port->ctx, desc);
    hn_fail(c, "full");
    return -1;
}

size_t hn_ret_room(const hn_call *c) {
    size_t used = c->pos + HN_SLACK;
    return used >= c->limit ? 0 : (c->limit - used) / 4 * 3;
}

uint8_t *hn_ret_reserve(hn_call *c, size_t n) {
    // The raw bytes sit at the end of the buffer; hn_ret_data encodes them forward in place.
    // With n <= room, the encoder's writes stay behind its reads (it reads each group of 3 first).
    if (n > hn_ret_room(c)) {
        return 0;
    }
    return (uint8_t *)c->a->out + c->limit - n;
}

void hn_ret_begin(hn_call *c, char kind) {
    if (c->mute) {
        return;
    }
    hn_putn(c, &kind, 1);
    c->open = 1;
    c->ncarry = 0;
}

// Each group of 3 is read whole before its 4 characters are written: p may run just ahead of the
// write position (hn_ret_data of reserved bytes, which fit in the line and never flush).
void hn_ret_more(hn_call *c, const uint8_t *p, size_t n) {
    char quad[4];
    if (c->mute || !c->open) {
        return;
    }
    for (size_t k = 0; k < n;) {
        while (c->ncarry < 3 && k < n) {
            c->carry[c->ncarry++] = p[k++];
        }
        if (c->ncarry == 3) {
            hn_wire_b64enc(c->carry, 3, quad);
            c->ncarry = 0;
            for (int j = 0; j < 4; j++) {
                hn_emit(c, quad[j]);
            }
        }
    }
}

void hn_ret_end(hn_call *c) {
    char quad[4];
    if (!c->open) {
        return;
    }
    if (c->ncarry) {
        hn_wire_b64enc(c->carry, c->ncarry, quad);
        for (int j = 0; j < 4; j++) {
            hn_emit(c, quad[j]);     // even after a raise was muted: the value must end well-formed
        }
    }
    c->open = 0;
    c->ncarry = 0;
}

int hn_ret_sent(const hn_call *c) {
    return c->sent;
}

void hn_ret_data(hn_call *c, char kind, const uint8_t *p, size_t n) {
    if (c->mute) {
        return;
    }
    if (hn_emitting(c)) {
        hn_ret_begin(c, kind);
        hn_ret_more(c, p, n);
        hn_ret_end(c);
        return;
    }
    if (c->overflow || c->pos + 2 + HN_B64LEN(n) > c->limit) {
        c->overflow = 1;
        return;
    }
    char *o = c->a->out + c->pos;
    o[0] = ' ';
    o[1] = kind;
    c->pos += 2 + hn_wire_b64enc(p, n, o + 2);
}

static const char *hn_errname(const hn_port *port, int64_t err) {
    for (size_t k = 0; k < port->nerrnos; k++) {
        if (port->errnos[k].value == err) {
            return port->errnos[k].name;
        }
    }
    return "N";
}

static void hn_raise_begin(hn_call *c, const char *cls, const char *errname) {
    if (c->sent) {
        c->mute = 1;    // the result has gone out in part: it stays what was sent
        return;
    }
    c->pos = c->start;
    c->overflow = 0;
    c->raised = 1;
    c->open = 0;
    c->ncarry = 0;
    hn_put(c, "!");
    hn_put(c, cls);
    hn_put(c, errname);
    hn_put(c, "(");
}

void hn_raise_errno(hn_call *c, int err) {
    hn_raise_begin(c, "OSError", err > 0 ? hn_errname(c->a->port, err) : "N");
    hn_ret_int(c, err);
    hn_put(c, ")");
}

void hn_raise_msg(hn_call *c, const char *cls, const char *msg) {
    hn_raise_begin(c, cls, "N");
    hn_put_str(c, msg, hn_len(msg));
    hn_put(c, ")");
}

void hn_fail(hn_call *c, const char *code) {
    if (!c->fail && !c->sent) {
        c->fail = code;
    }
}

// ---- arguments ----

int hn_argc(const hn_call *c) {
    return c->npos;
}

hn_val hn_arg(const hn_call *c, int i) {
    return c->args[i];
}

int32_t hn_desc(const hn_call *c) {
    return c->desc;
}

int hn_handle_of(const hn_call *c) {
    return c->handle;
}

int hn_arg_int(const hn_call *c, int i, int64_t *out) {
    return i < c->npos ? hn_wire_int(c->args[i], out) : HN_ESYNTAX;
}

int hn_arg_data(hn_call *c, int i, const uint8_t **data, size_t *n) {
    if (i >= c->npos) {
        hn_fail(c, "arity");
        return HN_ESYNTAX;
    }
    if (!c->decoded[i]) {
        hn_val v = c->args[i];
        hn_kind k = hn_wire_kind(v);
        if (k != HN_K_BYTES && k != HN_K_BYTEARRAY) {
            hn_fail(c, "type");
            return HN_ESYNTAX;
        }
        size_t tl = hn_wire_toklen(v.p, v.end) - 1;
        uint8_t *dst;
        if (c->from_ref[i]) {
            // the text is an earlier result: decode into the free end of the output buffer
            size_t need = tl / 4 * 3;
            if (c->pos + HN_SLACK + need > c->limit) {
                hn_fail(c, "range");  // no room to decode a referenced result this long
                return HN_ERANGE;
            }
            dst = (uint8_t *)c->a->out + c->limit - need;
        } else {
            dst = (uint8_t *)(uintptr_t)(v.p + 1);  // the request line is ours to overwrite
        }
        long got = hn_wire_b64dec(v.p + 1, tl, dst);
        if (got < 0) {
            hn_fail(c, "type");
            return HN_ESYNTAX;
        }
        c->data[i] = dst;
        c->datalen[i] = (size_t)got;
        c->decoded[i] = 1;
    }
    *data = c->data[i];
    *n = c->datalen[i];
    return HN_OK;
}

static int hn_handle_num(hn_val v, int64_t *h) {
    size_t n = hn_wire_toklen(v.p, v.end);
    if (hn_wire_kind(v) != HN_K_HANDLE || n > 10) {
        return HN_ESYNTAX;
    }
    *h = 0;
    for (size_t k = 1; k < n; k++) {
        *h = *h * 10 + (v.p[k] - '0');
    }
    return HN_OK;
}

static int hn_lookup(const hn_agent *a, hn_val v, int *handle) {
    int64_t h;
    if (hn_handle_num(v, &h) != HN_OK || h >= HN_MAXHANDLES || !a->handles[h].used) {
        return HN_ERANGE;
    }
    *handle = (int)h;
    return HN_OK;
}

int hn_val_handle(const hn_call *c, hn_val v, int *handle, int32_t *desc) {
    int h;
    if (hn_lookup(c->a, v, &h) != HN_OK) {
        return HN_ERANGE;
    }
    *handle = h;
    *desc = c->a->handles[h].open ? c->a->handles[h].desc : HN_CLOSED;
    return HN_OK;
}

// ---- signatures ----

// Letter of argument i, or 0 past the last one; *min gets the number of required arguments.
static char hn_sig_letter(const char *sig, int i, int *min) {
    int idx = 0, req = 1;
    char letter = 0;
    *min = 0;
    for (const char *s = sig; *s; s++) {
        if (*s == '|') {
            req = 0;
            continue;
        }
        int starred = s[1] == '*';
        if (idx == i || (starred && i >= idx)) {
            letter = *s;
        }
        if (req && !starred) {
            (*min)++;
        }
        if (starred) {
            s++;
        }
        idx++;
    }
    return letter;
}

static int hn_type_ok(char letter, hn_kind k) {
    if (k == HN_K_REF || letter == 'v') {
        return 1;
    }
    switch (letter) {
    case 'h': return k == HN_K_HANDLE;
    case 'i':
    case 'z': return k == HN_K_INT;
    case 'n': return k == HN_K_INT || k == HN_K_FLOAT || k == HN_K_NONE;
    case 'b': return k == HN_K_BYTES || k == HN_K_BYTEARRAY;
    case 's': return k == HN_K_STR;
    case 'l': return k == HN_K_LIST;
    default: return 0;
    }
}

static int hn_find_op(const char *p, size_t n) {
    for (int k = 0; k < HN_OP_COUNT; k++) {
        if (hn_wire_eq(p, n, hn_ops[k].name)) {
            return k;
        }
    }
    return -1;
}

// ---- frames ----

static const char *hn_next(const char *p, const char *end) {
    p += hn_wire_toklen(p, end);
    return p < end ? p + 1 : p;
}

static size_t hn_reject(hn_agent *a, const char *seq, size_t seqlen, const char *code) {
    size_t pos = 0;
    a->out[pos++] = 'X';
    a->out[pos++] = ' ';
    if (!seq) {
        seq = "-";
        seqlen = 1;
    }
    for (size_t k = 0; k < seqlen; k++) {
        a->out[pos++] = seq[k];
    }
    a->out[pos++] = ' ';
    for (size_t k = 0; code[k]; k++) {
        a->out[pos++] = code[k];
    }
    return hn_seal(a, pos);
}

static int hn_crc_ok(const char *line, size_t n) {
    if (n < 9 || line[n - 9] != ' ') {
        return 0;
    }
    uint32_t want = 0;
    for (size_t k = n - 8; k < n; k++) {
        char ch = line[k];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) {
            return 0;
        }
        want = (want << 4) | (uint32_t)d;
    }
    return hn_wire_crc32(line, n - 9) == want;
}

// A keyword token: `k` and a name of [a-z_][a-z0-9_]*, at most HN_KWMAX characters.
static int hn_kw_ok(const char *p, size_t n) {
    if (n < 2 || n > 1 + HN_KWMAX) {
        return 0;
    }
    for (size_t k = 1; k < n; k++) {
        char ch = p[k];
        if (!((ch >= 'a' && ch <= 'z') || ch == '_' || (k > 1 && ch >= '0' && ch <= '9'))) {
            return 0;
        }
    }
    return 1;
}

static int hn_same(const char *p, size_t n, const char *q, size_t m) {
    if (n != m) {
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        if (p[k] != q[k]) {
            return 0;
        }
    }
    return 1;
}

// Check the whole request; fills op starts. Returns NULL or the reject code.
static const char *hn_check(const char *p, const char *end, const char **ops, int *nops) {
    for (const char *q = p; q < end; q++) {
        if (*q < 0x20 || *q > 0x7E || (*q == ' ' && (q == p || q + 1 == end || q[1] == ' '))) {
            return "syntax";
        }
    }
    *nops = 0;
    while (p < end) {
        size_t n = hn_wire_toklen(p, end);
        int op = hn_find_op(p, n);
        if (n == 1 && p[0] == ';') {
            return "syntax";
        }
        if (op < 0) {
            return "op";
        }
        if (*nops == HN_MAXOPS) {
            return "range";
        }
        ops[(*nops)++] = p;
        p = hn_next(p, end);
        int argc = 0, nkw = 0, min;
        const char *names[HN_MAXARGS];
        size_t namelen[HN_MAXARGS];
        while (p < end && !(p[0] == ';' && hn_wire_toklen(p, end) == 1)) {
            size_t tl = hn_wire_toklen(p, end);
            if (p[0] == 'k') {
                // a keyword argument: its name, a name the op has already, its value, then the counts
                if (!hn_kw_ok(p, tl)) {
                    return "syntax";
                }
                for (int j = 0; j < nkw; j++) {
                    if (hn_same(names[j], namelen[j], p, tl)) {
                        return "syntax";
                    }
                }
                const char *name = p;
                p = hn_next(p, end);
                hn_val v = {p, end};
                int r = p < end ? hn_wire_check(v, HN_MAXDEPTH, &p) : HN_ESYNTAX;
                if (r != HN_OK) {
                    return r == HN_ESYNTAX ? "syntax" : "range";
                }
                if (argc == HN_MAXARGS || op <= HN_OP_ECHO || op >= HN_OP_WITH) {
                    return "arity";     // the core ops and the with statement take none
                }
                names[nkw] = name;
                namelen[nkw++] = tl;
                argc++;
                continue;
            }
            if (nkw) {
                return "syntax";    // a positional argument after a keyword argument
            }
            hn_val v = {p, end};
            int r = hn_wire_check(v, HN_MAXDEPTH, &p);
            if (r != HN_OK) {
                return r == HN_ESYNTAX ? "syntax" : "range";
            }
            char letter = hn_sig_letter(hn_ops[op].sig, argc, &min);
            if (!letter || argc == HN_MAXARGS) {
                return "arity";
            }
            if (!hn_type_ok(letter, hn_wire_kind(v))) {
                return "type";
            }
            argc++;
        }
        hn_sig_letter(hn_ops[op].sig, argc - nkw, &min);
        if (argc - nkw < min) {
            return "arity";
        }
        if (p < end) {
            p = hn_next(p, end);
            if (p >= end) {
                return "syntax";
            }
        }
    }
    return *nops ? 0 : "syntax";
}

// ---- core ops ----

static void hn_pair_out(hn_call *c, const char *key) {
    hn_ret_open(c, '(');
    hn_put_str(c, key, hn_len(key));
}

static void hn_op_hello(hn_call *c) {
    const hn_port *port = c->a->port;
    hn_ret_open(c, '[');
    hn_pair_out(c, "proto");
    hn_ret_int(c, 2);
    hn_ret_close(c, ')');
    const char *keys[3] = {"impl", "version", "machine"};
    const char *vals[3] = {port->impl, port->version, port->machine};
    for (int k = 0; k < 3; k++) {
        hn_pair_out(c, keys[k]);
        hn_put_str(c, vals[k], hn_len(vals[k]));
        hn_ret_close(c, ')');
    }
    const char *nkeys[3] = {"maxline", "maxops", "handles"};
    const int nvals[3] = {HN_MAXLINE, HN_MAXOPS, HN_MAXHANDLES};
    for (int k = 0; k < 3; k++) {
        hn_pair_out(c, nkeys[k]);
        hn_ret_int(c, nvals[k]);
        hn_ret_close(c, ')');
    }
    const char *akeys[2] = {"host", "listen_host"};
    const char *avals[2] = {port->host, port->listen_host};
    for (int k = 0; k < 2; k++) {
        if (avals[k]) {
            hn_pair_out(c, akeys[k]);
            hn_put_str(c, avals[k], hn_len(avals[k]));
            hn_ret_close(c, ')');
        }
    }
    hn_pair_out(c, "ops");
    hn_ret_open(c, '[');
    for (int k = 0; k < HN_OP_COUNT; k++) {
        if (k <= HN_OP_ECHO || k > HN_OP_WITH || port->ops[k]) {
            hn_put_str(c, hn_ops[k].name, hn_len(hn_ops[k].name));
        }
    }
    hn_ret_close(c, ']');
    hn_ret_close(c, ')');
    hn_pair_out(c, "caps");
    hn_ret_open(c, '[');
    for (size_t k = 0; k < port->ncaps; k++) {
        hn_put_str(c, port->caps[k], hn_len(port->caps[k]));
    }
    hn_ret_close(c, ']');
    hn_ret_close(c, ')');
    hn_pair_out(c, "errno");
    hn_ret_open(c, '[');
    for (size_t k = 0; k < port->nerrnos; k++) {
        hn_pair_out(c, port->errnos[k].name);
        hn_ret_int(c, port->errnos[k].value);
        hn_ret_close(c, ')');
    }
    hn_ret_close(c, ']');
    hn_ret_close(c, ')');
    hn_ret_close(c, ']');
}

static void hn_op_reset(hn_call *c) {
    hn_agent *a = c->a;
    int open = 0;
    for (int h = 0; h < HN_MAXHANDLES; h++) {
        if (a->handles[h].used && a->handles[h].open) {
            a->port->release(a->port->ctx, a->handles[h].desc);
            open++;
        }
        a->handles[h].used = 0;
        a->handles[h].open = 0;
    }
    a->tally = (hn_tally){0, 0, 0, -1, 0, 0, HN_K_BAD};
    hn_ret_int(c, open);
}

static void hn_op_const(hn_call *c) {
    const hn_port *port = c->a->port;
    hn_ret_open(c, '[');
    for (int i = 0; i < c->argc; i++) {
        char name[HN_NAMEMAX];
        long n = hn_wire_str(c->args[i], name, sizeof name);
        const hn_pair *hit = 0;
        for (size_t k = 0; n >= 0 && k < port->nconsts; k++) {
            if (hn_wire_eq(name, (size_t)n, port->consts[k].name)) {
                hit = &port->consts[k];
            }
        }
        if (hit) {
            hn_ret_int(c, hit->value);
        } else {
            hn_ret_none(c);
        }
    }
    hn_ret_close(c, ']');
}

static void hn_op_echo(hn_call *c) {
    hn_ret_open(c, '(');
    for (int i = 0; i < c->argc; i++) {
        hn_putn(c, c->args[i].p, (size_t)(c->args[i].end - c->args[i].p));  // ends are tight
    }
    hn_ret_close(c, ')');
}

// ---- bulk data: pump, sink and tally (PROTOCOL.md section 5) ----

#define HN_PATTERN 251          // byte i of a bulk stream is i % 251
#define HN_BULKMAX (64L << 20)  // the largest total a pump or sink takes
#ifndef HN_BULKCALLS
#define HN_BULKCALLS 65536      // the most calls one pump or sink makes (PROTOCOL.md; the fuzzer's build makes it less)
#endif

// The port's op `op` on this call's handle, with one more argument: a value token (with its raw
// bytes when data is not NULL, as hn_arg_data gives them). Its result is written after c->pos and left there as scratch text: *out
// is that value (an op that writes nothing returned None). Returns 0, or 1 when the op raised or
// failed: c then carries that as its own result (a raise at c->start, as the op wrote it).
static int hn_sub(hn_call *c, int op, hn_val arg, const uint8_t *data, size_t n, hn_val *out) {
    hn_call s = *c;
    s.op = op;
    s.argc = s.npos = 2;
    s.args[1] = arg;
    s.from_ref[1] = 0;
    s.decoded[1] = data != 0;
    s.data[1] = data;
    s.datalen[1] = n;
    c->a->port->ops[op](&s);
    if (s.fail || s.overflow) {
        hn_fail(c, s.fail ? s.fail : "overflow");
        return 1;
    }
    if (s.raised) {
        c->raised = 1;
        c->pos = s.pos;
        return 1;
    }
    static const char none[] = "N";
    out->p = s.pos > c->pos ? c->a->out + c->pos + 1 : none;
    out->end = s.pos > c->pos ? c->a->out + s.pos : none + 1;
    return 0;
}

// pump's and sink's arguments: the port's op for the method named (from names/ids), the total,
// the chunk and the stream offset of the first byte; 0, or the `?` code.
static const char *hn_bulk_args(hn_call *c, const char *const *names, const int *ids, int *op, int64_t *total,
                                int64_t *chunk, int64_t *start) {
    char name[12];
    long len = hn_wire_str(c->args[1], name, sizeof name);
    *op = -1;
    for (int k = 0; len >= 0 && names[k]; k++) {
        if (hn_wire_eq(name, (size_t)len, names[k])) {
            *op = ids[k];
        }
    }
    hn_wire_int(c->args[2], total);
    hn_wire_int(c->args[3], chunk);
    *start = 0;
    if (c->npos > 4) {
        hn_wire_int(c->args[4], start);
    }
    if (*op < 0) {
        return "type";
    }
    if (*total < 0 || *total > HN_BULKMAX || *start < 0 || *start > HN_BULKMAX || *chunk < 1 ||
        *chunk > (int64_t)hn_ret_room(c)) {
        return "range";
    }
    return c->a->port->ops[*op] ? 0 : "unsupported";
}

// One call into the tally: it returned a value of this kind (last: the count it gave, or the
// length of the bytes) and moved `got` of the `asked` bytes; 1 when the loop goes on.
static int hn_tally_call(hn_tally *t, hn_kind kind, int64_t last, int64_t got, int64_t asked) {
    t->calls++;
    t->kind = (uint8_t)kind;
    t->last = last;
    if (got <= 0 || got > asked) {
        t->end = 2;     // a value ends the loop: nothing moved, None, more than asked, another type
        return 0;
    }
    t->bytes += got;
    t->shorts += got < asked;
    return 1;
}

// pump (send) and sink (receive): the loop of PROTOCOL.md section 5, bulk data.
static void hn_op_bulk(hn_call *c, int send) {
    static const char *const names[2][5] = {{"recv", "read", "readinto", "recv_into", 0},
                                            {"send", "sendall", "write", 0, 0}};
    static const int ids[2][4] = {{HN_OP_RECV, HN_OP_READ, HN_OP_READINTO, HN_OP_RECV_INTO},
                                  {HN_OP_SEND, HN_OP_SENDALL, HN_OP_WRITE, 0}};
    hn_tally *t = &c->a->tally;
    int op;
    int64_t total, chunk, start;
    const char *code = hn_bulk_args(c, names[send], ids[send], &op, &total, &chunk, &start);
    if (code) {
        hn_fail(c, code);
        return;
    }
    *t = (hn_tally){0, 0, 0, -1, 0, 1, HN_K_BAD};
    int into = op == HN_OP_READINTO || op == HN_OP_RECV_INTO;
    uint8_t *piece = (uint8_t *)c->a->out + c->limit - chunk;   // the free end of the line (chunk <= room)
    static const char bytes[] = "b";    // a pump's argument token; its bytes are the piece (decoded already)
    char num[24];                       // a sink's: the size
    uint32_t o = (uint32_t)start % HN_PATTERN;     // the pattern's byte at the stream's next offset
    while (t->bytes < total) {
        if (t->calls == HN_BULKCALLS) {
            t->end = 4;
            break;
        }
        int64_t k = total - t->bytes < chunk ? total - t->bytes : chunk;
        hn_val arg = {bytes, bytes + 1}, v;
        if (send) {
            for (uint32_t j = 0, b = o; j < (uint32_t)k; j++, b = b + 1 == HN_PATTERN ? 0 : b + 1) {
                piece[j] = (uint8_t)b;
            }
        } else {
            num[0] = 'i';
            arg = (hn_val){num, num + 1 + hn_wire_fmtint(k, num + 1)};
        }
        if (hn_sub(c, op, arg, send ? piece : 0, (size_t)k, &v)) {
            *t = (hn_tally){t->bytes, t->calls + 1, t->shorts, t->bad, 0, c->raised ? 3 : 0, HN_K_BAD};
            return;
        }
        hn_val data = v;    // a sink's bytes: the value, or a buffer op's ( <return value> bytearray )
        if (into && hn_wire_kind(v) == HN_K_TUPLE && hn_wire_count(v) == 2) {
            hn_wire_item(data, 1, &data);
            hn_wire_item(v, 0, &v);
        }
        hn_kind kind = hn_wire_kind(v), dk = hn_wire_kind(data);
        long len = -1;
        if (!send && (dk == HN_K_BYTES || dk == HN_K_BYTEARRAY)) {
            len = hn_wire_b64dec(data.p + 1, hn_wire_toklen(data.p, data.end) - 1, (uint8_t *)(uintptr_t)(data.p + 1));
        }
        int64_t n = len, got = -1;
        if (kind == HN_K_INT) {
            hn_wire_int(v, &n);
            got = send || n <= len ? n : -1;    // a count beyond the buffer ends the loop
        } else if (send && kind == HN_K_NONE && op == HN_OP_SENDALL) {
            got = k;    // sendall returns None once it has sent everything
        } else if (!send && !into) {
            got = len;
        }
        int64_t at = t->bytes;
        if (!hn_tally_call(t, kind, n, got, k)) {
            break;
        }
        const uint8_t *p = (const uint8_t *)data.p + 1;
        for (uint32_t j = 0, b = o; !send && t->bad < 0 && j < (uint32_t)got; j++, b = b + 1 == HN_PATTERN ? 0 : b + 1) {
            if (p[j] != b) {
                t->bad = start + at + j;
            }
        }
        o = (o + (uint32_t)got) % HN_PATTERN;
    }
    hn_ret_int(c, t->bytes);
}

static void hn_op_tally(hn_call *c) {
    static const char *const ends[] = {"", "done", "value", "raised", "limit"};
    static const char *const kinds[] = {"", "NoneType", "bool", "bool", "int", "float", "bytes", "bytearray",
                                        "str", "socket", "", "tuple", "list"};
    const hn_tally *t = &c->a->tally;
    hn_ret_open(c, '(');
    hn_ret_int(c, t->bytes);
    hn_ret_int(c, t->calls);
    hn_ret_int(c, t->shorts);
    hn_ret_int(c, t->bad);
    hn_put_str(c, ends[t->end], hn_len(ends[t->end]));
    hn_put_str(c, kinds[t->kind], hn_len(kinds[t->kind]));
    if (t->kind == HN_K_INT || t->kind == HN_K_BYTES || t->kind == HN_K_BYTEARRAY) {
        hn_ret_int(c, t->last);
    } else {
        hn_ret_none(c);
    }
    hn_ret_close(c, ')');
}

// ---- running a request ----

typedef struct {
    size_t pos, end;    // the returned value's text in a->out; pos == 0: did not return
} hn_result;

// Resolve argument references and handles, check sizes; NULL or the `?` code.
static const char *hn_prepare(hn_call *c, const hn_result *res, int k) {
    hn_agent *a = c->a;
    const char *sig = hn_ops[c->op].sig;
    int min;
    for (int i = 0; i < c->argc; i++) {
        hn_val v = c->args[i];
        char letter = i < c->npos ? hn_sig_letter(sig, i, &min) : 'v';   // keyword values: any
        if (hn_wire_kind(v) == HN_K_REF) {
            size_t n = hn_wire_toklen(v.p, v.end);
            const char *q = v.p + 1;
            const char *qend = v.p + n;
            int64_t idx = 0;
            while (q < qend && *q != '.') {
                idx = idx * 10 + (*q++ - '0');
            }
            if (idx >= k || res[idx].pos == 0) {
                return "ref";
            }
            hn_val r = {a->out + res[idx].pos, a->out + res[idx].end};
            while (q < qend) {
                int neg = *++q == '-';
                q += neg;
                int64_t j = 0;
                while (q < qend && *q != '.') {
                    j = j * 10 + (*q++ - '0');
                }
                if (hn_wire_item(r, (int)(neg ? -j : j), &r) != HN_OK) {
                    return "ref";
                }
            }
            r.end = hn_wire_skip(r);
            if (r.end > r.p && r.end[-1] == ' ') {
                r.end--;
            }
            c->args[i] = r;
            c->from_ref[i] = 1;
            if (hn_wire_kind(r) == HN_K_REF || !hn_type_ok(letter, hn_wire_kind(r))) {
                return "type";  // (a reference cannot be an item: such a request is `syntax`)
            }
        }
        if (letter == 'z') {
            int64_t size;
            hn_wire_int(c->args[i], &size);
            if (size > (int64_t)hn_ret_room(c)) {
                return "range";
            }
        }
    }
    if (sig[0] == 'h') {
        if (hn_lookup(a, c->args[0], &c->handle) != HN_OK) {
            return "handle";
        }
        c->desc = a->handles[c->handle].open ? a->handles[c->handle].desc : HN_CLOSED;
    }
    return 0;
}

static void hn_run(hn_call *c, const hn_result *res, int k) {
    const char *code = hn_prepare(c, res, k);
    if (code) {
        hn_fail(c, code);
        return;
    }
    switch (c->op) {
    case HN_OP_HELLO: hn_op_hello(c); return;
    case HN_OP_RESET: hn_op_reset(c); return;
    case HN_OP_CONST: hn_op_const(c); return;
    case HN_OP_ECHO: hn_op_echo(c); return;
    case HN_OP_PUMP: hn_op_bulk(c, 1); return;
    case HN_OP_SINK: hn_op_bulk(c, 0); return;
    case HN_OP_TALLY: hn_op_tally(c); return;
    default: break;
    }
    hn_op_fn fn = c->a->port->ops[c->op];
    if (!fn) {
        hn_fail(c, "unsupported");
        return;
    }
    if (c->argc > c->npos) {
        // the canonical signatures this agent implements are positional-only; MicroPython's words
        hn_raise_msg(c, "TypeError", "function doesn't take keyword arguments");
        return;
    }
    fn(c);
    // close, and `with` (its block's end closes the socket: PROTOCOL.md section 5), leave the handle closed
    if ((c->op == HN_OP_CLOSE || c->op == HN_OP_WITH) && !c->raised && !c->fail) {
        c->a->handles[c->handle].open = 0;
    }
}

size_t hn_agent_line(hn_agent *a, char *line, size_t n) {
    if (n == 0) {
        return 0;
    }
    if (!hn_crc_ok(line, n)) {
        return hn_reject(a, 0, 0, "crc");
    }
    const char *end = line + n - 9;
    const char *p = line;
    if (!(hn_wire_toklen(p, end) == 1 && p[0] == 'Q')) {
        return hn_reject(a, 0, 0, "syntax");
    }
    p = hn_next(p, end);
    const char *seq = p;
    size_t seqlen = hn_wire_toklen(p, end);
    for (size_t k = 0; k < seqlen; k++) {
        if (seq[k] < '0' || seq[k] > '9') {
            seqlen = 0;
        }
    }
    if (seqlen == 0 || seqlen > 9 || (seqlen > 1 && seq[0] == '0')) {
        return hn_reject(a, 0, 0, "syntax");
    }
    p = hn_next(p, end);
    char mode = p[0];
    if (hn_wire_toklen(p, end) != 1 || (mode != 'S' && mode != 'C')) {
        return hn_reject(a, seq, seqlen, "syntax");
    }
    p = hn_next(p, end);
    const char *ops[HN_MAXOPS];
    int nops;
    const char *code = hn_check(p, end, ops, &nops);
    if (code) {
        return hn_reject(a, seq, seqlen, code);
    }

    hn_result res[HN_MAXOPS];
    size_t pos = 0;
    a->out[pos++] = 'R';
    a->out[pos++] = ' ';
    for (size_t k = 0; k < seqlen; k++) {
        a->out[pos++] = seq[k];
    }
    a->hdr = pos + 1;   // "R <seq> ": the first result's " =" writes the space
    for (int k = 0; k < nops; k++) {
        if (pos + HN_LASTROOM > HN_MAXLINE - HN_TRAILER) {
            break;  // not even `? code` would fit: this op and the rest do not run
        }
        hn_call c = {0};
        c.a = a;
        c.limit = HN_MAXLINE - HN_TRAILER;
        c.pos = pos;
        c.handle = -1;
        c.desc = HN_CLOSED;
        if (k > 0) {
            hn_put(&c, ";");
        }
        c.start = c.pos;
        hn_put(&c, "=");
        const char *q = ops[k];
        size_t oplen = hn_wire_toklen(q, end);
        c.op = hn_find_op(q, oplen);
        q = hn_next(q, end);
        while (q < end && !(q[0] == ';' && hn_wire_toklen(q, end) == 1)) {
            int kw = q[0] == 'k';   // checked: keyword arguments come last
            q = kw ? hn_next(q, end) : q;
            hn_val v = {q, end};
            q = hn_wire_skip(v);
            v.end = q < end ? q - 1 : q;
            c.args[c.argc++] = v;
            c.npos += !kw;
        }
        // PROTOCOL.md section 4: only these results may go on over `+` lines
        c.more_ok = c.argc == 1 && (c.op == HN_OP_READ || c.op == HN_OP_READLINE || c.op == HN_OP_READALL);
        hn_run(&c, res, k);
        hn_ret_end(&c);     // a value the backend left open
        c.more_ok = 0;
        if (c.fail || c.overflow) {
            c.pos = c.start;
            c.overflow = 0;
            hn_put(&c, "?");
            hn_put(&c, c.fail ? c.fail : "overflow");
        } else if (!c.raised && !c.sent && c.pos == c.start + 2) {
            hn_ret_none(&c);
        }
        int returned = !c.fail && !c.raised && !c.overflow && (c.sent || a->out[c.start + 1] == '=');
        res[k].pos = returned ? c.start + 3 : 0;
        res[k].end = c.pos;
        for (int j = 0; c.sent && j <= k; j++) {
            res[j].pos = 0;     // their text has left the buffer: a reference to them is `? ref`
        }
        pos = c.pos;
        if (!returned && mode == 'S') {
            break;
        }
    }
    return hn_seal(a, pos);
}

// ---- the link ----

void hn_agent_init(hn_agent *a, const hn_port *port, char *in, char *out) {
    a->port = port;
    a->in = in;
    a->out = out;
    a->in_len = 0;
    a->hdr = 0;
    a->discarding = 0;
    a->broken = 0;
    for (int h = 0; h < HN_MAXHANDLES; h++) {
        a->handles[h].used = 0;
        a->handles[h].open = 0;
        a->handles[h].desc = HN_CLOSED;
    }
    a->tally = (hn_tally){0, 0, 0, -1, 0, 0, HN_K_BAD};
}

int hn_agent_feed(hn_agent *a, const char *data, size_t n) {
    for (size_t k = 0; k < n; k++) {
        char ch = data[k];
        if (ch == '\n') {
            size_t len = a->discarding ? hn_reject(a, 0, 0, "long") : hn_agent_line(a, a->in, a->in_len);
            a->discarding = 0;
            a->in_len = 0;
            if (a->broken || (len && a->port->link_write(a->port->ctx, a->out, len) < 0)) {
                return -1;
            }
        } else if (ch == '\r' || a->discarding) {
            continue;
        } else if (a->in_len < HN_MAXLINE - 1) {
            a->in[a->in_len++] = ch;
        } else {
            a->discarding = 1;
        }
    }
    return 0;
}

void hn_agent_serve(hn_agent *a) {
    char buf[256];
    for (;;) {
        long n = a->port->link_read(a->port->ctx, buf, sizeof buf, 1000);
        if (n < 0 || (n > 0 && hn_agent_feed(a, buf, (size_t)n) < 0)) {
            return;
        }
    }
}
