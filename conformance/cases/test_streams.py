"""Stream behaviour against host peers: EOF, timeouts, short writes."""
from sockconf.case import case, shown
from sockconf import wire
from sockconf.wire import Handle, Ok, Raised, Ref

@case("uc386:quirks.recv-fin", "mp:recv.bytes")
def test_recv_at_eof_is_empty_every_time(side):
    peer = side.source(b"abc")
    side.connected(peer, extra=[("settimeout", [Ref(1), 5.0])])
    got = b""
    for _ in range(50):          # bounded: the 3 bytes may come in pieces
        chunk = side.ok(side.call([("recv", [Handle(0), 10])], timeout=10)[0], "recv before EOF", "mp:recv.bytes")
        if not chunk:
            break
        got += chunk
    side.check(got == b"abc", "recv gave %r before EOF, the peer sent b'abc'" % got, "mp:recv.bytes")
    after = side.call([("recv", [Handle(0), 10]), ("recv", [Handle(0), 10])], mode="C")
    side.same("after EOF", [side.ok(x, "recv after EOF") for x in after], "uc386:quirks.recv-fin")
    side.check([x.value for x in after] == [b"", b""], "recv after EOF gave %r, not b'' every time" % (after,))


@case("uc386:timeouts.etimedout", "mp:settimeout.expiry", needs=["settimeout"], slow=0.1)
def test_recv_timeout_is_etimedout_after_the_timeout(side):
    peer = side.silent()
    side.connected(peer, extra=[("settimeout", [Ref(1), 0.1])])
    r, took = side.timed([("recv", [Handle(0), 1])])
    side.raised(r[0], "ETIMEDOUT", clause="mp:settimeout.expiry", cls_clause="mp:settimeout.oserror",
                errno_clause="uc386:timeouts.etimedout")
    side.same("raised on expiry", "%s %s" % (r[0].cls, r[0].errno), "uc386:timeouts.etimedout")
    lo, hi = side.window(0.1)
    side.check(lo <= took <= hi, "recv gave up after %.1f ms, not within %.0f-%.0f ms of the call"
               % (took * 1e3, lo * 1e3, hi * 1e3), "mp:settimeout.expiry")
    side.detail("gave up after ms", round(took * 1e3, 1))


@case("mp:send.short-write", "mp:settimeout.zero")
def test_nonblocking_send_short_writes_then_eagain(side):
    """A peer that never reads, a non-blocking socket: the target sends the pattern in 2000-byte
    sends (2000 divides no power-of-two buffer, so a stack that can take part of a chunk has the
    chance to show it) until a send does not take any (pump: one request); each returns a count
    within 1..2000. One more send, timed, returns at once. The peer gets exactly the bytes the
    sends reported, in order."""
    sink = side.sink()
    side.connected(sink, extra=[side.nonblocking(Ref(1))])
    chunk = 2000
    # bounded: 16 MB (slirp buffers megabytes)
    r, t = side.bulk("pump", Handle(0), "send", 16 << 20, chunk, nonblocking=True)
    side.check(t.end != "done", "a peer that never reads took 16 MB: a non-blocking send never stopped taking data",
               "mp:settimeout.zero")
    side.check(not (t.end == "value" and t.kind == "int" and t.last > chunk),
               "a send of %d bytes returned %s" % (chunk, t.last))
    last, took = side.timed([("send", [Handle(0), wire.pattern(chunk, t.bytes)])])
    hi = side.window(0)[1]
    side.check(took <= hi, "a non-blocking send on the full buffer took %.1f ms, more than %.0f ms"
               % (took * 1e3, hi * 1e3), "mp:settimeout.zero")
    more = last[0].value if isinstance(last[0], Ok) and isinstance(last[0].value, int) else 0
    side.check(0 <= more <= chunk, "a send of %d bytes returned %s" % (chunk, shown(last[0])))
    # "may be smaller": whether and how much is the implementation's (the oracle: ref/SEMANTICS.md);
    # what a non-blocking send does once nothing fits (raise, and which errno, or return 0) is
    # the port's too: the document says only that the socket is non-blocking
    side.detail("sends before the buffer was full", t.calls - 1)
    side.detail("short writes", t.short)
    side.detail("send with nothing fitting", shown(r) if t.end == "raised" else "%s %s" % (t.kind, t.last))
    side.detail("the send after it", shown(last[0]))
    side.call([("close", [Handle(0)])])
    got = sink.drain()
    side.check(got == wire.pattern(t.bytes + more), "the peer received %d bytes, the sends reported %d"
               % (len(got), t.bytes + more))
