// hn_wire.h: the token codec of PROTOCOL.md: CRC-32, base64, str escapes, numbers, value cursors.
// Decoders trust nothing: every length is checked against the end of the text they were given.
#ifndef HN_WIRE_H
#define HN_WIRE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    HN_K_BAD = 0, HN_K_NONE, HN_K_TRUE, HN_K_FALSE, HN_K_INT, HN_K_FLOAT, HN_K_BYTES,
    HN_K_BYTEARRAY, HN_K_STR, HN_K_HANDLE, HN_K_REF, HN_K_TUPLE, HN_K_LIST
} hn_kind;

// A value: the text of its first token, up to `end` (tokens are separated by one space).
typedef struct {
    const char *p;
    const char *end;
} hn_val;

enum { HN_OK = 0, HN_ESYNTAX = -1, HN_ERANGE = -2, HN_EDEPTH = -3 };

uint32_t hn_wire_crc32(const char *p, size_t n);
size_t hn_wire_toklen(const char *p, const char *end);
int hn_wire_eq(const char *p, size_t n, const char *s);   // the n bytes at p are the C string s
hn_kind hn_wire_kind(hn_val v);
// Check one whole value (token or bracketed run); on success *next is just past it.
int hn_wire_check(hn_val v, int depth, const char **next);
const char *hn_wire_skip(hn_val v);
int hn_wire_int(hn_val v, int64_t *out);
int hn_wire_float(hn_val v, double *out);     // ints are accepted too
int hn_wire_count(hn_val v);                  // items of a tuple or list, -1 otherwise
int hn_wire_item(hn_val v, int j, hn_val *item); // j < 0 counts from the end
// Decode a str token into dst (NUL-terminated); returns the length or -1 if it is not a str or does not fit.
long hn_wire_str(hn_val v, char *dst, size_t cap);
// Decode a b/y token's base64 into dst (may equal the token text: decoding shrinks); returns length or -1.
long hn_wire_b64dec(const char *src, size_t n, uint8_t *dst);
size_t hn_wire_b64enc(const uint8_t *src, size_t n, char *dst);   // dst may overlap src's tail (see hn_agent.c)
#define HN_B64LEN(n) ((((n) + 2) / 3) * 4)
// Escape str bytes; returns length written or -1 if cap is too small.
long hn_wire_stresc(const char *src, size_t n, char *dst, size_t cap);
size_t hn_wire_fmtint(int64_t v, char *dst);  // dst holds >= 21 bytes

#endif
