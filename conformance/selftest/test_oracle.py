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
    yield c
    t.close()


@pytest.fixture
def oracle(oracle_session):
    oracle_session.reset()
    yield oracle_session
    oracle_session.reset()


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
    ("peer.sockconf.test", [80, socket.AF_INET6], "EAI_FAMILY"),
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
    it is IPv4 only, so it has no AF_INET6."""
    names = ["AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "IPPROTO_TCP", "IPPROTO_UDP", "SOL_SOCKET", "SO_REUSEADDR"]
    assert oracle.const(*names) == {n: getattr(socket, n) for n in names}
    assert oracle.const("AF_INET6") == {"AF_INET6": None}


@pytest.mark.parametrize("text", ["1.2.3", "1.2.3.256", "01.2.3.4", "0x7f.0.0.1", "1.2.3.4 ", "", "::1"])
def test_inet_pton_takes_only_dot_notation(oracle, text):
    """SEMANTICS.md, inet_pton: only a dot-notation IPv4 address, as glibc's inet_pton; lwIP's own
    would take "1.2.3" as 1.2.0.3."""
    raised(oracle.call([("inet_pton", [socket.AF_INET, text])]).results[0], "EINVAL")


@pytest.mark.parametrize("args, errno", [([socket.AF_INET6], "EAFNOSUPPORT"), ([99], "EAFNOSUPPORT"),
                                         ([socket.AF_INET, 99], "EINVAL"),
                                         ([socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_UDP],
                                          "EPROTONOSUPPORT")])
def test_socket_rejects_what_it_cannot_make(oracle, args, errno):
    """SEMANTICS.md, socket: IPv4 TCP and UDP only; a proto must suit the type."""
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
