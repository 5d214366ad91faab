"""pycom-usocket.md: what Pycom's document says beyond, or unlike, the canonical one (tuple
addresses, blocking by default, SO_REUSEADDR on by default, a with statement closing a socket,
sendall as an alias of send, a timeout exception, setblocking overriding a timeout, readall,
dnsserver, EINPROGRESS = 119, its constants), and the sentences it shares with the canonical
document where the canonical cases do not reach them through Pycom's own forms (getaddrinfo(host,
port) without filters, settimeout(0.0), makefile in rb and wb only, its protocol options, raw
sockets, readall). The sentences whose canonical cases do reach them say so in the clause
inventory (same_as). These run only with a profile that names pycom-usocket.md; each checks
Pycom's own sentence.

Sockets are made as the document's examples make them: getaddrinfo(host, port) with its two
arguments, socket() for TCP, (ipv4_address, port) tuples, settimeout in seconds."""
import re
import socket
import struct
import threading
import time

import pytest

from sockconf.case import ANY, case, shown
from sockconf.wire import Handle, Kw, Ok, Raised, Ref

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


@case("pycom:close.gc")
def test_pycom_with_statement_closes_the_socket(side):
    """"Sockets are automatically closed when they are garbage-collected, but it is recommended to
    `close()` them explicitly, or to use a with statement around them.": a with statement around a
    connected socket (the `with` op: `with s: pass` on the target) closes it when the block ends:
    the peer then sees the end of the stream, and a send on the socket raises. The
    garbage-collection half is not checked: no sentence says when a collector runs or what it
    finds unreachable, and MicroPython's collector is conservative (a word that looks like a
    pointer keeps an object alive), so a socket still open after a collection breaks nothing the
    document says."""
    sink = side.sink()
    h = side.connected(sink)[1].value
    x = side.call([("with", [h])])[0]
    side.need(isinstance(x, Ok), "a with statement around a connected socket raised %s" % shown(x))
    _, ended = sink.drain_to_end(5.0)
    side.check(ended, "the peer got no end of stream within 5 s of the with block's end: the socket was not "
               "closed")
    x = side.call([("send", [h, b"after"])])[0]
    side.detail("send after the with block", shown(x))
    side.check(isinstance(x, Raised), "send after the with block %s: the socket is still open" % shown(x))


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


# ---- the sentences Pycom shares with the canonical document, through Pycom's forms ----

WOULD_BLOCK = ("EAGAIN", "EWOULDBLOCK", "EINPROGRESS")     # "not yet": no failure
def _sent_to(side, peer, op, payload, what):
    """Run op (it sends payload as one datagram to the UDP peer) until the peer has it: at most 3
    times, UDP may lose one. Whether it came."""
    for k in range(3):                    # bounded
        side.ok(side.call([op])[0], what)
        if payload in peer.datagrams(len(peer.got) + 1, 0.5):
            return True
        side.detail("datagrams lost (%s)" % what, k + 1)
    return False


# the protocol options that are not a stream or datagram socket's: ICMP is a raw socket's
# (test_pycom_raw_socket_gives_ip_datagrams), IPv6 goes with a family Pycom does not list, and
# IP_ADD_MEMBERSHIP is an option name (an argument of setsockopt at the IP level)
OTHER_PROTOCOLS = ("IPPROTO_ICMP", "IPPROTO_IPV6", "IP_ADD_MEMBERSHIP")


@case("pycom:socket.protocols")
def test_pycom_socket_takes_its_protocol_options(side):
    """"Socket protocol options: * `socket.IPPROTO_IP` * `socket.IPPROTO_ICMP` * `socket.IPPROTO_UDP`
    * `socket.IPPROTO_TCP` * `socket.IPPROTO_IPV6` * `socket.IP_ADD_MEMBERSHIP`", the initialiser's
    third argument: socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) and socket(AF_INET, SOCK_STREAM,
    IPPROTO_IP) reach a TCP peer; socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) and socket(AF_INET,
    SOCK_DGRAM, IPPROTO_IP) a UDP peer (IPPROTO_IP is 0 in the BSD socket interface the module
    provides: the type's own protocol). What socket(AF_INET, SOCK_DGRAM, X) does for IPPROTO_ICMP,
    IPPROTO_IPV6 and IP_ADD_MEMBERSHIP, no protocol of a datagram socket, is reported."""
    names = ("AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "IPPROTO_IP", "IPPROTO_TCP", "IPPROTO_UDP")
    c = _consts(side, names)
    absent = [n for n in names if c[n] is None]
    side.need(not absent, "the module lacks %s" % ", ".join(absent))
    for kind, proto in (("SOCK_STREAM", "IPPROTO_TCP"), ("SOCK_STREAM", "IPPROTO_IP"),
                        ("SOCK_DGRAM", "IPPROTO_UDP"), ("SOCK_DGRAM", "IPPROTO_IP")):
        made = "socket(AF_INET, %s, %s)" % (kind, proto)
        payload = made.encode()
        make = ("socket", [c["AF_INET"], c[kind], c[proto]])
        if kind == "SOCK_STREAM":
            peer = side.echo()
            r = side.call([side.address(side.host, peer), make, ("connect", [Ref(1), side.at(0)]),
                           ("send", [Ref(1), payload])], mode="C")
            for x in r:
                side.ok(x, "%s connecting to a TCP peer" % made)
            n = r[3].value
            got = peer.wait_received(n if isinstance(n, int) else len(payload))
            side.check(isinstance(n, int) and 0 < n and got == payload[:n],
                       "%s: send returned %r and the TCP peer received %r" % (made, n, got))
        else:
            peer = side.udp_echo()
            r = side.call([side.address(side.host, peer, kind), make])
            addr = side.addr_of(side.ok(r[0], "the address"))
            h = side.ok(r[1], made)
            side.check(_sent_to(side, peer, ("sendto", [h, payload, addr]), payload, "sendto on " + made),
                       "%s: the UDP peer received %r, not the datagram %r" % (made, peer.datagrams(0, 0), payload))
    for name in OTHER_PROTOCOLS:
        v = side.const(name)
        r = side.call([("socket", [c["AF_INET"], c["SOCK_DGRAM"], v])])[0] if v is not None else None
        side.detail("socket(AF_INET, SOCK_DGRAM, %s)" % name, "the module has none" if r is None else shown(r))


def _to_eof(host, seconds=2.0):
    """Read the host's end of a connection until the target's FIN (bounded), then close it."""
    host.settimeout(seconds / 20)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:     # bounded: at most `seconds`
        try:
            if not host.recv(4096):
                break
        except socket.timeout:
            continue
        except OSError:
            break
    host.close()


@pytest.mark.parametrize("off, on", [(0, 1), (b"\0\0\0\0", b"\x01\0\0\0")], ids=["int", "bytes"])
@case("pycom:setsockopt", "pycom:setsockopt.value", slow=0.1)
def test_pycom_setsockopt_turns_address_reuse_off_and_on(side, off, on):
    """"Set the value of the given socket option." "The value can be an integer or a bytes-like
    object representing a buffer.", with the one IP socket option Pycom names, "`socket.SO_REUSEADDR`:
    Enable address reusing (Enabled by default)": on by default, it shows that setsockopt sets it
    only when set off. A listener with it on takes a connection, which the target then closes first
    (its end stays in TIME_WAIT, holding the port); a new socket with SO_REUSEADDR set to `off`
    cannot bind that port (address reuse, in the BSD socket interface the module provides, is what
    lets a bind take a port a connection in TIME_WAIT holds), and one with it set to `on` binds it,
    listens and takes a connection. Each value is given as an int, then as a buffer."""
    sol, reuse = side.const("SOL_SOCKET"), side.const("SO_REUSEADDR")
    side.need(None not in (sol, reuse), "the module lacks SOL_SOCKET or SO_REUSEADDR")

    def set_to(value):
        return [("setsockopt", [Ref(1), sol, reuse, value])]
    port = side.free_port()
    r = side.call(side.listening(port, options=set_to(on)))
    side.ok(r[2], "setsockopt(SOL_SOCKET, SO_REUSEADDR, %r)" % (on,), "pycom:setsockopt.value")
    for x in r:
        side.ok(x, "listening on port %d with SO_REUSEADDR set to %r" % (port, on))
    listener = r[1].value
    host = side.dial(port)
    pair = side.ok(side.call([("accept", [listener])], timeout=10)[0], "accept")
    side.need(isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Handle),
              "accept gave %r, not (conn, address)" % (pair,))
    side.call([("close", [pair[0]]), ("close", [listener])], mode="C")
    _to_eof(host)                  # the target closed first; the host closes on its FIN
    time.sleep(0.1)                # the host's FIN reaches the target: its end is in TIME_WAIT

    r = side.call([side.address(ANY, port), ("socket", [])] + set_to(off) + [("bind", [Ref(1), side.at(0)])],
                  mode="C")
    side.ok(r[0], "the address")
    side.ok(r[1], "socket()")
    side.ok(r[2], "setsockopt(SOL_SOCKET, SO_REUSEADDR, %r)" % (off,), "pycom:setsockopt.value")
    side.detail("bind with SO_REUSEADDR off, the port in TIME_WAIT", shown(r[3]))
    side.check(isinstance(r[3], Raised), "with SO_REUSEADDR set to %r, bind to port %d, which a connection in "
               "TIME_WAIT holds, %s: setsockopt did not turn address reuse off" % (off, port, shown(r[3])))
    r = side.call(side.listening(port, options=set_to(on)), mode="C")
    side.ok(r[2], "setsockopt(SOL_SOCKET, SO_REUSEADDR, %r)" % (on,), "pycom:setsockopt.value")
    for x in r:
        side.ok(x, "with SO_REUSEADDR set to %r again, binding port %d, which a connection in TIME_WAIT holds"
                % (on, port))
    dialed = side.try_dial(port)
    side.check(not isinstance(dialed, OSError), "the listener with SO_REUSEADDR set to %r on port %d took no "
               "connection: %s" % (on, port, dialed))
    pair = side.ok(side.call([("accept", [r[1].value])], timeout=10)[0], "accept on the new listener")
    side.check(isinstance(pair, tuple) and len(pair) == 2, "accept on the new listener gave %r" % (pair,))


@case("pycom:gai.translate", "pycom:gai.shape")
def test_pycom_getaddrinfo_items_make_sockets_connected_to_the_service(side):
    """"Translate the host/port argument into a sequence of 5-tuples that contain all the necessary
    arguments for creating a socket connected to that service. The list of 5-tuples has following
    structure: `(family, type, proto, canonname, sockaddr)`", asked as Pycom asks it,
    getaddrinfo(host, port), for the port of a TCP echo peer and of a UDP echo peer: a non-empty list
    of 5-tuples, each with family AF_INET (the family of the Internet protocols), a type among Pycom's
    socket types and a number for proto; socket(family, type, proto) then connect(sockaddr) reaches
    the peer, for every item of the peer's own type. The TCP peer's list has a SOCK_STREAM item (else
    no socket connected to that service could be made from it; Pycom's example connects socket() to
    [0][-1]). With no type asked for, whether the UDP peer's list has a SOCK_DGRAM item is the port's:
    reported, and checked where there is one. canonname is reported."""
    c = _consts(side, ["AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW"])
    types = {c[n]: n for n in ("SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW") if c[n] is not None}
    for peer, kind in ((side.echo(), "SOCK_STREAM"), (side.udp_echo(), "SOCK_DGRAM")):
        ask = ("getaddrinfo", [side.host, peer.port])
        asked = "getaddrinfo(%r, %d)" % (side.host, peer.port)
        infos = side.ok(side.call([ask])[0], asked)
        side.need(isinstance(infos, list) and len(infos) > 0, "%s gave %r, not a non-empty list" % (asked, infos),
                  "pycom:gai.shape")
        for info in infos:
            side.need(isinstance(info, tuple) and len(info) == 5, "%s gave the item %r, not a 5-tuple (family, "
                      "type, proto, canonname, sockaddr)" % (asked, info), "pycom:gai.shape")
            family, kind_, proto, canonname, _ = info
            side.check(family == c["AF_INET"], "%s: family %r in %r, not AF_INET (%r)" % (asked, family, info,
                                                                                        c["AF_INET"]), "pycom:gai.shape")
            side.check(kind_ in types, "%s: type %r in %r is none of SOCK_STREAM, SOCK_DGRAM, SOCK_RAW (%r)"
                       % (asked, kind_, info, types), "pycom:gai.shape")
            side.check(isinstance(proto, int) and not isinstance(proto, bool), "%s: proto %r in %r is not a number"
                       % (asked, proto, info), "pycom:gai.shape")
            side.detail("canonname", repr(canonname))
        side.detail("items for a %s peer" % kind, [(types.get(i[1], i[1]), i[2]) for i in infos])
        mine = [k for k, info in enumerate(infos) if info[1] == c[kind]][:3]     # 8 handles in all
        if kind == "SOCK_STREAM":
            side.check(mine, "%s, the port of a TCP service, gave no SOCK_STREAM item: %r" % (asked, infos))
            side.detail("item [0] is SOCK_STREAM", 0 in mine)
        for k in mine:
            payload = b"item %d of getaddrinfo for a %s peer" % (k, kind.encode())
            ops = [ask, ("socket", [Ref(0, k, 0), Ref(0, k, 1), Ref(0, k, 2)]), ("connect", [Ref(1), Ref(0, k, -1)]),
                   ("send", [Ref(1), payload])]
            what = "socket(*item[:3]), connect(item[-1]) and send with item %d of %r" % (k, infos)
            r = side.call(ops if kind == "SOCK_STREAM" else ops[:3])
            for x in r:
                side.ok(x, what)
            if kind == "SOCK_STREAM":
                n = r[3].value
                side.check(isinstance(n, int) and 0 < n and peer.wait_received(len(peer.received) + n) and
                           payload[:n] in bytes(peer.received),
                           "%s: send returned %r; the TCP peer received %r" % (what, n, bytes(peer.received)))
            else:
                side.check(_sent_to(side, peer, ("send", [r[1].value, payload]), payload, what),
                           "%s: the UDP peer received %r, not %r" % (what, peer.datagrams(0, 0), payload))


@case("pycom:close.fail-after")
def test_pycom_every_method_fails_on_a_closed_socket(side):
    """"Mark the socket closed. Once that happens, all future operations on the socket object will
    fail.": after close() on a connected socket, every method of Pycom's document raises (readall
    among them, which the canonical document does not have), and not EAGAIN, EWOULDBLOCK or
    EINPROGRESS: "try again" is not a failure. The socket is made non-blocking before close(), so that
    a method that waited would say so rather than hang. The exceptions are reported. makefile is
    reported only: the canonical document, which Pycom's profile includes, calls it a no-op;
    do_handshake is for a socket wrapped by ssl."""
    echo = side.echo()
    h = side.connected(echo)[1].value
    r = side.call([("setblocking", [h, False]), ("close", [h])])
    side.ok(r[0], "setblocking(False)")
    side.ok(r[1], "close()")
    sol, reuse = side.const("SOL_SOCKET"), side.const("SO_REUSEADDR")
    addr = [side.address(ANY, side.free_port()), side.address(side.host, echo)]
    ops = [("bind", [h, side.at(0)]), ("listen", [h, 1]), ("accept", [h]), ("connect", [h, side.at(1)]),
           ("send", [h, b"x"]), ("sendall", [h, b"x"]), ("recv", [h, 1]), ("sendto", [h, b"x", side.at(1)]),
           ("recvfrom", [h, 1]), ("read", [h, 1]), ("readall", [h]), ("readinto", [h, 1]), ("readline", [h]),
           ("write", [h, b"x"])]
    if None not in (sol, reuse):
        ops.append(("setsockopt", [h, sol, reuse, 1]))
    ops += [("settimeout", [h, 1.0]), ("setblocking", [h, True])]   # last: they could change the others
    results = []
    for k in range(0, len(ops), 8):        # within the agent's ops per request
        results += side.call(addr + ops[k:k + 8], mode="C", nonblocking=True)[len(addr):]
    raised = {}
    for (name, _), x in zip(ops, results):
        side.check(isinstance(x, Raised), "%s on a closed socket %s" % (name, shown(x)))
        side.check(x.errno not in WOULD_BLOCK, "%s on a closed socket raised %s, as if it could still succeed"
                   % (name, shown(x)))
        raised[name] = "%s %s" % (x.cls, x.errno)
    side.detail("raised", raised)
    side.detail("makefile('rb') on a closed socket", shown(side.call([("makefile", [h, "rb"])])[0]))


def _outcome(r):
    """A result as a comparable value: the exception and its errno, or the type of what returned."""
    if isinstance(r, Raised):
        return "%s %s" % (r.cls, r.errno or r.args)
    return "returned %s" % type(r.value).__name__


# the two ways Pycom's document gives to each mode: (clause, op, value)
NON_BLOCKING = [("pycom:settimeout.zero-none", "settimeout", 0.0), ("pycom:setblocking", "setblocking", False)]
BLOCKING = [("pycom:settimeout.zero-none", "settimeout", None), ("pycom:setblocking", "setblocking", True)]


@case("pycom:settimeout.zero-none", "pycom:setblocking", "pycom:setblocking.equivalent",
      "pycom:setblocking.shorthand", needs=["settimeout"])
def test_pycom_settimeout_zero_point_zero_and_setblocking_false_do_not_wait(side):
    """"If zero is given, the socket is put in non-blocking mode."; setblocking: "if flag is false,
    the socket is set to non-blocking", "a shorthand for certain `settimeout()` calls: ...
    s.setblocking(False) #is equivalent to s.settimeout(0.0)", with Pycom's 0.0: recv where nothing
    comes, on a connection made non-blocking by settimeout(0.0) and on one that had settimeout(1.0)
    first, and connect where SYNs go unanswered, on a new socket made so: each ends at once, the
    same way on both connections; and setblocking(False) gives the same three answers. How a
    non-blocking call ends is the port's (the document names no errno for it): reported."""
    silent, hole = side.silent(), side.blackhole()
    addr = side.addr_of(side.ok(side.call([side.address(side.host, hole)])[0], "the address"))
    outcomes = {}
    for clause, name, v in NON_BLOCKING:
        handles = [side.connected(silent, extra=before + [(name, [Ref(1), v])])[1].value
                   for before in ([], [("settimeout", [Ref(1), 1.0])])]
        r = side.call([("socket", []), (name, [Ref(0), v])])
        side.ok(r[1], "%s(%r) on a new socket" % (name, v), clause)
        handles.append(side.ok(r[0], "socket()"))
        r, took = side.timed([("recv", [handles[0], 10]), ("recv", [handles[1], 10]), ("connect", [handles[2], addr])],
                             mode="C", nonblocking=True)
        hi = side.window(0)[1]
        side.check(took <= hi, "after %s(%r): recv on a connection, recv on one that had a 1 s timeout first and "
                   "connect, with nothing there, took %.1f ms, more than %.0f ms" % (name, v, took * 1e3, hi * 1e3),
                   clause)
        outcomes[name] = [_outcome(x) for x in r]
        side.check(outcomes[name][0] == outcomes[name][1], "after %s(%r), recv gave %s on a connection but %s on one "
                   "that had a 1 s timeout first" % (name, v, outcomes[name][0], outcomes[name][1]), clause)
        side.detail("non-blocking recv, connect after %s(%r)" % (name, v), outcomes[name][1:])
    side.check(outcomes["setblocking"] == outcomes["settimeout"], "recv, recv and connect gave %s after "
               "setblocking(False) but %s after settimeout(0.0)" % (outcomes["setblocking"], outcomes["settimeout"]),
               "pycom:setblocking.equivalent")


@case("pycom:settimeout.zero-none", "pycom:setblocking", "pycom:setblocking.equivalent",
      "pycom:setblocking.shorthand", needs=["settimeout"], slow=0.15)
def test_pycom_settimeout_none_and_setblocking_true_wait(side):
    """"If None is given, the socket is put in blocking mode."; setblocking: "else to blocking mode",
    "a shorthand for certain `settimeout()` calls: s.setblocking(True) # is equivalent to
    s.settimeout(None)": recv from peers that send 0.15 s after the connection, on connections that
    had a 50 ms timeout or were non-blocking (settimeout(0.0)), then settimeout(None) or
    setblocking(True): every recv waits and returns the data."""
    starts = [("settimeout", 0.05), ("settimeout", 0.0)]
    ways = [(start, way) for way in BLOCKING for start in starts]
    handles = [side.connected(side.source(b"late", delay=0.15), extra=[(n1, [Ref(1), v1]), (n2, [Ref(1), v2])])[1].value
               for (n1, v1), (_, n2, v2) in ways]
    r = side.call([("recv", [h, 10]) for h in handles], mode="C", timeout=10)
    got = {}
    for ((n1, v1), (clause, n2, v2)), x in zip(ways, r):
        got[(n1, v1, n2)] = _outcome(x)
        side.check(isinstance(x, Ok) and x.value and b"late".startswith(x.value), "%s(%r) then %s(%r): recv gave "
                   "%s, not the data that came 0.15 s later" % (n1, v1, n2, v2, shown(x)), clause)
    for n1, v1 in starts:
        side.check(got[(n1, v1, "setblocking")] == got[(n1, v1, "settimeout")], "after %s(%r), recv gave %s after "
                   "setblocking(True) but %s after settimeout(None)" % (n1, v1, got[(n1, v1, "setblocking")],
                                                                       got[(n1, v1, "settimeout")]),
                   "pycom:setblocking.equivalent")


# a CRLF, a lone CR, NUL, and bytes that are not UTF-8: what a text file would change or refuse
BINARY = b"bin\r\nary\r\x00\xff\xfe\xe9\n"


def _binary_file(side, peer, mode):
    """Connect to peer with a 2 s timeout and call makefile(mode): the file's handle; for a text
    mode ('r', 'w'), which Pycom does not support, what it did is reported, and None if it raised."""
    f = side.connected(peer, extra=[("settimeout", [Ref(1), 2.0]), ("makefile", [Ref(1), mode])], mode="C")[4]
    if "b" not in mode:
        side.detail("makefile(%r)" % mode, shown(f) if not isinstance(f, Ok) else "returned a file")
        if not isinstance(f, Ok):
            return None
    return side.ok(f, "makefile(%r)" % mode)


@case("pycom:makefile.binary")
def test_pycom_makefile_files_are_binary(side):
    """"The support is limited to binary modes only (`rb` and `wb`).": through makefile('rb') the
    bytes a peer sends come as they are, and through makefile('wb') bytes go out as they are (a
    CRLF, a lone CR, NUL and bytes that are not UTF-8 among them). The text modes 'r' and 'w' are
    not supported: makefile raises, or what it returns still reads and writes those bytes unchanged
    (never a text file); which, is reported. A file may keep written bytes in a buffer (the
    document speaks of "the file object's internal buffer"), so what went through a file that
    writes is looked for after closing it, which closes the socket too."""
    for mode in ("rb", "r"):
        f = _binary_file(side, side.source(BINARY), mode)
        if f is None:
            continue
        x = side.call([("read", [f, len(BINARY)])], timeout=10)[0]
        side.check(isinstance(x, Ok) and x.value == BINARY, "reading the peer's %r through makefile(%r) gave %s"
                   % (BINARY, mode, shown(x)))
    for mode in ("wb", "w"):
        peer = side.sink()
        f = _binary_file(side, peer, mode)
        if f is None:
            continue
        r = side.call([("write", [f, BINARY]), ("close", [f])], mode="C", timeout=10)
        side.check(isinstance(r[0], Ok) and r[0].value == len(BINARY), "writing %d bytes through makefile(%r) gave "
                   "%s" % (len(BINARY), mode, shown(r[0])))
        side.ok(r[1], "close() on the file from makefile(%r)" % mode)
        sent, ended = peer.drain_to_end(5.0)
        side.check(sent == BINARY, "through makefile(%r), then its close(), the peer received %r, not %r"
                   % (mode, sent, BINARY))
        side.detail("the peer saw the end of the stream after makefile(%r)'s close()" % mode, ended)


# CPython's text arguments of makefile, each with a value its text files take
CPYTHON_ARGS = [("encoding", "utf-8"), ("errors", "strict"), ("newline", "")]


@pytest.mark.parametrize("name, value", CPYTHON_ARGS, ids=[a[0] for a in CPYTHON_ARGS])
@case("pycom:makefile.cpython-args")
def test_pycom_makefile_takes_no_cpython_text_arguments(side, name, value):
    """"CPython's arguments: `encoding`, `errors`, and `newline` are not supported.":
    makefile('rb', encoding='utf-8') (errors='strict', newline='') raises, or gives a file on which
    the argument does nothing: the peer's bytes, a CRLF, a lone CR, NUL and bytes that are not UTF-8
    among them, come through it unchanged, as bytes. Which, is reported."""
    r = side.connected(side.source(BINARY), extra=[("settimeout", [Ref(1), 2.0]),
                                                    ("makefile", [Ref(1), "rb", Kw(name, value)])], mode="C")
    f = r[4]
    side.detail("makefile('rb', %s=%r)" % (name, value), shown(f) if not isinstance(f, Ok) else "returned a file")
    if not isinstance(f, Ok):
        return
    x = side.call([("read", [f.value, len(BINARY)])], timeout=10)[0]
    side.check(isinstance(x, Ok) and x.value == BINARY, "makefile('rb', %s=%r) returned a file; reading the peer's "
               "%r through it gave %s" % (name, value, BINARY, shown(x)))


def _shut(host):
    try:
        host.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@case("pycom:read.readall", "pycom:readall", slow=0.4)
def test_pycom_read_without_size_behaves_like_readall(side):
    """"If `size` is not given, it behaves just like socket.readall()", which is "Read all data
    available from the socket until EOF. This function will not return until the socket is
    closed.": on each of two connections the host makes to the target, it sends the same bytes,
    then closes its end 0.2 s after the target's read() (on the first) or readall() (on the
    second) began. Each returns every byte, not before that close, and the two return the same."""
    data = b"read() is readall(): every byte until EOF\n" * 6
    port = side.free_port()
    r = side.call(side.listening(port))
    for x in r:
        side.ok(x, "listening on port %d" % port)
    listener = r[1].value
    got = {}
    for op, clause in (("read", "pycom:read.readall"), ("readall", "pycom:readall")):
        host = side.dial(port)
        pair = side.ok(side.call([("accept", [listener])], timeout=10)[0], "accept")
        side.need(isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Handle),
                  "accept gave %r, not (conn, address)" % (pair,))
        host.sendall(data)
        closer = threading.Timer(0.2, _shut, (host,))
        start = time.monotonic()
        closer.start()
        try:
            x = side.call([(op, [pair[0]])], timeout=10)[0]
        finally:
            closer.cancel()
            closer.join()
        took = time.monotonic() - start
        got[op] = side.ok(x, "%s()" % op, clause)
        side.check(got[op] == data, "%s() gave %d bytes %r...; the host sent %d, then closed" % (
            op, len(got[op]), got[op][:24], len(data)), clause)
        side.check(took >= 0.2, "%s() returned after %.1f ms, before the host closed its end at 200 ms" % (
            op, took * 1e3), clause)
    side.check(got["read"] == got["readall"], "read() gave %d bytes, readall() %d, from the same bytes and close"
               % (len(got["read"]), len(got["readall"])))


@case("pycom:exceptions")
def test_pycom_module_has_error_and_timeout(side):
    """"Exceptions: `socket.error`, `socket.timeout`": the module has both names (the canonical
    document's MicroPython has no `error`: Pycom's profile documents that deviation on
    mp:error.absent). What each is, is reported; that an expired timeout raises socket.timeout is
    test_pycom_timeout_raises_the_timeout_exception's."""
    names = side.const("error", "timeout")
    absent = [n for n in ("error", "timeout") if names[n] is None]
    side.check(not absent, "the module has no %s" % " and no ".join("socket.%s" % n for n in absent))
    side.detail("socket.error, socket.timeout", [names["error"], names["timeout"]])


ICMP_ECHO_REPLY, ICMP_ECHO = 0, 8


def _icmp_checksum(data):
    data += b"\0" * (len(data) % 2)
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def _echo_request(ident, seq, payload):
    head = struct.pack("!BBHHH", ICMP_ECHO, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ICMP_ECHO, 0, _icmp_checksum(head + payload), ident, seq) + payload


@case("pycom:socket.sock-raw", needs=["settimeout"])
def test_pycom_raw_socket_gives_ip_datagrams_without_link_headers(side):
    """"`socket.SOCK_RAW`: A raw socket receives or sends the raw datagram not including link level
    headers (INET, LoRa and Sigfox)", for INET: socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) sends an ICMP
    echo request to the host, whose own IP stack answers it (no peer is needed), and receives the
    reply as the raw IP datagram: an IPv4 header first (version 4, protocol 1 and a total length
    that is the datagram's own: no link-level header before it, nor trailer after), then the echo
    reply with the request's identifier, sequence number and data. (LoRa and Sigfox raw sockets
    need their radios.) UNSUPPORTED where the module lacks SOCK_RAW or IPPROTO_ICMP, which
    pycom:const.sock and pycom:const.ipproto require."""
    c = side.require_const("AF_INET", "SOCK_RAW", "IPPROTO_ICMP")
    ident, seq, payload = 0x5C0F, 386, b"sockconf raw datagram"
    r = side.call([side.address(side.host, 1, "SOCK_RAW"), ("socket", [c["AF_INET"], c["SOCK_RAW"], c["IPPROTO_ICMP"]]),
                   ("settimeout", [Ref(1), 2.0]), ("sendto", [Ref(1), _echo_request(ident, seq, payload), side.at(0)])])
    for x in r:
        side.ok(x, "an ICMP echo request to %s through socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)" % side.host)
    h = r[1].value
    seen = []
    for _ in range(8):                     # bounded: a loopback raw socket sees our own request too
        x = side.call([("recvfrom", [h, 512])], timeout=10)[0]
        if not isinstance(x, Ok):
            break
        d = bytes(x.value[0])
        seen.append(d[:28])
        side.check(len(d) >= 20 and d[0] >> 4 == 4, "the raw socket received %r: no IPv4 header first" % (d[:24],))
        ihl = (d[0] & 15) * 4
        side.check(struct.unpack("!H", d[2:4])[0] == len(d) and d[9] == 1, "the raw socket received %d bytes whose "
                   "IPv4 header says %d bytes, protocol %d: not the IP datagram alone" % (
                       len(d), struct.unpack("!H", d[2:4])[0], d[9]))
        icmp = d[ihl:]
        if len(icmp) >= 8 and icmp[0] == ICMP_ECHO_REPLY and struct.unpack("!HH", icmp[4:8]) == (ident, seq):
            side.check(icmp[8:] == payload, "the echo reply carries %r, the request carried %r" % (icmp[8:], payload))
            side.detail("datagrams before the reply", len(seen) - 1)
            return
    side.check(False, "no ICMP echo reply came to the raw socket within 2 s of the request; it received %r, then %s"
               % (seen, shown(x)))
