# Property tests (hypothesis) of the Python agent's parser and encoder (harness/micropython/agent.py)
# on CPython, in process: lines go through the agent's own serve() (line assembly, '\r', `long`,
# the 0x04 line) over a stub socket layer, like hn_fuzz.c's stub backend, so no op blocks or touches
# the network. The model of what a line must get is the host's own checker, wire.decode_request
# (a private copy that knows the agent's 8-argument limit, which PROTOCOL.md does not state); an
# answer continued over `+` lines (PROTOCOL.md section 4) must be cut as wire.encode_lines cuts.
import importlib.util
import io
import signal
import types
import zlib
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sockconf import wire

ROOT = Path(__file__).resolve().parent.parent.parent
AGENT_PATH = ROOT / "harness" / "micropython" / "agent.py"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, str(path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


agent = _load("sockconf_agent_under_test", AGENT_PATH)
agent.gc = types.SimpleNamespace(collect=lambda: None)   # serve() collects per line: slow, and not the parser
MAXLINE, MAXOPS, MAXARGS, MAXDEPTH, LIMIT = agent.MAXLINE, agent.MAXOPS, agent.MAXARGS, agent.MAXDEPTH, agent.LIMIT
assert (MAXLINE, MAXOPS, MAXDEPTH) == (4096, 16, wire.MAXDEPTH)

# The model: wire.py's request checker, with `*` signatures bounded at the agent's MAXARGS.
MODEL = _load("sockconf.wire_model", Path(wire.__file__))     # in the package: wire.py imports .root
MODEL.Ref, MODEL.Handle, MODEL.WireError, MODEL.Kw = wire.Ref, wire.Handle, wire.WireError, wire.Kw   # comparable
MODEL.OPS = dict((n, "|" + s[-2] * MAXARGS if s.endswith("*") else s) for n, s in wire.OPS.items())

XCODES = {"crc", "long", "syntax", "op", "arity", "type", "range"}
QCODES = {"type", "range", "handle", "ref", "unsupported", "full", "overflow"}
INT64 = (-2 ** 63, 2 ** 63 - 1)
LONGADDR = ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535)    # the longest address text

PROPS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                        HealthCheck.data_too_large])


# ---- a stub socket layer: deterministic, never blocks, logs every call it gets ----

def backend():
    """A fresh stub `socket` and `select` module pair and the log of the calls they got."""
    log = []
    # box.ret: what getaddrinfo returns, when set (the encoder tests); box.stream: what read, readline and
    # readall without a size return; box.kw: the keyword arguments recv got
    box = types.SimpleNamespace(stream=b"", kw=[])

    class Sock:
        count = 0

        def __init__(self, *args):
            self.closed = False
            Sock.count += 1
            self.fd = 100 + Sock.count

        def _call(self, name, args):
            log.append((name, args))
            if self.closed:
                raise OSError(9, "Bad file descriptor")

        def close(self):
            log.append(("close", ()))
            self.closed = True

        def bind(self, addr):
            self._call("bind", (addr,))
            if not isinstance(addr, tuple):
                raise TypeError("address must be a tuple")

        def connect(self, addr):
            self._call("connect", (addr,))
            if not isinstance(addr, tuple):
                raise TypeError("address must be a tuple")

        def listen(self, *a):
            self._call("listen", a)

        def accept(self):
            self._call("accept", ())
            return Sock(), LONGADDR

        def send(self, data):
            self._call("send", (data,))
            return len(data)

        def write(self, data):
            self._call("write", (data,))
            return len(data)

        def sendall(self, data):
            self._call("sendall", (data,))

        def sendto(self, data, addr):
            self._call("sendto", (data, addr))
            return len(data)

        def recv(self, n, **kw):
            self._call("recv", (n,))
            if kw:
                box.kw.append(("recv", kw))
            if n < 0:
                raise ValueError("negative buffersize in recv")
            return bytes(k * 7 + 3 & 255 for k in range(n))

        def recvfrom(self, n):
            self._call("recvfrom", (n,))
            if n < 0:
                raise ValueError("negative buffersize in recvfrom")
            return bytes(n), LONGADDR

        def read(self, *a):
            self._call("read", a)
            return bytes(max(a[0], 0)) if a else box.stream

        def readline(self, *a):
            self._call("readline", a)
            return bytes(max(a[0], 0)) if a else box.stream

        def readall(self):
            self._call("readall", ())
            return box.stream

        def _into(self, name, buf, a):
            self._call(name, (buf,) + a)
            for k in range(len(buf)):
                buf[k] = k & 255
            return min(a[0], len(buf)) if a and a[0] > 0 else len(buf)

        def readinto(self, buf, *a):
            return self._into("readinto", buf, a)

        def recv_into(self, buf, *a):
            return self._into("recv_into", buf, a)

        def recvfrom_into(self, buf, *a):
            return self._into("recvfrom_into", buf, a), LONGADDR

        def setsockopt(self, *a):
            self._call("setsockopt", a)

        def settimeout(self, t):
            self._call("settimeout", (t,))
            if t is not None and t < 0:
                raise ValueError("Timeout value must be non-negative")

        def setblocking(self, flag):
            self._call("setblocking", (flag,))

        def makefile(self, *a):
            self._call("makefile", a)
            return self

        def fileno(self):
            log.append(("fileno", ()))
            return self.fd

        def __enter__(self):    # the `with` op: a context manager whose __exit__ closes, as a socket's does
            log.append(("with", ()))
            return self

        def __exit__(self, *exc):
            self.close()

    def socket_(*args):
        log.append(("socket", args))
        if args and args[0] == 99:
            raise OSError(97, "Address family not supported by protocol")
        return Sock()

    socket_.__dict__.update((n, getattr(Sock, n)) for n in dir(Sock) if not n.startswith("_"))

    def getaddrinfo(host, port, *rest):
        log.append(("getaddrinfo", (host, port) + rest))
        if hasattr(box, "ret"):
            return box.ret
        return [(2, 1, 6, "", (host if isinstance(host, str) else "0.0.0.0", port if isinstance(port, int) else 0))]

    def inet_pton(af, text):
        log.append(("inet_pton", (af, text)))
        return b"\x7f\x00\x00\x01"

    def inet_ntop(af, data):
        log.append(("inet_ntop", (af, data)))
        if len(data) != 4:
            raise OSError(22, "Invalid argument")
        return "%d.%d.%d.%d" % tuple(data)

    def ip_to_tuple(text):
        log.append(("ip_to_tuple", (text,)))
        return text, text

    class Poller:
        def __init__(self):
            self.regs = []

        def register(self, o, ev):
            log.append(("poll.register", (o, ev)))
            self.regs.append((o, ev))

        def poll(self, timeout):
            log.append(("poll.poll", (timeout,)))
            return [(o, ev & 5) for o, ev in self.regs]     # MicroPython's form: the objects

    sock_mod = types.SimpleNamespace(socket=socket_, getaddrinfo=getaddrinfo, inet_pton=inet_pton,
                                     inet_ntop=inet_ntop, ip_to_tuple=ip_to_tuple, AF_INET=2, AF_INET6=10,
                                     SOCK_STREAM=1, SOCK_DGRAM=2, SOL_SOCKET=1, SO_REUSEADDR=2)
    sel_mod = types.SimpleNamespace(poll=Poller, POLLIN=1, POLLOUT=4, POLLERR=8, POLLHUP=16)
    return sock_mod, sel_mod, log, box


class Hang(Exception):
    pass


@contextmanager
def bounded(seconds=5.0):
    """Fail instead of hanging: SIGALRM after seconds."""
    def ring(signum, frame):
        raise Hang("the agent did not answer within %.0f s" % seconds)
    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Session:
    """One agent on a fresh stub backend, fed through its own serve()."""

    def __init__(self):
        agent.socket, agent.select, self.log, self.box = backend()
        self.a = agent.Agent()
        del self.log[:]     # caps() probed the stub

    def feed(self, data):
        """The answer lines to data (bytes as the host sends them), each with its '\\n'."""
        out = io.BytesIO()
        with bounded():
            agent.serve(self.a, io.BytesIO(data), out)
        text = out.getvalue()
        assert not text or text.endswith(b"\n"), text[-80:]
        return text.splitlines(keepends=True)

    def ask(self, line):
        """The one answer to one line (str or bytes, without '\\n')."""
        got = self.answer(line)
        assert len(got) == 1, got
        return got[0]

    def answer(self, line):
        """The lines of the answer to one line: a continued one's `+` lines, then its last."""
        got = self.feed((line.encode() if isinstance(line, str) else line) + b"\n")
        assert got and all(x.startswith(b"+ ") for x in got[:-1]), got
        return got


def seal(body):
    """A line with its CRC (body: str or bytes), as bytes without '\\n'."""
    body = body.encode() if isinstance(body, str) else body
    return body + b" %08x" % zlib.crc32(body)


def agent_view(data):
    """The lines the agent sees in data (PROTOCOL.md section 1): '\\r' dropped, empty lines skipped, up to
    a line that is exactly 0x04 (it ends the agent); data ends with '\\n'."""
    lines = []
    for raw in data.split(b"\n")[:-1]:
        raw = raw.replace(b"\r", b"")
        if raw == b"\x04":
            break
        if raw:
            lines.append(raw)
    return lines


def expected_reject(line):
    """The exact `X` line (with '\\n') the model gives this line, or None when it is a request to run."""
    try:
        MODEL.decode_request(line, maxline=MAXLINE, maxops=MAXOPS)
    except wire.WireError as e:
        return (wire.encode_reject(e.seq, e.code) + "\n").encode()
    return None


def same(x, y):
    """Equal values of the same types all the way down (floats by repr: nan, -0.0)."""
    if type(x) is not type(y):
        return False
    if isinstance(x, float):
        return repr(x) == repr(y)
    if isinstance(x, (tuple, list)):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y))
    return x == y


def _has_ref(v):
    return isinstance(v, wire.Ref) or isinstance(v, (tuple, list)) and any(_has_ref(x) for x in v)


def _value_ok(v, depth=64):
    """A decoded value the agent may hand a target: plain Python values, 64-bit ints, handles."""
    if isinstance(v, (tuple, list)):
        return depth > 0 and all(_value_ok(x, depth - 1) for x in v)
    if isinstance(v, bool) or v is None or isinstance(v, (float, bytes, bytearray, str, agent.H)):
        return True
    return isinstance(v, int) and INT64[0] <= v <= INT64[1]


def _arg_ok(letter, v):
    return {"i": lambda: type(v) is int, "z": lambda: type(v) is int, "s": lambda: type(v) is str,
            "n": lambda: v is None or type(v) in (int, float), "b": lambda: type(v) in (bytes, bytearray),
            "l": lambda: type(v) is list, "v": lambda: True}[letter]() and _value_ok(v)


def check_calls(log):
    """hn_fuzz.c's backend promise: every argument that reached the target has its signature's type."""
    for name, args in log:
        if name.encode() not in agent.SIGS:    # the poller's own calls
            continue
        _, letters, star, _ = agent.SIGS[name.encode()]
        if letters[:1] == "h":
            letters = letters[1:]
        if name in agent.BUFFER_OPS:
            assert type(args[0]) is bytearray, (name, args)
            args, letters = args[1:], letters[1:]
        for k, x in enumerate(args):
            letter = letters[k] if k < len(letters) else star
            assert _arg_ok(letter, x), "%s got %r as argument %d (%s)" % (name, x, k, letter)


def check_answer(line, answer, ran):
    """The answer to one line the agent saw (its lines: bytes, or a list of a continued answer's `+`
    lines and its last): exactly the model's `X`, or a well-formed `R` to it (hn_fuzz.c's
    fz_check_answer), continued only as PROTOCOL.md 4 says; ran: the calls the target got for it."""
    lines = [answer] if isinstance(answer, bytes) else answer
    for x in lines:
        assert len(x) <= MAXLINE and x.endswith(b"\n"), x[:80]
        assert all(0x20 <= c <= 0x7E for c in x[:-1]), x
    answer = lines[-1]
    want = expected_reject(line)
    if want is not None:
        assert lines == [want] and want.split(b" ")[2].decode() in XCODES, (line[:200], lines, want)
        assert ran == [], "a rejected request ran: %r" % ran
        return None
    req = MODEL.decode_request(line)
    assert all(len(x) == MAXLINE and x.startswith(b"+ %d " % req.seq) for x in lines[:-1]), lines
    resp = wire.decode_response(answer.decode("ascii"), [wire.decode_more(x.decode("ascii"))[1] for x in lines[:-1]])
    assert resp.reject is None and resp.seq == req.seq, (line[:200], answer)
    if len(lines) > 1:
        assert [x.decode().rstrip("\n") for x in lines] == wire.encode_lines(resp.seq, resp.results, MAXLINE)
    n = len(resp.results)
    assert 1 <= n <= len(req.ops), (line[:200], answer)
    if req.mode == "S":
        assert all(isinstance(r, wire.Ok) for r in resp.results[:-1]), answer
    stopped = req.mode == "S" and not isinstance(resp.results[-1], wire.Ok)
    full = len(answer) - 10 + agent.LASTROOM > LIMIT
    assert n == len(req.ops) or stopped or full, "fewer results and nothing stopped: %r -> %r" % (line, answer)
    for r, (name, args) in zip(resp.results, req.ops):
        if isinstance(r, wire.AgentError):
            assert r.code in QCODES, answer
        if name == "echo" and isinstance(r, wire.Ok) and not any(_has_ref(x) for x in args):
            assert same(r.value, tuple(args)), "echo changed its arguments: %r -> %r" % (line, answer)
    check_calls(ran)
    return resp


def run_lines(data):
    """Feed data (ending in '\\n') to a fresh agent line by line; check every answer against the model."""
    s = Session()
    seen = agent_view(data)
    answers = []
    for raw in data.split(b"\n")[:-1]:
        before = len(s.log)
        got = s.feed(raw + b"\n")
        clean = raw.replace(b"\r", b"")
        if clean == b"\x04":
            break
        assert bool(got) == bool(clean) and all(x.startswith(b"+ ") for x in got[:-1]), (raw[:200], got)
        if got:
            answers.append(check_answer(clean, got, s.log[before:]))
    assert len(answers) == len(seen)
    if b"\x04" not in [raw.replace(b"\r", b"") for raw in data.split(b"\n")]:
        assert s.ask(seal("Q 1 S echo i1")).startswith(b"R 1 = ( i1 ) "), "not served after the input"
    return s, answers


# ---- strategies ----

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
ATOMS = st.one_of(st.none(), st.booleans(), st.integers(*INT64), st.integers(-300, 300),
                  st.floats(allow_nan=True, allow_infinity=True), st.binary(max_size=24),
                  st.binary(max_size=24).map(bytearray), TEXT, st.integers(0, 999999999).map(wire.Handle))


def nest(atoms):
    return st.recursive(atoms, lambda kids: st.lists(kids, max_size=4) | st.lists(kids, max_size=4).map(tuple),
                        max_leaves=12)


VALUES = nest(ATOMS)
# What a target may return: no handles, and strs CPython decoded with surrogateescape (an AF_UNIX path).
LONE = st.lists(st.sampled_from(["\udcff", "\udc80", "\ud800", "a", "/"]), min_size=1, max_size=4).map("".join)
PLAIN = nest(ATOMS.filter(lambda v: not isinstance(v, wire.Handle)) | LONE)


def as_sent(v):
    """The value the host gets for a target's value: a lone surrogate becomes its \\udcXX text."""
    if isinstance(v, str):
        return v.encode("utf-8", "backslashreplace").decode("utf-8")
    return type(v)(as_sent(x) for x in v) if isinstance(v, (tuple, list)) else v


REFS = st.builds(lambda k, p: wire.Ref(k, *p), st.integers(0, 4), st.lists(st.integers(-3, 3), max_size=3))


def depth(v):
    return 1 + max([depth(x) for x in v] or [0]) if isinstance(v, (tuple, list)) else 0


def arg(letter):
    """An argument of the right type for a signature letter (sometimes a reference)."""
    base = {"h": st.integers(0, 9).map(wire.Handle), "i": st.integers(*INT64) | st.integers(-3, 3),
            "z": st.integers(-2, 40) | st.integers(*INT64), "n": st.none() | st.integers(-2, 5) | st.floats(),
            "b": st.binary(max_size=16) | st.binary(max_size=8).map(bytearray), "s": TEXT,
            "v": VALUES, "l": st.lists(st.tuples(st.integers(0, 9).map(wire.Handle), st.integers(0, 7)), max_size=3)
            }[letter]
    return st.one_of(base, base, base, REFS)


@st.composite
def op_call(draw):
    """An op with arguments of its signature, and now and then keyword arguments after them."""
    name = draw(st.sampled_from(sorted(wire.OPS)))
    lo, hi, letters, star = wire._arity(wire.OPS[name])
    count = draw(st.integers(lo, min(hi if hi is not None else MAXARGS, MAXARGS)))
    args = [draw(arg(letters[k] if k < len(letters) else star)) for k in range(count)]
    if name not in wire.NOKW_OPS and draw(st.integers(0, 3)) == 0:
        names = draw(st.lists(st.sampled_from(["flags", "x", "_y2", "a" * 32]), unique=True, max_size=2))
        args += [wire.Kw(n, draw(arg("v"))) for n in names[:MAXARGS - count]]
    return name, args


@st.composite
def requests(draw, max_ops=5):
    """A well-formed request line (str, no '\\n'), by the host's own encoder."""
    ops = draw(st.lists(op_call(), min_size=1, max_size=max_ops))
    seq = draw(st.integers(0, wire.MAX_SEQ))
    line = wire.encode_request(seq, ops, draw(st.sampled_from("SC")))
    assume(len(line) < MAXLINE)
    return line


# Tokens at the edges of section 2's rules (the references: 40 and 41 characters, indexes of 9 and 10).
KNOWN = [
    "Q", "R", "X", "S", "C", ";", "(", ")", "[", "]", "N", "T", "F", "i0", "i-1", "i01", "i-0", "i+1",
    "i9223372036854775807", "i9223372036854775808", "i-9223372036854775808", "i-9223372036854775809",
    "f0.5", "f1e-05", "f1e5", "f1e55", "f1e+5", "f1E+5", "f1e-5", "f1.", "f1.e+5", "f-", "finf", "f-inf",
    "fnan", "f-nan", "f-0.0", "f.5", "b", "bAA==", "bAB=", "bAB==", "bAAB=", "bAAA=", "bA=A=", "bAA=A",
    "bAAE", "bA===", "y", "yAAAA", "s", "sabc", "s%41", "s%C3%A9", "s%C3", "s%ED%A0%80", "s%F4%90%80%80",
    "s%e9", "h0", "h1", "h7", "h8", "h01", "h999999999", "h1234567890", "@0", "@1", "@0.0", "@0.-1",
    "@1.0.-1", "@0.-0", "@-1", "@0.1234567890", "@0.123456789", "@0.-12345678", "@0.-123456789", "@1234567890",
    "@0" + ".0" * 19, "@10" + ".0" * 19, "@0" + ".-1" * 12, "@0" + ".-1" * 13, "@", "@0.", "@999999999",
    "@0.999999999", "@0.-99999999", "i20", "i5000", "i99999999", "s127.0.0.1", "", "x", "\x7f", "\x00", "\t",
    "\x04", "\x03", "\xff", "kx", "k", "kX", "k1", "k_", "k_1", "kflags", "kx-y", "k" + "a" * 32, "k" + "a" * 33]
TOKENS = st.one_of(
    st.sampled_from(sorted(wire.OPS) + KNOWN),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=6),
    VALUES.map(wire.encode_value))


@st.composite
def bodies(draw):
    """Request-like bodies: `Q seq mode` and a run of tokens, or any run of tokens."""
    toks = draw(st.lists(TOKENS, max_size=24))
    if draw(st.booleans()):
        seq = draw(st.integers(0, wire.MAX_SEQ).map(str) | st.sampled_from(["", "01", "1000000000", "-1", "x"]))
        toks = ["Q", seq, draw(st.sampled_from(["S", "C", "S", "C", "", "X", "SC"]))] + toks
    return " ".join(toks).encode("latin-1")


@st.composite
def any_line(draw):
    """One line's bytes (no '\\n'): random bytes, random bytes sealed, token soup sealed, a valid request,
    an overlong or near-maxline line, the 0x04 line; '\\r' sometimes sprinkled in."""
    kind = draw(st.integers(0, 6))
    if kind == 0:
        line = draw(st.binary(max_size=120)).replace(b"\n", b"")
    elif kind == 1:
        line = seal(draw(st.binary(max_size=120)).replace(b"\n", b"").replace(b"\r", b""))
    elif kind in (2, 3):
        line = seal(draw(bodies()).replace(b"\n", b"").replace(b"\r", b""))
    elif kind == 4:
        line = draw(requests()).encode()
    elif kind == 5:
        n = draw(st.integers(MAXLINE - 40, MAXLINE + 40))
        body = b"Q 1 S echo s" + b"A" * max(n - 21, 0)
        line = seal(body[:max(n - 9, 0)]) if draw(st.booleans()) else body[:n]
    else:
        line = b"\x04"
    if draw(st.integers(0, 9)) == 0:
        k = draw(st.integers(0, len(line)))
        line = line[:k] + b"\r" + line[k:]
    return line


# ---- 1. round trips ----

@PROPS
@given(v=VALUES, mode=st.sampled_from("SC"))
def test_request_values_reach_the_target_unchanged(v, mode):
    """PROTOCOL.md 2: "Each value is one token, or a bracketed run of tokens for containers" and 3:
    "`range` for an int beyond 64 bits or nesting deeper than 8": a value wire.py encodes reaches the
    target (connect's address, decoded by the agent's parser) as the same value; deeper nesting is
    `X range`. Its echo decodes back to it."""
    s = Session()
    text = wire.encode_value(v)
    line = wire.encode_request(7, [("socket", []), ("connect", [wire.Ref(0), v]), ("echo", [v])], mode, check=False)
    assume(len(line) < MAXLINE)
    ans = s.ask(line)
    if depth(v) > MAXDEPTH:
        assert ans == b"X 7 range %s\n" % wire.crc("X 7 range").encode()
        assert s.log == []
        return
    got = [x[1][0] for x in s.log if x[0] == "connect"]
    assert len(got) == 1, (text, s.log)

    def back(x):    # the agent's handle objects as the host's
        if isinstance(x, agent.H):
            return wire.Handle(x.n)
        return type(x)(back(y) for y in x) if isinstance(x, (tuple, list)) else x
    assert same(back(got[0]), v), (text, got[0])
    r = wire.decode_response(ans.decode()).results
    if not isinstance(v, tuple):
        assert isinstance(r[1], wire.Raised) and r[1].cls == "TypeError"    # the stub wants a tuple
    if mode == "C" or isinstance(v, tuple):
        assert len(r) == 3 and same(r[2].value, (v,)), (text, ans)
    else:
        assert len(r) == 2


@PROPS
@given(v=VALUES)
def test_agent_parser_decodes_canonical_text(v):
    """PROTOCOL.md 2, the token table: the agent's value checker and decoder (_check, _val) accept wire.py's
    canonical text of any value within the agent's limits and give back that value."""
    assume(depth(v) <= MAXDEPTH)
    b = wire.encode_value(v).encode()
    code, end, _ = agent._check(b, 0, len(b), MAXDEPTH)
    assert code is None and end == len(b), (b, code, end)
    got, end = agent._val(b, 0, len(b))
    conv = (lambda x: wire.Handle(x.n) if isinstance(x, agent.H) else
            type(x)(conv(y) for y in x) if isinstance(x, (tuple, list)) else x)
    assert end == len(b) and same(conv(got), v), (b, got)


@PROPS
@given(v=nest(ATOMS.filter(lambda v: not isinstance(v, wire.Handle)) | st.integers() | LONE))
def test_agent_encoder_is_canonical(v):
    """PROTOCOL.md 2: "canonical form" column, "`s<text>` | str | UTF-8, percent-escaped" and "Decoders accept
    only canonical tokens": the agent's encoder (enc) writes exactly wire.py's canonical text (ints of any
    size; a str that is not UTF-8-encodable as its \\udcXX text), which decodes back."""
    text = agent._join(agent.enc(None, v, False, [])).decode("ascii")
    assert text == wire.encode_value(as_sent(v)), (v, text)
    assert same(wire.decode_value(text, refs=False), as_sent(v))


@PROPS
@given(v=PLAIN, exc=st.lists(PLAIN, max_size=3), errno_=st.sampled_from([None, 9, 111, 4242, -1, 0]))
def test_results_and_exceptions_decode(v, exc, errno_):
    """PROTOCOL.md 4: "`= <value>` the op returned this value" and "`! <Class> <ERRNO|N> <args>` ... the
    errno name when the target knows one for `args[0]` (else `N`), and the exception's args as a tuple":
    what a target returns or raises reaches wire.decode_response as the same value, or `? overflow`."""
    s = Session()
    s.box.ret = v
    ans = s.ask(wire.encode_request(3, [("getaddrinfo", ["h", 1])]))
    r = wire.decode_response(ans.decode()).results
    assert r == [wire.AgentError("overflow")] or same(r[0].value, as_sent(v)), (v, ans)
    args = tuple(([errno_] if errno_ is not None else []) + exc)

    def boom(*a):
        raise OSError(*args)
    agent.socket.inet_pton = boom
    ans = s.ask(wire.encode_request(4, [("inet_pton", [2, "x"])]))
    r = wire.decode_response(ans.decode()).results[0]
    if isinstance(r, wire.AgentError):
        assert r.code == "overflow" and len(wire.encode_value(as_sent(args))) > LIMIT - 60
        return
    a0 = args[0] if args else None
    name = s.a.errnames.get(a0) if type(a0) is int and a0 > 0 else None
    assert isinstance(r, wire.Raised) and r.errno == name, (args, ans)
    assert r.cls == type(OSError(*args)).__name__ and same(r.args, as_sent(OSError(*args).args))


# ---- 2. any input: one answer per line, the model's ----

@PROPS
@given(lines=st.lists(any_line(), min_size=1, max_size=5))
def test_any_input_one_answer_per_line(lines):
    """PROTOCOL.md 1: "The host sends a request line, the agent answers with one response line",
    "Empty lines are ignored", "`\\r` is ignored", "Longer lines are discarded ... answered with `X - long`"
    and 3: "Checks go in this order, and the first fault is the answer": for any bytes, every non-empty line
    up to an 0x04 line gets exactly one answer, the exact `X` wire.decode_request gives it, else an `R`."""
    data = b"\n".join(lines) + b"\n"
    run_lines(data)
    s = Session()   # the same input in one piece
    got = [x for x in s.feed(data) if not x.startswith(b"+ ")]
    want = agent_view(data)
    assert len(got) == len(want)
    for line, ans in zip(want, got):
        w = expected_reject(line)
        assert w is None and ans.startswith(b"R ") or ans == w


@PROPS
@given(body=st.binary(max_size=200), flip=st.integers(0, 31))
def test_wrong_crc_is_x_crc(body, flip):
    """PROTOCOL.md 1: "CRC is CRC-32 ... of the BODY bytes, as exactly 8 lowercase hex digits" and 4: "`seq` is
    `-` for `crc`": any body with a CRC that is not its own (or in upper case, or without the space) is
    `X - crc`; with its own CRC it never is."""
    body = body.replace(b"\n", b"").replace(b"\r", b"")
    s = Session()
    right = b"%08x" % zlib.crc32(body)
    wrong = b"%08x" % (zlib.crc32(body) ^ (1 << flip))
    xcrc = (wire.encode_reject(None, "crc") + "\n").encode()
    assert s.ask(body + b" " + wrong) == xcrc
    assert s.ask(body + wrong) == xcrc
    if right.upper() != right:
        assert s.ask(body + b" " + right.upper()) == xcrc
    assert s.ask(body + b" " + right) != xcrc
    assert s.log == [] or b"Q" in body


TOKEN_CHARS = "0123456789-+.eE%AaBbCcDdFfIiNnOoSsTtxXyYzZ/=:_~"


@st.composite
def near_tokens(draw):
    """Tokens near the value grammar: a type letter and a run of characters its rules care about."""
    head = draw(st.sampled_from(list("ifbysh@NTF([)]") + ["f-", "i-", "b/", "@0.", "@1.-", "finf", "fnan"]))
    tail = draw(st.text(st.sampled_from(TOKEN_CHARS), max_size=12)
                | st.from_regex(r"(%[0-9A-Fa-f]{2}){1,4}", fullmatch=True)
                | st.from_regex(r"(%[89A-F][0-9A-F]){1,4}", fullmatch=True))
    return head + tail


ONE_TOKEN_OPS = ["echo", "const", "settimeout h0", "send h0", "recv h0", "connect h0", "poll"]


def _one_token(tok, op):
    line = seal("Q 3 C %s %s" % (op, tok))
    s = Session()
    ans = s.ask(line)
    resp = check_answer(line, ans, s.log)
    if resp is not None and op == "echo" and not tok.startswith("@"):
        assert ans.startswith(b"R 3 = ( %s ) " % tok.encode("latin-1")), (tok, ans)


def test_known_tokens_as_the_model():
    """PROTOCOL.md 2 and 3 ("Decoders accept only canonical tokens ... `%41` ..., a str that is not UTF-8, base64
    whose padding bits are not zero (`bAB=`), and `-0` in a reference are all `syntax`"): every token at the
    edge of a rule, as every kind of argument, gets the model's answer."""
    for tok in KNOWN:
        for op in ONE_TOKEN_OPS:
            if tok and " " not in tok:
                _one_token(tok, op)


@PROPS
@given(tok=near_tokens() | ATOMS.map(wire.encode_value), op=st.sampled_from(ONE_TOKEN_OPS))
def test_one_token_as_the_model(tok, op):
    """PROTOCOL.md 2 (the token table; "Decoders are strict: a length that is not a multiple of 4, a character
    outside the alphabet or misplaced padding is a syntax error") and 3 ("Decoders accept only canonical
    tokens"): any one token as an op's argument gets the model's exact `X` (`syntax`, `range`, `type`,
    `arity`), or runs; echo gives it back as it was sent."""
    _one_token(tok, op)


@PROPS
@given(n=st.integers(3900, 4070), fails=st.integers(1, 4), refs=st.integers(0, 2), mode=st.sampled_from("SC"))
def test_full_line_ends_the_request(n, fails, refs, mode):
    """PROTOCOL.md 4: "An op runs only while its longest possible failure (` ; ? unsupported`) still fits in the
    response line; when it would not, that op and the rest of the request do not run, and the line ends
    after the last result": an answer near maxline never exceeds it, and ops are left out only then."""
    ops = [("echo", ["A" * (n // (refs + 1))])] + [("echo", [wire.Ref(0, 0)])] * refs + [("dnsserver", [])] * fails
    line = wire.encode_request(2, ops, mode)
    assume(len(line) < MAXLINE)
    s = Session()
    resp = check_answer(line.encode(), s.ask(line), s.log)
    assert all(r == wire.AgentError("unsupported") for r in resp.results[refs + 1:])


# ---- 3. mutations of valid requests ----

@st.composite
def mutated(draw):
    line = draw(requests()).encode()
    body = line[:-9]
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        kind = draw(st.integers(0, 6))
        k = draw(st.integers(0, max(len(body) - 1, 0)))
        byte = draw(st.integers(0, 255) | st.sampled_from(b" ;()[]@.-%=0iQSC"))
        if kind == 0 and body:
            body = body[:k] + bytes([body[k] ^ (1 << draw(st.integers(0, 7)))]) + body[k + 1:]
        elif kind == 1:
            body = body[:k] + bytes([byte]) + body[k:]
        elif kind == 2 and body:
            body = body[:k] + body[k + 1:]
        elif kind == 3 and body:
            body = body[:k] + bytes([byte]) + body[k + 1:]
        else:
            toks = body.split(b" ")
            j = draw(st.integers(0, len(toks) - 1))
            if kind == 4:
                toks.insert(draw(st.integers(0, len(toks))), toks[j])   # a token twice
            elif kind == 5:
                del toks[j]
            else:
                toks[j] = draw(ATOMS.map(wire.encode_value) | TOKENS).encode("latin-1")
            body = b" ".join(toks)
    body = body.replace(b"\n", b"").replace(b"\r", b"")
    return line, (body + line[-9:] if draw(st.integers(0, 3)) == 3 else seal(body))


@PROPS
@given(pair=mutated())
def test_mutated_requests(pair):
    """PROTOCOL.md 3: "The agent checks the whole request ... before it runs any op: a bad request never runs
    half-way": a valid request is answered `R`; flipped, inserted, deleted or replaced bytes or tokens give
    the exact `X` the model gives (`crc` without a new CRC) with no op run, or a well-formed `R`."""
    line, bad = pair
    s, answers = run_lines(line + b"\n" + bad + b"\n")
    assert answers[0] is not None, line


EDITED = ["Q 12 S socket ; connect @0 ( s127.0.0.1 i7 ) ; send @0 bAAE= ; recv @0 i4",
          "Q 0 C echo N T F i-1 f0.5 y s%C3%A9 [ ( h0 ) ] ; const sAF_INET ; poll [ ( h0 i1 ) ] i0"]


def test_every_one_byte_edit():
    """PROTOCOL.md 3: "every byte printable and single spaces only", and the order of the checks: every
    deletion of one byte, every insertion of one of ` ;()[]@%0-=\\t\\x7f`, doubled spaces included, in two
    requests, resealed, gets the model's exact `X`, or a well-formed `R` with nothing run for an `X`."""
    for body in EDITED:
        edits = set()
        for k in range(len(body) + 1):
            edits.add(body[:k] + body[k + 1:])
            edits.update(body[:k] + c + body[k:] for c in " ;()[]@%0-=\t\x7f")
        for e in sorted(edits):
            s = Session()
            line = seal(e.encode("latin-1"))
            check_answer(line, s.ask(line), s.log)


# ---- 4. hostile sizes, counts and depths ----

SIZED = [("recv", []), ("recvfrom", []), ("read", []), ("readline", []), ("readinto", []), ("recv_into", []),
         ("recvfrom_into", []), ("readinto", [0]), ("recvfrom_into", [3])]


@PROPS
@given(which=st.sampled_from(SIZED), n=st.integers(0, 4000) | st.integers(0, INT64[1]), pad=st.integers(0, 3000),
       before=st.integers(0, 14), mode=st.sampled_from("SC"))
def test_sizes_never_overflow(which, n, pad, before, mode):
    """PROTOCOL.md 4: "Hostile sizes never allocate: `recv h0 i99999999` is answered `? range` before the target
    is called" and "`overflow` ... only ops without side effects on the stream can end so": a size op
    anywhere in a request either gets `? range` without calling the target, or its full answer."""
    name, extra = which
    ops = [("socket", [])] + [("echo", ["A" * (pad // (before + 1))])] * before + [(name, [wire.Handle(0), n] + extra)]
    line = wire.encode_request(9, ops, mode)
    assume(len(line) < MAXLINE)
    s = Session()
    ans = s.ask(line)
    resp = check_answer(line.encode(), ans, s.log)
    calls = [c for c in s.log if c[0] == name]
    if len(resp.results) < len(ops):    # the line was full before the op
        assert not calls and len(ans) - 10 + agent.LASTROOM > LIMIT
        return
    last = resp.results[-1]
    if isinstance(last, wire.AgentError):
        assert last.code == "range" and not calls, (n, last)
        start = len(ans) - 10 - len(" ? range")   # where its value would have started
        assert start + 3 + (n + 2) // 3 * 4 > LIMIT - 200, "`? range` for a size that fits: %d at %d" % (n, start)
    else:
        assert isinstance(last, wire.Ok) and calls, (n, last)


def test_size_bounds():
    """PROTOCOL.md 4: "`range` ... a size whose answer could not fit in `maxline` (?)": on its own, a size
    whose base64 cannot fit in a line is `? range`, and one that fits runs and is answered in full."""
    s = Session()
    s.ask("Q 1 S socket " + wire.crc("Q 1 S socket"))
    for name in ("recv", "recvfrom", "read", "readline", "readinto", "recv_into", "recvfrom_into"):
        for n, code in ((MAXLINE * 3 // 4, "range"), (99999999, "range"), (INT64[1], "range"), (2000, None)):
            r = wire.decode_response(s.ask(wire.encode_request(2, [(name, [wire.Handle(0), n])])).decode())
            assert (r.results[0] == wire.AgentError(code)) if code else isinstance(r.results[0], wire.Ok), (name, n, r)


@PROPS
@given(d=st.integers(1, 2000), closed=st.booleans(), kind=st.sampled_from(["(", "[", "mixed"]))
def test_deep_nesting(d, closed, kind):
    """PROTOCOL.md 3: "`range` for an int beyond 64 bits or nesting deeper than 8": any depth is answered
    (no RecursionError): up to 8 levels it runs, deeper is `X range`, unbalanced and shallow is `X syntax`."""
    opens = [kind if kind != "mixed" else "(["[k % 2] for k in range(d)]
    closes = [")" if x == "(" else "]" for x in reversed(opens)] if closed else []
    text = " ".join(opens + closes)
    body = "Q 5 C echo " + text
    assume(len(body) + 10 <= MAXLINE)
    s = Session()
    ans = s.ask(seal(body))
    if d > MAXDEPTH:
        assert ans == (wire.encode_reject(5, "range") + "\n").encode()
    elif not closed:
        assert ans == (wire.encode_reject(5, "syntax") + "\n").encode()
    else:
        assert ans.startswith(("R 5 = ( %s ) " % text).encode()), ans


@PROPS
@given(nargs=st.integers(0, 600) | st.integers(6, 10), nops=st.integers(1, 300) | st.integers(14, 18),
       op=st.sampled_from(["echo", "const"]),
       digits=st.integers(1, 4100))
def test_many_args_ops_and_digits(nargs, nops, op, digits):
    """PROTOCOL.md 3: "At most `maxops` ops", "then token by token each value's syntax (`range` for an int beyond
    64 bits ...), too many arguments (`arity`)": past 8 arguments is `X arity`, past 16 ops `X range`, an int of
    any number of digits past 64 bits `X range` (no ValueError from int())."""
    s = Session()
    arg = "i1" if op == "echo" else "sA"
    body = "Q 6 S " + " ; ".join([" ".join([op] + [arg] * nargs)] + ["echo"] * (nops - 1))
    if len(body) + 10 <= MAXLINE:
        want = "arity" if nargs > MAXARGS else "range" if nops > MAXOPS else None
        ans = s.ask(seal(body))
        assert ans == (wire.encode_reject(6, want) + "\n").encode() if want else ans.startswith(b"R 6 = "), ans
    big = "9" * digits
    for sign in ("", "-"):
        line = seal("Q 8 S echo i%s%s" % (sign, big))
        ans = s.ask(line)
        if len(line) + 1 > MAXLINE:
            assert ans == (wire.encode_reject(None, "long") + "\n").encode()
        elif INT64[0] <= int(sign + big) <= INT64[1]:
            assert ans.startswith(b"R 8 = ( i%s%s )" % (sign.encode(), big.encode()))
        else:
            assert ans == (wire.encode_reject(8, "range") + "\n").encode()


def _resolve(v, path):
    for j in path:
        if not isinstance(v, (tuple, list)) or not -len(v) <= j < len(v):
            return "ref"
        v = v[j]
    return v


REF_OPS = {"echo": lambda r: [r], "close": lambda r: [r], "recv": lambda r: [wire.Handle(0), r],
           "connect": lambda r: [r, r], "poll": lambda r: [r, 0], "const": lambda r: [r]}


def _reference(ref, name):
    args = REF_OPS[name](ref)
    line = wire.encode_request(1, [("socket", []), ("echo", [(1, [2, b"x"], "s")]), (name, args)], "C")
    s = Session()
    ans = s.ask(line)
    last = check_answer(line.encode(), ans, s.log).results[2]
    results = [wire.Handle(0), ((1, [2, b"x"], "s"),)]
    got = _resolve(results[ref.k], ref.path) if ref.k < 2 else "ref"
    _, _, letters, star = wire._arity(wire.OPS[name])
    letter = letters[args.index(ref)] if letters else star
    if got == "ref":
        assert last == wire.AgentError("ref"), (line, ans)
    elif not wire._type_ok(letter, got):
        assert last == wire.AgentError("type"), (line, ans)
    else:
        assert last not in (wire.AgentError("ref"), wire.AgentError("type")) or name == "poll", (line, ans)


def test_every_short_reference():
    """PROTOCOL.md 2: "the value returned by op k of the same request, then item j of it, and so on; negative j
    counts from the end" and 4: "`ref` | reference to an op that has not run, or an index out of range":
    every reference of up to two indexes in -4..3 names exactly the item Python's indexing names."""
    for k in range(4):
        for path in [()] + [(j,) for j in range(-4, 4)] + [(i, j) for i in range(-4, 4) for j in range(-4, 4)]:
            for name in REF_OPS:
                _reference(wire.Ref(k, *path), name)


@PROPS
@given(k=st.integers(0, 3) | st.integers(0, 999999999),
       path=st.lists(st.integers(-4, 3) | st.integers(-99999999, 999999999), max_size=4),
       name=st.sampled_from(sorted(REF_OPS)))
def test_hostile_references(k, path, name):
    """PROTOCOL.md 4: "`ref` | reference to an op that has not run, or an index out of range" and "`type` ...
    (`?` when it came through a reference)": any reference is answered `? ref` exactly when it names no
    value, `? type` when the value it names has the wrong type, never an exception."""
    ref = wire.Ref(k, *path)
    assume(len(repr(ref)) <= 40)
    _reference(ref, name)


# ---- 5. keyword arguments and results continued over `+` lines ----

def test_methods_are_called_as_asked():
    """PROTOCOL.md 3, keyword arguments, and 5, `read`/`readline` without a size and `readall`: the
    agent calls `method(*positional, **keywords)`, and read(), readline(), readall() with nothing added."""
    s = Session()
    line = wire.encode_request(1, [("socket", []), ("recv", [wire.Ref(0), 5, wire.Kw("flags", 0)]),
                                   ("read", [wire.Ref(0)]), ("readline", [wire.Ref(0)]), ("readall", [wire.Ref(0)]),
                                   ("listen", [wire.Ref(0), wire.Kw("backlog", wire.Ref(1))])], "C")
    r = wire.decode_response(s.ask(line).decode()).results
    assert s.box.kw == [("recv", {"flags": 0})], s.box.kw
    assert [c for c in s.log if c[0] in ("read", "readline", "readall")] == [("read", ()), ("readline", ()),
                                                                           ("readall", ())]
    assert r[1] == wire.Ok(bytes(k * 7 + 3 & 255 for k in range(5)))
    assert isinstance(r[5], wire.Raised) and r[5].cls == "TypeError"    # the stub's listen takes no keyword


@PROPS
@given(n=st.integers(0, 13000) | st.integers(3030, 3070) | st.integers(6090, 6130), pad=st.integers(0, 4000),
       op=st.sampled_from(["read", "readline", "readall"]), mode=st.sampled_from("SC"))
def test_continued_results(n, pad, op, mode):
    """PROTOCOL.md 4: a result of read/readline without a size or readall that does not fit goes on over `+`
    lines, each exactly maxline bytes, cut where wire.encode_lines cuts (hn_agent.c cuts there too); the ops
    after it run while ` ; ? unsupported` fits in the last line, and a reference to it or to an op before it is
    `? ref`; one that fits is not continued."""
    s = Session()
    s.box.stream = bytes(k * 7 + 3 & 255 for k in range(n))
    ops = [("socket", []), ("echo", ["A" * pad]), (op, [wire.Handle(0)]), ("echo", [wire.Ref(2)]),
           ("echo", [wire.Ref(1)]), ("echo", [5])]
    line = wire.encode_request(4, ops, mode)
    lines = s.answer(line)
    resp = check_answer(line.encode(), lines, s.log)
    r = resp.results
    assert r[2] == wire.Ok(s.box.stream), (n, pad)
    if len(lines) > 1:
        want = [wire.AgentError("ref"), wire.AgentError("ref"), wire.Ok((5,))] if mode == "C" else [wire.AgentError("ref")]
        assert r[3:] == want[:len(r) - 3]
        assert len(r) == 3 + len(want) or len(lines[-1]) - 10 + agent.LASTROOM > LIMIT
    else:
        assert wire.AgentError("ref") not in r
        assert len(wire.encode_response(4, r)) + 1 <= MAXLINE


@PROPS
@given(n=st.integers(3000, 9000), kind=st.sampled_from(["recv", "getaddrinfo"]))
def test_only_those_results_are_continued(n, kind):
    """PROTOCOL.md 4: "every other op keeps today's `? overflow` / `? range` rules": a sized read, any
    other op's result too long for the line is `? range` or `? overflow`, never `+` lines."""
    s = Session()
    s.box.stream = bytes(n)
    s.box.ret = [bytes(n)]
    ops = [("socket", []), ("read", [wire.Handle(0), n]) if kind == "recv" else ("getaddrinfo", ["h", 1])]
    r = wire.decode_response(s.ask(wire.encode_request(5, ops, "C")).decode()).results     # one line
    assert r[1] in (wire.AgentError("range"), wire.AgentError("overflow"), wire.Ok(bytes(n)), wire.Ok([bytes(n)]))
    assert isinstance(r[1], wire.AgentError) or len(wire.encode_response(5, r)) + 1 <= MAXLINE


def test_with_runs_the_with_statement():
    """PROTOCOL.md 5, `with`: "`with obj: pass` ... returns None once the block has ended", "After `= N` the
    handle counts as closed, as after `close` (`reset` does not count it); after a raise it stays as it was",
    "an object that is no context manager gives the target's own exception ... never `? unsupported`" and
    "`with` takes no keyword argument (`X arity`)"."""
    s = Session()
    ans = s.ask(wire.encode_request(1, [("socket", []), ("with", [wire.Ref(0)]), ("send", [wire.Ref(0), b"x"]),
                                        ("reset", [])], "C"))
    r = wire.decode_response(ans.decode()).results
    assert r[1:] == [wire.Ok(None), wire.Raised("OSError", "EBADF", (9, "Bad file descriptor")), wire.Ok(0)], ans
    assert [n for n, _ in s.log] == ["socket", "with", "close", "send"]

    class Plain:    # a port object with close() but no __enter__ or __exit__
        def close(self):
            s.log.append(("close", ()))
    agent.socket.socket = lambda *a: Plain()
    del s.log[:]
    r = wire.decode_response(s.ask(wire.encode_request(2, [("socket", []), ("with", [wire.Ref(0)]), ("reset", [])],
                                                       "C")).decode()).results
    assert isinstance(r[1], wire.Raised) and r[1].cls in ("AttributeError", "TypeError"), r   # CPython's own
    assert r[2] == wire.Ok(1) and s.log == [("close", ())], (r, s.log)  # still open: reset closed it
    assert s.ask(seal("Q 3 S with h0 kx i1")) == (wire.encode_reject(3, "arity") + "\n").encode()
    hello = dict(wire.decode_value(agent._join(agent.hello(s.a)).decode(), refs=False))
    assert "with" in hello["ops"]     # a statement of the language: the agent always has the op


# ---- regressions ----

def test_maxline_boundary():
    """PROTOCOL.md 1: "The longest line an agent accepts, `\\n` included, is its `maxline`"."""
    s = Session()
    for n in (MAXLINE - 2, MAXLINE - 1, MAXLINE, MAXLINE + 1):    # bytes before '\n'
        line = seal("Q 1 S echo s" + "A" * (n - 21))
        assert len(line) == n
        ans = s.ask(line)
        assert (ans == (wire.encode_reject(None, "long") + "\n").encode()) == (n + 1 > MAXLINE), (n, ans[:40])


def test_regression_lone_surrogate_str(tmp_path):
    """Found by test_results_and_exceptions_decode: a str CPython decoded with surrogateescape (the address
    recvfrom gives for an AF_UNIX path that is not UTF-8) made _esc raise UnicodeEncodeError, and reporting
    that raised again inside line(): the agent died without an answer. PROTOCOL.md 1: "the agent answers
    with one response line". Now the lone surrogate goes as its \\udcXX text."""
    import select
    import socket
    s = Session()
    s.box.ret = "/tmp/x\udcfe"
    assert s.ask(wire.encode_request(1, [("getaddrinfo", ["h", 1])])) == (wire.encode_response(
        1, [wire.Ok("/tmp/x\\udcfe")]) + "\n").encode()

    def boom(*a):
        raise OSError("\udcff")
    agent.socket.inet_pton = boom
    assert s.ask(wire.encode_request(2, [("inet_pton", [2, "x"])])) == (wire.encode_response(
        2, [wire.Raised("OSError", None, ("\\udcff",))]) + "\n").encode()
    # the failing input, on CPython's own socket module
    agent.socket, agent.select = socket, select
    a, b = bytes(tmp_path / "a") + b"\xff", bytes(tmp_path / "b") + b"\xfe"
    s.a = agent.Agent()
    try:
        ans = s.ask(wire.encode_request(3, [
            ("socket", [socket.AF_UNIX, socket.SOCK_DGRAM]), ("bind", [wire.Ref(0), a]),
            ("socket", [socket.AF_UNIX, socket.SOCK_DGRAM]), ("bind", [wire.Ref(2), b]),
            ("sendto", [wire.Ref(2), b"hi", a]), ("recvfrom", [wire.Ref(0), 10])], "C"))
        r = wire.decode_response(ans.decode()).results
        assert r[-1] == wire.Ok((b"hi", str(tmp_path / "b") + "\\udcfe")), ans
    finally:
        agent.reset(s.a)
