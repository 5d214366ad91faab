// hn_agent.h: the harness agent: reads request lines from the link, runs their ops on the port's
// backend, answers one response each (PROTOCOL.md). No malloc: the caller owns every buffer.
#ifndef HN_AGENT_H
#define HN_AGENT_H

#include "hn_port.h"
#include "hn_wire.h"

typedef struct {
    int32_t desc;
    uint8_t used;
    uint8_t open;
} hn_handle;

// What the last pump or sink did (PROTOCOL.md section 5, `tally`).
typedef struct {
    int64_t bytes, calls, shorts, bad, last;
    uint8_t end;        // 0: no pump or sink yet; 1 done; 2 a value ended it; 3 it raised; 4 the call limit
    uint8_t kind;       // hn_kind of the last value a call returned; HN_K_BAD: none
} hn_tally;

typedef struct hn_agent {
    const hn_port *port;
    char *in;           // HN_MAXLINE bytes: the line being assembled
    char *out;          // HN_MAXLINE bytes: the response being built
    size_t in_len;
    size_t hdr;         // length of "R <seq> ", the head of every line of the response being built
    uint8_t discarding; // the current line overflowed: drop it up to '\n'
    uint8_t broken;     // a `+` line could not be written: the link is gone
    hn_handle handles[HN_MAXHANDLES];
    hn_tally tally;
} hn_agent;

void hn_agent_init(hn_agent *a, const hn_port *port, char *in, char *out);
// Serve until the link is gone.
void hn_agent_serve(hn_agent *a);
// Take bytes from the link; answers every complete line through port->link_write.
// Returns <0 if the link failed while answering.
int hn_agent_feed(hn_agent *a, const char *data, size_t n);
// Answer one line (without '\n'; modified in place). Returns the length ('\n' included) of the
// response's last line, in a->out, or 0 when the line gets no answer. The `+` lines before it
// (a continued result, PROTOCOL.md section 4) have gone out through port->link_write already.
size_t hn_agent_line(hn_agent *a, char *line, size_t n);

// The backend's side of one op call.
int hn_argc(const hn_call *c);              // positional arguments (a backend never sees keywords)
hn_val hn_arg(const hn_call *c, int i);
int32_t hn_desc(const hn_call *c);          // descriptor of the handle in argument 0
int hn_handle_of(const hn_call *c);         // that handle's number
int hn_arg_int(const hn_call *c, int i, int64_t *out);   // HN_OK, or HN_ESYNTAX if absent or not an int
// Bytes of a b/y argument, decoded once (in place, or into free space when it came by reference).
// On failure the op is answered `? arity|type|range` and the backend must return at once.
int hn_arg_data(hn_call *c, int i, const uint8_t **data, size_t *n);
// Handle number and descriptor of handle value v (poll's list); HN_ERANGE if there is no such handle.
int hn_val_handle(const hn_call *c, hn_val v, int *handle, int32_t *desc);

void hn_ret_none(hn_call *c);
void hn_ret_bool(hn_call *c, int b);
void hn_ret_int(hn_call *c, int64_t v);
void hn_ret_str(hn_call *c, const char *s, size_t n);
void hn_ret_open(hn_call *c, char bracket);  // '(' or '['
void hn_ret_close(hn_call *c, char bracket); // ')' or ']'
void hn_ret_handle(hn_call *c, int handle);
// A new handle for desc (socket, accept). If the table is full, desc is released and the op
// answers `? full`. Returns the handle or -1.
int hn_ret_new_handle(hn_call *c, int32_t desc);
// Space for up to n raw bytes to be returned with hn_ret_data (NULL if they cannot fit).
uint8_t *hn_ret_reserve(hn_call *c, size_t n);
void hn_ret_data(hn_call *c, char kind, const uint8_t *p, size_t n);  // kind 'b' or 'y'
size_t hn_ret_room(const hn_call *c);       // raw bytes that still fit
// Bytes returned in pieces, for results that may be continued (read and readline without a size,
// readall: PROTOCOL.md section 4): as the line fills, it goes out as a `+` line and the text goes
// on in the next, so p may be any caller's buffer of any length (never one from hn_ret_reserve).
// Any other op's pieces must fit in its line (`? overflow`). Once a `+` line has gone out, the
// op's result is these bytes: a later raise or fail is ignored (hn_ret_sent says so first).
void hn_ret_begin(hn_call *c, char kind);   // kind 'b' or 'y'
void hn_ret_more(hn_call *c, const uint8_t *p, size_t n);
void hn_ret_end(hn_call *c);                // the last base64 group; the agent ends one left open
int hn_ret_sent(const hn_call *c);          // a `+` line of this op's result has gone out
void hn_raise_errno(hn_call *c, int err);   // OSError(err)
void hn_raise_msg(hn_call *c, const char *cls, const char *msg);  // cls(msg)
void hn_fail(hn_call *c, const char *code); // `? code`: the target was not called

#endif
