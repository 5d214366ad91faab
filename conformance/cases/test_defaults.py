"""Defaults in micropython-usocket.txt's signatures: a call that leaves an argument out gets what
the signature gives it. The canonical signatures are positional-only ('/'), so a default is
reached by leaving the argument out, never by naming it.

The other canonical defaults are checked by the cases of their sentences: socket() is AF_INET,
SOCK_STREAM (test_lifecycle.py::test_socket_makes_the_family_type_and_protocol_given), listen()
picks a backlog (test_lifecycle.py::test_listen_without_backlog), getaddrinfo's af, type, proto
and flags are 0 (test_addresses.py::test_getaddrinfo_unspecified_is_the_same_as_zero), read() and
readinto(buf) without a size (test_stream_io.py), makefile(mode) with buffering left out
(test_makefile.py). The ports' own defaults are in test_port_uc386.py and test_port_zerynth.py."""
from sockconf.case import case
from sockconf.wire import Handle, Ref


@case("mp:makefile", "mp:makefile.buffering")
def test_makefile_without_arguments_is_an_unbuffered_binary_reader(side):
    """"socket.makefile(mode='rb', buffering=0, /)" with "Return a file object associated with the
    socket.": makefile() with no argument gives a file that reads the connection in binary mode
    ('rb'): read(4) through it gives the first 4 bytes the peer sent, as bytes. Its buffering is
    the default 0 ("treated as if it was 0 (unbuffered)"): it takes no more than asked, so read(4)
    on the socket itself then gives the next 4. Whether the file is the socket itself is a detail
    ("The exact returned type depends on the arguments given to makefile()")."""
    data = b"default file"
    peer = side.source(data)
    r = side.call(side.connect(peer, extra=[("settimeout", [Ref(1), 2.0]), ("makefile", [Ref(1)])]), mode="C")
    for x in r[:4]:
        side.ok(x, "setting up the connection")
    sock, f = r[1].value, side.ok(r[4], "makefile()")
    side.need(isinstance(f, Handle), "makefile() returned %r, not a file object" % (f,))
    side.detail("makefile() returned the socket itself", f == sock)
    r = side.call([("read", [f, 4]), ("read", [sock, 4])], mode="C", timeout=10)
    got = side.ok(r[0], "read(4) through the file makefile() gave")
    side.check(got == data[:4], "read(4) through the file makefile() gave returned %r; the peer sent %r"
               % (got, data))
    rest = side.ok(r[1], "read(4) on the socket after read(4) through its file", "mp:makefile.buffering")
    side.check(rest == data[4:8], "read(4) on the socket after read(4) through the file makefile() gave returned "
               "%r, not the next bytes %r: the file read ahead" % (rest, data[4:8]), "mp:makefile.buffering")
