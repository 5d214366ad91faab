"""First cases from micropython-usocket.txt: addresses, a connection to an echo peer, timeouts, close."""
import socket
import time

import pytest

from sockconf.peers import free_port
from sockconf.wire import Handle, Ok, Raised, Ref

DOC = "micropython-usocket.txt"


def ok(result):
    assert isinstance(result, Ok), "expected a return, got %r" % (result,)
    return result.value


def connected(consts, host, port):
    """Ops that make socket 0 (op 1) connected to host:port, through getaddrinfo as the docs advise."""
    return [("getaddrinfo", [host, port, 0, consts["SOCK_STREAM"]]),
            ("socket", []),
            ("connect", [Ref(1), Ref(0, 0, -1)])]


@pytest.mark.clause(DOC, "usocket.inet_pton(af, txt_addr)",
                    "Convert a textual network address txt_addr of the given address family af to a binary representation:")
def test_inet_pton_example(target, consts):
    assert ok(target.call([("inet_pton", [consts["AF_INET"], "1.2.3.4"])]).results[0]) == b"\x01\x02\x03\x04"


@pytest.mark.clause(DOC, "usocket.inet_ntop(af, bin_addr)",
                    "Convert a binary network address bin_addr of the given address family af to a textual representation:")
def test_inet_ntop_example(target, consts):
    assert ok(target.call([("inet_ntop", [consts["AF_INET"], b"\x7f\0\0\1"])]).results[0]) == "127.0.0.1"


@pytest.mark.clause(DOC, "usocket.getaddrinfo(host, port, af=0, type=0, proto=0, flags=0, /)",
                    "The resulting list of 5-tuples has the following structure:")
def test_getaddrinfo_gives_5_tuples(target, consts, peer_host):
    infos = ok(target.call([("getaddrinfo", [peer_host, 80])]).results[0])
    assert isinstance(infos, list) and infos
    for info in infos:
        assert isinstance(info, tuple) and len(info) == 5


@pytest.mark.clause(DOC, "socket.send(bytes)",
                    "Returns number of bytes sent, which may be smaller than the length of data (“short write”).")
def test_send_returns_count_and_peer_gets_those_bytes(target, consts, peer_host, echo_peer):
    data = b"sockconf-" * 8
    r = target.call(connected(consts, peer_host, echo_peer.port) + [("send", [Ref(1), data]), ("close", [Ref(1)])]).results
    sent = ok(r[3])
    assert isinstance(sent, int) and 0 < sent <= len(data)
    deadline = time.monotonic() + 5
    while len(echo_peer.received) < sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bytes(echo_peer.received) == data[:sent]


@pytest.mark.clause(DOC, "socket.recv(bufsize)",
                    "The maximum amount of data to be received at once is specified by bufsize.")
def test_recv_returns_at_most_bufsize(target, consts, peer_host, echo_peer):
    r = target.call(connected(consts, peer_host, echo_peer.port) + [("sendall", [Ref(1), b"0123456789"]),
                                                         ("recv", [Ref(1), 3])]).results
    got = ok(r[4])
    assert isinstance(got, bytes) and 0 < len(got) <= 3 and b"0123456789".startswith(got)


@pytest.mark.clause(DOC, "socket.settimeout(value)",
                    "If a non-zero value is given, subsequent socket operations will raise an OSError exception "
                    "if the timeout period value has elapsed before the operation has completed.")
def test_recv_timeout_raises_oserror(target, consts, peer_host, silent_peer):
    r = target.call(connected(consts, peer_host, silent_peer.port) + [("settimeout", [Ref(1), 0.2]),
                                                           ("recv", [Ref(1), 1])]).results
    assert isinstance(r[4], Raised) and r[4].cls == "OSError", r[4]


@pytest.mark.clause(DOC, "socket.close()",
                    "Once that happens, all future operations on the socket object will fail.")
def test_operations_after_close_fail(target, consts, peer_host, echo_peer):
    r = target.call(connected(consts, peer_host, echo_peer.port) + [("close", [Ref(1)])]).results
    ok(r[3])
    after = target.call([("send", [Handle(0), b"x"]), ("recv", [Handle(0), 1])], mode="C").results
    assert all(isinstance(x, Raised) for x in after), after


@pytest.mark.clause(DOC, "socket.accept()", "The return value is a pair (conn, address)")
def test_accept_returns_a_pair(target, consts, listen_host):
    port = free_port()
    ok(target.call([("getaddrinfo", ["0.0.0.0", port, 0, consts["SOCK_STREAM"]]), ("socket", []),
                    ("setsockopt", [Ref(1), consts["SOL_SOCKET"], consts["SO_REUSEADDR"], 1]),
                    ("bind", [Ref(1), Ref(0, 0, -1)]), ("listen", [Ref(1), 1])]).results[-1])
    with socket.create_connection((listen_host, port), timeout=5):
        pair = ok(target.call([("accept", [Handle(0)])]).results[0])
    assert isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Handle)
