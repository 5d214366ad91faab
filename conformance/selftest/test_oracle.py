"""The oracle does what ref/SEMANTICS.md says where the docs leave a point to the implementation.

These check the oracle itself, whatever --target is: a port is never failed on these points (the
cases report them), but the oracle must keep the choices its SEMANTICS.md documents. Each test
names the SEMANTICS.md entry it checks. Expected getaddrinfo numbers come from this machine's
glibc (CPython's socket.EAI_*), whose values the oracle uses.
"""
import os
import socket
import time

import pytest

from sockconf.plugin import ORACLE
from sockconf import client as sc_client
from sockconf import peers as sc_peers
from sockconf import transport as sc_transport
from sockconf.wire import Handle, Ok, Raised, Ref


@pytest.fixture(scope="module")
def dns():
    with sc_peers.FakeDns() as d:
        yield d


@pytest.fixture(scope="module")
def oracle_session(dns):
    if not ORACLE.exists():
        pytest.skip("%s is not built; run make build" % ORACLE)
    t = sc_transport.PipeTransport([str(ORACLE)], env=dict(os.environ, SOCKCONF_DNS_PORT=str(dns.port)))
    c = sc_client.Client(t)
    c.hello()
    dns.zone["peer.sockconf.test"] = c.info["host"]
    dns.zone["peer6.sockconf.test"] = HOST6
    yield c
    t.close()


@pytest.fixture
def oracle(oracle_session):
    oracle_session.reset()
    yield oracle_session
    oracle_session.reset()


HOST6 = "fec0::2"     # slirp's IPv6 host alias (the host's ::1); on ref-tap, the tap's host side


def connected(oracle, port, extra=()):
    r = oracle.call([("getaddrinfo", ["peer.sockconf.test", port]), ("socket", []),
                     ("connect", [Ref(1), Ref(0, 0, -1)])] + list(extra)).results
    assert all(isinstance(x, Ok) for x in r), r
    return r


def raised(result, errno):
    assert isinstance(result, Raised) and result.cls == "OSError" and result.errno == errno, result


def test_short_write_before_eagain(oracle):
    """SEMANTICS.md, send: a non-blocking send takes what fits, then EAGAIN."""
    with sc_peers.Sink() as sink:
        connected(oracle, sink.port, [("setblocking", [Ref(1), False])])
        chunk, counts = bytes(range(250)) * 8, []
        for _ in range(8000):
            r = oracle.call([("send", [Handle(0), chunk])]).results[0]
            if isinstance(r, Raised):
                break
            counts.append(r.value)
        raised(r, "EAGAIN")
        assert any(0 < n < len(chunk) for n in counts), "no short write in %d sends" % len(counts)
        oracle.call([("close", [Handle(0)])])
        assert sink.drain() == b"".join(chunk[:n] for n in counts)


def test_refused_connect_is_econnreset(oracle):
    """SEMANTICS.md, connect: a refused connection is ECONNRESET, as lwIP's ERR_RST in modlwip."""
    port = sc_peers.free_port()
    r = oracle.call([("getaddrinfo", ["peer.sockconf.test", port]), ("socket", []),
                     ("connect", [Ref(1), Ref(0, 0, -1)])]).results
    raised(r[2], "ECONNRESET")


def test_second_close_returns_none(oracle):
    """SEMANTICS.md, close: a second close returns None, as MicroPython's ports do."""
    r = oracle.call([("socket", []), ("close", [Ref(0)]), ("close", [Ref(0)])]).results
    assert r[1] == Ok(None) and r[2] == Ok(None), r


def test_rebind_is_einval(oracle):
    """SEMANTICS.md, bind: binding a bound socket raises EINVAL."""
    r = oracle.call([("socket", []), ("bind", [Ref(0), ("0.0.0.0", 0)]),
                     ("bind", [Ref(0), ("0.0.0.0", 0)])], mode="C").results
    assert r[1] == Ok(None), r
    raised(r[2], "EINVAL")


@pytest.mark.parametrize("port", [-1, 65536])
def test_port_outside_the_range_is_einval(oracle, port):
    """SEMANTICS.md, addresses: a port outside 0-65535 (bind) or 1-65535 (a peer) is EINVAL."""
    r = oracle.call([("socket", []), ("bind", [Ref(0), ("0.0.0.0", port)]),
                     ("connect", [Ref(0), ("10.0.2.2", port)])], mode="C").results
    raised(r[1], "EINVAL")
    raised(r[2], "EINVAL")


def test_accepted_socket_keeps_the_listener_timeout(oracle):
    """SEMANTICS.md, accept: the accepted socket has the listener's timeout, as in modlwip."""
    port = sc_peers.free_port()
    r = oracle.call([("socket", []), ("bind", [Ref(0), ("0.0.0.0", port)]), ("listen", [Ref(0), -1]),
                     ("settimeout", [Ref(0), 0.5])]).results
    assert all(isinstance(x, Ok) for x in r), r
    with socket.create_connection((sc_peers.LOOPBACK, port), timeout=5):
        r = oracle.call([("accept", [Handle(0)])]).results[0]
        assert isinstance(r, Ok) and isinstance(r.value[1], tuple), r
        # a blocking socket would wait here until the client's deadline; the listener's 0.5 s ends it
        raised(oracle.call([("recv", [r.value[0], 1])]).results[0], "ETIMEDOUT")


def test_makefile_returns_the_socket(oracle):
    """SEMANTICS.md, makefile: the socket itself (the docs: a no-op)."""
    r = oracle.call([("socket", []), ("makefile", [Ref(0), "rwb"])]).results
    assert r[1] == r[0], r


@pytest.mark.parametrize("name, args, code", [
    ("nonexistent.invalid", [80], "EAI_NONAME"),
    ("servfail.sockconf.test", [80], "EAI_AGAIN"),
    ("nodata.sockconf.test", [80], "EAI_NODATA"),
    ("silent.sockconf.test", [80], "EAI_AGAIN"),     # after two tries of one second
    ("peer.sockconf.test", ["http"], "EAI_SERVICE"),
    ("peer.sockconf.test", [80, 99], "EAI_FAMILY"),
    ("peer.sockconf.test", [80, socket.AF_INET6], "EAI_NODATA"),     # an A record only
    ("peer6.sockconf.test", [80, socket.AF_INET], "EAI_NODATA"),     # an AAAA record only
    ("10.0.2.2", [80, socket.AF_INET6], "EAI_ADDRFAMILY"),
    ("::1", [80, socket.AF_INET], "EAI_ADDRFAMILY"),
    ("peer.sockconf.test", [80, 0, socket.SOCK_STREAM, socket.IPPROTO_UDP], "EAI_SOCKTYPE"),
])
def test_getaddrinfo_error_numbers(oracle, name, args, code):
    """SEMANTICS.md, getaddrinfo: each failure has glibc's negative EAI_* number."""
    r = oracle.call([("getaddrinfo", [name] + args)]).results[0]
    assert isinstance(r, Raised) and r.cls == "OSError" and r.args[0] == getattr(socket, code), r


def test_getaddrinfo_type_follows_proto(oracle):
    """SEMANTICS.md, getaddrinfo: type 0 means SOCK_STREAM, unless proto asks for UDP."""
    r = oracle.call([("getaddrinfo", ["10.0.2.2", 7]),
                     ("getaddrinfo", ["10.0.2.2", 7, 0, 0, socket.IPPROTO_UDP])]).results
    assert [x.value[0][:3] for x in r] == [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP),
                                           (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)], r


def test_constants_are_glibcs(oracle):
    """SEMANTICS.md, constants: the oracle's numbers are glibc's, so this file may use CPython's;
    AF_INET6 among them, and the capability AF_INET6 in HELLO."""
    names = ["AF_INET", "AF_INET6", "SOCK_STREAM", "SOCK_DGRAM", "IPPROTO_TCP", "IPPROTO_UDP", "SOL_SOCKET",
             "SO_REUSEADDR"]
    assert oracle.const(*names) == {n: getattr(socket, n) for n in names}
    assert "AF_INET6" in oracle.info["caps"]


@pytest.mark.parametrize("text", ["1.2.3", "1.2.3.256", "01.2.3.4", "0x7f.0.0.1", "1.2.3.4 ", "", "::1"])
def test_inet_pton_takes_only_dot_notation(oracle, text):
    """SEMANTICS.md, inet_pton: only a dot-notation IPv4 address, as glibc's inet_pton; lwIP's own
    would take "1.2.3" as 1.2.0.3."""
    raised(oracle.call([("inet_pton", [socket.AF_INET, text])]).results[0], "EINVAL")


@pytest.mark.parametrize("args, errno", [([socket.AF_UNIX], "EAFNOSUPPORT"), ([99], "EAFNOSUPPORT"),
                                         ([socket.AF_INET, 99], "EINVAL"),
                                         ([socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_UDP],
                                          "EPROTONOSUPPORT")])
def test_socket_rejects_what_it_cannot_make(oracle, args, errno):
    """SEMANTICS.md, socket: IPv4 and IPv6, TCP and UDP only; a proto must suit the type."""
    raised(oracle.call([("socket", args)]).results[0], errno)


@pytest.mark.parametrize("flag", [False, None, 0, 0.0, "", b"", (), []],
                         ids=["False", "None", "0", "0.0", "str", "bytes", "tuple", "list"])
def test_setblocking_takes_any_false_value(oracle, flag):
    """SEMANTICS.md, setblocking: "if flag is false, the socket is set to non-blocking": every false
    value, not only False (0.0, '' and the empty containers used to make it blocking); a recv with
    nothing to read then raises EAGAIN at once."""
    with sc_peers.SilentAcceptor() as peer:
        r = connected(oracle, peer.port, [("setblocking", [Ref(1), flag])])
        raised(oracle.call([("recv", [r[1].value, 1])], timeout=2.0).results[0], "EAGAIN")


# ---- IPv6 (SEMANTICS.md, "IPv6: (ipv6_address, port, flowinfo, scopeid)" and inet_pton) ----

GOOD6 = ["::", "::1", "1::", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "fe80::1:2", "::ffff:1.2.3.4", "::1.2.3.4",
         "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "1::8", "0:0:0:0:0:0:0:0", "1:0:0:2::3", "abcd:ef01::"]
BAD6 = ["", ":", ":::", "1:::2", "2001:db8::1::2", "12345::", "1.2.3.4", "::g", ":1::", "1::2:", "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8", "::1.2.3", "::1.2.3.04", "::1.2.3.4:1", "fe80::1%1", " ::1",
        "::1 ", "1:2:3:4:5:6:7:1.2.3.4", "0x1::"]


@pytest.mark.parametrize("text", GOOD6 + BAD6)
def test_inet_pton_ipv6_is_glibcs(oracle, text):
    """SEMANTICS.md, inet_pton: AF_INET6 takes exactly what glibc's inet_pton takes (colon
    notation, one "::", a dotted quad only as the last 32 bits; no zone), whatever lwIP's own
    parser would, and gives its 16 bytes; anything else is EINVAL."""
    try:
        want = socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        want = None
    assert (want is not None) == (text in GOOD6), "the lists disagree with glibc about %r" % text
    r = oracle.call([("inet_pton", [socket.AF_INET6, text])]).results[0]
    if want is None:
        raised(r, "EINVAL")
    else:
        assert r == Ok(want), r


@pytest.mark.parametrize("text", GOOD6 + ["::2", "1::1:0:0:0", "1:0:0:1:0:0:0:1", "0:0:1::", "::ffff:0:0",
                                          "::ffff:0:1.2.3.4", "64:ff9b::1.2.3.4"])
def test_inet_ntop_ipv6_is_glibcs(oracle, text):
    """SEMANTICS.md, inet_ntop: AF_INET6 writes what glibc writes (lowercase, the longest run of zero
    groups as "::", ::ffff:a.b.c.d), on lwIP as on the kernel (lwIP's own writes uppercase); a
    length other than 16 is EINVAL."""
    packed = socket.inet_pton(socket.AF_INET6, text)
    r = oracle.call([("inet_ntop", [socket.AF_INET6, packed]), ("inet_ntop", [socket.AF_INET6, packed[:15]]),
                     ("inet_ntop", [socket.AF_INET6, packed + b"\0"])], mode="C").results
    assert r[0] == Ok(socket.inet_ntop(socket.AF_INET6, packed)), r
    raised(r[1], "EINVAL")
    raised(r[2], "EINVAL")


@pytest.mark.parametrize("addr, what", [
    (("::1", 7, 1, 0), "EINVAL"),               # "flowinfo must be 0."
    (("::1", 0, 0, 0), "EINVAL"),               # a peer's port is in 1-65535
    (("::1", 65536, 0, 0), "EINVAL"),
    (("::1", 7, 0, -1), "EINVAL"),              # a scope id is 0 to 2**32-1
    (("::1", 7, 0, 2 ** 32), "EINVAL"),
    (("peer6.sockconf.test", 7, 0, 0), "EINVAL"),   # "domain names are not accepted as ipv6_address"
    (("1.2.3.4", 7, 0, 0), "EINVAL"),
    (("::1", 7), "TypeError"),                  # an AF_INET6 socket takes only the 4-tuple
    (("::1", "7", 0, 0), "TypeError"),
])
def test_ipv6_tuple_is_checked(oracle, addr, what):
    """SEMANTICS.md, addresses: an AF_INET6 socket's address is (ipv6_address, port, flowinfo,
    scopeid), strictly; EINVAL for a value out of its range or not numeric, TypeError for another
    shape. The same checks hold in bind (port 0 allowed there) and sendto."""
    r = oracle.call([("socket", [socket.AF_INET6]), ("connect", [Ref(0), addr])], mode="C").results
    assert isinstance(r[0], Ok), r
    if what == "TypeError":
        assert isinstance(r[1], Raised) and r[1].cls == "TypeError", r
    else:
        raised(r[1], what)


def test_ipv4_socket_refuses_the_ipv6_tuple(oracle):
    """SEMANTICS.md, addresses: an AF_INET socket takes only (ipv4_address, port)."""
    r = oracle.call([("socket", []), ("connect", [Ref(0), ("::1", 7, 0, 0)])], mode="C").results
    assert isinstance(r[1], Raised) and r[1].cls == "TypeError", r


def test_ipv6_reaches_the_host_alias_and_answers_from_its_address(oracle):
    """SEMANTICS.md, slirp and tap: the oracle is fec0::15 and reaches the host at fec0::2, whose
    connections land on the host's ::1 (slirp) or the namespace's tap address; getaddrinfo with
    AF_INET6 asks the AAAA record and gives the documented 4-tuple. An echo peer on ::1 answers."""
    with sc_peers.TcpEcho(bind=sc_peers.LOOPBACK6) as echo:
        r = oracle.call([("getaddrinfo", ["peer6.sockconf.test", echo.port, socket.AF_INET6, socket.SOCK_STREAM]),
                         ("socket", [socket.AF_INET6]), ("connect", [Ref(1), Ref(0, 0, -1)]),
                         ("sendall", [Ref(1), b"six"]), ("settimeout", [Ref(1), 5.0]),
                         ("recv", [Ref(1), 3])], timeout=10).results
        assert all(isinstance(x, Ok) for x in r), r
        assert r[0].value == [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                               (HOST6, echo.port, 0, 0))], r[0]
        assert r[5].value == b"six", r
        (peer_host, *_), = [c.getpeername() for c in echo.conns]
        assert peer_host in ("::1", "fec0::15"), peer_host


def test_getaddrinfo_family_0_falls_back_to_aaaa(oracle):
    """SEMANTICS.md, getaddrinfo: af 0 asks the A record, and the AAAA record when there is none;
    a numeric IPv6 host is the AF_INET6 5-tuple without a query."""
    r = oracle.call([("getaddrinfo", ["peer6.sockconf.test", 7]), ("getaddrinfo", ["peer.sockconf.test", 7]),
                     ("getaddrinfo", ["2001:DB8::1", 7, 0, socket.SOCK_DGRAM])], timeout=10).results
    assert r[0].value[0][0] == socket.AF_INET6 and r[0].value[0][4] == (HOST6, 7, 0, 0), r
    assert r[1].value[0][0] == socket.AF_INET, r
    assert r[2].value == [(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_UDP, "", ("2001:db8::1", 7, 0, 0))], r


def test_ipv6_listener_is_reachable_from_the_host(oracle):
    """SEMANTICS.md, slirp and tap: an AF_INET6 socket listening on :: is forwarded from the host's
    [::1]:port (slirp's hostxfwd; on the tap, the oracle's fec0::15 is on the link), and accept
    gives the peer as a 4-tuple; a UDP datagram from it comes back from recvfrom likewise."""
    port = sc_peers.free_port(sc_peers.LOOPBACK6)
    r = oracle.call([("socket", [socket.AF_INET6]), ("bind", [Ref(0), ("::", port, 0, 0)]),
                     ("listen", [Ref(0), 2]), ("settimeout", [Ref(0), 5.0])]).results
    assert all(isinstance(x, Ok) for x in r), r
    where = os.environ.get("SOCKCONF_TEST_HOST6", "::1")
    with socket.create_connection((where, port), timeout=5) as s:
        a = oracle.call([("accept", [Handle(0)])], timeout=10).results[0]
        assert isinstance(a, Ok), a
        addr = a.value[1]
        assert len(addr) == 4 and ":" in addr[0] and addr[2:] == (0, 0), addr
        oracle.call([("sendall", [a.value[0], b"back"])])
        s.settimeout(5)
        assert s.recv(4) == b"back"
