"""uc386-socket.txt: what uc386's document says beyond the canonical one (IPv4 only, its constants
and TCP_NODELAY's value and use, tuple sockaddrs, blocking by default, recv_into, fileno, the
constructor's keyword signature). These run only with a profile that names uc386-socket.txt;
ETIMEDOUT on expiry and b'' on FIN are checked by test_streams.py, which cites uc386's clauses for
them, and the rows of the method table that restate canonical sentences have no case here: their
inventory entries say same_as, and the canonical cases run under --profile=uc386.

Sockets are made as the document's examples make them: getaddrinfo(host, port) with two
arguments, socket() for TCP, tuple addresses for bind and sendto, settimeout in seconds.

The set-up is checked too: the agent brings the network up with the calls the profile (or the
target file) gives, before the protocol starts, and HELLO reports what each call did (`bringup`:
its text, the class it raised or N, the exception's args); the first two cases check the
document's calls and signatures against that record."""
import ast

from sockconf import wire
from sockconf.case import Unresolved, Unsupported, case
from sockconf.wire import Handle, Ok, Raised, Ref


def _bringup(side):
    """HELLO's record of the target's bring-up: [(call text, class raised or None, args)]."""
    record = side.info.get("bringup")
    if record is None:
        raise Unsupported("the target ran no network bring-up (neither its profile nor its target file names one), "
                          "so the documented set-up calls were not made")
    side.detail("bring-up", [" ".join(str(x) for x in r if x is not None) for r in record])
    return record


def _made(record, name, nargs):
    """The record's entries for calls of `name` with `nargs` positional arguments."""
    out = []
    for text, cls, args in record:
        try:
            call = ast.parse(text, mode="eval").body
        except SyntaxError:
            continue
        if isinstance(call, ast.Call) and ast.unparse(call.func) == name and len(call.args) == nargs:
            out.append((text, cls, args))
    return out


def _returned(side, record, name, nargs, shown, clause=None):
    """Each call of name with nargs arguments in the record returned; UNRESOLVED if none was made."""
    made = _made(record, name, nargs)
    if not made:
        raise Unresolved("the target's bring-up made no call %s (the profile's or target file's bringup decides the "
                         "calls), so the documented %s is not checked" % (shown, shown))
    for text, cls, args in made:
        side.check(cls is None, "the bring-up's %s raised %s%r" % (text, cls, tuple(args or ())), clause)


@case("uc386:intro.stack-up-example")
def test_uc386_network_comes_up_as_documented(side):
    """"import lwip, uc386_net lwip.reset() uc386_net.eth_init(False) # detect packet driver
    uc386_net.eth_set_static('10.0.2.15', '255.255.255.0', '10.0.2.2')": the three calls, with
    those numbers of arguments, each return (what they raised otherwise is in the record; that
    sockets then work is every other case)."""
    record = _bringup(side)
    for name, nargs, shown in (("lwip.reset", 0, "lwip.reset()"), ("uc386_net.eth_init", 1, "uc386_net.eth_init(detect)"),
                               ("uc386_net.eth_set_static", 3, "uc386_net.eth_set_static(ip, mask, gw)")):
        _returned(side, record, name, nargs, shown)


@case("uc386:gai.dns")
def test_uc386_nameserver_is_set_with_eth_set_static(side):
    """"DNS resolution goes through lwIP — set a nameserver via uc386_net.eth_set_static('myip',
    'mask', 'gw', 'dns') if your DHCP didn't.": eth_set_static takes a fourth argument, the
    nameserver, and returns."""
    _returned(side, _bringup(side), "uc386_net.eth_set_static", 4, "uc386_net.eth_set_static('myip', 'mask', 'gw', 'dns')")


@case("uc386:const.af")
def test_uc386_is_ipv4_only(side):
    """"Address families: socket.AF_INET (IPv4 only on this port).": AF_INET makes sockets; an
    IPv6 socket does not work. The module may still define AF_INET6 (an lwIP build without IPv6
    keeps MicroPython's constant): then a socket of that family cannot be made or bound to ::1."""
    af = side.module_const("AF_INET", "AF_INET6")
    side.check(af["AF_INET"] is not None, "the module has no AF_INET")
    r = side.call([("socket", [af["AF_INET"], side.const("SOCK_STREAM")])])
    side.ok(r[0], "socket(AF_INET, SOCK_STREAM)")
    side.detail("AF_INET6", af["AF_INET6"])
    if af["AF_INET6"] is not None:
        r = side.call([("socket", [af["AF_INET6"], side.const("SOCK_DGRAM")]), ("bind", [Ref(0), ("::1", 0, 0, 0)])])
        side.check(not (len(r) == 2 and all(isinstance(x, Ok) for x in r)),
                   "an AF_INET6 socket was made and bound to ('::1', 0, 0, 0) on a port that is IPv4 only")
        side.detail("an AF_INET6 socket", [repr(x) for x in r])


@case("uc386:const.sockopt")
def test_uc386_setsockopt_names_are_defined(side):
    """"Common setsockopt levels/names: socket.SOL_SOCKET, socket.SO_REUSEADDR, socket.TCP_NODELAY." """
    names = side.const("SOL_SOCKET", "SO_REUSEADDR", "TCP_NODELAY")
    absent = [n for n, v in names.items() if v is None]
    side.check(not absent, "the module lacks %s" % ", ".join(absent))
    r = side.call([("socket", []), ("setsockopt", [Ref(0), names["SOL_SOCKET"], names["SO_REUSEADDR"], 1])])
    side.ok(r[-1], "setsockopt(SOL_SOCKET, SO_REUSEADDR, 1), as the server example does")


@case("uc386:socket.defaults")
def test_uc386_socket_defaults_and_keywords(side):
    """"socket.socket(family=AF_INET, type=SOCK_STREAM, proto=0)": socket() is a TCP socket; the
    arguments have those names, so socket(family=AF_INET, type=SOCK_STREAM, proto=0) is one too, as
    are socket(family=AF_INET), socket(proto=0) and socket(AF_INET, SOCK_STREAM, 0); and with the
    family and proto left to their defaults, socket(type=SOCK_DGRAM) is an AF_INET UDP socket (proto
    0 picks the type's own protocol, as in the document's socket(socket.AF_INET, socket.SOCK_DGRAM)).
    Each TCP one reaches an echo peer with what it sends; the UDP one gets its datagram echoed."""
    c = side.const("AF_INET", "SOCK_STREAM", "SOCK_DGRAM")
    ways = [("socket()", []),
            ("socket(family=AF_INET, type=SOCK_STREAM, proto=0)",
             [wire.Kw("family", c["AF_INET"]), wire.Kw("type", c["SOCK_STREAM"]), wire.Kw("proto", 0)]),
            ("socket(family=AF_INET)", [wire.Kw("family", c["AF_INET"])]), ("socket(proto=0)", [wire.Kw("proto", 0)]),
            ("socket(AF_INET, SOCK_STREAM, 0)", [c["AF_INET"], c["SOCK_STREAM"], 0])]
    side.made_sockets_connect(ways)
    echo = side.udp_echo()
    r = side.call([side.address("0.0.0.0", 0, "SOCK_DGRAM"), ("socket", [wire.Kw("type", c["SOCK_DGRAM"])]),
                   ("bind", [Ref(1), side.at(0)]), side.address(side.host, echo, "SOCK_DGRAM"),
                   ("sendto", [Ref(1), b"ping", side.at(3)]), ("settimeout", [Ref(1), 5.0]),
                   ("recvfrom", [Ref(1), 64])], timeout=10)
    for x, step in zip(r, ("the address", "socket(type=SOCK_DGRAM)", "bind(('0.0.0.0', 0))", "the address",
                           "sendto a UDP peer", "settimeout(5.0)", "recvfrom")):
        side.ok(x, step)
    got = r[-1].value
    side.check(isinstance(got, tuple) and len(got) == 2 and got[0] == b"ping",
               "socket(type=SOCK_DGRAM) sent b'ping' to a UDP echo peer and recvfrom gave %r" % (got,))


@case("uc386:quirks.tcp-nodelay")
def test_uc386_tcp_nodelay_is_lwips_tf_nodelay(side):
    """"TCP_NODELAY constant in upstream MicroPython matches lwIP's internal TF_NODELAY = 0x40, not
    the POSIXTCP_NODELAY = 1." The document states the number, so this case compares with it."""
    v = side.const("TCP_NODELAY")
    side.check(v == 0x40, "socket.TCP_NODELAY is %r; the document says this port's is lwIP's TF_NODELAY, 0x40" % (v,))


@case("uc386:quirks.nodelay-set")
def test_uc386_tcp_nodelay_is_set_with_0x40(side):
    """"If you need to set it, use0x40.": setsockopt(IPPROTO_TCP, 0x40, 1) on a connected TCP
    socket returns, and the connection still carries data both ways. The level is not in uc386's
    list; IPPROTO_TCP is the canonical level for a TCP option ("the only real use of these
    constants is as an argument to setsockopt()"), so a module without it makes the case
    UNSUPPORTED. What the option changes (Nagle's algorithm: when small segments leave) is not
    observable through the host peers."""
    level = side.require_const("IPPROTO_TCP")
    peer = side.echo()
    r = side.connected(peer, extra=[("setsockopt", [Ref(1), level, 0x40, 1]), ("settimeout", [Ref(1), 5.0]),
                                    ("sendall", [Ref(1), b"nodelay"]), ("recv", [Ref(1), 16])], mode="C",
                       timeout=10)
    side.ok(r[3], "setsockopt(IPPROTO_TCP, 0x40, 1)")
    side.detail("setsockopt returned", r[3].value)
    got = side.ok(r[6], "recv after setting TCP_NODELAY")
    side.check(peer.wait_received(7) == b"nodelay" and got and b"nodelay".startswith(got),
               "with TCP_NODELAY set, the peer received %r and recv gave %r back; sendall sent b'nodelay'"
               % (bytes(peer.received), got))


@case("uc386:gai.sockaddr-tuple")
def test_uc386_sockaddr_is_an_ip_port_tuple(side):
    """"addr = addr_info[0][-1] # ('93.184.216.34', 80)": the sockaddr is the (ipv4, port) tuple."""
    peer = side.echo()
    infos = side.ok(side.call([("getaddrinfo", [side.host, peer.port])])[0])
    addr = infos[0][-1] if isinstance(infos, list) and infos and isinstance(infos[0], tuple) else None
    want = (side.host, peer.port)
    side.check(addr == want, "getaddrinfo(%r, %d)[0][-1] is %r, not the tuple %r" % (side.host, peer.port, addr, want))


@case("uc386:accept.blocks", "uc386:timeouts.none-default", slow=0.2)
def test_uc386_accept_blocks_until_a_client_connects(side):
    """"accept() blocks until a client connects.": called before any client, on a socket left in its
    default mode, it returns the connection the host makes 0.2 s later. That mode is the one
    "settimeout(None) (the default) is blocking forever." names: an accept that raised instead
    (at once, or after a timeout of its own) fails that sentence."""
    port = side.free_port()
    k = side.const("SOL_SOCKET", "SO_REUSEADDR")
    r = side.call([("socket", []), ("setsockopt", [Ref(0), k["SOL_SOCKET"], k["SO_REUSEADDR"], 1]),
                   ("bind", [Ref(0), ("0.0.0.0", port)]), ("listen", [Ref(0), 5])])
    side.ok(r[-1], "listening")
    side.late_dial(port, 0.2)
    x = side.call([("accept", [Handle(0)])], timeout=10)[0]
    side.check(not isinstance(x, Raised), "accept() on a listener left in its default mode raised %r before or "
               "instead of the client that connected 0.2 s later: the default is not blocking" % (x,),
               "uc386:timeouts.none-default")
    side.check(isinstance(x, Ok) and isinstance(x.value, tuple) and len(x.value) == 2
               and isinstance(x.value[0], Handle),
               "accept() before any client connected gave %r, not the (conn, addr) of the client that "
               "connected 0.2 s later" % (x,))


@case("uc386:udp.bind-any")
def test_uc386_bind_to_port_0_takes_a_free_port(side):
    """"u.bind(('0.0.0.0', 0)) # any free port": the socket gets a real port, so the reply to a
    datagram it sends comes back to it."""
    echo = side.udp_echo()
    r = side.call([("socket", [side.const("AF_INET"), side.const("SOCK_DGRAM")]), ("bind", [Ref(0), ("0.0.0.0", 0)]),
                   ("sendto", [Ref(0), b"ping", (side.host, echo.port)]), ("settimeout", [Ref(0), 5.0]),
                   ("recvfrom", [Ref(0), 1500])], timeout=10)
    side.ok(r[0], "socket(AF_INET, SOCK_DGRAM)")
    side.ok(r[1], "bind(('0.0.0.0', 0))")
    got = side.ok(r[-1], "recvfrom after sending from the socket bound to port 0")
    side.check(isinstance(got, tuple) and len(got) == 2 and got[0] == b"ping",
               "recvfrom gave %r, not the echo b'ping'" % (got,))
    side.check(echo.got and echo.got[0][1][1] != 0, "the echo saw the datagram come from %r" % (echo.got[:1],))


@case("uc386:methods.recv_into")
def test_uc386_recv_into_reads_into_the_buffer(side):
    """".recv_into(buf, n=-1) | read into pre-allocated buffer |": with n, at most n bytes; without
    n, and with its default -1 given, up to the buffer's length (10 bytes on their way, a 4-byte
    buffer takes 1 to 4); the bytes read are the stream's, in order, and the rest of each buffer is
    left alone. The last read, into 16 bytes, takes what is left (0 once the peer's FIN is read)."""
    data = b"0123456789"
    peer = side.source(data)
    reads = [("recv_into(buf, 4)", [16, 4], 4), ("recv_into(buf)", [4], 4), ("recv_into(buf, -1)", [4, -1], 4),
             ("recv_into(buf) into 16 bytes", [16], 16)]
    r = side.connected(peer, extra=[("settimeout", [Ref(1), 5.0])] + [("recv_into", [Ref(1)] + a) for _, a, _ in reads],
                       mode="C")
    got = b""
    for k, (x, (how, _, most)) in enumerate(zip(r[4:], reads)):
        n, buf = side.ok(x, how)
        least = 0 if k == len(reads) - 1 else 1     # 10 bytes outlast the first three reads' 12
        side.check(isinstance(n, int) and least <= n <= most, "%s returned %r" % (how, n))
        side.check(bytes(buf[:n]) == data[len(got):len(got) + n],
                   "%s stored %r after %r of the stream; the peer sent %r" % (how, bytes(buf[:n]), got, data))
        side.check(not any(buf[n:]), "%s wrote past the count %d it returned: %r" % (how, n, bytes(buf)))
        got += bytes(buf[:n])
        side.detail(how, n)


@case("uc386:methods.fileno")
def test_uc386_fileno_is_a_descriptor(side):
    """".fileno() | underlying fd (for select) |": a non-negative int."""
    r = side.call([("socket", []), ("fileno", [Ref(0)])])
    fd = side.ok(r[-1], "fileno()")
    side.check(isinstance(fd, int) and not isinstance(fd, bool) and fd >= 0, "fileno() returned %r, not an fd" % (fd,))


@case("uc386:timeouts.none-default", slow=0.4)
def test_uc386_sockets_block_by_default_and_with_none(side):
    """"settimeout(None) (the default) is blocking forever.": a fresh socket, and one given a timeout
    and then None, both wait for data the peer sends 0.2 s later (forever cannot be checked; a
    non-blocking or timed socket would raise first)."""
    peer = side.source(b"late", delay=0.2)
    r = side.connected(peer, extra=[("recv", [Ref(1), 16])], timeout=10)
    side.check(isinstance(r[-1], Ok) and r[-1].value and b"late".startswith(r[-1].value),
               "recv on a fresh socket (the default) gave %r, not the data sent 0.2 s later" % (r[-1],))
    r = side.connected(peer, extra=[("settimeout", [Ref(1), 0.05]), ("settimeout", [Ref(1), None]),
                                ("recv", [Ref(1), 16])], timeout=10)
    side.check(isinstance(r[-1], Ok) and r[-1].value and b"late".startswith(r[-1].value),
               "recv after settimeout(0.05) then settimeout(None) gave %r, not the data sent 0.2 s later" % (r[-1],))
