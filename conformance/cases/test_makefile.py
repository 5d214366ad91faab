"""socket.makefile (micropython-usocket.txt, socket.makefile and its "Difference to CPython"
notes): a file object on the same connection, binary modes, buffering ignored, closing it closes
the socket."""
import pytest

from sockconf.case import case
from sockconf.wire import Handle, Raised, Ref


def _file(side, peer, mode, *more, clause="mp:makefile"):
    """Connect a stream socket (Handle(0)) to peer with a 2 s timeout and call makefile(mode,
    *more) on it; the file's handle. clause: the sentence that makes this call one that works."""
    r = side.call(side.connect(peer, extra=[("settimeout", [Ref(1), 2.0]), ("makefile", [Ref(1), mode] + list(more))]),
                  mode="C")
    for x in r[:4]:
        side.ok(x, "setting up the connection")
    f = side.ok(r[4], "makefile(%s)" % ", ".join(map(repr, [mode] + list(more))), clause)
    side.need(isinstance(f, Handle), "makefile returned %r, not a file object" % (f,), "mp:makefile")
    return f


@pytest.mark.parametrize("mode", ["rb", "wb", "rwb"])
@case("mp:makefile", "mp:makefile.binary", "mp:makefile.noop", "mp:makefile.type")
def test_makefile_gives_a_file_on_the_same_connection(side, mode):
    """"Return a file object associated with the socket" in each binary mode ('rb', 'wb', 'rwb'):
    what goes through the file goes through the connection, and the socket itself still works
    ("still supported by MicroPython (but is a no-op)"). Whether the file is the socket itself is
    a detail: "The exact returned type depends on the arguments given to makefile()" (the oracle
    returns the socket; MicroPython's unix port a new FileIO on the socket's descriptor)."""
    peer = side.echo()
    f = _file(side, peer, mode, clause="mp:makefile.binary")
    side.detail("makefile returned the socket itself", f == Handle(0))
    writer, reader = (f if "w" in mode else Handle(0)), (f if "r" in mode else Handle(0))
    data = b"through makefile(%s)" % mode.encode()
    r = side.call([("write", [writer, data]), ("read", [reader, len(data)])], mode="C", timeout=10.0)
    n = side.ok(r[0], "write through %s" % ("the file" if writer == f else "the socket"), "mp:makefile.binary")
    side.check(n == len(data), "write of %d bytes returned %r" % (len(data), n), "mp:makefile.binary")
    got = side.ok(r[1], "read through %s" % ("the file" if reader == f else "the socket"), "mp:makefile.binary")
    side.check(got == data, "mode %r: the echo of %r came back as %r" % (mode, data, got), "mp:makefile.binary")
    side.check(peer.wait_received(len(data)) == data, "the peer received %r" % bytes(peer.received))


@pytest.mark.parametrize("buffering", [1, 8192])
@case("mp:makefile.buffering")
def test_makefile_buffering_is_ignored(side, buffering):
    """"values of buffering parameter is ignored and treated as if it was 0 (unbuffered)": a
    write through the file reaches the peer with no flush, and a read through it takes no more
    than asked (the rest is still there for the socket)."""
    peer = side.echo()
    f = _file(side, peer, "rwb", buffering, clause="mp:makefile.buffering")
    r = side.call([("write", [f, b"pingpong"])])
    side.ok(r[0], "write through the file")
    got = peer.wait_received(8, timeout=1.0)
    side.check(got == b"pingpong", "makefile('rwb', %d): 1 s after write(b'pingpong') the peer had %r (no flush "
               "may be needed)" % (buffering, got))
    r = side.call([("read", [f, 4]), ("read", [Handle(0), 4])], mode="C", timeout=10.0)
    side.check(side.ok(r[0], "read(4) through the file") == b"ping", "read(4) through the file gave %r" % (r[0],))
    side.check(side.ok(r[1], "read(4) on the socket after it") == b"pong",
               "read(4) on the socket after read(4) through the file gave %r: the file read ahead" % (r[1],))


@case("mp:makefile.close")
def test_closing_the_file_closes_the_socket(side):
    """"Closing the file object returned by makefile() WILL close the original socket as well":
    after close() on a file made with makefile('wb'), operations on the socket fail."""
    peer = side.echo()
    f = _file(side, peer, "wb")
    r = side.call([("write", [f, b"bye"]), ("close", [f]), ("send", [Handle(0), b"x"]), ("recv", [Handle(0), 1]),
                   ("read", [Handle(0), 1])], mode="C")
    side.ok(r[0], "write through the file")
    side.ok(r[1], "close() on the file")
    for (name, _), x in zip([("send", 0), ("recv", 0), ("read", 0)], r[2:]):
        side.check(isinstance(x, Raised) and x.cls == "OSError", "%s on the socket after closing its file gave %r, "
                   "not OSError" % (name, x))
    side.detail("after closing the file", ", ".join("%s %s" % (n, x.errno if isinstance(x, Raised) else x)
                                                     for n, x in zip(["send", "recv", "read"], r[2:])))
