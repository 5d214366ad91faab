"""UDP: sendto and recvfrom against host peers (micropython-usocket.txt), a datagram larger than
bufsize, datagrams to a port the target bound, recv on a UDP socket, and non-blocking recv.
Waiting for a datagram is poll's ("A more portable and generic solution is to use uselect.poll
object"), or, on a port without poll, a timeout's (settimeout); a datagram that does not come in
time is resent (UDP may lose one) a bounded number of times."""
import socket

from sockconf import peers as sc_peers
from sockconf.case import case
from sockconf.wire import Handle, Raised, Ref

WAIT = 500      # ms poll waits for a datagram before it counts as lost
TRIES = 3       # datagrams sent before a lost one decides the case


def _outcome(r):
    """A result as 'Class ERRNO', or 'returned' and the value's type."""
    return "%s %s" % (r.cls, r.errno) if isinstance(r, Raised) else "returned %s" % type(getattr(r, "value", r)).__name__


def _dgram(side):
    return [side.const("AF_INET"), side.const("SOCK_DGRAM")]


def _free_udp_port(side):
    """side.free_port() is free for TCP; a target reached through the host (the oracle's slirp
    forwards a bound UDP port from the host's loopback) needs it free for UDP there too."""
    port = side.free_port()
    for _ in range(20):                   # bounded
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((sc_peers.LOOPBACK, port))
                return port
            except OSError:
                port = side.free_port()
    return port


def _wait(side, op, size):
    """op (recv or recvfrom) on Handle(0) once a datagram is there: its value, or None when none
    came within WAIT ms. poll waits where the module has it; else a timeout of WAIT ms does (then
    the socket keeps it); a port with neither is UNSUPPORTED here."""
    pollin = side.const("POLLIN")
    if pollin is None and "settimeout" in side.caps:
        r = side.call([("settimeout", [Handle(0), WAIT / 1000]), (op, [Handle(0), size])], timeout=10)
        side.ok(r[0], "settimeout(%s)" % (WAIT / 1000))
        return r[1].value if not isinstance(r[1], Raised) else None
    pollin = side.require_const("POLLIN")
    got = side.ok(side.call([("poll", [[(Handle(0), pollin)], WAIT])], timeout=10)[0], "poll")
    return side.ok(side.call([(op, [Handle(0), size])])[0], op) if got else None


def _next(side, op, size):
    """op (recv or recvfrom) on Handle(0), once a datagram is there; its value."""
    v = _wait(side, op, size)
    side.need(v is not None, "no datagram came within %d ms for %s" % (WAIT, op),
              "mp:recvfrom" if op == "recvfrom" else "mp:recv.bytes")
    return v


def _check_sender(side, addr, port, what):
    """The address recvfrom gave is the sending socket's: (host as the target sees it, port) where
    it is an (ipv4_address, port) tuple; else opaque (the native format), only reported."""
    if isinstance(addr, tuple) and len(addr) == 2 and isinstance(addr[0], str):
        side.check(addr == (side.host, port), "%s: recvfrom gave the address %r, the sender is %r"
                   % (what, addr, (side.host, port)), "mp:recvfrom")
    else:
        side.detail("address (%s)" % what, repr(addr))


def _exchange(side, echo):
    """Make a UDP socket (Handle(0)) and trade one datagram with the echo peer, resending when the
    echo does not come within WAIT ms (the count lost is reported). Returns (what sendto returned,
    the recvfrom pair, the datagrams sent, the peer's address from getaddrinfo)."""
    r = side.call([side.address(side.host, echo, "SOCK_DGRAM"), ("socket", _dgram(side))] + side.bind_any(Ref(1), 2))
    addr = side.addr_of(side.ok(r[0], "the address"))
    for x in r[1:]:
        side.ok(x, "a UDP socket bound to a free port")
    sent = []
    for k in range(TRIES):
        data = b"sockconf-udp-%d" % k
        sent.append(data)
        n = side.ok(side.call([("sendto", [Handle(0), data, addr])])[0], "sendto", "mp:sendto")
        pair = _wait(side, "recvfrom", 100)
        if pair is not None:
            side.detail("datagrams lost before the first echo", k)
            return n, pair, sent, addr
    side.check(False, "no echo came back for %d datagrams sent to the echo peer (it got %d)"
               % (TRIES, len(echo.got)), "mp:sendto")


@case("mp:sendto", "mp:recvfrom", "mp:recv.bytes")
def test_sendto_reaches_the_peer_and_recvfrom_gives_data_and_sender(side):
    """sendto sends one datagram to the address given; recvfrom returns the pair (bytes, address)
    where address is the sending socket's: here the echo peer's."""
    echo = side.udp_echo()
    n, pair, sent, _ = _exchange(side, echo)
    side.detail("sendto returned", n)
    side.check([d for d, _ in echo.got] == sent[:len(echo.got)] and echo.got,
               "the echo peer got %r, the target sent %r" % ([d for d, _ in echo.got], sent), "mp:sendto")
    side.need(isinstance(pair, tuple) and len(pair) == 2, "recvfrom gave %r, not a pair (bytes, address)"
              % (pair,), "mp:recvfrom")
    data, addr = pair
    side.check(isinstance(data, bytes), "recvfrom's data is %r, not bytes" % (data,), "mp:recvfrom", type(data).__name__)
    side.check(data in sent, "recvfrom gave %r; the echo peer sends back %r" % (data, sent), "mp:recvfrom")
    _check_sender(side, addr, echo.port, "the echo peer")
    side.detail("address type", type(addr).__name__)    # native and opaque (the docs): not compared


@case("mp:recvfrom", "mp:recv.bufsize")
def test_recvfrom_gives_at_most_bufsize_of_a_datagram(side):
    """A 100-byte datagram read with recvfrom(10) gives its first 10 bytes (recvfrom's bufsize is
    recv's: "The maximum amount of data to be received at once is specified by bufsize"). What
    becomes of the other 90 the docs do not say: the next recvfrom gives the next datagram (the
    rest was discarded, as in the oracle) or the rest; either way datagrams are not merged."""
    echo = side.udp_echo()
    addr = _exchange(side, echo)[3]
    big, small = bytes(range(100)), b"the next datagram"
    for x in side.call([("sendto", [Handle(0), big, addr]), ("sendto", [Handle(0), small, addr])]):
        side.ok(x, "sendto", "mp:sendto")
    first = _next(side, "recvfrom", 10)[0]
    side.check(0 < len(first) <= 10 and big.startswith(first), "recvfrom(10) of a 100-byte datagram gave %r"
               % (first,), "mp:recv.bufsize")
    side.detail("first recvfrom", len(first))     # at most bufsize: how many, the port's
    nxt = _next(side, "recvfrom", 200)[0]
    if nxt == small:
        side.detail("after a datagram longer than bufsize", "the rest was discarded")
        return
    side.check(nxt == big[len(first):], "after recvfrom(10) of a 100-byte datagram, then a %d-byte one, the next "
               "recvfrom gave %r: neither the next datagram nor the rest" % (len(small), nxt))
    side.detail("after a datagram longer than bufsize", "the rest came in the next recvfrom")
    last = _next(side, "recvfrom", 200)[0]
    side.check(last == small, "the datagram after the long one gave %r, not %r" % (last, small))


@case("mp:recvfrom", "mp:bind", "mp:recv.bytes")
def test_datagrams_to_a_bound_port_come_with_the_senders_address(side):
    """Bound to ("0.0.0.0", port) (the uc386 document's u.bind(...)), through getaddrinfo: a host
    peer's datagram to that port comes from recvfrom with the sender's address, and the next from
    recv, as bytes."""
    sender = side.udp_sender()
    port = _free_udp_port(side)
    r = side.call(side.udp_bound(port))
    for x in r:
        side.ok(x, "binding a UDP socket", "mp:bind")
    for op, data in (("recvfrom", b"to a bound port"), ("recv", b"and another")):
        value = None
        for k in range(TRIES):            # bounded; a lost datagram is resent
            sender.send(data, side.listen_host, port)
            value = _wait(side, op, 100)
            if value is not None:
                break
            side.detail("datagrams lost (%s)" % op, k + 1)
        side.need(value is not None, "no datagram came within %d ms for %s, %d sent" % (WAIT, op, TRIES),
                  "mp:recvfrom" if op == "recvfrom" else "mp:recv.bytes")
        if op == "recvfrom":
            side.need(isinstance(value, tuple) and len(value) == 2, "recvfrom gave %r, not a pair" % (value,),
                      "mp:recvfrom")
            value, addr = value
            _check_sender(side, addr, sender.port, "a host peer")
        side.check(value == data, "%s gave %r; the host peer sent %r" % (op, value, data),
                   "mp:recvfrom" if op == "recvfrom" else "mp:recv.bytes")


@case("mp:recv.bytes", "mp:recvfrom")
def test_recv_on_udp_gives_each_datagram_even_after_an_empty_one(side):
    """An empty datagram is data too: recv gives b'' for it, then the next datagram's bytes.
    (A UDP socket has no end of stream: b'' must not stick the way EOF does on TCP.)"""
    echo = side.udp_echo()
    addr = _exchange(side, echo)[3]
    got = []
    # recvfrom first: a recv that wrongly keeps answering b'' leaves datagrams queued behind it
    for op, data in (("recvfrom", b""), ("recvfrom", b"again"), ("recv", b""), ("recv", b"after")):
        side.ok(side.call([("sendto", [Handle(0), data, addr])])[0], "sendto", "mp:sendto")
        value = _next(side, op, 10)
        got.append(value[0] if op == "recvfrom" else value)
    side.check(got[:2] == [b"", b"again"], "recvfrom gave %r for the datagrams b'', b'again'" % (got[:2],),
               "mp:recvfrom")
    side.check(got[2:] == [b"", b"after"], "recv gave %r for the datagrams b'', b'after'" % (got[2:],))


@case("mp:settimeout.zero", "mp:setblocking.false", needs=["settimeout"])
def test_nonblocking_udp_recv_is_eagain_not_etimedout(side):
    """MicroPython issue #5759, "Non-blocking UDP socket returns ETIMEDOUT on recv instead on EAGAIN
    on ESP8266": a bound UDP socket with settimeout(0) and nothing received ends recv and recvfrom
    at once, and the same way after setblocking(False) ("equivalent to sock.settimeout(0)"). How
    it ends (the oracle: EAGAIN) is reported: the document names no errno for it."""
    r = side.call(side.udp_bound())
    for x in r:
        side.ok(x, "binding a UDP socket")
    r, took = side.timed([("settimeout", [Handle(0), 0]), ("recv", [Handle(0), 10]), ("recvfrom", [Handle(0), 10]),
                          ("setblocking", [Handle(0), False]), ("recv", [Handle(0), 10])], mode="C")
    hi = side.window(0)[1]
    side.check(took <= hi, "non-blocking recv and recvfrom on UDP took %.1f ms, more than %.0f ms"
               % (took * 1e3, hi * 1e3))
    got = [_outcome(x) for x in (r[1], r[2], r[4])]
    side.detail("non-blocking recv, recvfrom, recv after setblocking(False)", got)
    side.check(got[2] == got[0], "recv gave %s after settimeout(0) but %s after setblocking(False)"
               % (got[0], got[2]), "mp:setblocking.false")
