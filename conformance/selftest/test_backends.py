"""Where the oracle's two networks differ: ref/SEMANTICS.md, "slirp and tap".

Run with --target=ref-tap (make test does): the session is then inside the run's own network
namespace, the session's target is the oracle on the tap, and these tests start a second oracle
on slirp beside it. Each test makes one situation happen on both and asserts what SEMANTICS.md
says each does, so that list goes stale only with a failing test.
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
def tap(request, agent, peer_bind):
    if request.config.getoption("--target") != "ref-tap":
        pytest.skip("compares the oracle's backends: run with --target=ref-tap")
    return agent, peer_bind


@pytest.fixture(scope="module")
def slirp(tap, dns_peer):
    t = sc_transport.PipeTransport([str(ORACLE)], env=dict(os.environ, SOCKCONF_DNS_PORT=str(dns_peer.port)))
    c = sc_client.Client(t)
    c.hello()
    yield c, sc_peers.LOOPBACK
    t.close()


@pytest.fixture
def both(tap, slirp):
    for c, _ in (tap, slirp):
        c.reset()
    yield {"tap": tap, "slirp": slirp}
    for c, _ in (tap, slirp):
        c.reset()


def connect(c, port):
    r = c.call([("socket", []), ("connect", [Ref(0), (c.info["host"], port)])]).results
    assert all(isinstance(x, Ok) for x in r), r


def bytes_before_eagain(c, bind):
    """Non-blocking sends of 2000 bytes to a peer that never reads: what the stack takes in all.
    An EAGAIN is retried after 50 ms, three times, so a stack that moves data on at its own
    pace is measured by its buffers, not by how fast the sends came."""
    with sc_peers.Sink(bind) as sink:
        connect(c, sink.port)
        c.call([("setblocking", [Handle(0), False])])
        total, stalls = 0, 0
        for _ in range(8000):
            r = c.call([("send", [Handle(0), bytes(2000)])]).results[0]
            if isinstance(r, Raised):
                assert r.errno == "EAGAIN", r
                stalls += 1
                if stalls == 3:
                    return total
                time.sleep(0.05)
                continue
            total, stalls = total + r.value, 0
    raise AssertionError("no lasting EAGAIN after %d bytes" % total)


def test_slirp_buffers_megabytes_before_a_zero_window(both, observed):
    taken = {name: bytes_before_eagain(*both[name]) for name in ("tap", "slirp")}
    observed("bytes taken before EAGAIN: tap %(tap)d, slirp %(slirp)d" % taken)
    assert taken["tap"] < 256 * 1024 and taken["slirp"] > 1024 * 1024, taken


class LateSource(sc_peers.Source):
    """Source that lets the connection settle (50 ms) before it sends and resets."""
    def serve(self, conn):
        time.sleep(0.05)
        super().serve(conn)


def test_slirp_garbles_data_then_rst_and_tap_does_not(both, observed):
    """A peer sends b'abc' then resets. On the tap, every time: the data, then ECONNRESET, and the
    reset stays. Behind slirp the outcome varies run to run: the connect reset, the data lost, or
    the RST turned into a FIN. 20 tries each (bounded); slirp must show the difference at least once."""
    outcomes = {}
    for name, (c, bind) in both.items():
        seen = outcomes[name] = {}
        for _ in range(20):
            c.reset()
            with LateSource(b"abc", rst=True, bind=bind) as p:
                r = c.call([("socket", []), ("connect", [Ref(0), (c.info["host"], p.port)])], mode="C").results
                time.sleep(0.1)
                r += c.call([("recv", [Handle(0), 10]), ("recv", [Handle(0), 10])], mode="C").results
            key = " ".join(x.errno if isinstance(x, Raised) else repr(x.value) for x in r[1:])
            seen[key] = seen.get(key, 0) + 1
    observed("data then RST, 20 tries: tap %(tap)s; slirp %(slirp)s" % outcomes)
    assert outcomes["tap"] == {"None b'abc' ECONNRESET": 20}, outcomes
    assert set(outcomes["slirp"]) - {"None b'abc' ECONNRESET"}, outcomes


def test_sends_after_the_peer_closed_end_in_econnreset_on_both(both, observed):
    class Closer(sc_peers._Peer):
        def serve(self, conn):
            conn.close()
    counts = {}
    for name, (c, bind) in both.items():
        with Closer(bind) as p:
            connect(c, p.port)
            time.sleep(0.3)
            assert c.call([("recv", [Handle(0), 10])]).results[0] == Ok(b"")
            for n in range(1, 51):     # bounded: 50 sends, 20 ms apart
                r = c.call([("send", [Handle(0), b"x" * 100])]).results[0]
                if isinstance(r, Raised):
                    break
                time.sleep(0.02)
            assert isinstance(r, Raised) and r.errno == "ECONNRESET", (name, r)
            counts[name] = n
    observed("send that raised ECONNRESET: tap #%(tap)d, slirp #%(slirp)d" % counts)


def test_neither_limits_unaccepted_connections_to_the_backlog(both):
    """lwIP is built without TCP_LISTEN_BACKLOG: listen(1) takes more than one connection on both."""
    for name, (c, bind) in both.items():
        port = sc_peers.free_port()
        r = c.call([("socket", []), ("bind", [Ref(0), ("0.0.0.0", port)]), ("listen", [Ref(0), 1])]).results
        assert all(isinstance(x, Ok) for x in r), r
        host = c.info.get("listen_host", sc_peers.LOOPBACK)
        socks = [socket.create_connection((host, port), timeout=2) for _ in range(3)]
        for s in socks:
            s.close()


def test_ipv6_reaches_the_host_alias_and_back_on_both(both, observed):
    """SEMANTICS.md, slirp and tap: on both the oracle is fec0::15 and the host fec0::2 (slirp: the
    host's ::1; tap: the tap's host side), an AF_INET6 connection echoes, and a host connection
    reaches an AF_INET6 listener (slirp: forwarded from [::1]:port; tap: at [fec0::15]:port)."""
    seen = {}
    for name, (c, bind) in both.items():
        bind6 = sc_peers.LOOPBACK6 if bind == sc_peers.LOOPBACK else "fec0::2"
        with sc_peers.TcpEcho(bind=bind6) as echo:
            r = c.call([("socket", [socket.AF_INET6]), ("settimeout", [Ref(0), 5.0]),
                        ("connect", [Ref(0), ("fec0::2", echo.port, 0, 0)]), ("sendall", [Ref(0), b"six"]),
                        ("recv", [Ref(0), 3])], timeout=10).results
            assert all(isinstance(x, Ok) for x in r) and r[-1].value == b"six", (name, r)
            seen[name] = echo.conns[0].getpeername()[0]
        port = sc_peers.free_port(bind6)
        r = c.call([("socket", [socket.AF_INET6]), ("bind", [Ref(0), ("::", port, 0, 0)]),
                    ("listen", [Ref(0), 2]), ("settimeout", [Ref(0), 5.0])]).results
        assert all(isinstance(x, Ok) for x in r), (name, r)
        where = sc_peers.LOOPBACK6 if name == "slirp" else "fec0::15"
        with socket.create_connection((where, port), timeout=5):
            a = c.call([("accept", [r[0].value])], timeout=10).results[0]
            assert isinstance(a, Ok) and len(a.value[1]) == 4, (name, a)
            seen[name + " accept"] = a.value[1][0]
    observed("IPv6 peers saw the oracle as: tap %(tap)s, slirp %(slirp)s; the oracle's accept saw: "
             "tap %(tap accept)s, slirp %(slirp accept)s" % seen)
