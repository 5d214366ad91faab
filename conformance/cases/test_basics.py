"""First cases from micropython-usocket.txt: inet_pton/ntop, getaddrinfo's shape, a connection to
an echo peer, recv's bound, close, accept."""
from sockconf.case import case
from sockconf.wire import Handle, Ref


@case("mp:inet_pton.example", "mp:inet_pton")
def test_inet_pton_example(side):
    r = side.call([("inet_pton", [side.const("AF_INET"), "1.2.3.4"])])
    got = side.same("the example's value", side.ok(r[0]), "mp:inet_pton.example")
    side.check(got == b"\x01\x02\x03\x04",
               "inet_pton(AF_INET, '1.2.3.4') is b'\\x01\\x02\\x03\\x04' in the docs' example, got %r" % (r[0],))


@case("mp:inet_ntop.example", "mp:inet_ntop")
def test_inet_ntop_example(side):
    r = side.call([("inet_ntop", [side.const("AF_INET"), b"\x7f\0\0\1"])])
    got = side.same("the example's value", side.ok(r[0]), "mp:inet_ntop.example")
    side.check(got == "127.0.0.1", "inet_ntop(AF_INET, b'\\x7f\\0\\0\\1') is '127.0.0.1' in the docs' example, "
               "got %r" % (r[0],))


@case("mp:gai.shape")
def test_getaddrinfo_gives_5_tuples(side):
    infos = side.ok(side.call([("getaddrinfo", [side.host, 80])])[0])
    side.check(isinstance(infos, list) and len(infos) > 0, "getaddrinfo returned %r, not a non-empty list" % (infos,))
    for info in infos:
        side.check(isinstance(info, tuple) and len(info) == 5, "an item is not a 5-tuple: %r" % (info,))


@case("mp:send.short-write", "mp:send.connected")
def test_send_returns_count_and_peer_gets_those_bytes(side):
    peer = side.echo()
    data = b"sockconf-" * 8
    r = side.connected(peer, extra=[("send", [Ref(1), data]), ("close", [Ref(1)])])
    sent = side.ok(r[3])
    side.check(isinstance(sent, int) and 0 < sent <= len(data), "send returned %r for %d bytes" % (sent, len(data)))
    got = peer.wait_received(sent)
    side.check(got == data[:sent], "the peer received %r, send reported %d bytes" % (got, sent))
    side.detail("sent", sent)


@case("mp:recv.bufsize", "mp:recv.bytes")
def test_recv_returns_at_most_bufsize(side):
    peer = side.echo()
    r = side.connected(peer, extra=[("settimeout", [Ref(1), 2.0]), ("sendall", [Ref(1), b"0123456789"]),
                                    ("recv", [Ref(1), 3])])
    got = side.ok(r[-1])
    side.check(isinstance(got, bytes), "recv returned %r, not bytes" % (got,), "mp:recv.bytes", type(got).__name__)
    side.check(0 < len(got) <= 3 and b"0123456789".startswith(got), "recv(3) returned %r" % (got,))


@case("mp:settimeout.expiry", "mp:settimeout.oserror", needs=["settimeout"], slow=0.2)
def test_recv_timeout_raises_oserror(side):
    """settimeout(0.2), then recv from a peer that never sends: OSError once 0.2 s have
    elapsed (within side.window of it), whatever class a port documents instead."""
    peer = side.silent()
    side.connected(peer, extra=[("settimeout", [Ref(1), 0.2])])
    r, took = side.timed([("recv", [Handle(0), 1])])
    side.raised(r[0], clause="mp:settimeout.expiry", cls_clause="mp:settimeout.oserror")
    lo, hi = side.window(0.2)
    side.check(lo <= took <= hi, "recv gave up after %.1f ms, not within %.0f-%.0f ms of the call"
               % (took * 1e3, lo * 1e3, hi * 1e3), "mp:settimeout.expiry")


@case("mp:close.fail-after", "mp:error.absent")
def test_operations_after_close_fail(side):
    """"all future operations on the socket object will fail": send and recv raise, OSError
    itself (MicroPython has no socket exception of its own); which errno is the port's (a detail)."""
    peer = side.echo()
    side.connected(peer, extra=[("close", [Ref(1)])])
    r = side.call([("send", [Handle(0), b"x"]), ("recv", [Handle(0), 1])], mode="C")
    for x in r:
        side.raised(x, cls_clause="mp:error.absent")
    side.detail("errnos", [x.errno for x in r])


@case("mp:accept.pair", "mp:accept")
def test_accept_returns_a_pair(side):
    port = side.free_port()
    r = side.call(side.listening(port, reuse=True))
    side.ok(r[-1], "listening")
    side.dial(port)
    pair = side.ok(side.call([("accept", [Handle(0)])], timeout=10)[0])
    side.check(isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Handle),
               "accept returned %r, not a pair (conn, address)" % (pair,))
    # "address" is in the port's native format, which the docs call opaque: reported, not compared
    side.detail("address type", type(pair[1]).__name__)
