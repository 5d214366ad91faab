"""A socket's life in micropython-usocket.txt: socket(), the constants it is made and tuned with,
bind, listen, accept, connect, setsockopt, close, and the one exception class (no usocket.error).

Accepting and receiving go through non-blocking sockets retried for a bounded time, so that a
target that never answers makes a case fail, not hang the link. Errno names are details unless
the docs name them (ref/SEMANTICS.md says which are impl-defined)."""
import pytest

from sockconf.case import ANY, case, shown
from sockconf.wire import Handle, Raised, Ref

WOULD_BLOCK = ("EAGAIN", "EWOULDBLOCK")
NOT_FAILED = WOULD_BLOCK + ("EINPROGRESS", "ETIMEDOUT")   # "try again", not "this cannot be done"
# OSError and Python's builtin subclasses of it: "raises OSError" holds for these; only
# mp:error.absent asks for OSError itself
OSERRORS = {"OSError", "BlockingIOError", "BrokenPipeError", "ConnectionError", "ConnectionAbortedError",
            "ConnectionRefusedError", "ConnectionResetError", "InterruptedError", "PermissionError", "TimeoutError"}

def _oserror(side, r, what, clause=None):
    """Check that r raised OSError (or a builtin subclass of it); r."""
    side.check(isinstance(r, Raised) and r.cls in OSERRORS, "%s %s, not OSError" % (what, shown(r)), clause)
    return r


def _listen(side, port, backlog=(1,), options=(), clause=None):
    """Run side.listening; the listening socket's handle."""
    r = side.call(side.listening(port, backlog, options=options))
    for x in r:
        side.ok(x, "listening on port %d with listen%r" % (port, tuple(backlog)), clause)
    return r[1].value


def _accept(side, listener, clause=None):
    """accept() on the listener made non-blocking, retried while it would block: (conn, address)."""
    side.ok(side.call([side.nonblocking(listener)])[0], "making the listener non-blocking", clause)
    pair = side.ok(side.retry(("accept", [listener])), "accept", clause)
    side.check(isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Handle),
               "accept returned %r, not a pair (conn, address)" % (pair,), clause)
    return pair


def _exchange(side, conn, host_sock, clause=None):
    """Data both ways between an accepted conn and the host's socket; checks each arrives whole."""
    side.ok(side.call([side.nonblocking(conn)])[0], "making conn non-blocking", clause)
    sent = side.ok(side.call([("send", [conn, b"to-host"])])[0], "conn.send", clause)
    side.check(isinstance(sent, int) and 0 < sent <= 7, "conn.send(b'to-host') returned %r" % (sent,), clause)
    got = b""
    try:
        while len(got) < sent:
            chunk = host_sock.recv(64)
            if not chunk:
                break
            got += chunk
    except OSError as e:
        got += (" (%s)" % e).encode()
    side.check(got == b"to-host"[:sent], "the host received %r from conn, which sent %d bytes" % (got, sent), clause)
    host_sock.sendall(b"to-conn")
    back = b""
    for _ in range(20):   # bounded: 7 bytes, perhaps in pieces
        chunk = side.ok(side.retry(("recv", [conn, 7 - len(back)])), "conn.recv", clause)
        if not chunk:
            break
        back += chunk
        if len(back) >= 7:
            break
    side.check(back == b"to-conn", "conn received %r, the host sent b'to-conn'" % back, clause)


def _port_of(address):
    """The port in an (ip, port...) tuple address, else None."""
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
        return address[1]
    return None

# ---- socket() ----

@case("mp:socket.create")
def test_socket_makes_the_family_type_and_protocol_given(side):
    """socket(AF_INET, SOCK_STREAM[, IPPROTO_TCP]) reaches a TCP peer; socket(AF_INET, SOCK_DGRAM[,
    IPPROTO_UDP]) a UDP peer, one datagram per sendto; socket() is the signature's AF_INET,
    SOCK_STREAM. The protocol is given where the port has the IPPROTO_* constant."""
    af, stream, dgram = side.const("AF_INET"), side.const("SOCK_STREAM"), side.const("SOCK_DGRAM")
    tcp, udp_proto = side.const("IPPROTO_TCP"), side.const("IPPROTO_UDP")
    echo, default, udp = side.echo(), side.echo(), side.udp_echo()
    args = [af, stream] + ([tcp] if tcp is not None else [])
    r = side.call([side.address(side.host, echo), ("socket", args),
                   ("connect", [Ref(1), side.at(0)]), ("sendall", [Ref(1), b"stream"]),
                   side.address(side.host, default), ("socket", []),
                   ("connect", [Ref(5), side.at(4)]), ("sendall", [Ref(5), b"default"])])
    for x in r:
        side.ok(x, "socket(%s) and socket() connecting to a TCP peer" % ", ".join(map(str, args)))
    got = echo.wait_received(6), default.wait_received(7)
    side.check(got == (b"stream", b"default"), "the TCP peers received %r from socket(%s) and socket()"
               % (got, ", ".join(map(str, args))))
    args = [af, dgram] + ([udp_proto] if udp_proto is not None else [])
    r = side.call([side.address(side.host, udp, "SOCK_DGRAM"), ("socket", args)] + side.bind_any(Ref(1), 2) +
                  [("sendto", [Ref(1), b"one", side.at(0)]), ("sendto", [Ref(1), b"two", side.at(0)])])
    for x in r:
        side.ok(x, "socket(%s) sending to a UDP peer" % ", ".join(map(str, args)))
    got = udp.datagrams(2)
    side.check(got == [b"one", b"two"], "the UDP peer received %r from two sendto, not two datagrams" % (got,))


@case("mp:socket.proto-auto", "mp:socket.proto-optional", "mp:socket.proto-example", "mp:const.ipproto-auto")
def test_type_selects_the_protocol(side):
    """socket(AF_INET, SOCK_STREAM) is TCP and socket(AF_INET, SOCK_DGRAM) is UDP, no proto given
    ("specifying proto in most cases is not required")."""
    af, stream, dgram = side.const("AF_INET"), side.const("SOCK_STREAM"), side.const("SOCK_DGRAM")
    echo, udp = side.echo(), side.udp_echo()
    r = side.call([side.address(side.host, echo), ("socket", [af, stream]),
                   ("connect", [Ref(1), side.at(0)]), ("sendall", [Ref(1), b"tcp"]),
                   side.address(side.host, udp, "SOCK_DGRAM"), ("socket", [af, dgram])] + side.bind_any(Ref(5), 6) +
                  [("sendto", [Ref(5), b"udp", side.at(4)])])
    for x in r:
        side.ok(x, "socket(AF_INET, SOCK_STREAM) to a TCP peer and socket(AF_INET, SOCK_DGRAM) to a UDP peer")
    side.check(echo.wait_received(3) == b"tcp", "the TCP peer received %r" % bytes(echo.received))
    got = udp.datagrams(1)
    side.check(got == [b"udp"], "the UDP peer received %r" % (got,))


# ---- constants ----

def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


@case("mp:const.sock")
def test_socket_type_constants(side):
    """SOCK_STREAM and SOCK_DGRAM: present, ints, distinct, and socket() takes them."""
    c = side.const("AF_INET", "SOCK_STREAM", "SOCK_DGRAM")
    for name in ("SOCK_STREAM", "SOCK_DGRAM"):
        side.check(_is_int(c[name]), "%s is %r, not an int" % (name, c[name]))
    side.check(c["SOCK_STREAM"] != c["SOCK_DGRAM"], "SOCK_STREAM and SOCK_DGRAM are both %r" % (c["SOCK_STREAM"],))
    r = side.call([("socket", [c["AF_INET"], c["SOCK_STREAM"]]), ("socket", [c["AF_INET"], c["SOCK_DGRAM"]])],
                  mode="C")
    for name, x in zip(("SOCK_STREAM", "SOCK_DGRAM"), r):
        side.ok(x, "socket(AF_INET, %s)" % name)


@case("mp:const.ipproto")
def test_ip_protocol_constants(side):
    """IPPROTO_TCP and IPPROTO_UDP where the port has them: ints, distinct, and socket() takes each
    with its type. UNSUPPORTED where the port has neither."""
    c = side.const("AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "IPPROTO_TCP", "IPPROTO_UDP")
    present = [n for n in ("IPPROTO_TCP", "IPPROTO_UDP") if c[n] is not None]
    side.detail("present", present)
    if not present:
        side.require_const("IPPROTO_TCP", "IPPROTO_UDP")
    for name in present:
        side.check(_is_int(c[name]), "%s is %r, not an int" % (name, c[name]))
    if len(present) == 2:
        side.check(c["IPPROTO_TCP"] != c["IPPROTO_UDP"],
                   "IPPROTO_TCP and IPPROTO_UDP are both %r" % (c["IPPROTO_TCP"],))
    kinds = {"IPPROTO_TCP": "SOCK_STREAM", "IPPROTO_UDP": "SOCK_DGRAM"}
    r = side.call([("socket", [c["AF_INET"], c[kinds[n]], c[n]]) for n in present], mode="C")
    for name, x in zip(present, r):
        side.ok(x, "socket(AF_INET, %s, %s)" % (kinds[name], name))


@case("mp:const.sol")
def test_socket_option_level_constant(side):
    """SOL_SOCKET (the inventory is the port's: UNSUPPORTED without it) is an int that setsockopt
    takes as the level of SO_REUSEADDR."""
    sol = side.require_const("SOL_SOCKET")
    side.check(_is_int(sol), "SOL_SOCKET is %r, not an int" % (sol,))
    reuse = side.require_const("SO_REUSEADDR")
    r = side.call([("socket", []), ("setsockopt", [Ref(0), sol, reuse, 1])])
    side.ok(r[-1], "setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)")


SO_ON = {"SO_REUSEADDR": "SOCK_STREAM", "SO_KEEPALIVE": "SOCK_STREAM", "SO_BROADCAST": "SOCK_DGRAM"}


@case("mp:const.so")
def test_socket_option_constants(side):
    """The SO_* constants the port has (of SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST; UNSUPPORTED with
    none): distinct ints that setsockopt(SOL_SOCKET, ...) takes, each on a socket it suits."""
    c = side.const("AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "SOL_SOCKET", *SO_ON)
    present = [n for n in SO_ON if c[n] is not None]
    side.detail("present", present)
    if not present:
        side.require_const(*SO_ON)
    sol = side.require_const("SOL_SOCKET")
    for name in present:
        side.check(_is_int(c[name]), "%s is %r, not an int" % (name, c[name]))
    values = [c[n] for n in present]
    side.check(len(set(values)) == len(values), "the options are not distinct: %r" % dict(zip(present, values)))
    ops = []
    for name in present:
        ops += [("socket", [c["AF_INET"], c[SO_ON[name]]]), ("setsockopt", [Ref(len(ops)), sol, c[name], 1])]
    r = side.call(ops, mode="C")
    for k, name in enumerate(present):
        side.ok(r[2 * k], "socket(AF_INET, %s)" % SO_ON[name])
        side.ok(r[2 * k + 1], "setsockopt(SOL_SOCKET, %s, 1) on a %s socket" % (name, SO_ON[name]))


# ---- bind, listen, accept ----

@case("mp:bind")
def test_bind_gives_the_socket_its_address(side):
    """A TCP socket bound to port P takes the host's connection on P; a UDP socket bound to port Q
    receives the datagram the host sends to Q."""
    port = side.free_port()
    listener = _listen(side, port)
    dialed = side.try_dial(port)
    side.check(not isinstance(dialed, OSError), "nothing took a connection on the bound port %d: %s"
               % (port, dialed))
    _accept(side, listener)

    port = side.free_port()
    r = side.call(side.udp_bound(port) + [side.nonblocking(Ref(1))])
    for x in r:
        side.ok(x, "a UDP socket bound to port %d" % port)
    sender = side.udp_sender()
    sender.send(b"bound", side.listen_host, port)
    got = side.ok(side.retry(("recvfrom", [r[1].value, 16])), "recvfrom on the bound UDP socket")
    side.check(got[0] == b"bound", "the UDP socket bound to port %d received %r, the host sent b'bound'"
               % (port, got[0]))
    side.detail("recvfrom address", repr(got[1]))


@case("mp:bind.once")
def test_second_bind_fails(side):
    """Binding a socket that is already bound (to another free port) raises; the exception: a detail."""
    first, second = side.free_port(), side.free_port()
    r = side.call([side.address(ANY, first), side.address(ANY, second),
                   ("socket", []), ("bind", [Ref(2), side.at(0)]), ("bind", [Ref(2), side.at(1)])], mode="C")
    for x in r[:4]:
        side.ok(x, "the first bind")
    side.check(isinstance(r[4], Raised), "a second bind (port %d after %d) %s" % (second, first, shown(r[4])))
    side.detail("second bind", shown(r[4]))


@case("mp:listen", slow=0.3)
def test_listen_enables_accepting_connections(side):
    """Bound but not listening, the port takes no connection; after listen(1) it does, and accept
    gives a connection that carries data both ways."""
    port = side.free_port()
    r = side.call(side.listening(port)[:-1])
    for x in r:
        side.ok(x, "binding port %d" % port)
    early = side.try_dial(port, timeout=0.3)
    side.check(isinstance(early, OSError), "a connection to port %d was taken before listen()" % port)
    side.detail("before listen", type(early).__name__ if isinstance(early, OSError) else "connected")
    side.ok(side.call([("listen", [r[1].value, 1])])[0], "listen(1)")
    dialed = side.try_dial(port)
    side.check(not isinstance(dialed, OSError), "after listen(1), a connection to port %d failed: %s"
               % (port, dialed))
    conn, _ = _accept(side, r[1].value)
    _exchange(side, conn, dialed)


@case("mp:listen.clamp", "mp:accept", slow=0.4)
def test_negative_backlog_is_taken(side):
    """"if it's lower, it will be set to 0": listen(-1) returns (no error), and its socket behaves
    as one given listen(0). With a backlog of 0 no unaccepted connection need be allowed, so a
    connection made before accept() may be refused: for each of listen(-1) and listen(0), whether
    one is taken is reported, and must be the same; then a blocking accept() takes the connection
    the host makes while it waits."""
    taken = {}
    for backlog in (-1, 0):
        port = side.free_port()
        listener = _listen(side, port, backlog=(backlog,))
        early = side.try_dial(port, timeout=0.2)
        taken[backlog] = not isinstance(early, OSError)
        side.ok(side.call([side.blocking(listener)])[0], "making the listener blocking")
        if not taken[backlog]:
            side.late_dial(port, 0.2)
        pair = side.ok(side.call([("accept", [listener])], timeout=10)[0], "accept() after listen(%d)" % backlog,
                       "mp:accept")
        side.check(isinstance(pair, tuple) and isinstance(pair[0], Handle), "accept() after listen(%d) gave %r"
                   % (backlog, pair), "mp:accept")
    side.detail("a connection before accept() was taken", "listen(-1): %s, listen(0): %s" % (taken[-1], taken[0]))
    side.check(taken[-1] == taken[0], "a connection made before accept() was %s after listen(-1) but %s after "
               "listen(0): -1 was not set to 0" % (("refused", "taken")[taken[-1]], ("refused", "taken")[taken[0]]))


@case("mp:listen.default")
def test_listen_without_backlog(side):
    """listen() picks a reasonable backlog: the socket accepts a connection made before accept()."""
    port = side.free_port()
    listener = _listen(side, port, backlog=())
    dialed = side.try_dial(port)
    side.check(not isinstance(dialed, OSError), "after listen(), a connection to port %d failed: %s"
               % (port, dialed))
    conn, _ = _accept(side, listener)
    _exchange(side, conn, dialed)


@case("mp:listen.backlog", slow=0.4)
def test_backlog_connections_wait_to_be_accepted(side):
    """listen(2) "specifies the number of unaccepted connections that the system will allow": two
    connections made before any accept() are allowed, and accept() then returns both. Whether
    more are refused is a detail: the oracle does not enforce the backlog (ref/SEMANTICS.md,
    lwIP without TCP_LISTEN_BACKLOG; on slirp the host side accepts them anyway)."""
    backlog = 2
    port = side.free_port()
    listener = _listen(side, port, backlog=(backlog,))
    dialed = []
    for k in range(backlog):
        s = side.try_dial(port)
        side.check(not isinstance(s, OSError), "connection %d of a backlog of %d was not allowed: %s"
                   % (k + 1, backlog, s))
        dialed.append(s)
    beyond = [not isinstance(side.try_dial(port, timeout=0.2), OSError) for _ in range(2)]
    side.detail("connections beyond the backlog allowed (of 2 tried)", sum(beyond))
    wanted = {s.getsockname()[1] for s in dialed}
    seen, accepted = set(), 0
    for _ in range(backlog + sum(beyond)):
        conn, address = _accept(side, listener)
        accepted += 1
        seen.add(_port_of(address))
        if wanted <= seen or (None in seen and accepted >= backlog):
            break
    if all(p is not None for p in seen):
        side.check(wanted <= seen, "accept() returned peers on ports %r; the connections within the backlog "
                   "came from %r" % (sorted(seen), sorted(wanted)))
    side.detail("accepts to reach the backlog's connections", accepted)


@pytest.mark.parametrize("state", ["new", "bound"])
@case("mp:accept.listening")
def test_accept_on_a_socket_not_listening_raises(side, state):
    """accept() on a socket that is not listening raises OSError: not "try again" (the socket is
    non-blocking, so that a target that waited instead would say EAGAIN); the errno: a detail."""
    ops = [side.address(ANY, side.free_port()), ("socket", []), side.nonblocking(Ref(1))]
    if state == "bound":
        ops.append(("bind", [Ref(1), side.at(0)]))
    r = side.call(ops + [("accept", [Ref(1)])], mode="C")
    for x in r[:-1]:
        side.ok(x, "a %s socket" % state)
    _oserror(side, r[-1], "accept() on a %s socket" % state)
    side.check(r[-1].errno not in WOULD_BLOCK, "accept() on a %s socket that is not listening raised %s, as if "
               "a connection could still come" % (state, shown(r[-1])))
    side.detail("errno", r[-1].errno)


@case("mp:accept.pair", needs=["tuple-address"])
def test_accept_address_is_the_peers(side):
    """accept() returns (conn, address): conn carries data both ways with the host's socket, and
    address is that socket's: its port is the host socket's local port (slirp keeps ports; the
    address part is where the target sees the host from, shown as a detail)."""
    port = side.free_port()
    listener = _listen(side, port)
    dialed = side.try_dial(port)
    side.check(not isinstance(dialed, OSError), "a connection to the listening port %d failed: %s"
               % (port, dialed))
    conn, address = _accept(side, listener)
    local = dialed.getsockname()
    side.check(_port_of(address) == local[1], "accept() gave address %r; the host's socket is %r"
               % (address, local))
    side.detail("address", repr(address))
    side.detail("address is the target's view of the host", isinstance(address, tuple) and address[0] == side.host)
    _exchange(side, conn, dialed)


# ---- connect ----

@case("mp:connect")
def test_connect_reaches_the_peer_or_raises(side):
    """connect() to an echo peer carries data both ways; to a port where nothing listens it raises
    OSError (lwIP says ECONNRESET, the kernel ECONNREFUSED: a detail)."""
    echo = side.echo()
    r = side.connected(echo, extra=[("sendall", [Ref(1), b"connect"]), side.nonblocking(Ref(1))])
    side.ok(r[3], "sendall after connect")
    side.check(echo.wait_received(7) == b"connect", "the peer received %r" % bytes(echo.received))
    back = b""
    for _ in range(20):   # bounded: 7 bytes, perhaps in pieces
        chunk = side.ok(side.retry(("recv", [r[1].value, 7 - len(back)])), "recv from the peer")
        if not chunk:
            break
        back += chunk
        if len(back) >= 7:
            break
    side.check(back == b"connect", "recv after connect got %r back from the echo peer" % back)
    closed = side.closed_port()
    r = side.call(side.connect(closed), mode="C")
    side.ok(r[1], "socket()")
    _oserror(side, r[2], "connect to port %d where nothing listens" % closed)
    side.detail("refused", r[2].errno)


# ---- setsockopt ----

@pytest.mark.parametrize("value", [1, b"\x01\x00\x00\x00"], ids=["int", "bytes"])
@case("mp:setsockopt", "mp:setsockopt.value")
def test_so_reuseaddr_lets_a_new_listener_take_a_port_in_time_wait(side, value):
    """setsockopt(SOL_SOCKET, SO_REUSEADDR, value), value an int or a buffer, returns; and the option
    is set: a listener with it takes over a port whose connection the target closed first (TIME_WAIT),
    where the first listener had it too. Without it, whether the port is refused: a detail."""
    sol, reuse = side.require_const("SOL_SOCKET"), side.require_const("SO_REUSEADDR")
    option = [("setsockopt", [Ref(1), sol, reuse, value])]
    port = side.free_port()
    r = side.call(side.listening(port, options=option))
    side.ok(r[2], "setsockopt(SOL_SOCKET, SO_REUSEADDR, %r)" % (value,), "mp:setsockopt.value")
    side.detail("setsockopt returned", r[2].value)     # what it returns, the document does not say
    for x in r:
        side.ok(x, "listening on port %d" % port)
    dialed = side.try_dial(port)
    side.check(not isinstance(dialed, OSError), "a connection to port %d failed: %s" % (port, dialed))
    conn, _ = _accept(side, r[1].value)
    side.call([("close", [conn]), ("close", [r[1].value])])
    try:                                   # the target closed first; the host closes on the EOF
        dialed.settimeout(2.0)
        eof = dialed.recv(16)
    except OSError as e:
        eof = e
    dialed.close()
    side.detail("host saw", repr(eof))
    plain = side.call(side.listening(port)[:-1] + [("close", [Ref(1)])], mode="C")
    side.detail("bind without SO_REUSEADDR", shown(plain[2]))
    r = side.call(side.listening(port, options=option), mode="C")
    for x in r:
        side.ok(x, "with SO_REUSEADDR=%r again, binding port %d after its connection closed" % (value, port))
    again = side.try_dial(port)
    side.check(not isinstance(again, OSError), "the new listener on port %d took no connection: %s" % (port, again))
    _accept(side, r[1].value)


# ---- close ----

@pytest.mark.parametrize("state", ["new", "connected", "listening"])
@case("mp:close.fail-after")
def test_every_operation_on_a_closed_socket_fails(side, state):
    """After close(), every documented method raises OSError, not "try again" (the socket was made
    non-blocking first, so a target that waited would say EAGAIN). makefile (a no-op, the docs
    say) and a second close are details. A closed listener's port is free again ("release all
    resources"): a new socket binds it and takes a connection."""
    have = set(side.info.get("ops", []))
    port = side.free_port()
    echo = side.echo()
    if state == "new":
        h = side.ok(side.call([("socket", [])])[0])
    elif state == "connected":
        h = side.connected(echo)[1].value
    else:
        h = _listen(side, port)
    r = side.call([side.nonblocking(h), ("close", [h])])
    side.ok(r[0], "making the socket non-blocking")
    side.ok(r[1], "close()")

    addr = [side.address(ANY, side.free_port()), side.address(side.host, echo)]
    ops = [("bind", [h, side.at(0)]), ("listen", [h]), ("accept", [h]), ("connect", [h, side.at(1)]),
           ("sendto", [h, b"x", side.at(1)]), ("recvfrom", [h, 1]), ("send", [h, b"x"]), ("sendall", [h, b"x"]),
           ("recv", [h, 1]), ("settimeout", [h, 1.0]), ("setblocking", [h, True]), ("read", [h, 1]),
           ("readinto", [h, 1]), ("readline", [h]), ("write", [h, b"x"])]
    sol, reuse = side.const("SOL_SOCKET"), side.const("SO_REUSEADDR")
    if sol is not None and reuse is not None:
        ops.append(("setsockopt", [h, sol, reuse, 1]))
    ops = [op for op in ops if op[0] in have]
    results = []
    for chunk in (ops[:8], ops[8:]):    # within the agent's ops per request
        if chunk:
            results += side.call(addr + chunk, mode="C")[len(addr):]
    for (name, _), x in zip(ops, results):
        _oserror(side, x, "%s on a closed %s socket" % (name, state))
        side.check(x.errno not in NOT_FAILED, "%s on a closed %s socket raised %s, as if it could still succeed"
                   % (name, state, shown(x)))
    side.detail("errnos", sorted({x.errno for x in results}))
    r = side.call([(n, [h] + a) for n, a in (("makefile", ["rb"]), ("close", [])) if n in have], mode="C")
    side.detail("makefile, close again", [shown(x) for x in r])

    if state == "listening":
        again = _listen(side, port)
        dialed = side.try_dial(port)
        side.check(not isinstance(dialed, OSError), "after the listener on port %d was closed, a new socket "
                   "could not take its port: %s" % (port, dialed))
        _accept(side, again)


# ---- the one exception class ----

@case("mp:error.absent")
def test_socket_failures_are_oserror_and_there_is_no_error_class(side):
    """"MicroPython does NOT have this exception": the module has no `error` (const answers None),
    and every socket failure is raised as OSError itself: a refused connect, a second bind, accept
    without listen, send on a socket never connected, an op on a closed socket, and a non-blocking
    recv with nothing to read. (Argument checks, such as a port out of range, may be ValueError.)"""
    side.check(side.const("error") is None, "the module has an `error` attribute: %r" % (side.const("error"),))
    silent = side.silent()
    cases = [
        ("refused connect", side.connect(side.closed_port())),
        ("second bind", [side.address(ANY, side.free_port()), side.address(ANY, side.free_port()), ("socket", []),
                         ("bind", [Ref(2), side.at(0)]), ("bind", [Ref(2), side.at(1)])]),
        ("accept without listen", [("socket", []), side.nonblocking(Ref(0)), ("accept", [Ref(0)])]),
        ("send never connected", [("socket", []), ("send", [Ref(0), b"x"])]),
        ("recv on a closed socket", [("socket", []), ("close", [Ref(0)]), ("recv", [Ref(0), 1])]),
        ("non-blocking recv, nothing to read", side.connect(silent, extra=[side.nonblocking(Ref(1)),
                                                                           ("recv", [Ref(1), 1])])),
    ]
    raised = {}
    for what, ops in cases:
        r = side.call(ops, mode="C")[-1]
        if not isinstance(r, Raised):
            side.detail(what, "did not fail: %s" % shown(r))
            continue
        raised[what] = "%s %s" % (r.cls, r.errno)
        side.check(r.cls == "OSError", "%s raised %s, not OSError" % (what, shown(r)))
    side.check(len(raised) >= 4, "only %d of %d failures happened: %r" % (len(raised), len(cases), raised))
    side.detail("raised", raised)
