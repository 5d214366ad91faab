"""Stream behaviour against host peers: EOF, timeouts, short writes."""
import time

import pytest

from sockconf.wire import Handle, Ok, Raised, Ref

MP = "micropython-usocket.txt"
UC = "uc386-socket.txt"


def ok(result):
    assert isinstance(result, Ok), "expected a return, got %r" % (result,)
    return result.value


def connect(target, consts, host, port, extra=()):
    """Socket 0 connected to host:port (through getaddrinfo), then extra ops; the results."""
    r = target.call([("getaddrinfo", [host, port, 0, consts["SOCK_STREAM"]]), ("socket", []),
                     ("connect", [Ref(1), Ref(0, 0, -1)])] + list(extra)).results
    for x in r:
        ok(x)
    return r


@pytest.mark.clause(UC, "Quirks on this port", "socket.recv()returnsb''on clean peer FIN, like POSIX.")
def test_recv_at_eof_is_empty_every_time(target, consts, peer_host, source_peer):
    peer = source_peer(b"abc")
    connect(target, consts, peer_host, peer.port)
    got = b""
    for _ in range(50):          # bounded: the 3 bytes may come in pieces
        chunk = ok(target.call([("recv", [Handle(0), 10])]).results[0])
        if not chunk:
            break
        got += chunk
    assert got == b"abc"
    after = target.call([("recv", [Handle(0), 10]), ("recv", [Handle(0), 10])]).results
    assert [ok(x) for x in after] == [b"", b""]


@pytest.mark.clause(UC, "Timeouts", "s.settimeout(0.1) # 100 ms; raises OSError(ETIMEDOUT) on expiry")
def test_recv_timeout_is_etimedout_after_the_timeout(target, consts, peer_host, silent_peer, link_rtt):
    connect(target, consts, peer_host, silent_peer.port, [("settimeout", [Ref(1), 0.1])])
    t0 = time.monotonic()
    r = target.call([("recv", [Handle(0), 1])]).results[0]
    waited = time.monotonic() - t0 - link_rtt
    assert isinstance(r, Raised) and r.cls == "OSError" and r.errno == "ETIMEDOUT", r
    assert 0.100 <= waited + link_rtt and waited <= 0.150, "recv gave up after %.1f ms" % (waited * 1e3)


@pytest.mark.clause(MP, "socket.send(bytes)",
                    "Returns number of bytes sent, which may be smaller than the length of data (“short write”).")
def test_nonblocking_send_short_writes_then_eagain(target, consts, peer_host, sink_peer, observed):
    connect(target, consts, peer_host, sink_peer.port, [("setblocking", [Ref(1), False])])
    # 2000 bytes inline, one send per round trip; 2000 divides no power-of-two buffer, so a stack
    # that can take part of a chunk has the chance to show it
    chunk = bytes(range(250)) * 8
    counts, raised = [], None
    for _ in range(8000):                   # bounded: 8000 * 2000 = 16 MB (slirp buffers megabytes)
        r = target.call([("send", [Handle(0), chunk])]).results[0]
        if isinstance(r, Raised):
            raised = r
            break
        counts.append(ok(r))
    assert raised is not None and raised.cls == "OSError" and raised.errno == "EAGAIN", raised
    assert all(0 < n <= len(chunk) for n in counts), "a send returned a count outside 1..%d" % len(chunk)
    short = [n for n in counts if n < len(chunk)]
    # "may be smaller": whether and how much is the implementation's (the oracle: ref/SEMANTICS.md)
    observed("%d sends before EAGAIN, %d short (%s)" % (len(counts), len(short), short[:4]))
    target.call([("close", [Handle(0)])])
    sent = b"".join(chunk[:n] for n in counts)
    assert sink_peer.drain() == sent, "the peer did not receive exactly the bytes send reported"
