// hn_wire.c: the token codec of PROTOCOL.md section 2.
#include "hn_wire.h"

static const char hn_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint32_t hn_wire_crc32(const char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= (uint8_t)*p++;
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

size_t hn_wire_toklen(const char *p, const char *end) {
    const char *q = p;
    while (q < end && *q != ' ') {
        q++;
    }
    return (size_t)(q - p);
}

static int hn_isdigit(char c) {
    return c >= '0' && c <= '9';
}

static int hn_hexval(char c) {
    if (hn_isdigit(c)) {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Bytes of a str written as they are (PROTOCOL.md section 2).
static int hn_strsafe(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || hn_isdigit(c) || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == ':' || c == '/';
}

static int hn_b64val(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (hn_isdigit(c)) {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

// Decimal digits without a leading zero (a lone "0" is fine).
static int hn_decimal(const char *p, size_t n) {
    if (n == 0 || (n > 1 && p[0] == '0')) {
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        if (!hn_isdigit(p[k])) {
            return 0;
        }
    }
    return 1;
}

static int hn_parse_int(const char *p, size_t n, int64_t *out) {
    int neg = n > 0 && p[0] == '-';
    if (neg) {
        p++;
        n--;
    }
    if (!hn_decimal(p, n) || (neg && n == 1 && p[0] == '0')) {
        return HN_ESYNTAX;
    }
    uint64_t v = 0;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (size_t k = 0; k < n; k++) {
        uint64_t d = (uint64_t)(p[k] - '0');
        if (v > (lim - d) / 10u) {
            return HN_ERANGE;
        }
        v = v * 10u + d;
    }
    *out = neg ? (int64_t)(0u - v) : (int64_t)v;
    return HN_OK;
}

int hn_wire_eq(const char *p, size_t n, const char *s) {
    size_t k = 0;
    for (; k < n && s[k]; k++) {
        if (p[k] != s[k]) {
            return 0;
        }
    }
    return k == n && s[k] == 0;
}

// Python repr grammar: -?D+(.D+)?(e[+-]D+)? | -?inf | nan
static int hn_float_syntax(const char *p, size_t n) {
    size_t k = 0;
    if (hn_wire_eq(p, n, "inf") || hn_wire_eq(p, n, "-inf") || hn_wire_eq(p, n, "nan")) {
        return 1;
    }
    if (k < n && p[k] == '-') {
        k++;
    }
    size_t d0 = k;
    while (k < n && hn_isdigit(p[k])) {
        k++;
    }
    if (k == d0) {
        return 0;
    }
    if (k < n && p[k] == '.') {
        size_t f0 = ++k;
        while (k < n && hn_isdigit(p[k])) {
            k++;
        }
        if (k == f0) {
            return 0;
        }
    }
    if (k < n && p[k] == 'e') {
        k++;
        if (k >= n || (p[k] != '+' && p[k] != '-')) {
            return 0;
        }
        size_t e0 = ++k;
        while (k < n && hn_isdigit(p[k])) {
            k++;
        }
        if (k == e0) {
            return 0;
        }
    }
    return k == n;
}

static int hn_b64_syntax(const char *p, size_t n) {
    if (n % 4 != 0) {
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        if (p[k] == '=') {
            // padding: only in the last two places, and only '=' after it
            if (k < n - 2 || (k == n - 2 && p[n - 1] != '=')) {
                return 0;
            }
        } else if (hn_b64val(p[k]) < 0) {
            return 0;
        }
    }
    // canonical: the bits the padding leaves over are zero
    if (n >= 4 && p[n - 1] == '=') {
        int pad2 = p[n - 2] == '=';
        int last = hn_b64val(p[n - (pad2 ? 3 : 2)]);
        if (last & (pad2 ? 15 : 3)) {
            return 0;
        }
    }
    return 1;
}

// The byte a str token's text stands for at p[*k] (advancing *k), or -1 if it is not canonical.
static int hn_str_byte(const char *p, size_t n, size_t *k) {
    char c = p[*k];
    if (c != '%') {
        (*k)++;
        return hn_strsafe(c) ? (uint8_t)c : -1;
    }
    if (*k + 2 >= n) {
        return -1;
    }
    int hi = hn_hexval(p[*k + 1]), lo = hn_hexval(p[*k + 2]);
    *k += 3;
    if (hi < 0 || lo < 0 || hn_strsafe((char)(hi * 16 + lo))) {
        return -1;
    }
    return hi * 16 + lo;
}

// Canonical escapes, and the bytes are UTF-8 (what Python's bytes.decode accepts).
static int hn_str_syntax(const char *p, size_t n) {
    size_t k = 0;
    while (k < n) {
        int b = hn_str_byte(p, n, &k);
        int more, lo = 0x80, hi = 0xBF;
        if (b < 0) {
            return 0;
        }
        if (b < 0x80) {
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            more = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            more = 2;
            lo = b == 0xE0 ? 0xA0 : 0x80;
            hi = b == 0xED ? 0x9F : 0xBF;
        } else if (b >= 0xF0 && b <= 0xF4) {
            more = 3;
            lo = b == 0xF0 ? 0x90 : 0x80;
            hi = b == 0xF4 ? 0x8F : 0xBF;
        } else {
            return 0;
        }
        while (more--) {
            b = k < n ? hn_str_byte(p, n, &k) : -1;
            if (b < lo || b > hi) {
                return 0;
            }
            lo = 0x80;
            hi = 0xBF;
        }
    }
    return 1;
}

static int hn_ref_syntax(const char *p, size_t n) {
    size_t k = 1;
    size_t s = k;
    while (k < n && p[k] != '.') {
        k++;
    }
    if (!hn_decimal(p + s, k - s) || k - s > 9) {
        return 0;
    }
    while (k < n) {
        s = ++k;
        if (k < n && p[k] == '-') {
            k++;
        }
        size_t d = k;
        while (k < n && p[k] != '.') {
            k++;
        }
        if (!hn_decimal(p + d, k - d) || (k - s > 9) || (d > s && k - d == 1 && p[d] == '0')) {
            return 0;
        }
    }
    return 1;
}

hn_kind hn_wire_kind(hn_val v) {
    size_t n = hn_wire_toklen(v.p, v.end);
    if (n == 0) {
        return HN_K_BAD;
    }
    const char *p = v.p;
    if (n == 1) {
        switch (p[0]) {
        case 'N': return HN_K_NONE;
        case 'T': return HN_K_TRUE;
        case 'F': return HN_K_FALSE;
        case '(': return HN_K_TUPLE;
        case '[': return HN_K_LIST;
        default: break;
        }
    }
    switch (p[0]) {
    case 'i': {
        int64_t x;
        return hn_parse_int(p + 1, n - 1, &x) == HN_ESYNTAX ? HN_K_BAD : HN_K_INT;
    }
    case 'f': return hn_float_syntax(p + 1, n - 1) ? HN_K_FLOAT : HN_K_BAD;
    case 'b': return hn_b64_syntax(p + 1, n - 1) ? HN_K_BYTES : HN_K_BAD;
    case 'y': return hn_b64_syntax(p + 1, n - 1) ? HN_K_BYTEARRAY : HN_K_BAD;
    case 's': return hn_str_syntax(p + 1, n - 1) ? HN_K_STR : HN_K_BAD;
    case 'h': return hn_decimal(p + 1, n - 1) && n <= 10 ? HN_K_HANDLE : HN_K_BAD;
    case '@': return hn_ref_syntax(p, n) && n <= 40 ? HN_K_REF : HN_K_BAD;
    default: return HN_K_BAD;
    }
}

// Advance past one token and the single space after it.
static const char *hn_next(const char *p, const char *end) {
    p += hn_wire_toklen(p, end);
    return p < end ? p + 1 : p;
}

int hn_wire_check(hn_val v, int depth, const char **next) {
    hn_kind k = hn_wire_kind(v);
    if (k == HN_K_BAD) {
        return HN_ESYNTAX;
    }
    if (k == HN_K_INT) {
        int64_t x;
        if (hn_wire_int(v, &x) != HN_OK) {
            return HN_ERANGE;
        }
    }
    const char *p = hn_next(v.p, v.end);
    if (k == HN_K_TUPLE || k == HN_K_LIST) {
        char close = k == HN_K_TUPLE ? ')' : ']';
        if (depth <= 0) {
            return HN_EDEPTH;
        }
        for (;;) {
            if (p >= v.end) {
                return HN_ESYNTAX;
            }
            if (p[0] == close && hn_wire_toklen(p, v.end) == 1) {
                p = hn_next(p, v.end);
                break;
            }
            hn_val item = {p, v.end};
            if (hn_wire_kind(item) == HN_K_REF) {
                return HN_ESYNTAX;  // a reference is a whole argument, never an item of a tuple or list
            }
            int r = hn_wire_check(item, depth - 1, &p);
            if (r != HN_OK) {
                return r;
            }
        }
    }
    *next = p;
    return HN_OK;
}

const char *hn_wire_skip(hn_val v) {
    int depth = 0;
    const char *p = v.p;
    do {
        size_t n = hn_wire_toklen(p, v.end);
        if (n == 1 && (p[0] == '(' || p[0] == '[')) {
            depth++;
        } else if (n == 1 && (p[0] == ')' || p[0] == ']')) {
            depth--;
        }
        p = hn_next(p, v.end);
    } while (depth > 0 && p < v.end);
    return p;
}

int hn_wire_int(hn_val v, int64_t *out) {
    size_t n = hn_wire_toklen(v.p, v.end);
    if (n < 2 || v.p[0] != 'i') {
        return HN_ESYNTAX;
    }
    return hn_parse_int(v.p + 1, n - 1, out);
}

int hn_wire_float(hn_val v, double *out) {
    hn_kind kind = hn_wire_kind(v);
    if (kind == HN_K_INT) {
        int64_t x;
        int r = hn_wire_int(v, &x);
        *out = (double)x;
        return r;
    }
    if (kind != HN_K_FLOAT) {
        return HN_ESYNTAX;
    }
    size_t n = hn_wire_toklen(v.p, v.end) - 1;
    const char *p = v.p + 1;
    if (hn_wire_eq(p, n, "nan")) {
        *out = 0.0 / 0.0;
        return HN_OK;
    }
    int neg = p[0] == '-';
    size_t k0 = neg ? 1 : 0;
    if (hn_wire_eq(p + k0, n - k0, "inf")) {
        *out = neg ? -1.0 / 0.0 : 1.0 / 0.0;
        return HN_OK;
    }
    double m = 0.0, scale = 1.0;
    size_t k = k0;
    int frac = 0;
    long exp = 0;
    for (; k < n && p[k] != 'e'; k++) {
        if (p[k] == '.') {
            frac = 1;
        } else {
            m = m * 10.0 + (p[k] - '0');
            if (frac) {
                scale *= 10.0;
            }
        }
    }
    if (k < n) {
        int eneg = p[k + 1] == '-';
        for (k += 2; k < n; k++) {
            if (exp < 100000) {
                exp = exp * 10 + (p[k] - '0');
            }
        }
        exp = eneg ? -exp : exp;
    }
    m /= scale;
    for (; exp > 0; exp--) {
        m *= 10.0;
    }
    for (; exp < 0; exp++) {
        m /= 10.0;
    }
    *out = neg ? -m : m;
    return HN_OK;
}

int hn_wire_count(hn_val v) {
    hn_kind k = hn_wire_kind(v);
    if (k != HN_K_TUPLE && k != HN_K_LIST) {
        return -1;
    }
    int count = 0;
    const char *p = hn_next(v.p, v.end);
    while (p < v.end && !(hn_wire_toklen(p, v.end) == 1 && (p[0] == ')' || p[0] == ']'))) {
        hn_val item = {p, v.end};
        p = hn_wire_skip(item);
        count++;
    }
    return count;
}

int hn_wire_item(hn_val v, int j, hn_val *item) {
    int count = hn_wire_count(v);
    if (j < 0) {
        j += count;
    }
    if (count < 0 || j < 0 || j >= count) {
        return HN_ERANGE;
    }
    hn_val it = {hn_next(v.p, v.end), v.end};
    while (j-- > 0) {
        it.p = hn_wire_skip(it);
    }
    *item = it;
    return HN_OK;
}

long hn_wire_str(hn_val v, char *dst, size_t cap) {
    if (hn_wire_kind(v) != HN_K_STR) {
        return -1;
    }
    size_t n = hn_wire_toklen(v.p, v.end);
    size_t w = 0;
    for (size_t k = 1; k < n; k++) {
        char c = v.p[k];
        if (c == '%') {
            c = (char)(hn_hexval(v.p[k + 1]) * 16 + hn_hexval(v.p[k + 2]));
            k += 2;
        }
        if (w + 1 >= cap) {
            return -1;
        }
        dst[w++] = c;
    }
    dst[w] = 0;
    return (long)w;
}

long hn_wire_b64dec(const char *src, size_t n, uint8_t *dst) {
    if (!hn_b64_syntax(src, n)) {
        return -1;
    }
    size_t w = 0;
    for (size_t k = 0; k < n; k += 4) {
        uint32_t q = 0;
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            int d = src[k + j] == '=' ? (pad++, 0) : hn_b64val(src[k + j]);
            q = (q << 6) | (uint32_t)d;
        }
        dst[w++] = (uint8_t)(q >> 16);
        if (pad < 2) {
            dst[w++] = (uint8_t)(q >> 8);
        }
        if (pad < 1) {
            dst[w++] = (uint8_t)q;
        }
    }
    return (long)w;
}

size_t hn_wire_b64enc(const uint8_t *src, size_t n, char *dst) {
    size_t w = 0;
    for (size_t k = 0; k < n; k += 3) {
        // read the whole group before writing: dst may run just behind src (in-place encoding)
        uint32_t b0 = src[k];
        uint32_t b1 = k + 1 < n ? src[k + 1] : 0;
        uint32_t b2 = k + 2 < n ? src[k + 2] : 0;
        uint32_t q = (b0 << 16) | (b1 << 8) | b2;
        dst[w++] = hn_b64[(q >> 18) & 63];
        dst[w++] = hn_b64[(q >> 12) & 63];
        dst[w++] = k + 1 < n ? hn_b64[(q >> 6) & 63] : '=';
        dst[w++] = k + 2 < n ? hn_b64[q & 63] : '=';
    }
    return w;
}

long hn_wire_stresc(const char *src, size_t n, char *dst, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t w = 0;
    for (size_t k = 0; k < n; k++) {
        char c = src[k];
        size_t need = hn_strsafe(c) ? 1 : 3;
        if (w + need > cap) {
            return -1;
        }
        if (need == 1) {
            dst[w++] = c;
        } else {
            dst[w++] = '%';
            dst[w++] = hex[((uint8_t)c) >> 4];
            dst[w++] = hex[((uint8_t)c) & 15];
        }
    }
    return (long)w;
}

size_t hn_wire_fmtint(int64_t v, char *dst) {
    char tmp[21];
    size_t n = 0, w = 0;
    uint64_t u = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u);
    if (v < 0) {
        dst[w++] = '-';
    }
    while (n) {
        dst[w++] = tmp[--n];
    }
    return w;
}
