# agent.py: the harness agent of harness/PROTOCOL.md in Python, for MicroPython (unix port and
# boards) and CPython 3.8+. Same checks in the same order, codes and limits as hn_agent.c; the
# socket layer is the port's own module, every op is called exactly as asked (keyword arguments
# too; read() without a size reads to EOF, its answer continued over `+` lines), and every op
# reports exactly what it did.
# Run: `micropython agent.py` or `python3 agent.py` (protocol on stdin/stdout). $SOCKCONF_HOST and
# $SOCKCONF_LISTEN_HOST give HELLO's host and listen_host; a board gets them as main()'s arguments.
# A line that is exactly 0x04 (a console's end of file) ends the agent, as EOF does on a pipe.
# Frames are parsed as bytes, by index: indexing a str walks it from its start on MicroPython.
import gc
import sys

try:
    import socket
except ImportError:
    import usocket as socket
try:
    import select
except ImportError:
    import uselect as select
try:
    import binascii
except ImportError:
    import ubinascii as binascii
try:
    import errno
except ImportError:
    try:
        import uerrno as errno
    except ImportError:
        errno = None

MAXLINE = 4096          # longest line, '\n' included (hn_port.h)
MAXOPS = 16
HANDLES = 8
MAXARGS = 8
MAXDEPTH = 8
LIMIT = MAXLINE - 10    # room for " <crc>\n"
SLACK = 128             # kept after returned data for brackets and an address
LASTROOM = 16           # " ; ? unsupported": the longest answer an op can fall back to
KWMAX = 32              # longest keyword name
LONG = object()         # readline(): the line was longer than MAXLINE
PIECE = 256             # readline(): bytes read at a time

# The op list of harness/ops.def, in its order (conformance/selftest/test_agent_py.py keeps them equal).
OPS = (("hello", ""), ("reset", ""), ("const", "s*"), ("echo", "v*"), ("socket", "|iii"), ("close", "h"),
       ("bind", "hv"), ("listen", "h|i"), ("accept", "h"), ("connect", "hv"), ("send", "hb"),
       ("sendall", "hb"), ("recv", "hz"), ("sendto", "hbv"), ("recvfrom", "hz"), ("setsockopt", "hiiv"),
       ("settimeout", "hn"), ("setblocking", "hv"), ("makefile", "h|si"), ("read", "h|z"),
       ("readinto", "hz|i"), ("readline", "h|z"), ("readall", "h"), ("write", "hb"), ("fileno", "h"),
       ("getaddrinfo", "vv|iiii"), ("inet_pton", "is"), ("inet_ntop", "ib"), ("poll", "li"),
       ("recv_into", "hz|i"), ("recvfrom_into", "hz|i"), ("dnsserver", "|is"), ("ip_to_tuple", "s"),
       ("with", "h"), ("pump", "hsii|i"), ("sink", "hsii|i"), ("tally", ""))
SIGS = {}   # name as bytes: (name, argument letters, the repeated letter or '', how many are required)
for _n, _s in OPS:
    _req = _s.split("|")[0]
    SIGS[_n.encode()] = (_n, _s.replace("|", "").replace("*", ""), _s[-2] if _s[-1:] == "*" else "",
                         len(_req) - (2 if _req[-1:] == "*" else 0))
BUFFER_OPS = ("readinto", "recv_into", "recvfrom_into")
NOKW = ("hello", "reset", "const", "echo", "with", "pump", "sink", "tally")  # no keyword argument: the agent's own ops, with
BULK = {"pump": ("send", "sendall", "write"), "sink": ("recv", "read", "readinto", "recv_into")}
PATTERN = 251   # byte i of a pump's or sink's stream is i % 251
BULKMAX = 64 << 20  # the largest total a pump or sink takes
BULKCALLS = 65536   # the most calls one pump or sink makes
MORE = ("read", "readline", "readall")      # given only the handle, their result may be continued
B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
HEXU = b"0123456789ABCDEF"
B64V = bytearray(b"\xff" * 256)    # byte: its base64 value, 255 if none
HEXV = bytearray(b"\xff" * 256)    # byte: its value as an uppercase hex digit, 255 if none
SAFE = bytearray(256)               # byte: 1 if a str token writes it as it is
for _k in range(64):
    B64V[B64[_k]] = _k
for _k in range(16):
    HEXV[HEXU[_k]] = _k
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/":
    SAFE[_c] = 1
SP, SEMI, LPAR, RPAR, LBRK, RBRK, AT, EQ, PCT, KW = 32, 59, 40, 41, 91, 93, 64, 61, 37, 107
# The errno names HELLO lists (the C harness's table); exceptions are named from errno.errorcode.
ERRNOS = ("EPERM ENOENT EINTR EIO EBADF EAGAIN ENOMEM EACCES EFAULT EBUSY EEXIST EINVAL ENFILE EMFILE "
          "ENOSPC EPIPE ERANGE ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT "
          "EOPNOTSUPP EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ECONNABORTED ECONNRESET "
          "ENOBUFS EISCONN ENOTCONN ETIMEDOUT ECONNREFUSED EHOSTUNREACH EALREADY EINPROGRESS")


def _crc(data, c=0):
    c ^= 0xFFFFFFFF
    for x in data:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 & -(c & 1))
    return c ^ 0xFFFFFFFF


crc32 = getattr(binascii, "crc32", _crc)


class Fail(Exception):
    """`? code`: the agent could not run the op."""


class H:
    """A handle token inside a value (poll's list)."""

    def __init__(self, n):
        self.n = n


# ---- tokens (PROTOCOL.md section 2): b is a request line or a result, p..q a token, e the end ----

def _tend(b, p, e):
    """The end of the token at p."""
    q = b.find(b" ", p, e)
    return e if q < 0 else q


def _next(b, p, e):
    """The start of the token after the one at p."""
    p = _tend(b, p, e)
    return p + 1 if p < e else p


def _dec(b, p, q):
    """Decimal digits without a leading zero (a lone "0" is fine)."""
    if p >= q or (q - p > 1 and b[p] == 48):
        return False
    for k in range(p, q):
        if not 48 <= b[k] <= 57:
            return False
    return True


def _int(b, p, q):
    """0: an int, 1: not one, 2: beyond 64 bits."""
    d = p + 1 if p < q and b[p] == 45 else p
    if not _dec(b, d, q) or (d > p and q - d == 1 and b[d] == 48):
        return 1
    if q - d != 19:
        return 2 if q - d > 19 else 0
    return 2 if b[d:q] > (b"9223372036854775808" if d > p else b"9223372036854775807") else 0


def _digits(b, k, q):
    while k < q and 48 <= b[k] <= 57:
        k += 1
    return k


def _float_ok(b, p, q):
    """Python repr grammar: -?D+(.D+)?(e[+-]D+)? | -?inf | nan"""
    if q - p <= 4 and b[p:q] in (b"inf", b"-inf", b"nan"):
        return True
    k = p + 1 if p < q and b[p] == 45 else p
    k0, k = k, _digits(b, k, q)
    if k == k0:
        return False
    if k < q and b[k] == 46:
        k0, k = k + 1, _digits(b, k + 1, q)
        if k == k0:
            return False
    if k < q and b[k] == 101:
        if k + 1 >= q or b[k + 1] not in (43, 45):
            return False
        k0, k = k + 2, _digits(b, k + 2, q)
        if k == k0:
            return False
    return k == q


def _b64_ok(b, p, q):
    """Canonical base64: padding only at the end, and the bits it leaves over zero."""
    if (q - p) % 4:
        return False
    for k in range(p, q):
        if b[k] == EQ:
            if k < q - 2 or (k == q - 2 and b[q - 1] != EQ):
                return False
        elif B64V[b[k]] == 255:
            return False
    if q > p and b[q - 1] == EQ:
        pad2 = b[q - 2] == EQ
        return not B64V[b[q - (3 if pad2 else 2)]] & (15 if pad2 else 3)
    return True


def _str(b, p, q, build):
    """A canonical str token's text at p..q (escapes, UTF-8): its str if build, else True; None if
    it is not one."""
    out = bytearray() if build else None
    k, more, lo, hi = p, 0, 0x80, 0xBF
    while k < q:
        c = b[k]
        if c == PCT:
            if k + 2 >= q or HEXV[b[k + 1]] == 255 or HEXV[b[k + 2]] == 255:
                return None
            c = HEXV[b[k + 1]] * 16 + HEXV[b[k + 2]]
            if SAFE[c]:
                return None
            k += 3
        elif SAFE[c]:
            k += 1
        else:
            return None
        if more:
            if not lo <= c <= hi:
                return None
            more, lo, hi = more - 1, 0x80, 0xBF
        elif c >= 0x80:
            if 0xC2 <= c <= 0xDF:
                more = 1
            elif 0xE0 <= c <= 0xEF:
                more, lo, hi = 2, 0xA0 if c == 0xE0 else 0x80, 0x9F if c == 0xED else 0xBF
            elif 0xF0 <= c <= 0xF4:
                more, lo, hi = 3, 0x90 if c == 0xF0 else 0x80, 0x8F if c == 0xF4 else 0xBF
            else:
                return None
        if build:
            out.append(c)
    if more:
        return None
    return bytes(out).decode() if build else True


def _ref_ok(b, p, q):
    k = p + 1
    while k < q and b[k] != 46:
        k += 1
    if not _dec(b, p + 1, k) or k - p - 1 > 9:
        return False
    while k < q:
        k += 1
        s = k
        if k < q and b[k] == 45:
            k += 1
        d = k
        while k < q and b[k] != 46:
            k += 1
        if not _dec(b, d, k) or k - s > 9 or (d > s and k - d == 1 and b[d] == 48):
            return False
    return True


def _kind(b, p, q):
    """The kind of the token at p..q: one of N T F ( [ i f b y s h @, or None (a syntax error)."""
    c = b[p]
    if q - p == 1 and c in b"NTF([":
        return chr(c)
    if c == 105:
        return None if _int(b, p + 1, q) == 1 else "i"
    if c == 102:
        return "f" if _float_ok(b, p + 1, q) else None
    if c in (98, 121):
        return chr(c) if _b64_ok(b, p + 1, q) else None
    if c == 115:
        return "s" if _str(b, p + 1, q, False) else None
    if c == 104:
        return "h" if _dec(b, p + 1, q) and q - p <= 10 else None
    if c == AT:
        return "@" if q - p <= 40 and _ref_ok(b, p, q) else None
    return None


def _check(b, p, e, depth):
    """Check one whole value at p: (None or 'syntax' or 'range', the position past it, its kind)."""
    q = _tend(b, p, e)
    k = _kind(b, p, q)
    if k is None:
        return "syntax", p, k
    if k == "i" and _int(b, p + 1, q) == 2:
        return "range", p, k
    n = q + 1 if q < e else q
    if k in "([":
        close = RPAR if k == "(" else RBRK
        if depth <= 0:
            return "range", n, k
        while True:
            if n >= e:
                return "syntax", n, k
            q = _tend(b, n, e)
            if q - n == 1 and b[n] == close:
                return None, (q + 1 if q < e else q), k
            if _kind(b, n, q) == "@":
                return "syntax", n, k  # a reference is a whole argument, never an item of a tuple or list
            code, n, _ = _check(b, n, e, depth - 1)
            if code:
                return code, n, k
    return None, n, k


def _skip(b, p, e):
    """The position past the value at p (brackets balanced)."""
    d = 0
    while True:
        q = _tend(b, p, e)
        if q - p == 1:
            d += (b[p] in (LPAR, LBRK)) - (b[p] in (RPAR, RBRK))
        p = q + 1 if q < e else q
        if d <= 0 or p >= e:
            return p


def _item(t, p, e, j):
    """The span (start, end) of item j (negative: from the end) of the container at t[p:e], else None."""
    if not (_tend(t, p, e) - p == 1 and t[p] in (LPAR, LBRK)):
        return None
    spans, p = [], p + 2
    while p < e and not (_tend(t, p, e) - p == 1 and t[p] in (RPAR, RBRK)):
        q = _skip(t, p, e)
        spans.append((p, q - 1 if q < e else q))
        p = q
    if j < 0:
        j += len(spans)
    return spans[j] if 0 <= j < len(spans) else None


def _val(b, p, e):
    """The value of the checked text at p: (value, the position past it)."""
    q = _tend(b, p, e)
    c, n = b[p], q + 1 if q < e else q
    if q - p == 1 and c in (LPAR, LBRK):
        items = []
        while b[n] not in (RPAR, RBRK) or _tend(b, n, e) - n != 1:
            v, n = _val(b, n, e)
            items.append(v)
        n = _next(b, n, e)
        return (tuple(items) if c == LPAR else items), n
    if q - p == 1 and c in b"NTF":
        return (None, True, False)[b"NTF".find(b[p:q])], n
    if c == 105:
        return int(b[p + 1:q]), n
    if c == 102:
        return float(b[p + 1:q]), n
    if c == 98:
        return binascii.a2b_base64(memoryview(b)[p + 1:q]), n
    if c == 121:
        return bytearray(binascii.a2b_base64(memoryview(b)[p + 1:q])), n
    if c == 115:
        return _str(b, p + 1, q, True), n
    if c == 104:
        return H(int(b[p + 1:q])), n
    raise Fail("type")  # a reference inside a container is not resolved: there is no value to pass


def _esc(text):
    out = bytearray()
    # A lone surrogate (CPython decodes an AF_UNIX path with surrogateescape) goes as its \udcXX text: a str
    # token is UTF-8, and raising here would end the agent. MicroPython ignores the errors argument.
    for c in text.encode("utf-8", "backslashreplace"):
        if SAFE[c]:
            out.append(c)
        else:
            out.append(PCT)
            out.append(HEXU[c >> 4])
            out.append(HEXU[c & 15])
    return bytes(out)


def _type_ok(letter, k):
    if k == "@" or letter == "v":
        return True
    return k in {"h": "h", "i": "i", "z": "i", "n": "ifN", "b": "by", "s": "s", "l": "["}[letter]


# ---- the agent: its state, and one top-level function per step (a board compiles them one by one) ----

class Agent:
    """The handle table and what HELLO reports."""

    def __init__(self, host=None, listen_host=None, service=None):
        self.host, self.listen_host = host, listen_host
        self.service = service          # (its name, the function): called before each op and while waiting
        self.bringup = None             # what bringup() ran: [(call, class raised or None, its args)]
        self.waits = None               # whether poll sees the console's input (waiting()), once known
        self.table = [None] * HANDLES   # [object, open] per handle
        self.errnames = getattr(errno, "errorcode", None) or dict(
            (getattr(errno, n), n) for n in ERRNOS.split() if hasattr(errno, n))
        self.caps = caps()
        self.tally = [0, 0, 0, -1, "", "", None]    # what the last pump or sink did


def caps():
    """Capabilities, as the module shows them: tuple addresses (a UDP connect sends nothing),
    settimeout, IPv6 sockets."""
    out = []
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect(("127.0.0.1", 9))
            out.append("tuple-address")
        finally:
            s.close()
    except Exception:
        pass
    if hasattr(socket.socket, "settimeout"):
        out.append("settimeout")
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close()
        out.append("AF_INET6")
    except Exception:
        pass
    return out


def has(op):
    """Whether the module has op: core ops and `with` (a statement of the language) always, poll with
    select.poll, socket methods, functions."""
    if op in NOKW:
        return True
    if op == "poll":
        return hasattr(select, "poll")
    if SIGS[op.encode()][1][:1] == "h":
        return hasattr(socket.socket, op)
    return hasattr(socket, op)


def seal(pieces):
    """The pieces of a line, its CRC and '\n' appended."""
    c = 0
    for x in pieces:
        c = crc32(x, c)
    pieces.append(b" %08x\n" % (c & 0xFFFFFFFF))
    return pieces


def line(a, b):
    """The answer to one line (bytes without '\n' and '\r') as a list of bytes-like pieces (a
    continued result's `+` lines first, then the last line), or None."""
    n = len(b)
    if n == 0:
        return None
    if n < 9 or b[n - 9] != SP or b"%08x" % (crc32(memoryview(b)[:n - 9]) & 0xFFFFFFFF) != b[n - 8:]:
        return seal([b"X - crc"])
    e = n - 9
    if _tend(b, 0, e) != 1 or b[0] != 81:   # Q
        return seal([b"X - syntax"])
    p = _next(b, 0, e)
    q = _tend(b, p, e)
    if not 0 < q - p <= 9 or not _dec(b, p, q):
        return seal([b"X - syntax"])
    seq = b[p:q]
    p = _next(b, p, e)
    if _tend(b, p, e) - p != 1 or b[p] not in (67, 83):   # C, S
        return seal([b"X ", seq, b" syntax"])
    mode = b[p]
    p = _next(b, p, e)
    if p < e and (min(memoryview(b)[p:e]) < 32 or max(memoryview(b)[p:e]) > 126 or b[p] == SP
                  or b[e - 1] == SP or b.find(b"  ", p, e) >= 0):
        return seal([b"X ", seq, b" syntax"])
    ops = []
    code = request(b, p, e, ops)
    if code:
        return seal([b"X ", seq, b" ", code.encode()])
    out, pos, res, lines = [b"R ", seq], 2 + len(seq), [], []
    for k in range(len(ops)):
        if pos + LASTROOM > LIMIT:
            break   # not even `? code` would fit: this op and the rest do not run
        if k:
            out.append(b" ;")
            pos += 2
        name, args, kws = ops[k]
        try:
            if a.service:
                a.service[1]()
            r = run(a, name, args, kws, res, k, pos + 2)
            head, n = b" = ", _len(r)
        except Fail as f:
            r, head, n = None, b" ? " + f.args[0].encode(), 0
        except Exception as x:
            r, head, n = None, b" ! " + raised(a, x), 0
        more = r is not None and name in MORE and len(args) == 1 and not kws
        if pos + len(head) + n > LIMIT and not more:
            r, head, n = None, b" ? overflow", 0
        res.append(r)
        out.append(head)
        pos += len(head) + n
        if r is not None:
            out.extend(r)
            if pos > LIMIT:     # a result that may be continued: `+` lines, and no reference back
                out, pos = cut(out, seq, pos, lines)
                for j in range(k + 1):
                    res[j] = None
        elif mode == 83:    # S: stop at the first op that did not return
            break
    return lines + seal(out)


def cut(out, seq, pos, lines):
    """The text of out (pos bytes, more than a line) as `+` lines of exactly MAXLINE bytes, appended to
    lines, and the line left (PROTOCOL.md section 4): `+ <seq> <Pi> <crc>`, then `R <seq> <Pn>`; the
    text is cut every LIMIT - len("R <seq> ") bytes, and Pn is not empty. Returns (line, its length)."""
    hdr = len(seq) + 3
    room = LIMIT - hdr
    full = (pos - hdr - 1) // room
    skip, left, cur, n, todo = hdr, [b"R ", seq, b" "], [b"+ ", seq, b" "], 0, full
    for x in out:
        x = memoryview(x)
        if skip:
            d = min(skip, len(x))
            x, skip = x[d:], skip - d
        while len(x):
            if not todo:
                left.append(x)
                break
            take = min(room - n, len(x))
            cur.append(x[:take])
            x, n = x[take:], n + take
            if n == room:
                lines.extend(seal(cur))
                cur, n, todo = [b"+ ", seq, b" "], 0, todo - 1
    return left, pos - full * room


def _kw_ok(b, p, q):
    """A keyword name: [a-z_][a-z0-9_]*, at most KWMAX characters."""
    if not 0 < q - p <= KWMAX:
        return False
    for k in range(p, q):
        c = b[k]
        if not (97 <= c <= 122 or c == 95 or (k > p and 48 <= c <= 57)):
            return False
    return True


def request(b, p, e, ops):
    """Check a request's ops in order (PROTOCOL.md section 3): None, or the first fault's code.
    Fills ops with (name, [positional arguments as (text, start, end)], [(keyword, (text, start, end))])."""
    while p < e:
        q = _tend(b, p, e)
        if q - p == 1 and b[p] == SEMI:
            return "syntax"
        sig = SIGS.get(b[p:q])
        if sig is None:
            return "op"
        if len(ops) == MAXOPS:
            return "range"
        name, letters, star, least = sig
        args, kws = [], []
        p = _next(b, p, e)
        while p < e and not (b[p] == SEMI and _tend(b, p, e) - p == 1):
            if b[p] == KW:  # a keyword argument: its name, a name the op has already, its value, the counts
                q = _tend(b, p, e)
                key = b[p + 1:q]
                if not _kw_ok(b, p + 1, q) or [1 for x, _ in kws if x == key]:
                    return "syntax"
                p = _next(b, p, e)
                if p >= e:
                    return "syntax"
                code, q, kind = _check(b, p, e, MAXDEPTH)
                if code:
                    return code
                if len(args) + len(kws) == MAXARGS or name in NOKW:
                    return "arity"
                kws.append((key, (b, p, q - 1 if q < e else q)))
                p = q
                continue
            if kws:
                return "syntax"     # a positional argument after a keyword argument
            code, q, kind = _check(b, p, e, MAXDEPTH)
            if code:
                return code
            n = len(args)
            letter = letters[n] if n < len(letters) else star
            if not letter or n == MAXARGS:
                return "arity"
            if not _type_ok(letter, kind):
                return "type"
            args.append((b, p, q - 1 if q < e else q))
            p = q
        if len(args) < least:
            return "arity"
        ops.append((name, args, kws))
        if p < e:
            p = _next(b, p, e)
            if p >= e:
                return "syntax"
    return None if ops else "syntax"


def _resolve(arg, letter, res, k):
    """The text (text, start, end) of an argument, a reference resolved to what it names; Fail `ref`
    or `type`."""
    t, p, q = arg
    if t[p] != AT:
        return t, p, q
    path = [int(x) for x in t[p + 1:q].split(b".")]
    if path[0] >= k or res[path[0]] is None:
        raise Fail("ref")
    got = res[path[0]]
    if len(got) > 1 or isinstance(got[0], memoryview):
        got[:] = [_join(got)]   # joined once, for every reference to it
    t, p, q = got[0], 0, len(got[0])
    for j in path[1:]:
        span = _item(t, p, q, j)
        if span is None:
            raise Fail("ref")
        p, q = span
    kind = _kind(t, p, _tend(t, p, q))
    if kind == "@" or not _type_ok(letter, kind):
        raise Fail("type")  # a reference echoed inside a container is text, not a value
    return t, p, q


def run(a, name, args, kws, res, k, pos):
    """Resolve references, check sizes and the handle (in hn_agent.c's order), run op k; the text
    of what it returned. pos: where its value would start in the response."""
    _, letters, star, _ = SIGS[name.encode()]
    room = 0 if pos + SLACK >= LIMIT else (LIMIT - pos - SLACK) // 4 * 3
    for i in range(len(args) + len(kws)):
        if i < len(args):
            letter = letters[i] if i < len(letters) else star
            t, p, q = args[i] = _resolve(args[i], letter, res, k)
            if letter == "z" and int(t[p + 1:q]) > room:
                raise Fail("range")
        else:   # keyword values: any value
            key, x = kws[i - len(args)]
            kws[i - len(args)] = (key, _resolve(x, "v", res, k))
    if name == "echo":
        out = [b"("]
        for t, p, q in args:
            out.append(b" ")
            out.append(memoryview(t)[p:q])
        out.append(b" )")
        return out
    obj = None
    if letters[:1] == "h":
        t, p, q = args[0]
        h = int(t[p + 1:q])
        if h >= HANDLES or a.table[h] is None:
            raise Fail("handle")
        obj = a.table[h][0]
        args = args[1:]
    v = [_val(t, p, q)[0] for t, p, q in args]
    kw = dict((key.decode(), _val(t, p, q)[0]) for key, (t, p, q) in kws)
    if name == "hello":
        return hello(a)
    if name == "reset":
        return [b"i%d" % reset(a)]
    if name == "const":
        return enc(a, [const(x) for x in v], False, [])
    if name == "tally":
        return enc(a, tuple(a.tally), False, [])
    if name == "poll":
        if not has(name):
            raise Fail("unsupported")
        return enc(a, poll(a, v[0], v[1], kw), False, [])
    if obj is None:     # a module function
        f = getattr(socket, name, None)
        if f is None:
            raise Fail("unsupported")
        return enc(a, f(*v, **kw), True, [])
    if name in BULK:
        return [b"i%d" % bulk(a, obj, name, v, room)]
    if name == "with":  # `with obj: pass`; an object that is no context manager raises what the target raises
        with obj:
            pass
        a.table[h][1] = False   # the block's end closed it (a socket's __exit__ is its close())
        return [b"N"]
    method = getattr(obj, name, None)
    if method is None:  # this object has no such method (a port that lacks it): the op is not run
        raise Fail("unsupported")
    if name in BUFFER_OPS:  # the buffer's length, then the method's own arguments
        buf = bytearray(v[0])
        return enc(a, (method(buf, *v[1:], **kw), buf), True, [])
    r = method(*v, **kw)    # exactly as asked: read() reads to EOF
    if name == "close":
        a.table[h][1] = False
    return enc(a, r, True, [])


def bulk(a, obj, name, v, room):
    """pump and sink: the target sends the pattern's bytes itself with the method named, or receives
    them and checks them, `chunk` bytes a call, until `total` have moved or a call returns what ends
    the loop (PROTOCOL.md section 5); how many moved. a.tally keeps the counts."""
    method, total, chunk = v[0], v[1], v[2]
    start = v[3] if len(v) > 3 else 0
    if method not in BULK[name]:
        raise Fail("type")
    if not 0 <= total <= BULKMAX or not 0 <= start <= BULKMAX or not 0 < chunk <= room:
        raise Fail("range")
    f = getattr(obj, method, None)
    if f is None:
        raise Fail("unsupported")
    t = a.tally = [0, 0, 0, -1, "done", "", None]
    block = bytes(range(PATTERN)) * (chunk // PATTERN + 2)
    into = method in BUFFER_OPS
    buf = bytearray(chunk) if into else None
    try:
        while t[0] < total:
            if t[1] == BULKCALLS:
                t[4] = "limit"
                break
            k = min(chunk, total - t[0])
            o = (start + t[0]) % PATTERN
            data = None
            if a.service:
                a.service[1]()
            if name == "pump":
                r = f(memoryview(block)[o:o + k])
            elif into:
                data = buf if k == chunk else bytearray(k)
                r = f(data)
            else:
                r = data = f(k)
            t[1] += 1
            t[5] = type(r).__name__
            count = isinstance(r, int) and not isinstance(r, bool)
            length = isinstance(r, (bytes, bytearray))
            t[6] = r if count else len(r) if length else None
            if name == "pump":
                got = r if count else k if r is None and method == "sendall" else -1
            elif into:
                got = r if count and r <= len(data) else -1
            else:
                got = len(r) if length else -1
            if not 0 < got <= k:
                t[4] = "value"
                break
            if data is not None and t[3] < 0 and data[:got] != block[o:o + got]:
                j = 0
                while data[j] == block[o + j]:
                    j += 1
                t[3] = start + t[0] + j
            t[0] += got
            t[2] += got < k
    except Exception:
        t[1], t[4], t[5], t[6] = t[1] + 1, "raised", "", None
        raise
    return t[0]


def const(name):
    """The module's constant (select's for POLL*); None if absent; str() of what is not an int."""
    for m in (socket, select):
        v = getattr(m, name, None)
        if v is not None:
            return v if isinstance(v, int) and not isinstance(v, bool) else str(v)
    return None


def poll(a, entries, timeout, kw):
    """select.poll() with these (handle, eventmask) registered, then its poll(timeout, **kw)."""
    p, objs = select.poll(), []
    for x in entries:
        if not (isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], H) and isinstance(x[1], int)
                and x[0].n < HANDLES and a.table[x[0].n] is not None):
            raise Fail("type")
        o = a.table[x[0].n][0]
        p.register(o, x[1])
        objs.append((x[0].n, o))
    out = []
    for o, ev in p.poll(timeout, **kw):
        for n, mine in objs:    # CPython answers with the fd, MicroPython with the object
            if mine is o or (isinstance(o, int) and _fileno(mine) == o):
                out.append((H(n), ev))
                break
    return out


def _fileno(o):
    try:
        return o.fileno()
    except Exception:
        return None


def reset(a):
    """Close every open handle and empty the table; how many were open."""
    n = 0
    for e in a.table:
        if e is not None and e[1]:
            n += 1
            try:
                e[0].close()
            except Exception:
                pass
    for k in range(HANDLES):
        a.table[k] = None
    a.tally = [0, 0, 0, -1, "", "", None]
    return n


def handle(a, obj):
    """The handle obj has, else the lowest free one; `? full` (and obj closed) when there is none."""
    free = None
    for n in range(HANDLES):
        e = a.table[n]
        if e is not None and e[0] is obj:
            return n
        if e is None and free is None:
            free = n
    if free is None:
        try:
            obj.close()
        except Exception:
            pass
        raise Fail("full")
    a.table[free] = [obj, True]
    return free


def enc(a, v, objects, out):
    """Append the wire text of a value to out, a list of bytes-like pieces, and return out;
    objects: a socket or file gets a handle (else, like any other object, its repr as a str)."""
    if v is None or v is True or v is False:
        out.append((b"N", b"T", b"F")[(None, True, False).index(v)])
    elif isinstance(v, H):
        out.append(b"h%d" % v.n)
    elif isinstance(v, int):
        out.append(b"i%d" % v)
    elif isinstance(v, float):
        out.append(b"f" + repr(v).encode())
    elif isinstance(v, str):
        out.append(b"s" + _esc(v))
    elif isinstance(v, (bytes, bytearray)):
        out.append(b"y" if isinstance(v, bytearray) else b"b")
        out.append(memoryview(binascii.b2a_base64(v))[:-1])    # the letter and its base64: one token
    elif isinstance(v, (tuple, list)):
        out.append(b"(" if isinstance(v, tuple) else b"[")
        for x in v:
            out.append(b" ")
            sub = enc(a, x, objects, [])
            if len(sub) > 1 and not [y for y in sub if isinstance(y, memoryview)]:
                sub = [b"".join(sub)]   # few pieces: a list of hundreds needs kilobytes in one block
            out.extend(sub)
        out.append(b" )" if isinstance(v, tuple) else b" ]")
    elif objects and hasattr(v, "close"):
        out.append(b"h%d" % handle(a, v))
    else:
        out.append(b"s" + _esc(repr(v)))
    return out


def _len(pieces):
    n = 0
    for x in pieces:
        n += len(x)
    return n


def _join(pieces):
    """The text of a result, as bytes (a reference reads it)."""
    return b"".join([bytes(x) if isinstance(x, memoryview) else x for x in pieces])


def raised(a, x):
    """`Class ERRNAME ( args )` of an exception; the errno name only for a positive int args[0]."""
    args = x.args
    name = "N"
    if args and isinstance(args[0], int) and not isinstance(args[0], bool) and args[0] > 0:
        name = a.errnames.get(args[0], "N")
    return ("%s %s " % (type(x).__name__, name)).encode() + _join(enc(a, tuple(args), False, []))


def hello(a):
    impl = sys.implementation
    machine = getattr(impl, "_machine", None)
    if machine is None:
        try:
            import os
            machine = os.uname().machine
        except Exception:
            machine = sys.platform
    pairs = [("proto", 2), ("impl", impl.name), ("version", ".".join([str(x) for x in impl.version[:3]])),
             ("machine", machine), ("maxline", MAXLINE), ("maxops", MAXOPS), ("handles", HANDLES)]
    if a.host:
        pairs.append(("host", a.host))
    if a.listen_host:
        pairs.append(("listen_host", a.listen_host))
    pairs.append(("ops", [n for n, _ in OPS if has(n)]))
    pairs.append(("caps", a.caps))
    pairs.append(("errno", [(n, getattr(errno, n)) for n in ERRNOS.split() if hasattr(errno, n)]))
    if a.service:
        pairs.append(("service", a.service[0]))
        pairs.append(("service_waits", a.waits is True))
    if a.bringup is not None:
        pairs.append(("bringup", a.bringup))
    return enc(a, pairs, False, [])


# ---- the link ----

def readline(inp):
    """The next line without '\n' and '\r'; LONG if it had more than MAXLINE - 1 bytes; None at EOF.
    Read in small pieces: MicroPython's readline(n) takes n bytes of heap first, whatever comes."""
    parts, n = [], 0
    while True:
        chunk = inp.readline(PIECE)
        if not chunk:
            return None
        nl = chunk[-1] == 10
        if nl:
            chunk = chunk[:-1]
        if n < MAXLINE:
            if 13 in chunk:
                chunk = chunk.replace(b"\r", b"")
            n += len(chunk)
            parts.append(chunk)
            if n >= MAXLINE:
                parts = None
        if nl:
            return LONG if n >= MAXLINE else b"".join(parts)


def write(out, pieces):
    """Write the pieces of a line: small ones gathered, big ones as they are."""
    buf = bytearray()
    for x in pieces:
        if len(x) >= PIECE:
            if buf:
                out.write(buf)
                buf = bytearray()
            out.write(x)
        else:
            buf += x
    if buf:
        out.write(buf)


def serve(a, inp, out):
    """Answer every line of inp on out until EOF or a line that is exactly 0x04. A line the heap
    cannot hold gets no answer (the host reports it silent) rather than ending the agent. With a
    service hook, the hook runs every 5 ms while no request has come (waiting())."""
    flush = getattr(out, "flush", None)
    wait = waiting(a, inp)
    if wait:
        inp = getattr(inp, "raw", inp)  # CPython: unbuffered, so that poll() sees every byte not yet read
    while True:
        gc.collect()    # each line starts on a heap holding only what lasts: less fragmented
        try:
            if wait:
                wait()
            b = readline(inp)
            if b is None or b == b"\x04":
                return
            r = seal([b"X - long"]) if b is LONG else line(a, b)
        except MemoryError:
            r = None
        b = None
        if r:
            write(out, r)
            if flush:
                flush()
        r = None


def waiting(a, inp):
    """With a service hook: a function that calls it until inp has a byte to read; else None (and
    None where inp cannot be polled: the hook then runs before each op only). A port whose poll
    never reports console input (uc386's stdio poll is always 0) is found at the first request,
    which the host sends at once: no input within 3 s means poll cannot see it, and the
    hook then runs before each op only (HELLO: service_waits F)."""
    if not a.service:
        return None
    p = select.poll()
    try:
        p.register(getattr(inp, "raw", inp), select.POLLIN)
    except Exception:
        return None
    hook = a.service[1]
    import time
    now = getattr(time, "ticks_ms", None) or (lambda: int(time.monotonic() * 1000))    # MicroPython, CPython
    diff = getattr(time, "ticks_diff", None) or (lambda x, y: x - y)

    def wait():
        t0 = now()
        while a.waits is not False and not p.poll(5):   # every 5 ms
            hook()
            if a.waits is None and diff(now(), t0) >= 3000:     # the first request is there by then
                a.waits = False
        if a.waits is None:
            a.waits = True
    return wait


# The runtime probe: operations the agent itself depends on, as _probes() does them, in its order.
# A runtime that gets one wrong cannot run the agent; HELLO then says which (probe()).
PROBED = ("1 in (1, 2)|99 in b'abc'|b'abcd'[1:3]|memoryview(b'abcd')[1:3]|bytearray(b'a') + b'b'|b'%02x' % 255|"
          "int(b'-12')|ValueError(1).args")     # one string: each of them would be a qstr of its own on a board


def _probes():
    yield 1 in (1, 2) and 3 not in [1, 2]
    yield 99 in b"abc" and b"b" in b"abc"
    yield b"abcd"[1:3] == b"bc" and b"abc"[-1] == 99
    yield bytes(memoryview(b"abcd")[1:3]) == b"bc"
    yield bytearray(b"a") + b"b" == b"ab"
    yield b"%02x" % 255 == b"ff"
    yield int(b"-12") == -12
    try:
        raise ValueError(1)
    except ValueError as x:
        e = x
    yield e.args == (1,)


def probe():
    """None if each of _probes() gives True, else one sentence: which did not (PROBED), and how."""
    n = 0
    try:
        for ok in _probes():
            if ok is not True:
                return "the runtime gets `%s` wrong (not True)" % PROBED.split("|")[n]
            n += 1
    except Exception as x:
        return "the runtime raised %s: %s at `%s`" % (type(x).__name__, x, PROBED.split("|")[n])
    return None


def broken(sentence, inp, out):
    """A runtime that failed the probe: every line gets a HELLO list of two pairs, proto 2 and
    `runtime` (the sentence), under the request's seq, built with byte concatenation only (the
    parser may need what is broken). A line that is not a request gets no answer; EOF, a line
    that is exactly 0x04 or one too long ends the agent."""
    text = sentence.encode()
    esc = b""
    for c in text:
        esc += bytes([c]) if SAFE[c] else b"%%%02X" % c
    while True:
        b = readline(inp)
        if b is None or b == b"\x04" or b is LONG:
            return
        w = b.split(b" ")
        if len(w) < 3 or w[0] != b"Q":
            continue
        body = b"R " + w[1] + b" = [ ( sproto i2 ) ( sruntime s" + esc + b" ) ]"
        out.write(body + b" %08x\n" % (crc32(body) & 0xFFFFFFFF))
        if getattr(out, "flush", None):
            out.flush()


def bringup(calls):
    """Run each step in order, whatever the one before did: a call (a tuple: the dotted name of a
    function, then its arguments), or a list of calls, alternatives tried in order until one
    returns. What each call did: [(its text, the class it raised or None, its args or None)]."""
    out = []
    for step in calls:
        for call in (step if isinstance(step, list) else [step]):
            text = "%s(%s)" % (call[0], ", ".join([repr(x) for x in call[1:]]))
            try:
                function(call[0])(*call[1:])
                out.append((text, None, None))
                break
            except Exception as x:
                out.append((text, type(x).__name__, tuple(x.args)))
    return out


def function(dotted):
    """The function a dotted name ('lwip.callback') names, its module imported."""
    mod, _, name = dotted.rpartition(".")
    return getattr(__import__(mod) if mod else sys.modules["builtins"], name)


def nic():
    """A board's active network interface (network.WLAN station, then access point, LAN, PPP), or None."""
    import network
    for name, kind in (("WLAN", "STA_IF"), ("WLAN", "AP_IF"), ("LAN", None), ("PPP", None)):
        try:
            n = getattr(network, name)(getattr(network, kind)) if kind else getattr(network, name)()
            if n.active() and n.ifconfig()[0] != "0.0.0.0":
                return n
        except Exception:
            pass
    return None


def resolver(dns):
    """Point the port's resolver at dns (network.ipconfig(dns=...) where the port has it, else the
    active interface's ifconfig 4-tuple); a function that puts the old setting back."""
    import network
    if hasattr(network, "ipconfig"):
        old = network.ipconfig("dns")
        network.ipconfig(dns=dns)
        return lambda: network.ipconfig(dns=old)
    n = nic()
    if n is None:
        raise ImportError("dns=suite: the port has no network.ipconfig and no active interface to set a resolver on")
    old = n.ifconfig()
    n.ifconfig(tuple(old[:3]) + (dns,))
    return lambda: n.ifconfig(old)


def main(host=None, listen_host=None, dns=None, service=None, bringup_calls=None):
    """Serve stdin/stdout; host and listen_host default to $SOCKCONF_HOST and $SOCKCONF_LISTEN_HOST.
    dns: the suite's DNS peer, where the board's resolver points while the agent runs (suite-dns).
    service: the dotted name of the port's service function, called before each op and while the
    agent waits ($SOCKCONF_SERVICE); bringup_calls: the network bring-up, run first and reported
    by HELLO ($SOCKCONF_BRINGUP, a list in the wire's value syntax). A runtime that fails the
    probe gets no further: every request is answered with HELLO's `runtime` sentence."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    try:
        import os
        env = os.getenv
    except (ImportError, AttributeError):   # a port without os.getenv
        env = lambda name: None  # noqa: E731
    if host is None and listen_host is None:
        host, listen_host = env("SOCKCONF_HOST"), env("SOCKCONF_LISTEN_HOST")
    service = service or env("SOCKCONF_SERVICE")
    if bringup_calls is None and env("SOCKCONF_BRINGUP"):
        b = env("SOCKCONF_BRINGUP").encode()
        code, end, kind = _check(b, 0, len(b), MAXDEPTH)
        if code or kind != "[" or end != len(b):
            raise ValueError("SOCKCONF_BRINGUP is not a list in the wire's value syntax: %r" % b)
        bringup_calls = _val(b, 0, len(b))[0]
    g = globals()
    sentence, undo = g["probe"]() if "probe" in g else None, None
    if not sentence:    # it passed: its code goes, and its heap with it (a 64 KiB board needs it); a later main() in
        for n in ("PROBED", "_probes", "probe", "broken"):  # this interpreter knows the runtime passed
            g.pop(n, None)
    try:
        import micropython
        micropython.kbd_intr(-1)    # 0x03 on the link is data, not an interrupt
    except (ImportError, AttributeError):
        micropython = None
    try:
        if sentence:
            g["broken"](sentence, inp, out)
            return
        ran = bringup(bringup_calls) if bringup_calls is not None else None   # before caps() makes sockets
        undo = resolver(dns) if dns else None
        a = Agent(host, listen_host, (service, function(service)) if service else None)
        a.bringup = ran
        if undo:
            a.caps.append("suite-dns")
        serve(a, inp, out)
    except (KeyboardInterrupt, OSError):   # the link is gone
        pass
    finally:
        if micropython:
            micropython.kbd_intr(3)
        if undo:
            undo()


if __name__ == "__main__":
    main()
