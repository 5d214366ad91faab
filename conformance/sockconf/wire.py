"""Codec of the harness wire protocol (harness/PROTOCOL.md, version 2): values, keyword arguments,
requests, responses (continued over `+` lines too), typed JSON."""
import binascii
import re
import zlib
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from .root import ROOT

OPS_DEF = ROOT / "harness" / "ops.def"
MAX_SEQ = 999999999
PROTO = 2           # the protocol version this codec speaks (HELLO's proto); it reads 1 too
MAX_MORE = 4096     # `+` lines one response may have (PROTOCOL.md section 7)


class WireError(Exception):
    """A frame that breaks the protocol; code is the protocol's error code ('syntax', 'crc', ...)."""

    def __init__(self, code, detail="", seq=None):
        super().__init__("%s: %s" % (code, detail) if detail else code)
        self.code, self.detail, self.seq = code, detail, seq


# --- ops.def ---------------------------------------------------------------------------------

_LETTER = "[hizbnsvl]"


def _load_ops(path=OPS_DEF):
    ops = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        m = re.fullmatch(r'\s*HN_OP\(\s*\w+\s*,\s*"([a-z][a-z0-9_]*)"\s*,\s*"(%s*(?:\|%s*)?(?:(?<=%s)\*)?)"\s*\)\s*'
                         % ((_LETTER,) * 3), line)
        if not m or m.group(1) in ops:
            raise RuntimeError("%s:%d: not a valid HN_OP line: %s" % (path, n, line))
        ops[m.group(1)] = m.group(2)
    return ops


OPS = _load_ops()
OP_NAMES = list(OPS)

_TYPE_NAMES = {"h": "a handle", "i": "an int", "z": "an int (size)", "n": "an int, float or None",
               "b": "bytes or bytearray", "s": "a str", "v": "any value", "l": "a list"}


def _arity(sig):
    """(min, max or None, letters, repeated letter or None) of a signature such as 'h|si' or 's*'."""
    req = sig.split("|")[0]
    star = sig[-2] if sig.endswith("*") else None
    letters = sig.replace("|", "").replace("*", "")
    return len(req) - (2 if req.endswith("*") else 0), None if star else len(letters), letters, star


def _type_ok(letter, v):
    if isinstance(v, Ref) or letter == "v":
        return True
    if isinstance(v, bool):
        return False
    return {"h": isinstance(v, Handle), "i": isinstance(v, int), "z": isinstance(v, int),
            "n": v is None or isinstance(v, (int, float)), "b": isinstance(v, (bytes, bytearray)),
            "s": isinstance(v, str), "l": isinstance(v, list)}[letter]


def _arity_error(name, n):
    lo, hi, _, _ = _arity(OPS[name])
    hi = MAXARGS if hi is None else hi
    want = "%d" % lo if lo == hi else "%d to %d" % (lo, hi)
    return "arity", "op %r takes %s arguments, got %s" % (name, want, n)


def _arg_error(name, k, v):
    """('type', sentence) if v cannot be argument k (from 0) of op name, else None."""
    _, _, letters, star = _arity(OPS[name])
    letter = letters[k] if k < len(letters) else star
    if not _type_ok(letter, v):
        return "type", "argument %d of %r must be %s, got %s" % (k + 1, name, _TYPE_NAMES[letter], type(v).__name__)
    return None


def _next_arg_error(name, before, a, check=True):
    """The fault, as (code, sentence), of argument a of op name after the arguments before, in an
    agent's order (PROTOCOL.md section 3), its own value's syntax aside; None if there is none.
    check=False: only the structure (the keywords' names and places)."""
    kws = [x.name for x in before if isinstance(x, Kw)]
    if isinstance(a, Kw):
        if not isinstance(a.name, str) or not re.fullmatch(_KW, a.name):
            return "syntax", "a keyword is [a-z_][a-z0-9_]* of at most %d characters, not %r" % (KWMAX, a.name)
        if a.name in kws:
            return "syntax", "keyword argument %r given twice" % a.name
        if check and len(before) == MAXARGS:
            return "arity", "op %r takes at most %d arguments, keyword arguments included" % (name, MAXARGS)
        if check and name in NOKW_OPS:
            return "arity", "op %r takes no keyword arguments" % name
        return None
    if kws:
        return "syntax", "positional argument after keyword argument %r" % kws[-1]
    if not check:
        return None
    _, hi, _, _ = _arity(OPS[name])
    if len(before) == (MAXARGS if hi is None else hi):
        return _arity_error(name, "more")
    return _arg_error(name, len(before), a)


def check_op(name, args):
    """None if the op is valid, else (code, sentence) with code 'op', 'syntax' (keyword arguments:
    a bad or repeated name, a positional one after them), 'arity' or 'type'."""
    if name not in OPS:
        return "op", "unknown op %r" % name
    for k, a in enumerate(args):    # the keyword arguments' names and places
        bad = _next_arg_error(name, args[:k], a, False)
        if bad:
            return bad
    positional = [a for a in args if not isinstance(a, Kw)]
    if len(positional) < len(args):
        if len(args) > MAXARGS:
            return "arity", "op %r takes at most %d arguments, keyword arguments included" % (name, MAXARGS)
        if name in NOKW_OPS:
            return "arity", "op %r takes no keyword arguments" % name
    lo, hi, _, _ = _arity(OPS[name])
    if len(positional) < lo or len(positional) > (MAXARGS if hi is None else hi):
        return _arity_error(name, len(positional))
    for k, a in enumerate(positional):
        bad = _arg_error(name, k, a)
        if bad:
            return bad
    return None


# --- values ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Handle:
    """A socket handle assigned by the agent (wire `h<n>`)."""
    n: int

    def __repr__(self):
        return "h%d" % self.n


@dataclass(frozen=True)
class Kw:
    """A keyword argument (wire `k<name> <value>`; requests only, PROTOCOL.md section 3): in an op's
    argument list after its positional arguments, e.g. ("recv", [Ref(1), 64, Kw("flags", 0)]) calls
    recv(64, flags=0). value is any value, a Ref too."""
    name: str
    value: object

    def __repr__(self):
        return "%s=%r" % (self.name, self.value)


PATTERN = 251   # pump and sink: byte i of a bulk stream is i % 251 (PROTOCOL.md section 5)


def pattern(n, start=0):
    """The n bytes of the bulk pattern from stream offset start."""
    block = bytes(range(PATTERN))
    o = start % PATTERN
    return (block * ((o + n) // PATTERN + 1))[o:o + n]


CORE_OPS = ("hello", "reset", "const", "echo")   # the agent's own ops
NOKW_OPS = CORE_OPS + ("with", "pump", "sink", "tally")   # a keyword argument is `arity` to: the agent's own ops, with


class Ref:
    """A reference to op k's result, then item j of it, ... (wire `@k.j...`; requests only)."""
    __slots__ = ("k", "path")

    def __init__(self, k, *path):
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "path", tuple(path))

    def __setattr__(self, name, value):
        raise AttributeError("Ref is immutable")

    def __eq__(self, other):
        return isinstance(other, Ref) and (self.k, self.path) == (other.k, other.path)

    def __hash__(self):
        return hash((Ref, self.k, self.path))

    def __repr__(self):
        return "@%d" % self.k + "".join(".%d" % j for j in self.path)


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/")
_INT = r"0|-?[1-9][0-9]*"
_HANDLE = r"0|[1-9][0-9]{0,8}"  # at most 9 digits
INT64 = (-2**63, 2**63 - 1)     # what an agent holds (`range` beyond, in requests)
MAXDEPTH = 8                    # bracket nesting an agent accepts (`range` deeper, in requests)
MAXARGS = 8                     # arguments per op, whatever its signature (`arity` past it)
_FLOAT = r"-?(?:inf|[0-9]+(?:\.[0-9]+)?(?:e[-+][0-9]+)?)|nan"  # Python repr() and plain digits
_B64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
_STR = r"(?:[A-Za-z0-9._~:/-]|%[0-9A-F]{2})*"
_REF = r"@(%s)((?:\.(?:%s))*)" % (_HANDLE, r"0|[1-9][0-9]{0,8}|-[1-9][0-9]{0,7}")  # items of 9 chars at most
_REF_MAX = 40                   # a whole reference token, in characters
KWMAX = 32                      # longest keyword name
_KW = r"[a-z_][a-z0-9_]{0,%d}" % (KWMAX - 1)


def _b64(data):
    return binascii.b2a_base64(bytes(data), newline=False).decode("ascii")


def _esc(text):
    return "".join(chr(c) if c in _SAFE else "%%%02X" % c for c in text.encode("utf-8"))


def encode_value(v):
    """The canonical wire text of a value (one token, or a bracketed run of tokens)."""
    if v is None:
        return "N"
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, int):
        return "i%d" % v
    if isinstance(v, float):
        return "f" + repr(v)
    if isinstance(v, bytearray):
        return "y" + _b64(v)
    if isinstance(v, bytes):
        return "b" + _b64(v)
    if isinstance(v, str):
        return "s" + _esc(v)
    if isinstance(v, Handle):
        if not 0 <= v.n <= MAX_SEQ:
            raise ValueError("a handle is 0..%d, not %r" % (MAX_SEQ, v.n))
        return "h%d" % v.n
    if isinstance(v, Ref):
        if v.k < 0:
            raise ValueError("a reference names a non-negative op index, not %d" % v.k)
        return repr(v)
    if isinstance(v, Kw):
        raise ValueError("a keyword argument is an argument of an op, never a value: %r" % (v,))
    if isinstance(v, (tuple, list)):
        if any(isinstance(x, Ref) for x in v):
            raise ValueError("a reference is a whole argument, never an item of a tuple or list: %r" % (v,))
        o, c = "()" if isinstance(v, tuple) else "[]"
        return " ".join([o, *map(encode_value, v), c])
    raise TypeError("no wire form for %s" % type(v).__name__)


def _atom(t, refs, agent):
    p, rest = t[:1], t[1:]
    if t in ("N", "T", "F"):
        return {"N": None, "T": True, "F": False}[t]
    if p == "i" and re.fullmatch(_INT, rest):
        n = int(rest) if len(rest) <= 4000 else None  # CPython converts at most 4300 digits
        if n is None or agent and not INT64[0] <= n <= INT64[1]:
            raise WireError("range", "int beyond %s: %.40s" % ("64 bits" if agent else "4000 digits", t))
        return n
    if p == "f" and re.fullmatch(_FLOAT, rest):
        return float(rest)
    if p in ("b", "y") and re.fullmatch(_B64, rest):
        data = binascii.a2b_base64(rest)
        if _b64(data) != rest:
            raise WireError("syntax", "non-canonical base64 (padding bits set): %r" % t)
        return bytes(data) if p == "b" else bytearray(data)
    if p == "s" and re.fullmatch(_STR, rest):
        try:
            text = unquote_to_bytes(rest).decode("utf-8")
        except UnicodeDecodeError:
            raise WireError("syntax", "escaped bytes are not UTF-8: %r" % t) from None
        if _esc(text) != rest:
            raise WireError("syntax", "non-canonical str escape: %r" % t)
        return text
    if p == "h" and re.fullmatch(_HANDLE, rest):
        return Handle(int(rest))
    m = re.fullmatch(_REF, t) if p == "@" and len(t) <= _REF_MAX else None
    if m and refs:
        return Ref(int(m.group(1)), *(int(j) for j in m.group(2).split(".")[1:]))
    raise WireError("syntax", "bad token %r" % t)


def _parse(toks, i, refs, depth=None):
    """Parse one value from toks[i:]; return (value, next index). depth: brackets still allowed
    (None: no limit); a depth given also means agent limits (64-bit ints)."""
    if i >= len(toks):
        raise WireError("syntax", "missing value")
    t = toks[i]
    if t not in ("(", "["):
        return _atom(t, refs, depth is not None), i + 1
    if depth is not None:
        if depth <= 0:
            raise WireError("range", "brackets nested deeper than %d" % MAXDEPTH)
        depth -= 1
    close, items, i = ")" if t == "(" else "]", [], i + 1
    while True:
        if i >= len(toks):
            raise WireError("syntax", "unbalanced %r" % t)
        if toks[i] == close:
            return (tuple(items) if t == "(" else items), i + 1
        v, i = _parse(toks, i, False, depth)    # a reference is never an item of a tuple or list
        items.append(v)


def _split(body):
    if not re.fullmatch(r"[\x20-\x7e]*", body):
        raise WireError("syntax", "character outside printable ASCII")
    toks = body.split(" ")
    if "" in toks:
        raise WireError("syntax", "empty token (tokens are separated by exactly one space)")
    return toks


def _one_value(toks, refs):
    try:
        v, i = _parse(toks, 0, refs)
    except RecursionError:
        raise WireError("syntax", "brackets nested too deep") from None
    if i != len(toks):
        raise WireError("syntax", "unexpected %r after a value" % toks[i])
    return v


def decode_value(text, refs=True):
    """The value of wire text (strict: non-canonical or malformed text raises WireError('syntax'))."""
    return _one_value(_split(text), refs)


# --- lines -----------------------------------------------------------------------------------

def crc(body):
    """CRC-32 of the ASCII body as 8 lowercase hex digits."""
    return "%08x" % zlib.crc32(body.encode("ascii"))


def _frame(body):
    return body + " " + crc(body)


def _unframe(line):
    """Check the CRC of a line (str or bytes, trailing CR/LF ignored) and return its body."""
    if isinstance(line, str):
        line = line.encode("utf-8", "surrogateescape")
    body, sep, c = bytes(line).rstrip(b"\r\n").rpartition(b" ")
    if not sep or not re.fullmatch(rb"[0-9a-f]{8}", c) or b"%08x" % zlib.crc32(body) != c:
        raise WireError("crc", "CRC missing, malformed or wrong")
    return body.decode("latin-1")


def _seq(t):
    if not re.fullmatch(r"0|[1-9][0-9]{0,8}", t):
        raise WireError("syntax", "bad seq %r" % t)
    return int(t)


def _groups(toks):
    """Split tokens on ';' into non-empty groups."""
    groups = [[]]
    for t in toks:
        if t == ";":
            groups.append([])
        else:
            groups[-1].append(t)
    if any(not g for g in groups):
        raise WireError("syntax", "empty op or result")
    return groups


@dataclass
class Request:
    seq: int
    mode: str
    ops: list  # [(name, [args])]


def _encode_arg(a):
    if isinstance(a, Kw):
        if not isinstance(a.name, str) or not re.fullmatch(r"[\x21-\x7e]+", a.name):
            raise ValueError("keyword name %r is not a single printable token" % (a.name,))
        return "k%s %s" % (a.name, encode_value(a.value))
    return encode_value(a)


def encode_request(seq, ops, mode="S", check=True):
    """The request line, without '\\n'. check=True raises ValueError for anything an agent would
    reject (op name, keyword arguments, arity, type, 64-bit ints, nesting; not maxline/maxops,
    which the client knows); check=False builds deliberately wrong requests, only the structure
    is checked."""
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ:
        raise ValueError("seq must be an int in 0..%d, not %r" % (MAX_SEQ, seq))
    if mode not in ("S", "C"):
        raise ValueError("mode must be 'S' or 'C', not %r" % (mode,))
    if not ops:
        raise ValueError("a request needs at least one op")
    parts = []
    for name, args in ops:
        if not isinstance(name, str) or not re.fullmatch(r"[\x21-\x7e]+", name) or name == ";":
            raise ValueError("op name %r is not a single printable token" % (name,))
        bad = check_op(name, list(args)) if check else None
        if bad:
            raise ValueError(bad[1])
        parts.append(" ".join([name, *map(_encode_arg, args)]))
    line = _frame("Q %d %s %s" % (seq, mode, " ; ".join(parts)))
    if check:
        try:
            decode_request(line)
        except WireError as e:
            raise ValueError("an agent would reject this request: %s" % e) from None
    return line


def decode_request(line, check=True, maxline=None, maxops=None):
    """Parse a request line as an agent does (PROTOCOL.md section 3), raising WireError with the
    code and .seq of the agent's `X` answer. Order: `long` (if maxline), CRC, `Q`, seq, mode,
    printable bytes and single spaces, then op by op: op name, `range` for an op past maxops,
    then argument by argument: a keyword argument's name (`syntax`: malformed or repeated), its
    value's syntax (`range` past 64-bit ints or nesting deeper than 8), too many arguments and a
    keyword on a core op or `with` (`arity`); a positional argument after a keyword (`syntax`),
    its value's syntax, too many arguments (`arity`), its type; too few positional arguments at
    the op's end.
    check=False skips the op-name, arity and type checks."""
    if isinstance(line, str):
        line = line.encode("utf-8", "surrogateescape")
    line = bytes(line)[:-1] if line.endswith(b"\n") else bytes(line)
    line = line.replace(b"\r", b"")  # the agent drops every CR
    if maxline is not None and len(line) + 1 > maxline:
        raise WireError("long", "line of %d bytes, maxline %d" % (len(line) + 1, maxline))
    body = _unframe(line)
    toks = body.split(" ")
    if toks[0] != "Q" or len(toks) < 2:
        raise WireError("syntax", "not a request")
    seq = _seq(toks[1])
    try:
        if len(toks) < 3 or toks[2] not in ("S", "C"):
            raise WireError("syntax", "bad mode")
        _split(body)
        ops, i = [], 3
        while True:
            if i >= len(toks) or toks[i] == ";":
                raise WireError("syntax", "empty op")
            name, args, i = toks[i], [], i + 1
            sig = OPS.get(name)
            if check and sig is None:
                raise WireError("op", "unknown op %r" % name)
            if maxops is not None and len(ops) == maxops:
                raise WireError("range", "more than maxops %d ops" % maxops)
            lo = _arity(sig or "")[0]
            check_arg = check and sig is not None
            while i < len(toks) and toks[i] != ";":
                if toks[i][:1] == "k":
                    key = toks[i][1:]
                    bad = _next_arg_error(name, args, Kw(key, None), False)
                    if bad:
                        raise WireError(*bad)
                    v, i = _parse(toks, i + 1, True, MAXDEPTH)
                    v = Kw(key, v)
                elif any(isinstance(a, Kw) for a in args):
                    raise WireError(*_next_arg_error(name, args, None, False))
                else:
                    v, i = _parse(toks, i, True, MAXDEPTH)
                bad = _next_arg_error(name, args, v, check_arg)
                if bad:
                    raise WireError(*bad)
                args.append(v)
            positional = len([a for a in args if not isinstance(a, Kw)])
            if check_arg and positional < lo:
                raise WireError(*_arity_error(name, positional))
            ops.append((name, args))
            if i == len(toks):
                break
            i += 1
    except WireError as e:
        e.seq = seq
        raise
    return Request(seq, toks[2], ops)


# --- responses -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ok:
    value: object

    def __repr__(self):
        return "Ok(%r)" % (self.value,)


@dataclass(frozen=True)
class Raised:
    cls: str
    errno: object  # errno name or None
    args: tuple

    def __repr__(self):
        return "Raised(%s %s %r)" % (self.cls, self.errno or "N", self.args)


@dataclass(frozen=True)
class AgentError:
    code: str

    def __repr__(self):
        return "AgentError(%s)" % self.code


@dataclass
class Response:
    seq: object  # int, or None for `X -`
    results: list
    reject: object = None  # the X code, or None

    def __repr__(self):
        if self.reject:
            return "Response(seq=%s, reject=%s)" % (self.seq, self.reject)
        return "Response(seq=%s, results=%r)" % (self.seq, self.results)


_CLASS, _ERRNO, _CODE = r"[A-Za-z_][A-Za-z0-9_.]*", r"[A-Z][A-Z0-9_]*", r"[a-z][a-z0-9-]*"


def _result(g):
    if g[0] == "=" and len(g) > 1:
        return Ok(_one_value(g[1:], False))
    if g[0] == "!" and len(g) > 3 and re.fullmatch(_CLASS, g[1]) and re.fullmatch(_ERRNO, g[2]):
        args = _one_value(g[3:], False)
        if isinstance(args, tuple):
            return Raised(g[1], None if g[2] == "N" else g[2], args)
    if g[0] == "?" and len(g) == 2 and re.fullmatch(_CODE, g[1]):
        return AgentError(g[1])
    raise WireError("syntax", "bad result %r" % " ".join(g))


_HEAD = r"(0|[1-9][0-9]{0,8}) "   # a line's seq and the space after it


def decode_more(line):
    """(seq, text) of a `+` line, `+ <seq> <text> <crc>` (PROTOCOL.md section 4; trailing CR/LF
    ignored): the text is what lies between `<seq> ` and ` <crc>`, taken by position (it may start
    or end with a space, or cut a token in two). WireError 'crc' or 'syntax'."""
    body = _unframe(line)
    m = re.match(r"\+ " + _HEAD, body)
    if not m or len(body) == m.end():
        raise WireError("syntax", "not a `+` line: %.60s" % body)
    return int(m.group(1)), body[m.end():]


def decode_response(line, more=()):
    """Parse an `R` or `X` line (trailing CR/LF ignored); WireError 'crc' or 'syntax'. more: the
    texts of the `+` lines of its seq that came before it (decode_more), in order: the response
    is then `R <seq> ` and those texts and its own, read as one line."""
    body = _unframe(line)
    if more:
        m = re.match(r"R " + _HEAD, body)
        if not m or len(body) == m.end():
            raise WireError("syntax", "`+` lines not ended by an `R` line of text: %.60s" % body)
        body = body[:m.end()] + "".join(more) + body[m.end():]
    toks = _split(body)
    if toks[0] == "X" and len(toks) == 3 and re.fullmatch(_CODE, toks[2]):
        return Response(None if toks[1] == "-" else _seq(toks[1]), [], toks[2])
    if toks[0] != "R" or len(toks) < 4:
        raise WireError("syntax", "not a response")
    return Response(_seq(toks[1]), [_result(g) for g in _groups(toks[2:])])


def _encode_result(r):
    if isinstance(r, Ok):
        return "= " + encode_value(r.value)
    if isinstance(r, Raised):
        return "! %s %s %s" % (r.cls, r.errno or "N", encode_value(tuple(r.args)))
    if isinstance(r, AgentError):
        return "? " + r.code
    raise TypeError("not a result: %r" % (r,))


def encode_response(seq, results):
    """The `R` line for these results, without '\\n'."""
    if not results:
        raise ValueError("a response carries at least one result")
    return _frame("R %d %s" % (seq, " ; ".join(map(_encode_result, results))))


def encode_lines(seq, results, maxline):
    """The lines of the `R` response for these results, without '\\n' (PROTOCOL.md section 4): one
    line if it fits in maxline, else `+` lines of exactly maxline bytes and the last line, the text
    after `R <seq> ` cut every maxline - len("R <seq> ") - 10 characters."""
    line = encode_response(seq, results)
    head = "R %d " % seq
    text, room = line[len(head):-9], maxline - 10 - len(head)
    if room <= 0:
        raise ValueError("maxline %d has no room for the text of a response" % maxline)
    lines = []
    while len(text) > room:
        lines.append(_frame("+ %d %s" % (seq, text[:room])))
        text = text[room:]
    return lines + [_frame(head + text)]


def encode_reject(seq, code):
    """The `X` line, without '\\n'; seq None gives `X -`."""
    return _frame("X %s %s" % ("-" if seq is None else "%d" % seq, code))


# --- typed JSON (vectors/protocol/README.md) -----------------------------------------------------

def to_json(v):
    """JSON meaning of a value."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return {"float": repr(v)}
    if isinstance(v, (bytes, bytearray)):
        return {type(v).__name__: bytes(v).hex()}
    if isinstance(v, Handle):
        return {"handle": v.n}
    if isinstance(v, Ref):
        return {"ref": [v.k, *v.path]}
    if isinstance(v, tuple):
        return {"tuple": [to_json(x) for x in v]}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    raise TypeError("no JSON meaning for %s" % type(v).__name__)


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def from_json(o):
    """Python value of a JSON meaning (strict: ValueError on anything else)."""
    if o is None or isinstance(o, (bool, int, str, float)):
        return o  # a bare JSON float is a float too (to_json writes {"float": repr})
    if isinstance(o, list):
        return [from_json(x) for x in o]
    if isinstance(o, dict) and len(o) == 1:
        (k, x), = o.items()
        if k == "tuple" and isinstance(x, list):
            return tuple(from_json(y) for y in x)
        if k in ("bytes", "bytearray") and isinstance(x, str) and re.fullmatch(r"(?:[0-9a-fA-F]{2})*", x):
            return bytes.fromhex(x) if k == "bytes" else bytearray.fromhex(x)
        if k == "float" and isinstance(x, str) and re.fullmatch(_FLOAT, x):
            return float(x)
        if k == "handle" and _is_int(x) and x >= 0:
            return Handle(x)
        if k == "ref" and isinstance(x, list) and x and all(map(_is_int, x)) and x[0] >= 0:
            return Ref(*x)
    raise ValueError("not a JSON value meaning: %r" % (o,))


def arg_to_json(a):
    """JSON meaning of an op's argument: a value's, or {"kw": [NAME, VALUE]} for a Kw."""
    return {"kw": [a.name, to_json(a.value)]} if isinstance(a, Kw) else to_json(a)


def arg_from_json(o):
    if isinstance(o, dict) and list(o) == ["kw"]:
        x = o["kw"]
        if isinstance(x, list) and len(x) == 2 and isinstance(x[0], str):
            return Kw(x[0], from_json(x[1]))
        raise ValueError("not a keyword argument meaning: %r" % (o,))
    return from_json(o)


def request_to_json(req):
    return {"seq": req.seq, "mode": req.mode, "ops": [[n, [arg_to_json(a) for a in args]] for n, args in req.ops]}


def request_from_json(o):
    if not (isinstance(o, dict) and set(o) == {"seq", "mode", "ops"} and isinstance(o["ops"], list)
            and all(isinstance(op, list) and len(op) == 2 and isinstance(op[0], str)
                    and isinstance(op[1], list) for op in o["ops"])):
        raise ValueError("not a request meaning: %r" % (o,))
    return Request(o["seq"], o["mode"], [(n, [arg_from_json(a) for a in args]) for n, args in o["ops"]])


def _result_to_json(r):
    if isinstance(r, Ok):
        return {"ok": to_json(r.value)}
    if isinstance(r, Raised):
        return {"raise": [r.cls, r.errno, [to_json(a) for a in r.args]]}
    return {"agent": r.code}


def _result_from_json(o):
    if isinstance(o, dict) and len(o) == 1:
        (k, x), = o.items()
        if k == "ok":
            return Ok(from_json(x))
        if (k == "raise" and isinstance(x, list) and len(x) == 3 and isinstance(x[0], str)
                and (x[1] is None or isinstance(x[1], str)) and isinstance(x[2], list)):
            return Raised(x[0], x[1], tuple(from_json(a) for a in x[2]))
        if k == "agent" and isinstance(x, str):
            return AgentError(x)
    raise ValueError("not a result meaning: %r" % (o,))


def response_to_json(resp):
    if resp.reject:
        return {"seq": resp.seq, "reject": resp.reject}
    return {"seq": resp.seq, "results": [_result_to_json(r) for r in resp.results]}


def response_from_json(o):
    if isinstance(o, dict) and set(o) == {"seq", "reject"} and isinstance(o["reject"], str):
        return Response(o["seq"], [], o["reject"])
    if isinstance(o, dict) and set(o) == {"seq", "results"} and isinstance(o["results"], list):
        return Response(o["seq"], [_result_from_json(r) for r in o["results"]])
    raise ValueError("not a response meaning: %r" % (o,))
