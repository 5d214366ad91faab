// hn_test_wire.c: unit tests of the token codec (hn_wire.c); TAP, then "N passed, N failed".
#include <stdio.h>
#include <string.h>

#include "../hn_wire.h"

static int passed, failed;

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(int ok, const char *what, int line) {
    if (ok) {
        passed++;
        printf("ok %d - %s\n", passed + failed, what);
    } else {
        failed++;
        printf("not ok %d - %s (line %d)\n", passed + failed, what, line);
    }
}

static hn_val val(const char *s) {
    hn_val v = {s, s + strlen(s)};
    return v;
}

static int checks(const char *s) {
    const char *next;
    return hn_wire_check(val(s), 8, &next);
}

static void test_crc(void) {
    CHECK(hn_wire_crc32("123456789", 9) == 0xCBF43926u);   // the CRC-32 check value
    CHECK(hn_wire_crc32("", 0) == 0);
}

static void test_base64(void) {
    uint8_t raw[256];
    char enc[400];
    for (int k = 0; k < 256; k++) {
        raw[k] = (uint8_t)k;
    }
    for (size_t n = 0; n <= 10; n++) {
        size_t e = hn_wire_b64enc(raw, n, enc);
        uint8_t back[16];
        CHECK(e == HN_B64LEN(n));
        CHECK(hn_wire_b64dec(enc, e, back) == (long)n && memcmp(back, raw, n) == 0);
    }
    CHECK(hn_wire_b64enc((const uint8_t *)"\x00\x01", 2, enc) == 4 && memcmp(enc, "AAE=", 4) == 0);
    // in place: raw bytes at the end of a buffer, encoded forward from its start
    char buf[2 + 400];
    memcpy(buf + sizeof buf - 256, raw, 256);
    size_t e = hn_wire_b64enc((const uint8_t *)buf + sizeof buf - 256, 256, buf);
    char ref[400];
    hn_wire_b64enc(raw, 256, ref);
    CHECK(e == 344 && memcmp(buf, ref, e) == 0);
    // decoding in place (it shrinks)
    long d = hn_wire_b64dec(buf, e, (uint8_t *)buf);
    CHECK(d == 256 && memcmp(buf, raw, 256) == 0);
    uint8_t out[8];
    CHECK(hn_wire_b64dec("AAE", 3, out) < 0);
    CHECK(hn_wire_b64dec("A=AA", 4, out) < 0);
    CHECK(hn_wire_b64dec("AA=A", 4, out) < 0);
    CHECK(hn_wire_b64dec("AA*A", 4, out) < 0);
    CHECK(hn_wire_b64dec("====", 4, out) < 0);
    CHECK(hn_wire_b64dec("AB==", 4, out) < 0);            // padding bits not zero
    CHECK(hn_wire_b64dec("AAF=", 4, out) < 0);
    CHECK(hn_wire_b64dec("AAE=", 4, out) == 2);
}

static void test_ints(void) {
    int64_t x;
    CHECK(hn_wire_int(val("i9223372036854775807"), &x) == HN_OK && x == INT64_MAX);
    CHECK(hn_wire_int(val("i-9223372036854775808"), &x) == HN_OK && x == INT64_MIN);
    CHECK(hn_wire_int(val("i9223372036854775808"), &x) == HN_ERANGE);
    CHECK(hn_wire_int(val("i-9223372036854775809"), &x) == HN_ERANGE);
    CHECK(hn_wire_int(val("i"), &x) == HN_ESYNTAX);
    CHECK(hn_wire_int(val("i-"), &x) == HN_ESYNTAX);
    CHECK(hn_wire_int(val("i+1"), &x) == HN_ESYNTAX);
    CHECK(hn_wire_int(val("i007"), &x) == HN_ESYNTAX);
    CHECK(hn_wire_int(val("i12 i3"), &x) == HN_OK && x == 12);
    char buf[24];
    CHECK(hn_wire_fmtint(INT64_MIN, buf) == 20 && memcmp(buf, "-9223372036854775808", 20) == 0);
    CHECK(hn_wire_fmtint(0, buf) == 1 && buf[0] == '0');
}

static void test_floats(void) {
    double f;
    CHECK(hn_wire_float(val("f0.5"), &f) == HN_OK && f == 0.5);
    CHECK(hn_wire_float(val("f1e-05"), &f) == HN_OK && f > 0.99e-05 && f < 1.01e-05);
    CHECK(hn_wire_float(val("f-2.25e+02"), &f) == HN_OK && f == -225.0);
    CHECK(hn_wire_float(val("i3"), &f) == HN_OK && f == 3.0);
    CHECK(hn_wire_float(val("finf"), &f) == HN_OK && f > 1e308);
    CHECK(hn_wire_float(val("fnan"), &f) == HN_OK && f != f);
    CHECK(hn_wire_kind(val("f.5")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("f1.")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("f1e5")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("f0x10")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("finfinity")) == HN_K_BAD);
}

static void test_str(void) {
    char buf[64];
    CHECK(hn_wire_str(val("s%5Ba%20b%5D"), buf, sizeof buf) == 5 && strcmp(buf, "[a b]") == 0);
    CHECK(hn_wire_str(val("s"), buf, sizeof buf) == 0 && buf[0] == 0);
    CHECK(hn_wire_str(val("sabcdef"), buf, 4) < 0);      // does not fit: refused, not cut
    CHECK(hn_wire_str(val("i1"), buf, sizeof buf) < 0);
    CHECK(hn_wire_kind(val("s%4")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("s%4g")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("s%4a")) == HN_K_BAD);         // lowercase hex is not canonical
    CHECK(hn_wire_kind(val("sa;b")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("s%41")) == HN_K_BAD);         // A is written as it is
    CHECK(hn_wire_kind(val("s%C3%A9")) == HN_K_STR);
    CHECK(hn_wire_kind(val("s%F0%9F%98%80")) == HN_K_STR);
    CHECK(hn_wire_kind(val("s%C3")) == HN_K_BAD);         // cut UTF-8
    CHECK(hn_wire_kind(val("s%C0%80")) == HN_K_BAD);      // overlong
    CHECK(hn_wire_kind(val("s%ED%A0%80")) == HN_K_BAD);   // surrogate
    CHECK(hn_wire_kind(val("s%F4%90%80%80")) == HN_K_BAD); // past U+10FFFF
    CHECK(hn_wire_kind(val("s%E2%82")) == HN_K_BAD);
    CHECK(hn_wire_stresc("a b%", 4, buf, sizeof buf) == 8 && memcmp(buf, "a%20b%25", 8) == 0);
    CHECK(hn_wire_stresc("\xc3\xa9", 2, buf, 5) < 0);      // needs 6
}

static void test_structure(void) {
    hn_val item;
    hn_val t = val("( i1 [ s2 ( ) ] i3 ) i9");
    CHECK(checks("( i1 [ s2 ( ) ] i3 )") == HN_OK);
    CHECK(hn_wire_count(t) == 3);
    CHECK(hn_wire_item(t, 1, &item) == HN_OK && hn_wire_kind(item) == HN_K_LIST && hn_wire_count(item) == 2);
    CHECK(hn_wire_item(t, -1, &item) == HN_OK && item.p[0] == 'i' && item.p[1] == '3');
    CHECK(hn_wire_item(t, 3, &item) == HN_ERANGE);
    CHECK(hn_wire_item(t, -4, &item) == HN_ERANGE);
    CHECK(hn_wire_item(val("i1"), 0, &item) == HN_ERANGE);
    CHECK(hn_wire_skip(t) == t.p + strlen("( i1 [ s2 ( ) ] i3 ) "));
    CHECK(checks("( i1") == HN_ESYNTAX);
    CHECK(checks("( i1 ]") == HN_ESYNTAX);
    CHECK(checks("( ( ( ( ( ( ( ( ( ) ) ) ) ) ) ) ) )") == HN_EDEPTH);
    CHECK(checks("( ( ( ( ( ( ( ( ) ) ) ) ) ) ) )") == HN_OK);
    CHECK(checks("i99999999999999999999") == HN_ERANGE);
    CHECK(hn_wire_kind(val("@0.-1.2")) == HN_K_REF);
    CHECK(hn_wire_kind(val("@0.")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("@-1")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("@0.-0")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("@999999999")) == HN_K_REF);
    CHECK(hn_wire_kind(val("@99999999999999999999")) == HN_K_BAD);   // no overflow when resolved
    CHECK(hn_wire_kind(val("@0.9999999999")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("@0.0")) == HN_K_REF);
    CHECK(hn_wire_kind(val("h01")) == HN_K_BAD);
    CHECK(hn_wire_kind(val("")) == HN_K_BAD);
}

int main(void) {
    test_crc();
    test_base64();
    test_ints();
    test_floats();
    test_str();
    test_structure();
    printf("1..%d\n", passed + failed);
    printf("wire: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
