"""Addresses in micropython-usocket.txt: getaddrinfo's opaque sockaddr, tuple addresses (IPv4 and
IPv6), what getaddrinfo translates, filters and raises, inet_pton/inet_ntop, the AF_* constants.

Where the docs leave a point to the port (ref/SEMANTICS.md "impl-defined": the exception class
and errno of a refused argument, whether a lenient address form is read), the case reports it
with side.detail and checks only what the quoted sentence requires."""
import pytest

from sockconf.case import case, shown
from sockconf.wire import Ok, Raised, Ref

# ---- the native (opaque) address and tuple addresses ----

@case("mp:addr.opaque", "mp:addr.numeric", "mp:gai.stream-guaranteed")
def test_getaddrinfo_address_serves_connect_bind_and_sendto(side):
    """sockaddr = getaddrinfo('127.0.0.1', 80)[0][-1] "Now you can use that address": the host never
    looks inside the value, it only hands it back to connect, bind and sendto."""
    echo = side.echo()
    ask = side.gai(side.host, echo)
    r = side.call([ask, ("socket", []), ("connect", [Ref(1), Ref(0, 0, -1)]), ("sendall", [Ref(1), b"opaque"])])
    for x in r:
        side.ok(x, "connect to getaddrinfo%r[0][-1]" % (tuple(ask[1]),), clause="mp:gai.stream-guaranteed")
    got = echo.wait_received(6)
    side.check(got == b"opaque", "the peer at the address getaddrinfo gave received %r, not b'opaque'" % got,
               "mp:gai.stream-guaranteed")
    side.detail("sockaddr type", type(side.ok(r[0])[0][-1]).__name__)

    port = side.free_port()
    r = side.call([side.gai("0.0.0.0", port), ("socket", []),
                   ("bind", [Ref(1), Ref(0, 0, -1)]), ("listen", [Ref(1), 1])])
    for x in r:
        side.ok(x, "bind to getaddrinfo('0.0.0.0', %d)[0][-1]" % port, clause="mp:addr.numeric")
    dialed = side.try_dial(port)
    side.check(not isinstance(dialed, OSError), "a socket bound to getaddrinfo('0.0.0.0', %d)'s address and "
               "listening did not take a connection to port %d: %s" % (port, port, dialed), "mp:addr.numeric")

    udp = side.udp_echo()
    r = side.call([side.gai(side.host, udp, "SOCK_DGRAM"), ("socket", [side.const("AF_INET"), side.const("SOCK_DGRAM")])]
                  + side.bind_any(Ref(1), 2) + [("sendto", [Ref(1), b"opaque", Ref(0, 0, -1)])])
    for x in r:
        side.ok(x, "sendto getaddrinfo(%r, %d)[0][-1]" % (side.host, udp.port))
    side.detail("sendto returned", r[-1].value)     # what sendto returns, the document does not say
    got = udp.datagrams(1)
    side.check(got == [b"opaque"], "the UDP peer at the address getaddrinfo gave received %r" % (got,))


@case("mp:addr.tuple-shortcut", "mp:addr.tuple-optional", "mp:addr.ipv4-tuple", needs=["tuple-address"])
def test_ipv4_tuple_serves_connect_bind_and_sendto(side):
    """A port that supports tuple addresses takes (ipv4_address, port) wherever an address goes."""
    af, dgram = side.const("AF_INET"), side.const("SOCK_DGRAM")
    echo = side.echo()
    r = side.call([("socket", []), ("connect", [Ref(0), (side.host, echo.port)]), ("sendall", [Ref(0), b"tuple"])])
    for x in r:
        side.ok(x, "connect((%r, %d))" % (side.host, echo.port))
    got = echo.wait_received(5)
    side.check(got == b"tuple", "the peer at (%r, %d) received %r, not b'tuple'" % (side.host, echo.port, got))

    port = side.free_port()
    r = side.call([("socket", []), ("bind", [Ref(0), ("0.0.0.0", port)]), ("listen", [Ref(0), 1])])
    for x in r:
        side.ok(x, "bind(('0.0.0.0', %d))" % port)
    dialed = side.try_dial(port)
    side.check(not isinstance(dialed, OSError), "a socket bound to ('0.0.0.0', %d) and listening did not take "
               "a connection: %s" % (port, dialed))

    udp = side.udp_echo()
    r = side.call([("socket", [af, dgram])] + side.bind_any(Ref(0), 1) +
                  [("sendto", [Ref(0), b"tuple", (side.host, udp.port)])])
    side.detail("sendto returned", side.ok(r[-1], "sendto((%r, %d))" % (side.host, udp.port)))
    got = udp.datagrams(1)
    side.check(got == [b"tuple"], "the UDP peer at (%r, %d) received %r" % (side.host, udp.port, got))


@pytest.mark.parametrize("port", ["0", "65536", "65536+live"])
@case("mp:addr.ipv4-tuple", needs=["tuple-address"])
def test_ipv4_tuple_port_outside_1_to_65535_is_refused(side, port):
    """"port is an integer port number in the range 1-65535": connect to a port outside it raises.
    65536+live is 65536 plus a port where an echo peer listens: a port taken modulo 65536 would
    connect there instead of raising. Which exception: a detail."""
    echo = side.echo()
    number = {"0": 0, "65536": 65536, "65536+live": 65536 + echo.port}[port]
    r = side.call([("socket", []), ("connect", [Ref(0), (side.host, number)])], mode="C")
    side.ok(r[0], "socket()")
    side.check(isinstance(r[1], Raised), "connect((%r, %d)) %s; the port is outside 1-65535"
               % (side.host, number, shown(r[1])))
    side.detail("raised", shown(r[1]))


@case("mp:addr.ipv4-no-names", "mp:addr.numeric-only-ports", needs=["tuple-address"], dns=True)
def test_name_in_a_tuple_is_refused_and_getaddrinfo_resolves_it(side):
    """A name the suite's DNS peer resolves is refused in a tuple, and connects through getaddrinfo
    ("require to use getaddrinfo function to resolve domain names"). Which exception: a detail."""
    echo = side.echo()
    name = "peer.sockconf.test"
    r = side.call([("socket", []), ("connect", [Ref(0), (name, echo.port)])], mode="C", timeout=10)
    side.ok(r[0], "socket()")
    side.check(isinstance(r[1], Raised), "connect((%r, %d)) %s: a domain name was accepted as ipv4_address"
               % (name, echo.port, shown(r[1])))
    side.detail("raised", shown(r[1]))
    side.detail("the name was asked of the DNS peer", name in side.dns.queries)
    r = side.call([side.gai(name, echo), ("socket", []), ("connect", [Ref(1), Ref(0, 0, -1)]),
                   ("sendall", [Ref(1), b"named"])], timeout=10)
    for x in r:
        side.ok(x, "connecting through getaddrinfo(%r, ...)" % name, "mp:addr.numeric-only-ports")
    got = echo.wait_received(5)
    side.check(got == b"named", "connecting through getaddrinfo(%r, ...) delivered %r, not b'named'" % (name, got),
               "mp:addr.numeric-only-ports")


@case("mp:addr.ipv6-no-names", needs=["tuple-address", "AF_INET6"], dns=True)
def test_name_in_an_ipv6_tuple_is_refused(side):
    """"Note the domain names are not accepted as ipv6_address, they should be resolved first using
    usocket.getaddrinfo()": where the port has AF_INET6, a name the suite's DNS peer resolves to
    ::1 (an AAAA record) is refused in a tuple, while the target listens on ('::1', port, 0, 0), so
    a port that resolved it would connect. Which exception: a detail."""
    af6 = side.require_const("AF_INET6")
    stream = side.const("SOCK_STREAM")
    name = "peer6.sockconf.test"
    if side.dns is not None:
        side.dns.zone[name] = "::1"
    port = side.free_port()
    r = side.call([("socket", [af6, stream]), ("bind", [Ref(0), ("::1", port, 0, 0)]), ("listen", [Ref(0), 2]),
                   ("socket", [af6, stream]), ("connect", [Ref(3), (name, port, 0, 0)])], mode="C", timeout=10)
    for x in r[:4]:
        side.ok(x, "listening on ('::1', %d, 0, 0)" % port)
    side.check(isinstance(r[4], Raised), "connect((%r, %d, 0, 0)) %s: a domain name was accepted as ipv6_address"
               % (name, port, shown(r[4])))
    side.detail("raised", shown(r[4]))
    side.detail("the name was asked of the DNS peer", name in (side.dns.queries if side.dns else []))


@case("mp:addr.ipv6-tuple", "mp:addr.ipv6-optional", needs=["tuple-address", "AF_INET6"])
def test_ipv6_tuple_addresses(side):
    """(ipv6_address, port, flowinfo, scopeid) on the target's own loopback ::1, where the port
    has IPv6 (the AF_INET6 constant); a port outside 1-65535 raises (65536+live would wrap to a
    listening port)."""
    af6 = side.require_const("AF_INET6")
    stream, dgram = side.const("SOCK_STREAM"), side.const("SOCK_DGRAM")
    port = side.free_port()
    r = side.call([("socket", [af6, dgram]), ("bind", [Ref(0), ("::1", port, 0, 0)]),
                   side.nonblocking(Ref(0)), ("socket", [af6, dgram]),
                   ("sendto", [Ref(3), b"six", ("::1", port, 0, 0)])])
    for x in r:
        side.ok(x, "a UDP socket of AF_INET6 bound to and sent to ('::1', %d, 0, 0)" % port)
    receiver = r[0].value
    got = side.ok(side.retry(("recvfrom", [receiver, 16])), "recvfrom on ('::1', %d, 0, 0)" % port)
    side.check(got[0] == b"six", "recvfrom got %r, the datagram was b'six'" % (got[0],))
    addr = got[1]
    side.check(isinstance(addr, tuple) and len(addr) == 4 and isinstance(addr[0], str) and ":" in addr[0]
               and isinstance(addr[1], int) and 1 <= addr[1] <= 65535,
               "recvfrom's address is %r, not (ipv6_address, port, flowinfo, scopeid)" % (addr,))
    side.detail("recvfrom address", repr(addr))

    port = side.free_port()
    r = side.call([("socket", [af6, stream]), ("bind", [Ref(0), ("::1", port, 0, 0)]), ("listen", [Ref(0), 2]),
                   ("socket", [af6, stream]), ("connect", [Ref(3), ("::1", port + 65536, 0, 0)]),
                   ("socket", [af6, stream]), ("connect", [Ref(5), ("::1", 0, 0, 0)]),
                   ("socket", [af6, stream]), ("connect", [Ref(7), ("::1", port, 0, 0)])], mode="C")
    for k in (0, 1, 2, 3, 5, 7, 8):
        side.ok(r[k], "a TCP socket of AF_INET6 on ('::1', %d, 0, 0)" % port)
    for k, number in ((4, port + 65536), (6, 0)):
        side.check(isinstance(r[k], Raised), "connect(('::1', %d, 0, 0)) %s; the port is outside 1-65535"
                   % (number, shown(r[k])))
        side.detail("port %s" % ("0" if number == 0 else "65536+live"), shown(r[k]))


# ---- getaddrinfo ----

@case("mp:gai.translate")
def test_getaddrinfo_tuple_makes_a_socket_connected_to_the_service(side):
    """Each 5-tuple holds "all the necessary arguments": socket(family, type, proto) then
    connect(sockaddr) reaches the service, for TCP and for UDP. Where the port's getaddrinfo takes
    no type (getaddrinfo(host, port)), the items of the service's own type are the ones for it."""
    echo, udp = side.echo(), side.udp_echo()
    for kind, peer, payload in (("SOCK_STREAM", echo, b"via-tcp"), ("SOCK_DGRAM", udp, b"via-udp")):
        ask = side.gai(side.host, peer, kind)
        infos = side.ok(side.call([ask])[0])
        mine = [i for i, info in enumerate(infos) if info[1] == side.const(kind)]
        side.need(mine, "getaddrinfo%r gave no %s item: %r" % (tuple(ask[1]), kind, infos))
        for i in mine[:4]:
            r = side.call([ask, ("socket", [Ref(0, i, 0), Ref(0, i, 1), Ref(0, i, 2)]),
                           ("connect", [Ref(1), Ref(0, i, -1)]), ("send", [Ref(1), payload])])
            for x in r:
                side.ok(x, "socket(*info[:3]) and connect(info[-1]) for item %d of %r" % (i, infos))
    got = echo.wait_received(len(b"via-tcp"))
    side.check(got.startswith(b"via-tcp"), "the TCP service received %r" % got)
    datagrams = udp.datagrams(1)
    side.check(b"via-udp" in datagrams, "the UDP service received %r" % (datagrams,))


@pytest.mark.parametrize("what", ["af=AF_INET", "type=SOCK_STREAM", "type=SOCK_DGRAM", "proto=IPPROTO_TCP",
                                  "proto=IPPROTO_UDP"])
@case("mp:gai.filter")
def test_getaddrinfo_returns_only_the_kind_asked_for(side, what):
    """Every 5-tuple returned matches the filter (proto 0 counts as the type's own protocol)."""
    field, name = what.split("=")
    value = side.require_const(name)
    index = {"af": 0, "type": 1, "proto": 2}[field]
    args = [side.host, 80, 0, 0, 0]
    args[2 + index] = value
    infos = side.ok(side.call([("getaddrinfo", args)])[0])
    side.need(isinstance(infos, list) and len(infos) > 0, "getaddrinfo(%r) gave %r" % (args, infos))
    by_proto = {"IPPROTO_TCP": "SOCK_STREAM", "IPPROTO_UDP": "SOCK_DGRAM"}
    for info in infos:
        ok = info[index] == value
        if field == "proto" and info[2] == 0:
            ok = info[1] == side.const(by_proto[name])
        side.check(ok, "getaddrinfo(..., %s) returned %r" % (what, info))
    side.detail("returned", [tuple(i[:3]) for i in infos])


@case("mp:gai.unfiltered")
def test_getaddrinfo_unspecified_is_the_same_as_zero(side):
    """"If a parameter is not specified or zero": the two ask the same, and give a non-empty list."""
    r = side.call([("getaddrinfo", [side.host, 80]), ("getaddrinfo", [side.host, 80, 0, 0, 0, 0])])
    plain, zeros = side.ok(r[0]), side.ok(r[1])
    side.check(isinstance(plain, list) and len(plain) > 0, "getaddrinfo(%r, 80) gave %r" % (side.host, plain))
    side.check(plain == zeros, "getaddrinfo(%r, 80) gave %r, with af=type=proto=flags=0 %r"
               % (side.host, plain, zeros))
    side.detail("combinations", [tuple(i[:3]) for i in plain])


@case("mp:gai.shape")
def test_getaddrinfo_items_are_family_type_proto_canonname_sockaddr(side):
    af, stream = side.const("AF_INET"), side.const("SOCK_STREAM")
    ask = side.gai(side.host, 80)
    infos = side.ok(side.call([ask])[0])
    side.check(isinstance(infos, list) and len(infos) > 0, "getaddrinfo gave %r" % (infos,))
    for info in infos:
        side.check(isinstance(info, tuple) and len(info) == 5, "an item is not a 5-tuple: %r" % (info,))
        family, kind, proto, canonname, sockaddr = info
        side.check(family == af, "family is %r for the IPv4 address %r, AF_INET is %r" % (family, side.host, af))
        if len(ask[1]) > 2:
            side.check(kind == stream, "type is %r after asking for SOCK_STREAM (%r)" % (kind, stream), "mp:gai.filter")
        side.check(isinstance(proto, int), "proto is %r, not a number" % (proto,))
        side.detail("canonname", repr(canonname))     # its type is not documented: CPython '', unix None
        side.check(sockaddr is not None, "sockaddr is None")


@case("mp:gai.type-default")
def test_the_docs_example_without_a_type(side):
    """s.connect(getaddrinfo(host, port)[0][-1]) "assumes that if type is not specified, an address for
    SOCK_STREAM will be returned, which may be not true": whether [0] is SOCK_STREAM is the port's
    (a detail); where it is, the example connects."""
    echo = side.echo()
    r = side.call([("getaddrinfo", [side.host, echo.port]), ("socket", []), ("connect", [Ref(1), Ref(0, 0, -1)]),
                   ("sendall", [Ref(1), b"example"])], mode="C")
    infos = side.ok(r[0])
    first = infos[0][1]
    side.detail("type of [0] with no type given", "SOCK_STREAM" if first == side.const("SOCK_STREAM") else first)
    if first == side.const("SOCK_STREAM"):
        for x in r[1:]:
            side.ok(x, "the docs' example with [0] a SOCK_STREAM address")
        got = echo.wait_received(7)
        side.check(got == b"example", "the peer received %r" % got)


@case("mp:gai.oserror", "mp:gai.negative", dns=True)
def test_malformed_name_is_a_negative_oserror(side):
    """A name with an empty label cannot resolve anywhere: OSError (no gaierror), args[0] < 0."""
    r = side.call([("getaddrinfo", ["bad..name", 80])], timeout=15)[0]
    side.raised(r, clause="mp:gai.oserror", what="getaddrinfo('bad..name', 80)")
    negative = bool(r.args) and isinstance(r.args[0], int) and not isinstance(r.args[0], bool) and r.args[0] < 0
    side.check(side.same("args[0] is a negative number", negative, "mp:gai.negative"),
               "getaddrinfo('bad..name', 80) raised %r, not a negative number in args[0]" % (r.args,),
               "mp:gai.negative")
    side.detail("args", r.args)


def _numbered(side, r, what):
    """An OSError from getaddrinfo has an error number in args[0]: negative for getaddrinfo's own
    errors, positive for standard system errors (mp:gai.negative); which, is reported."""
    if isinstance(r, Raised) and r.cls == "OSError":
        side.check(r.args and isinstance(r.args[0], int) and not isinstance(r.args[0], bool) and r.args[0] != 0,
                   "%s raised OSError with args %r: no error number (negative or positive) in args[0]"
                   % (what, r.args), "mp:gai.negative")


@pytest.mark.parametrize("port", ["http", -1, 70000])
@case("mp:gai.shape", "mp:gai.negative")
def test_getaddrinfo_with_a_bad_port(side, port):
    """The docs do not say whether getaddrinfo takes service names or checks the port's range
    (CPython takes 'http' and 70000; modlwip ports read the port as an int), nor whether such an
    argument error is a getaddrinfo error (negative) or a standard system error (positive): what
    it raises is reported. Either way an OSError carries a number in args[0] ("error numbers are
    accessible using e.args[0]"); what getaddrinfo returns, if it returns, is the documented list
    of 5-tuples."""
    r = side.call([("getaddrinfo", [side.host, port])])[0]
    side.detail("result", shown(r))
    _numbered(side, r, "getaddrinfo(%r, %r)" % (side.host, port))


@case("mp:gai.shape", "mp:gai.negative", dns=True)
def test_getaddrinfo_with_an_empty_host(side):
    """getaddrinfo('', 80): the docs are silent (CPython: gaierror -2), so what it raises is
    reported; an OSError carries a number in args[0], negative or positive; what it returns, if
    it returns, is the documented list of 5-tuples."""
    r = side.call([("getaddrinfo", ["", 80])], timeout=15)[0]
    side.detail("result", shown(r))
    _numbered(side, r, "getaddrinfo('', 80)")


# ---- inet_pton, inet_ntop ----

IPV4 = ["0.0.0.0", "255.255.255.255", "10.0.2.2", "192.168.100.7"]


@case("mp:inet_pton", "mp:inet_ntop")
def test_inet_pton_and_ntop_convert_ipv4_both_ways(side):
    af = side.const("AF_INET")
    r = side.call([("inet_pton", [af, t]) for t in IPV4] +
                  [("inet_ntop", [af, bytes(int(p) for p in t.split("."))]) for t in IPV4], mode="C")
    for k, text in enumerate(IPV4):
        packed = bytes(int(p) for p in text.split("."))
        got = side.ok(r[k], "inet_pton(AF_INET, %r)" % text)
        side.check(got == packed, "inet_pton(AF_INET, %r) is %r, not %r" % (text, got, packed))
        back = side.ok(r[len(IPV4) + k], "inet_ntop(AF_INET, %r)" % packed, clause="mp:inet_ntop")
        side.check(back == text, "inet_ntop(AF_INET, %r) is %r, not %r" % (packed, back, text), "mp:inet_ntop")


@case("mp:inet_pton", "mp:inet_ntop")
def test_inet_pton_and_ntop_refuse_what_is_not_an_ipv4_address(side):
    """Text that is no IPv4 address in any notation, and a binary address of the wrong length,
    raise. Lenient forms ('1.2.3', leading zeros, hex, a trailing space) and the exception class:
    details (ref/SEMANTICS.md: impl-defined errors)."""
    af = side.const("AF_INET")
    bad = ["1.2.3.256", "1.2.3.4.5", "1..2.3", "abc", ""]
    lenient = ["1.2.3", "01.2.3.4", "0x7f.0.0.1", "1.2.3.4 "]
    short = [b"\x01\x02\x03", b"\x01\x02\x03\x04\x05"]
    r = side.call([("inet_pton", [af, t]) for t in bad + lenient] + [("inet_ntop", [af, b]) for b in short],
                  mode="C")
    for text, x in zip(bad, r):
        side.check(isinstance(x, Raised), "inet_pton(AF_INET, %r) %s" % (text, shown(x)))
        side.detail("inet_pton %r" % text, shown(x))
    for text, x in zip(lenient, r[len(bad):]):
        side.detail("inet_pton %r" % text, shown(x))
    for b, x in zip(short, r[len(bad) + len(lenient):]):
        side.check(isinstance(x, Raised), "inet_ntop(AF_INET, %r) %s" % (b, shown(x)), "mp:inet_ntop")
        side.detail("inet_ntop %d bytes" % len(b), shown(x))


IPV6 = [("2001:db8::1", bytes.fromhex("20010db8000000000000000000000001")),
        ("::1", bytes(15) + b"\x01"), ("::", bytes(16)),
        ("fe80::1:2", bytes.fromhex("fe800000000000000000000000010002"))]


@case("mp:inet_pton", "mp:inet_ntop", needs=["AF_INET6"])
def test_inet_pton_and_ntop_convert_ipv6(side):
    """Where the port has AF_INET6. inet_ntop's text must read back to the same bytes; its exact
    spelling (case, zero compression) is a detail."""
    af6 = side.require_const("AF_INET6")
    r = side.call([("inet_pton", [af6, t]) for t, _ in IPV6] + [("inet_ntop", [af6, b]) for _, b in IPV6], mode="C")
    texts = []
    for k, (text, packed) in enumerate(IPV6):
        got = side.ok(r[k], "inet_pton(AF_INET6, %r)" % text)
        side.check(got == packed, "inet_pton(AF_INET6, %r) is %r, not %r" % (text, got, packed))
        texts.append(side.ok(r[len(IPV6) + k], "inet_ntop(AF_INET6, %r)" % packed, clause="mp:inet_ntop"))
    side.detail("inet_ntop", texts)
    back = side.call([("inet_pton", [af6, t]) for t in texts], mode="C")
    for (_, packed), text, x in zip(IPV6, texts, back):
        side.check(isinstance(x, Ok) and x.value == packed,
                   "inet_ntop gave %r for %r, which inet_pton reads as %s" % (text, packed, shown(x)), "mp:inet_ntop")
    bad = ["2001:db8::1::2", "12345::", "1.2.3.4", "", "::g"]
    r = side.call([("inet_pton", [af6, t]) for t in bad] + [("inet_ntop", [af6, bytes(4)])], mode="C")
    for text, x in zip(bad, r):
        side.check(isinstance(x, Raised), "inet_pton(AF_INET6, %r) %s" % (text, shown(x)))
    side.check(isinstance(r[-1], Raised), "inet_ntop(AF_INET6, 4 bytes) %s" % shown(r[-1]), "mp:inet_ntop")


# ---- constants ----

@case("mp:const.af")
def test_address_family_constants(side):
    """AF_INET, and AF_INET6 where the port has it: ints, distinct, and socket() takes them.
    Their numbers are the port's (never compared with the oracle's)."""
    af, af6 = side.const("AF_INET"), side.const("AF_INET6")
    side.check(isinstance(af, int) and not isinstance(af, bool), "AF_INET is %r, not an int" % (af,))
    side.detail("AF_INET6", "present" if af6 is not None else "absent")
    families = [af]
    if af6 is not None:
        side.check(isinstance(af6, int) and af6 != af, "AF_INET6 is %r (AF_INET %r)" % (af6, af))
        families.append(af6)
    r = side.call([("socket", [f, side.const("SOCK_STREAM")]) for f in families], mode="C")
    for f, x in zip(families, r):
        side.ok(x, "socket(%r, SOCK_STREAM)" % f)
