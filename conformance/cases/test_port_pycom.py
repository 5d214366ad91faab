"""pycom-usocket.md: what Pycom's document says beyond, or unlike, the canonical one (tuple
addresses, blocking by default, SO_REUSEADDR on by default, sendall as an alias of send, a timeout
exception, setblocking overriding a timeout, readall, dnsserver, EINPROGRESS = 119, its constants).
These run only with a profile that names pycom-usocket.md; each checks Pycom's own sentence.

Sockets are made as the document's examples make them: getaddrinfo(host, port) with its two
arguments, socket() for TCP, (ipv4_address, port) tuples, settimeout in seconds."""
import re
import time

import pytest

from sockconf.case import case
from sockconf.wire import Handle, Ok, Raised, Ref

# socket.timeout, by the names its class can have: `timeout`, or an alias of TimeoutError
TIMEOUT_CLASSES = ("timeout", "TimeoutError")


def _consts(side, names):
    return side.const(*names) if len(names) > 1 else {names[0]: side.const(names[0])}


def _is_ipv4(text):
    m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", text) if isinstance(text, str) else None
    return bool(m) and all(int(g) <= 255 for g in m.groups())


# (clause, names the line lists, names that only boards with a LoRa or Sigfox radio have)
CONSTANTS = [
    ("pycom:const.af", ["AF_INET"], ["AF_LORA", "AF_SIGFOX"]),
    ("pycom:const.sock", ["SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW"], []),
    ("pycom:const.ipproto", ["IPPROTO_IP", "IPPROTO_ICMP", "IPPROTO_UDP", "IPPROTO_TCP", "IPPROTO_IPV6",
                             "IP_ADD_MEMBERSHIP", "IPPROTO_RAW"], []),
    ("pycom:const.sol", ["SOL_SOCKET"], ["SOL_LORA", "SOL_SIGFOX"]),
    ("pycom:const.so-ip", ["SO_REUSEADDR"], []),
]


@pytest.mark.parametrize("clause, names, radio", CONSTANTS, ids=[c[0].split(":")[1] for c in CONSTANTS])
@case("pycom:const.af", "pycom:const.sock", "pycom:const.ipproto", "pycom:const.sol", "pycom:const.so-ip")
def test_pycom_constants_are_defined(side, clause, names, radio):
    """The Constants section, one line each. The LoRa and Sigfox names are only reported: a board
    without the radio (the WiPy) has no reason to have them."""
    values = _consts(side, names)
    absent = [n for n in names if values[n] is None]
    side.check(not absent, "the module lacks %s" % ", ".join(absent), clause)
    if radio:
        side.detail("radio constants", _consts(side, radio))


@case("pycom:addr.ipv4-tuple")
def test_pycom_connect_takes_an_ipv4_tuple(side):
    """"Functions below which expect a network address, accept it in the format of
    `(ipv4_address, port)` ...": a promise here, where the canonical document makes tuples
    optional."""
    peer = side.echo()
    r = side.call([("socket", []), ("connect", [Ref(0), (side.host, peer.port)]), ("send", [Ref(0), b"tuple"])],
                  mode="C")
    side.ok(r[0], "socket()")
    if not side.check(isinstance(r[1], Ok), "connect((%r, %d)) gave %r" % (side.host, peer.port, r[1])):
        return
    n = side.ok(r[2], "send after connecting with a tuple")
    got = peer.wait_received(n if isinstance(n, int) else 5)
    side.check(isinstance(n, int) and 0 < n <= 5 and got == b"tuple"[:n],
               "send returned %r and the peer received %r through the tuple-connected socket" % (n, got))


@case("pycom:bind.tuple")
def test_pycom_bind_takes_an_ip_port_tuple(side):
    """"The `address` parameter must be a tuple containing the IP address and the port.": a socket
    bound to ('0.0.0.0', port) listens there."""
    port = side.free_port()
    r = side.call([("socket", []), ("bind", [Ref(0), ("0.0.0.0", port)]), ("listen", [Ref(0), 1])], mode="C")
    side.ok(r[0], "socket()")
    if not side.check(isinstance(r[1], Ok), "bind(('0.0.0.0', %d)) gave %r" % (port, r[1])):
        return
    side.ok(r[2], "listen(1)")
    side.dial(port)
    x = side.call([("accept", [Handle(0)])], timeout=10)[0]
    side.check(isinstance(x, Ok), "accept on the socket bound to ('0.0.0.0', %d) gave %r after the host "
               "connected there" % (port, x))


@case("pycom:socket.blocking-default", slow=0.2)
def test_pycom_sockets_block_by_default(side):
    """"By default, sockets are set to be blocking.": recv on a fresh socket waits for data the peer
    sends 0.2 s later (a non-blocking socket would raise at once)."""
    peer = side.source(b"late", delay=0.2)
    r = side.connected(peer, extra=[("recv", [Ref(1), 16])], timeout=10)
    side.check(isinstance(r[-1], Ok) and r[-1].value and b"late".startswith(r[-1].value),
               "recv on a fresh socket gave %r, not the data sent 0.2 s later" % (r[-1],))


@case("pycom:setsockopt.reuseaddr-default", slow=0.1)
def test_pycom_address_reuse_is_on_by_default(side):
    """"`socket.SO_REUSEADDR`: Enable address reusing (Enabled by default)": after the target closes
    a connection first (its end stays in TIME_WAIT), a new socket binds the same port without any
    setsockopt. Without address reuse, that bind fails with EADDRINUSE (lwIP and Linux alike)."""
    port = side.free_port()
    r = side.call([("socket", []), ("bind", [Ref(0), ("0.0.0.0", port)]), ("listen", [Ref(0), 1])])
    side.ok(r[-1], "the first listener")
    host = side.dial(port)
    conn = side.ok(side.call([("accept", [Handle(0)])], timeout=10)[0], "accept")[0]
    side.call([("send", [conn, b"x"]), ("close", [conn]), ("close", [Handle(0)])], mode="C")
    host.settimeout(1.0)
    for _ in range(50):             # bounded: read to the target's FIN, then close our end
        try:
            if not host.recv(64):
                break
        except OSError:
            break
    host.close()
    time.sleep(0.1)                 # our FIN reaches the target: its end of the connection is in TIME_WAIT
    r = side.call([("socket", []), ("bind", [Ref(0), ("0.0.0.0", port)])], mode="C")
    side.ok(r[0], "socket()")
    side.check(isinstance(r[1], Ok), "binding port %d again, without setsockopt, while the last connection "
               "on it is in TIME_WAIT gave %r: address reuse is not enabled by default" % (port, r[1]))


@case("pycom:close.flush")
def test_pycom_close_flushes_queued_data_then_ends(side):
    """"The remote end will receive no more data (after queued data is flushed).": bytes still
    queued when close() is called (the peer has not read any yet) all arrive, then the stream
    ends."""
    sink = side.sink()
    chunk = bytes(range(250)) * 8   # one send per request: a line holds one 2000-byte chunk
    side.connected(sink)
    counts = [side.ok(side.call([("send", [Handle(0), chunk])])[0], "send") for _ in range(3)]
    side.ok(side.call([("close", [Handle(0)])])[0], "close")
    got, ended = sink.drain_to_end(5.0)
    expected = b"".join(chunk[:n] for n in counts)
    side.check(got == expected, "after close() the peer received %d bytes; the sends reported %d"
               % (len(got), len(expected)))
    side.check(ended, "the peer got no end of stream within 5 s of close()")


@case("pycom:sendall.alias")
def test_pycom_sendall_is_send(side):
    """"Alias of `s.send(bytes)`.": sendall returns what send returns (the canonical sendall returns
    nothing), and what it reports is what the peer gets."""
    peer = side.echo()
    a, b = b"via-send;", b"via-sendall;"
    r = side.connected(peer, extra=[("send", [Ref(1), a]), ("sendall", [Ref(1), b])], mode="C")
    n = side.ok(r[3], "send")
    if not side.check(isinstance(r[4], Ok), "sendall gave %r where send returned %r" % (r[4], n)):
        return
    m = r[4].value
    side.check(type(m) is type(n), "send returned %r but sendall returned %r: an alias of send returns what "
               "send returns" % (n, m))
    if isinstance(n, int) and isinstance(m, int):
        side.check(0 < n <= len(a) and 0 < m <= len(b), "send and sendall returned %d and %d" % (n, m))
        got = peer.wait_received(n + m)
        side.check(got == a[:n] + b[:m], "the peer received %r; send and sendall reported %d and %d bytes"
                   % (got, n, m))


@case("pycom:settimeout.timeout-exception", needs=["settimeout"], slow=0.1)
def test_pycom_timeout_raises_the_timeout_exception(side):
    """"If a non-zero value is given, subsequent socket operations will raise a timeout exception if
    the timeout period value has elapsed before the operation has completed." With "Exceptions:
    `socket.error`, `socket.timeout`", the exception is socket.timeout: its class is named
    `timeout` (or TimeoutError, if socket.timeout is that alias), not OSError."""
    peer = side.silent()
    r = side.connected(peer, extra=[("settimeout", [Ref(1), 0.1]), ("recv", [Ref(1), 1])])
    x = r[-1]
    if not side.check(isinstance(x, Raised), "recv after settimeout(0.1) on a silent peer gave %r" % (x,)):
        return
    side.detail("raised", "%s %s" % (x.cls, x.errno or ""))
    side.check(x.cls in TIMEOUT_CLASSES, "the expired timeout raised %s %s %r, not socket.timeout"
               % (x.cls, x.errno or "", x.args))


@case("pycom:setblocking.override", slow=0.2)
def test_pycom_setblocking_overrides_the_timeout(side):
    """"This will override the timeout setting": settimeout(0.05) then setblocking(True) makes recv
    wait for data the peer sends 0.2 s later, instead of giving up after 50 ms."""
    peer = side.source(b"late", delay=0.2)
    r = side.connected(peer, extra=[("settimeout", [Ref(1), 0.05]), ("setblocking", [Ref(1), True]),
                                ("recv", [Ref(1), 16])], timeout=10)
    side.check(isinstance(r[-1], Ok) and r[-1].value and b"late".startswith(r[-1].value),
               "after settimeout(0.05) and setblocking(True), recv gave %r, not the data sent 0.2 s later"
               % (r[-1],))


@case("pycom:readall")
def test_pycom_readall_reads_to_eof(side):
    """"Read all data available from the socket until EOF. This function will not return until the
    socket is closed.": every byte the peer sent before its FIN, in one call."""
    data = b"readall: every byte until EOF\n" * 4
    peer = side.source(data)
    r = side.connected(peer, extra=[("readall", [Ref(1)])], timeout=10)
    got = side.ok(r[-1], "readall")
    side.check(got == data, "readall returned %r; the peer sent %d bytes then closed" % (got, len(data)))


@case("pycom:dnsserver.get")
def test_pycom_dnsserver_gives_primary_and_backup(side):
    """"When no arguments are passed this function returns the configured DNS servers Primary
    (Index=0) and backup (Index = 1)": a pair of dot-notation addresses, as in the example
    ('10.0.0.1', '8.8.8.8')."""
    v = side.ok(side.call([("dnsserver", [])])[0], "dnsserver()")
    side.check(isinstance(v, tuple) and len(v) == 2 and all(_is_ipv4(a) for a in v),
               "dnsserver() returned %r, not (primary, backup) addresses" % (v,))


@case("pycom:dnsserver.set")
def test_pycom_dnsserver_sets_the_backup(side):
    """"to set primary and Backup DNS servers specify the Index and Ip Address.": the document's own
    example, dnsserver(1, '0.0.0.0'), then dnsserver() shows it; the old backup is put back in the
    same request."""
    old = side.ok(side.call([("dnsserver", [])])[0], "dnsserver()")
    if not side.check(isinstance(old, tuple) and len(old) == 2 and all(isinstance(a, str) for a in old),
                      "dnsserver() returned %r, not (primary, backup)" % (old,)):
        return
    r = side.call([("dnsserver", [1, "0.0.0.0"]), ("dnsserver", []), ("dnsserver", [1, old[1]]), ("dnsserver", [])],
                  mode="C")
    side.ok(r[0], "dnsserver(1, '0.0.0.0')")
    side.check(r[1] == Ok((old[0], "0.0.0.0")), "after dnsserver(1, '0.0.0.0'), dnsserver() gave %r; it was %r"
               % (r[1], old))
    side.check(r[3] == Ok(old), "putting the backup back (dnsserver(1, %r)) left %r" % (old[1], r[3]))


@case("pycom:connect.einprogress-119")
def test_pycom_nonblocking_connect_raises_119(side):
    """"if str(e) == '119': # For non-Blocking sockets 119 is EINPROGRESS": a non-blocking connect
    that cannot complete at once (the peer never answers the SYN) raises OSError(119), EINPROGRESS
    in the target's errno table."""
    hole = side.blackhole()
    r = side.call([("getaddrinfo", [side.host, hole.port]), ("socket", []), ("setblocking", [Ref(1), False]),
                   ("connect", [Ref(1), Ref(0, 0, -1)])])
    for x in r[:3]:
        side.ok(x, "setting up")
    x = r[-1]
    side.raised(x, what="a non-blocking connect")
    side.check(x.args == (119,) and x.errno == "EINPROGRESS",
               "a non-blocking connect raised OSError %s %r, not OSError(119) with str(e) == '119' (EINPROGRESS)"
               % (x.errno, x.args))
