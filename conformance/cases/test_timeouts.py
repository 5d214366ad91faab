"""Timeouts and blocking modes: settimeout, setblocking and poll (micropython-usocket.txt, with the
uc386 document's ETIMEDOUT) on every operation that can wait, and four timeout bugs from
MicroPython's tracker."""
import pytest

from sockconf.case import case
from sockconf.wire import Handle, Ok, Raised, Ref

T = 0.1                                   # seconds: the timeout of the expiry cases
CHUNK = bytes(range(250)) * 4 + bytes(range(200))   # 1200 bytes: what a send on a full buffer is given
FILL = 0.2                                # seconds a send waits in vain before the buffer counts as full
STREAM_OPS = ("recv", "read", "readinto", "readline", "recvfrom", "accept", "connect", "send")


def _outcome(r):
    """A result as a plain comparable value: the exception and its errno, or what returned."""
    if isinstance(r, Raised):
        return "%s %s" % (r.cls, r.errno or r.args)
    value = r.value
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bytearray):
        value = value[0]                  # a buffer op: (return value, buffer) -> the return value
    if value is None:
        return "None"
    if isinstance(value, (bytes, bytearray)):
        return "%d bytes" % len(value)
    return type(value).__name__


def _fill(side, h):
    """Send the pattern on h until the stack takes no more: with a timeout of FILL s, until a send
    has waited that long in vain (a stack drains its own buffer into the next one meanwhile, so a
    non-blocking fill would stop at the first buffer). One request: the target makes the bytes
    (pump). The bytes taken."""
    side.ok(side.call([("settimeout", [h, FILL])])[0], "settimeout(%r)" % FILL)
    # bounded: 32 MB (slirp buffers ~3 MB, a loopback connection a few)
    r, t = side.bulk("pump", h, "send", 32 << 20, len(CHUNK), timeout=30.0)
    side.check(not (t.end == "value" and t.kind == "int" and t.last > len(CHUNK)),
               "send returned %r for %d bytes" % (t.last, len(CHUNK)), "mp:send.short-write")
    side.check(t.end != "done", "a peer that never reads took 32 MB: sends never stopped taking data",
               "mp:settimeout.expiry")
    side.detail("a send on the full buffer", _outcome(r) if t.end == "raised" else "%s %s" % (t.kind, t.last))
    return t.bytes


def _waiting_op(side, op):
    """Set up a socket (Handle(0)) on which `op` can only wait; (the op, ready to run)."""
    h = Handle(0)
    if op in ("recv", "read", "readinto", "readline"):
        side.connected(side.silent())
        return (op, [h] if op == "readline" else [h, 10])
    if op == "recvfrom":
        for x in side.call(side.udp_bound()):
            side.ok(x, "binding a UDP socket")
        return ("recvfrom", [h, 10])
    if op == "accept":
        for x in side.call(side.listening(side.free_port(), reuse=True)):
            side.ok(x, "listening")
        return ("accept", [h])
    if op == "connect":
        hole = side.blackhole()
        r = side.call([side.address(side.host, hole), ("socket", [])])
        return ("connect", [h, side.addr_of(side.ok(r[0], "the address"))])
    side.connected(side.sink())
    _fill(side, h)
    return ("send", [h, CHUNK])


def _timed_wait(side, op, timeout):
    """settimeout(timeout) on the socket of _waiting_op(op), then the op, timed: ([result], seconds).
    A stack may free room for a send meanwhile (the send then returns a count): fill and retry."""
    run = _waiting_op(side, op)
    for k in range(10):                   # bounded
        side.ok(side.call([("settimeout", [Handle(0), timeout])])[0], "settimeout(%r)" % timeout)
        r, took = side.timed([run], nonblocking=timeout == 0)
        if op != "send" or isinstance(r[0], Raised):
            break
        side.detail("sends that found room again", k + 1)
        _fill(side, Handle(0))
    return r, took


# ---- settimeout: the method, its values, expiry, zero, None ----

@case("mp:settimeout.optional", "mp:settimeout.not-every-port", needs=["settimeout"])
def test_settimeout_exists_where_claimed(side):
    """A target that claims the settimeout capability has the method; "Not every port supports this
    method": one that does not claim it is UNSUPPORTED here."""
    side.check("settimeout" in side.info.get("ops", []), "the target claims the settimeout capability but "
               "HELLO lists no settimeout op")
    r = side.call([("socket", []), ("settimeout", [Ref(0), 1.0])])
    side.ok(r[1], "settimeout(1.0)")
    side.detail("settimeout(1.0) returned", r[1].value)     # what it returns, the document does not say


@case("mp:settimeout.values", needs=["settimeout"])
def test_settimeout_takes_nonnegative_floats_and_none(side):
    """"The value argument can be a nonnegative floating point number expressing seconds, or None.":
    each is taken (what settimeout returns, the document does not say); what a negative value does
    is the port's (the oracle raises ValueError)."""
    values = [0.0, 0.25, 1.5, 3600.0, None]
    r = side.call([("socket", [])] + [("settimeout", [Ref(0), v]) for v in values], mode="C")
    for v, x in zip(values, r[1:]):
        side.check(isinstance(x, Ok), "settimeout(%r) gave %r" % (v, x))
    side.detail("settimeout returned", sorted({repr(x.value) for x in r[1:] if isinstance(x, Ok)}))
    neg = side.call([("settimeout", [Handle(0), -1.0])])[0]
    side.detail("settimeout(-1.0)", _outcome(neg))


@pytest.mark.parametrize("op", STREAM_OPS)
@case("mp:settimeout.expiry", "uc386:timeouts.etimedout", "mp:settimeout.oserror", "mp:settimeout.values",
      "mp:settimeout.example", needs=["settimeout"], slow=T)
def test_timeout_expiry_raises_etimedout(side, op):
    """settimeout(0.1), then an op that can only wait: OSError(ETIMEDOUT), no earlier than 0.1 s and
    within side.window of it (a float timeout counts seconds: 0.1 is neither 0 nor 1 s). recv, read,
    readinto, readline: a peer that never sends; recvfrom: a bound UDP socket nobody sends to;
    accept: nobody connects; connect: SYNs go unanswered; send: a peer that never reads, filled."""
    r, took = _timed_wait(side, op, T)
    side.raised(r[0], "ETIMEDOUT", clause="mp:settimeout.expiry", cls_clause="mp:settimeout.oserror",
                errno_clause="uc386:timeouts.etimedout", what=op)
    side.same("raised on expiry", "%s %s" % (r[0].cls, r[0].errno), "uc386:timeouts.etimedout")
    lo, hi = side.window(T)
    side.check(lo <= took <= hi, "%s gave up after %.1f ms, not within %.0f-%.0f ms of the call"
               % (op, took * 1e3, lo * 1e3, hi * 1e3))
    side.detail("gave up after ms", round(took * 1e3, 1))


@pytest.mark.parametrize("op", STREAM_OPS)
@case("mp:settimeout.zero", "mp:read.nonblocking", needs=["settimeout"])
def test_zero_timeout_does_not_wait(side, op):
    """settimeout(0), then the same ops, none of which can complete: each ends at once ("the socket
    is put in non-blocking mode"). How each ends is the port's, and reported: the document names
    no errno for a non-blocking socket (the oracle raises EAGAIN; connect EINPROGRESS), and read
    and readinto return "less data" (the oracle: None)."""
    r, took = _timed_wait(side, op, 0)
    hi = side.window(0)[1]
    side.check(took <= hi, "%s in non-blocking mode took %.1f ms, more than %.0f ms" % (op, took * 1e3, hi * 1e3))
    side.detail("non-blocking %s, nothing there" % op, _outcome(r[0]))


@case("mp:settimeout.none", "mp:setblocking.true", "mp:setblocking", "mp:setblocking.shorthand", needs=["settimeout"],
      slow=0.15)
def test_none_and_setblocking_true_wait_without_limit(side):
    """Four connections to peers that answer after 0.15 s, each left blocking in another way:
    settimeout(0.05) then settimeout(None); settimeout(0) then settimeout(None); settimeout(0.05)
    then setblocking(True); setblocking(False) then setblocking(True). Every recv waits and
    returns the data: none keeps the earlier timeout or non-blocking mode."""
    ways = [("settimeout", 0.05, "settimeout", None, "mp:settimeout.none"),
            ("settimeout", 0, "settimeout", None, "mp:settimeout.none"),
            ("settimeout", 0.05, "setblocking", True, "mp:setblocking.true"),
            ("setblocking", False, "setblocking", True, "mp:setblocking")]
    for first, v1, then, v2, _ in ways:
        side.connected(side.source(b"late", delay=0.15), extra=[(first, [Ref(1), v1]), (then, [Ref(1), v2])])
    r = side.call([("recv", [Handle(k), 10]) for k in range(len(ways))], mode="C", timeout=10)
    for (first, v1, then, v2, clause), x in zip(ways, r):
        side.check(isinstance(x, Ok) and x.value and b"late".startswith(x.value),
                   "%s(%r) then %s(%r): recv gave %r, not the data that came 0.15 s later"
                   % (first, v1, then, v2, x), clause)


@case("mp:setblocking.false", "mp:setblocking", "mp:settimeout.zero", "mp:setblocking.shorthand", needs=["settimeout"])
def test_setblocking_false_is_settimeout_zero(side):
    """recv on connections where nothing comes, and connect where SYNs go unanswered, made
    non-blocking by settimeout(0), setblocking(False) and setblocking(0): the same answer, at once."""
    peer, hole = side.silent(), side.blackhole()
    ways = [("settimeout", 0), ("setblocking", False), ("setblocking", 0)]
    for name, v in ways:
        side.connected(peer, extra=[(name, [Ref(1), v])])
    addr = side.addr_of(side.ok(side.call([side.address(side.host, hole)])[0], "the address"))
    for name, v in ways:
        for x in side.call([("socket", []), (name, [Ref(0), v])]):
            side.ok(x, "a socket made non-blocking by %s(%r)" % (name, v))
    ops = [("recv", [Handle(k), 10]) for k in range(3)] + [("connect", [Handle(3 + k), addr]) for k in range(3)]
    r, took = side.timed(ops, mode="C")
    hi = side.window(0)[1]
    side.check(took <= hi, "three recv and three connect in non-blocking mode took %.1f ms, more than %.0f ms"
               % (took * 1e3, hi * 1e3), "mp:settimeout.zero")
    for k in (0, 3):
        got = [_outcome(x) for x in r[k:k + 3]]
        side.check(len(set(got)) == 1, "%s: settimeout(0), setblocking(False), setblocking(0) gave %s, not one "
                   "answer" % (ops[k][0], got), "mp:setblocking.false")
        side.detail("non-blocking %s, nothing there" % ops[k][0], got[0])   # which answer: the port's


# ---- poll ----

@case("mp:poll.instead", "mp:poll.example", slow=T)
def test_poll_times_out_empty_and_waits_on_several(side):
    """The docs' recipe for ports without settimeout: poll(1000) returning nothing means "the
    operation timed out". poll with
    nothing ready gives [] after its timeout (0.1 s here); on two sockets, one with data, it
    reports that one only ("wait on multiple objects at the same time")."""
    pollin = side.require_const("POLLIN")
    side.connected(side.silent())
    side.connected(side.source(b"ready"))
    r, took = side.timed([("poll", [[(Handle(0), pollin)], int(T * 1000)])])
    side.check(side.ok(r[0], "poll") == [], "poll with nothing to read gave %r, not []" % (r[0],))
    lo, hi = side.window(T)
    side.check(lo <= took <= hi, "poll(%d) with nothing ready returned after %.1f ms, not within %.0f-%.0f ms"
               % (T * 1000, took * 1e3, lo * 1e3, hi * 1e3))
    got = side.ok(side.call([("poll", [[(Handle(0), pollin), (Handle(1), pollin)], 2000])], timeout=10)[0], "poll")
    side.check([e[0] for e in got] == [Handle(1)] and got[0][1] & pollin,
               "poll on a silent socket and one with data gave %r, not only the second with POLLIN" % (got,))


@case("mp:settimeout.zero", "mp:setblocking.false", "mp:poll.instead", "mp:connect")
def test_nonblocking_connect_completes_under_poll(side):
    """A non-blocking connect (setblocking(False), "equivalent to sock.settimeout(0)", so a port
    without settimeout runs this too; settimeout(0) where the port has no setblocking) ends at
    once, however it ends (MicroPython issue #2930, "esp8266: socket.connect in non-blocking mode
    returns ETIMEDOUT, not EINPROGRESS": the document names no errno, so which one is reported);
    poll then shows the socket writable; send, and recv after poll shows it readable, work on it."""
    pollin, pollout = side.require_const("POLLIN"), side.require_const("POLLOUT")
    peer = side.echo()
    r = side.call(side.connect(peer)[:2] + [side.nonblocking(Ref(1))])
    for x in r:
        side.ok(x, "a non-blocking socket")
    addr = side.addr_of(r[0].value)
    r, took = side.timed([("connect", [Handle(0), addr])])
    hi = side.window(0)[1]
    side.check(took <= hi, "a non-blocking connect took %.1f ms, more than %.0f ms" % (took * 1e3, hi * 1e3),
               "mp:settimeout.zero")
    side.detail("non-blocking connect", _outcome(r[0]))
    got = side.ok(side.call([("poll", [[(Handle(0), pollout)], 2000])], timeout=10)[0], "poll")
    side.check(len(got) == 1 and got[0][0] == Handle(0) and got[0][1] & pollout,
               "poll for POLLOUT after a non-blocking connect gave %r" % (got,), "mp:poll.instead")
    sent = side.ok(side.call([("send", [Handle(0), b"ping"])])[0], "send after the connect completed")
    side.check(isinstance(sent, int) and 0 < sent <= 4, "send(b'ping') returned %r" % (sent,), "mp:connect")
    data = b""
    for _ in range(10):                   # bounded: the echo may come back in pieces
        got = side.ok(side.call([("poll", [[(Handle(0), pollin)], 2000])], timeout=10)[0], "poll")
        side.check(got and got[0][1] & pollin, "poll for POLLIN gave %r with the echo due" % (got,), "mp:poll.instead")
        data += side.ok(side.call([("recv", [Handle(0), 10])])[0], "recv after poll")
        if len(data) >= sent:
            break
    side.check(data == b"ping"[:sent], "recv gave %r, the echo of %r" % (data, b"ping"[:sent]), "mp:connect")


@case("mp:settimeout.zero", "mp:setblocking.false", "mp:poll.instead", "mp:accept.pair")
def test_nonblocking_accept_is_eagain_then_poll_then_accept(side):
    """MicroPython issue #2947, "esp8266: in non-blocking mode, socket.accept raises ETIMEDOUT
    instead of EAGAIN". A non-blocking listener with nothing pending raises at once, with the
    oracle's errno (EAGAIN); after a host connects, poll shows the listener readable and accept
    returns the pair."""
    pollin = side.require_const("POLLIN")
    port = side.free_port()
    r = side.call(side.listening(port, reuse=True) + [side.nonblocking(Ref(1))])
    for x in r:
        side.ok(x, "a non-blocking listener")
    r, took = side.timed([("accept", [Handle(0)])])
    side.check(not isinstance(r[0], Ok), "non-blocking accept with no connection pending returned %r" % (r[0],),
               "mp:accept")
    side.detail("non-blocking accept, nothing pending", _outcome(r[0]))     # which errno: the port's
    hi = side.window(0)[1]
    side.check(took <= hi, "non-blocking accept took %.1f ms, more than %.0f ms" % (took * 1e3, hi * 1e3))
    side.dial(port)
    got = side.ok(side.call([("poll", [[(Handle(0), pollin)], 2000])], timeout=10)[0], "poll")
    side.check(len(got) == 1 and got[0][0] == Handle(0) and got[0][1] & pollin,
               "poll on the listener after a connection came gave %r, not POLLIN" % (got,), "mp:poll.instead")
    pair = side.ok(side.call([("accept", [Handle(0)])])[0], "accept after poll", "mp:accept.pair")
    side.check(isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Handle),
               "accept gave %r, not a pair (conn, address)" % (pair,), "mp:accept.pair")


# ---- bugs from MicroPython's tracker ----

@case("mp:settimeout.expiry", "uc386:timeouts.etimedout", "mp:connect", needs=["settimeout"], slow=0.2)
def test_connect_with_a_timeout_is_etimedout_not_einprogress(side):
    """MicroPython PR #15223, "extmod/modlwip: Make socket.connect raise ETIMEDOUT on non-zero
    timeout.": before it, modlwip's connect with settimeout(t > 0) raised EINPROGRESS when the SYNs
    went unanswered. With settimeout(0.2) it must raise OSError(ETIMEDOUT) after 0.2 s."""
    hole = side.blackhole()
    r = side.call([side.address(side.host, hole), ("socket", []), ("settimeout", [Ref(1), 0.2])])
    addr = side.addr_of(side.ok(r[0], "the address"))
    r, took = side.timed([("connect", [Handle(0), addr])])
    side.raised(r[0], "ETIMEDOUT", clause="mp:settimeout.expiry", cls_clause="mp:settimeout.oserror",
                errno_clause="uc386:timeouts.etimedout",
                what="connect with settimeout(0.2), SYNs unanswered")
    side.same("raised on expiry", "%s %s" % (r[0].cls, r[0].errno), "uc386:timeouts.etimedout")
    lo, hi = side.window(0.2)
    side.check(lo <= took <= hi, "connect gave up after %.1f ms, not within %.0f-%.0f ms"
               % (took * 1e3, lo * 1e3, hi * 1e3))


# the sentence each op's reading follows: what it returns, and why it may not end early
READS = {"read": ("mp:read", "mp:read.no-short", [10]), "readinto": ("mp:readinto", "mp:readinto.no-short", [10]),
         "readline": ("mp:readline", "mp:readline", [])}


@pytest.mark.parametrize("op", sorted(READS))
@case("mp:read", "mp:readinto", "mp:readline", "mp:settimeout.expiry", "mp:read.no-short", "mp:readinto.no-short",
      needs=["settimeout"], slow=0.3)
def test_read_with_a_timeout_loses_no_received_byte(side, op):
    """MicroPython issue #3155, "modlwip: socket.read(n) on a socket with a finite timeout can lose
    data" (open): read(10), readinto of 10 bytes, readline, with settimeout(0.3), when only 5 bytes
    (no newline) ever come. Whatever the op does at the timeout (return the 5 bytes, or raise
    OSError), every byte it did not return must come from the next recv: "Read up to size bytes
    from the socket" takes bytes to return them, never to drop them."""
    returns, whole, args = READS[op]
    peer = side.echo()
    side.connected(peer, extra=[("settimeout", [Ref(1), 2.0]), ("sendall", [Ref(1), b"hello"])])
    side.check(peer.wait_received(5) == b"hello", "the echo peer did not get the 5 bytes to send back", returns)
    r, took = side.timed([("settimeout", [Handle(0), 0.3]), (op, [Handle(0)] + args)])
    side.ok(r[0], "settimeout")
    lo, hi = side.window(0.3)
    side.check(took >= lo, "%s ended after %.1f ms with 5 bytes there and no newline, before its 300 ms timeout"
               % (op, took * 1e3), whole)
    side.check(took <= hi, "%s ended after %.1f ms, not by %.0f ms" % (op, took * 1e3, hi * 1e3),
               "mp:settimeout.expiry")
    first = b""
    if isinstance(r[1], Raised):
        side.raised(r[1], clause="mp:settimeout.expiry", cls_clause="mp:settimeout.oserror",
                    what="%s at its timeout" % op)
    elif op == "readinto":
        n, buf = r[1].value
        first = bytes(buf[:n or 0])
    else:
        first = r[1].value or b""
    side.detail("%s at the timeout" % op, _outcome(r[1]))
    rest, last = b"", None
    for _ in range(10):                   # bounded: what is left came long ago; no waiting
        last = side.call([side.nonblocking(Handle(0)), ("recv", [Handle(0), 10])], nonblocking=True)[-1]
        if isinstance(last, Raised) or not last.value:
            break
        rest += last.value
    side.detail("recv after it", repr(rest))
    side.check(first + rest == b"hello", "%s at its timeout gave %s, then recv gave %r (then %s); the peer sent "
               "b'hello': %d received bytes were lost" % (op, _outcome(r[1]), rest, _outcome(last),
                                                          5 - len(first + rest)), returns)
