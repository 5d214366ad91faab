"""The socket's own stream methods (micropython-usocket.txt, "Difference to CPython" and
socket.send ... socket.write): read, readinto, readline and write on the socket itself, sendall,
close, against host peers. makefile is in test_makefile.py.

Peers defined here (the suite's peers.py has no such behaviour): Trickle sends in pieces with
pauses; ResetAfter sends data, pauses, then resets; Gate reads nothing until opened, then
everything, and records the peer's EOF."""
import hashlib
import random
import socket
import struct
import threading

import pytest

from sockconf import peers as sc_peers
from sockconf import wire
from sockconf.case import case
from sockconf.wire import Handle, Ok, Raised, Ref


class Trickle(sc_peers._Peer):
    """Sends `pieces` one at a time, `gap` seconds apart (TCP_NODELAY: each is its own segment),
    then FIN; with fin=False it holds the connection open until it is closed."""

    def __init__(self, pieces, gap, fin=True, bind=sc_peers.LOOPBACK):
        self.pieces, self.gap, self.fin = [bytes(p) for p in pieces], gap, fin
        super().__init__(bind)

    def serve(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(10.0)
        try:
            for piece in self.pieces:
                if self._stop.wait(self.gap):
                    return
                conn.sendall(piece)
            if self.fin:
                conn.shutdown(socket.SHUT_WR)
        except OSError:
            return


class ResetAfter(sc_peers._Peer):
    """Sends `data` after `delay` seconds, waits `pause` seconds, then resets (RST). Unlike
    Source(rst=True) it pauses between the data and the RST: without that pause, slirp (the
    oracle's default backend) turns the RST into a FIN about half the time (ref/SEMANTICS.md,
    "slirp and tap"); with 50 ms it gave the reset 100 times of 100."""

    def __init__(self, data, delay=0.05, pause=0.05, bind=sc_peers.LOOPBACK):
        self.data, self.delay, self.pause = bytes(data), delay, pause
        super().__init__(bind)

    def serve(self, conn):
        if self._stop.wait(self.delay):
            return
        conn.sendall(self.data)
        if self._stop.wait(self.pause):
            return
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


class Gate(sc_peers._Peer):
    """Reads nothing until open()ed (a small receive buffer, so the target's sends fill up), then
    reads every byte into .received; .eof is set when the target's FIN arrives."""
    rcvbuf = 4096

    def __init__(self, bind=sc_peers.LOOPBACK, opened=False):
        self.gate, self.eof, self.timer = threading.Event(), threading.Event(), None
        if opened:
            self.gate.set()
        super().__init__(bind)

    def open(self, after=0.0):
        self.timer = threading.Timer(after, self.gate.set)
        self.timer.daemon = True
        self.timer.start()

    def serve(self, conn):
        while not self.gate.wait(0.02):
            if self._stop.is_set():
                return
        while not self._stop.is_set():
            try:
                data = conn.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                self.eof.set()
                return
            self.received += data

    def close(self):
        if self.timer:
            self.timer.cancel()
        super().close()


def _short(v):
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _run(side, peer, ops, timeout=2.0, nonblocking=False):
    """Connect a stream socket (Handle(0)) to peer, set its timeout (None: leave it blocking),
    then run ops in the same request; every op runs (mode C). The results of ops. nonblocking:
    some of the ops run on the socket made non-blocking (Side.call)."""
    pre = [("settimeout", [Ref(1), timeout])] if timeout is not None else []
    r = side.call(side.connect(peer, extra=pre + ops), mode="C", timeout=5.0 + 2.0 * len(ops), nonblocking=nonblocking)
    for x in r[:3 + len(pre)]:
        side.ok(x, "setting up the connection")
    return r[3 + len(pre):]


def _got(side, op, result, size, clause):
    """What read/readline (bytes) or readinto ((count, buffer of `size` bytes)) gave, as bytes.
    For readinto: the count is an int in 0..size and no byte past it was touched."""
    v = side.ok(result, op, clause)
    if op != "readinto":
        side.check(isinstance(v, bytes), "%s returned %s, not bytes" % (op, _short(v)), clause, type(v).__name__)
        side.need(isinstance(v, (bytes, bytearray)), "%s returned %s, no bytes at all" % (op, _short(v)), clause)
        return bytes(v)
    side.need(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], int) and 0 <= v[0] <= size
              and len(v[1]) == size, "readinto(bytearray(%d)) gave %s, not (count 0..%d, buffer)"
              % (size, _short(v), size), "mp:readinto.return")
    n, buf = v
    side.check(bytes(buf[n:]) == bytes(size - n), "readinto returned %d but changed bytes of the buffer "
               "past them: %s" % (n, _short(bytes(buf))), "mp:readinto.return")
    return bytes(buf[:n])


def _reader(op, size, nbytes=None):
    """The op for read(size) or readinto(bytearray(size)[, nbytes]) on Handle(0)."""
    return (op, [Handle(0), size] + ([] if nbytes is None else [nbytes]))


@case("mp:stream.interface", "mp:write.return", "mp:write.no-short", "mp:readline", "mp:readinto",
      "mp:readinto.return", "mp:read")
def test_stream_methods_work_on_the_socket_itself(side):
    """"socket objects in MicroPython implement a stream (file-like) interface directly": write,
    readline, readinto and read on the socket, with no makefile."""
    peer = side.echo()
    body = bytes(range(256)) * 2
    data = b"hello stream\n" + body
    r = _run(side, peer, [("write", [Handle(0), data]), ("readline", [Handle(0)]),
                          ("readinto", [Handle(0), 100]), ("read", [Handle(0), 412])])
    n = side.ok(r[0], "write on the socket")
    side.check(n == len(data), "write of %d bytes on a blocking socket returned %s" % (len(data), _short(n)),
               "mp:write.return")
    line = _got(side, "readline", r[1], None, "mp:readline")
    side.check(line == b"hello stream\n", "readline on the socket gave %s" % _short(line), "mp:readline")
    into = _got(side, "readinto", r[2], 100, "mp:readinto")
    side.check(into == body[:100], "readinto(bytearray(100)) stored %s" % _short(into), "mp:readinto")
    rest = _got(side, "read", r[3], None, "mp:read")
    side.check(rest == body[100:], "read(412) gave %d bytes %s" % (len(rest), _short(rest)), "mp:read")
    got = peer.wait_received(len(data))
    side.check(got == data, "the peer received %d bytes, write reported %d" % (len(got), n), "mp:write.no-short")


@pytest.mark.parametrize("op", ["read", "readinto"])
@case("mp:read.no-short", "mp:readinto.no-short", "mp:read", slow=0.12)
def test_read_size_waits_for_every_segment(side, op):
    """"This function tries to read as much data as requested (no “short reads”)": on a blocking
    socket, read(150)/readinto(150) return 150 bytes that came in three segments 30 ms apart."""
    clause = "mp:%s.no-short" % op
    data = bytes(range(200))
    peer = side._peer(Trickle([data[i:i + 50] for i in range(0, 200, 50)], 0.03, bind=side.peer_bind))
    r = _run(side, peer, [_reader(op, 150), _reader(op, 50)], timeout=None)
    first = _got(side, op, r[0], 150, clause)
    side.check(first == data[:150], "%s(150) gave %d bytes, the peer sent 200 in pieces of 50"
               % (op, len(first)), clause)
    second = _got(side, op, r[1], 50, clause)
    side.check(second == data[150:], "the next %s(50) gave %s" % (op, _short(second)), clause)


@case("mp:readline", "mp:readline.return", slow=0.125)
def test_readline_waits_for_the_newline_across_pieces(side):
    """"Read a line, ending in a newline character": lines that arrive in pieces, 25 ms apart,
    come back whole, one per call, and b'' at EOF."""
    pieces = [b"GET /ind", b"ex.html HT", b"TP/1.0\r\nHo", b"st: x\r\n", b"\r\n"]
    peer = side._peer(Trickle(pieces, 0.025, bind=side.peer_bind))
    r = _run(side, peer, [("readline", [Handle(0)])] * 4)
    lines = [_got(side, "readline", x, None, "mp:readline") for x in r]
    side.check(lines == [b"GET /index.html HTTP/1.0\r\n", b"Host: x\r\n", b"\r\n", b""],
               "readline x4 gave %s" % _short(lines))


@pytest.mark.parametrize("op", ["read", "readinto", "readline"])
@case("mp:read.no-short", "mp:readinto.no-short", "mp:readinto.return", "mp:readline", "mp:read")
def test_reads_are_short_only_at_eof_then_empty(side, op):
    """At EOF a read returns what is left (the only short read), then b'' (readinto: 0) every
    time."""
    data = b"line one\nline two"
    peer = side.source(data)
    if op == "readline":
        clause, ops, want = "mp:readline", [("readline", [Handle(0)])] * 4, [b"line one\n", b"line two", b"", b""]
    else:
        clause = "mp:%s.no-short" % op
        ops, want = [_reader(op, 64), _reader(op, 16), _reader(op, 16)], [data, b"", b""]
    r = _run(side, peer, ops)
    got = [_got(side, op, x, args[1] if op == "readinto" else None, clause) for x, (_, args) in zip(r, ops)]
    side.check(got == want, "%s until EOF and after it gave %s, the peer sent %r then FIN"
               % (op, _short(got), data), clause)


@case("mp:read.eof", "mp:read", slow=0.09)
def test_read_without_size_reads_until_eof(side):
    """"If size is not given, it reads all data available from the socket until EOF": three
    pieces 30 ms apart, then FIN, come back from one read()."""
    pieces = [bytes([65 + i]) * 300 for i in range(3)]
    peer = side._peer(Trickle(pieces, 0.03, bind=side.peer_bind))
    r = _run(side, peer, [("read", [Handle(0)]), ("read", [Handle(0)])])
    got = _got(side, "read", r[0], None, "mp:read")
    side.check(got == b"".join(pieces), "read() gave %d bytes %s; the peer sent 900 in 3 pieces, then FIN"
               % (len(got), _short(got)))
    again = _got(side, "read", r[1], None, "mp:read")
    side.check(again == b"", "read() after EOF gave %s" % _short(again))


@case("mp:readinto", "mp:readinto.return", "mp:readinto.no-short")
def test_readinto_reads_at_most_nbytes_else_len_buf(side):
    """"If nbytes is specified then read at most that many bytes. Otherwise, read at most
    len(buf) bytes." and it returns the count stored."""
    data = bytes(range(200))
    peer = side.source(data)
    r = _run(side, peer, [_reader("readinto", 64), _reader("readinto", 64, 10), _reader("readinto", 128)])
    a = _got(side, "readinto", r[0], 64, "mp:readinto")
    side.check(a == data[:64], "readinto(bytearray(64)) stored %d bytes %s" % (len(a), _short(a)))
    b = _got(side, "readinto", r[1], 64, "mp:readinto")
    side.check(b == data[64:74], "readinto(bytearray(64), 10) stored %d bytes %s" % (len(b), _short(b)))
    c = _got(side, "readinto", r[2], 128, "mp:readinto")
    side.check(c == data[74:], "readinto(bytearray(128)) with 126 bytes left before EOF stored %d" % len(c),
               "mp:readinto.no-short")


@case("mp:read.nonblocking", "mp:read")
def test_nonblocking_read_returns_what_is_there(side):
    """"This may be not possible with non-blocking socket though, and then less data will be
    returned": 50 bytes are waiting, read(200) returns them at once; with nothing waiting the
    result is the implementation's (the oracle: None)."""
    data = bytes(range(100))
    peer = side._peer(Trickle([data], 0, fin=False, bind=side.peer_bind))
    r = _run(side, peer, [("read", [Handle(0), 50]), side.nonblocking(Handle(0)),
                          ("read", [Handle(0), 200]), ("read", [Handle(0), 10])], nonblocking=True)
    first = _got(side, "read", r[0], None, "mp:read")
    side.check(first == data[:50], "blocking read(50) gave %s" % _short(first), "mp:read.no-short")
    side.ok(r[1], "making the socket non-blocking")
    some = _got(side, "read", r[2], None, "mp:read.nonblocking")
    side.check(0 < len(some) < 200 and some == data[50:50 + len(some)],
               "non-blocking read(200) with 50 bytes waiting gave %s" % _short(some))
    side.detail("non-blocking read(200) with 50 waiting", len(some))
    side.detail("non-blocking read(10) with nothing waiting", _short(r[3]))


@case("mp:read", "mp:read.no-short", "mp:error.absent", slow=0.1)
def test_peer_reset_after_data(side):
    """The peer sends data, then resets: the data is read first. The docs do not mention resets:
    what the next read does is reported (if it raises, it is an OSError: MicroPython has no other
    socket exception)."""
    data = b"reset follows. " * 8
    peer = side._peer(ResetAfter(data, bind=side.peer_bind))
    r = _run(side, peer, [("read", [Handle(0), len(data)]), ("read", [Handle(0), 1])])
    got = _got(side, "read", r[0], None, "mp:read.no-short")
    side.check(got == data, "read(%d) before the reset gave %s" % (len(data), _short(got)), "mp:read.no-short")
    if isinstance(r[1], Raised):
        side.check(r[1].cls == "OSError", "read after the reset raised %s, not OSError" % r[1].cls, "mp:error.absent")
    side.detail("read after the reset", "%s %s" % (r[1].cls, r[1].errno) if isinstance(r[1], Raised)
                else _short(r[1]))


@case("mp:sendall.all", "mp:read.no-short")
def test_200_kb_through_the_echo_peer_arrive_intact(side):
    """200 KB of the pattern out with sendall and back with read(2048), made and checked on the
    target (pump and sink), 25 KB a request so that the echo never waits on a full buffer: the
    peer received exactly the pattern, and every read(2048) gave 2048 bytes of it."""
    size, step, total = 2048, 25 * 1024, 200 * 1024
    peer = side.echo()
    side.connected(peer, extra=[("settimeout", [Ref(1), 5.0])])
    for at in range(0, total, step):      # bounded: 8 requests
        (sent, _), (read, t) = side.bulks([("pump", Handle(0), "sendall", step, size, at),
                                           ("sink", Handle(0), "read", step, size, at)], timeout=15.0)
        side.ok(sent, "sendall of bytes %d..%d" % (at, at + step))
        side.ok(read, "read of bytes %d..%d" % (at, at + step), "mp:read.no-short")
        side.check(t.short == 0 and t.bytes == step, "reads of %d returned fewer bytes (%d of %d calls) while the "
                   "echo of %d was on its way: %d of %d bytes" % (size, t.short, t.calls, step, t.bytes, step),
                   "mp:read.no-short")
        side.check(t.bad < 0, "the target read a byte at stream offset %d that is not the one sent" % t.bad,
                   "mp:read.no-short")
    sent = peer.wait_received(total)
    side.check(sent == wire.pattern(total), "the peer received %d bytes, %s the %d bytes sendall was given"
               % (len(sent), "not" if len(sent) == total else "not all of", total))


@case("mp:write.nonblocking", "mp:write.return", "mp:sendall.use-write", "mp:sendall.nonblocking",
      "mp:write.no-short", "mp:sendall.all", slow=0.1)
def test_write_and_sendall_on_a_full_send_buffer(side):
    """A peer that reads nothing: non-blocking writes of the pattern (pump: one request) return how
    many bytes they took (fewer than given once the buffer fills), then nothing fits; non-blocking
    sendall there is undefined (reported). Then blocking: the peer starts reading 0.1 s later, and
    write and sendall each send everything. The peer gets exactly the bytes each call reported, in
    order."""
    gate = side._peer(Gate(side.peer_bind))
    side.connected(gate, extra=[side.nonblocking(Ref(1))])
    size = 2000
    nb, wr, sa = (bytes((i * 7 + c) & 0xFF for i in range(1000)) for c in b"NWS")   # not the pattern
    # bounded: 24 MB (slirp buffers over 3 MB)
    last, t = side.bulk("pump", Handle(0), "write", 24 << 20, size, nonblocking=True)
    side.check(not (t.end == "value" and t.kind == "int" and t.last > size),
               "non-blocking write of %d bytes returned %s" % (size, t.last), "mp:write.return")
    nothing = (t.end == "raised" and last.cls == "OSError" or t.end == "value" and (t.kind == "NoneType" or
                                                                                    t.last == 0))
    side.check(nothing, "non-blocking write to a full buffer gave %s, not a count below %d (or None, or OSError)"
               % (_short(last) if t.end == "raised" else "%s after %d bytes (%s %s)" % (t.end, t.bytes, t.kind, t.last),
                  size), "mp:write.nonblocking")
    side.detail("non-blocking writes before the buffer was full", t.calls - 1)
    side.detail("short writes", t.short)
    side.detail("non-blocking write with nothing fitting", "%s %s" % (last.cls, last.errno)
                if t.end == "raised" else "%s %s" % (t.kind, t.last))
    r = side.call([("sendall", [Handle(0), nb])])[0]
    side.check(isinstance(r, Ok) or r.cls == "OSError", "non-blocking sendall raised %s" % _short(r),
               "mp:sendall.nonblocking")
    side.detail("non-blocking sendall on a full buffer", _short(r.value) if isinstance(r, Ok)
                else "%s %s" % (r.cls, r.errno))
    gate.open(after=0.1)
    r = side.call([("settimeout", [Handle(0), 5.0]), ("write", [Handle(0), wr])], mode="C", timeout=10.0)
    side.ok(r[0], "settimeout(5.0)", "mp:write.no-short")
    n = side.ok(r[1], "blocking write on a full buffer", "mp:write.no-short")
    side.check(n == len(wr), "blocking write of %d bytes on a full buffer returned %s" % (len(wr), _short(n)),
               "mp:write.no-short")
    r = side.call([("sendall", [Handle(0), sa]), ("close", [Handle(0)])], mode="C", timeout=10.0)
    side.ok(r[0], "blocking sendall after it", "mp:sendall.all")
    side.check(gate.eof.wait(15.0), "the peer got no EOF within 15 s of close(): what it received "
               "cannot be checked", "mp:sendall.all")
    got = bytes(gate.received)
    side.check(got.startswith(wire.pattern(t.bytes)), "the peer's first %d bytes differ from what the non-blocking "
               "writes reported" % t.bytes, "mp:write.nonblocking")
    side.check(len(got) >= t.bytes + len(wr + sa) and got.endswith(wr + sa), "the peer's last %d bytes are not the "
               "blocking write's then the sendall's (it got %d in all)" % (len(wr + sa), len(got)), "mp:sendall.all")
    middle = got[t.bytes:len(got) - len(wr + sa)]
    side.check(len(middle) <= len(nb) and middle == nb[:len(middle)], "between the writes the peer got %d bytes, "
               "not a prefix of the non-blocking sendall's %d" % (len(middle), len(nb)), "mp:sendall.nonblocking")
    side.detail("bytes of the non-blocking sendall that arrived", len(middle))


@case("mp:close.eof")
def test_close_sends_eof_to_the_peer(side):
    """"The remote end will receive EOF indication if supported by protocol" (TCP: a FIN)."""
    peer = side._peer(Gate(side.peer_bind, opened=True))
    side.connected(peer, extra=[("sendall", [Ref(1), b"last words"]), ("close", [Ref(1)])])
    side.check(peer.eof.wait(2.0), "the peer saw no EOF within 2 s of close()")
    side.check(bytes(peer.received) == b"last words", "before EOF the peer got %s" % _short(bytes(peer.received)))


@case("mp:sendall.connected", "mp:error.absent")
def test_sendall_needs_a_connected_socket(side):
    """"Send all data to the socket. The socket must be connected to a remote socket": sendall on a
    stream socket that never connected raises, OSError itself (MicroPython has no socket exception
    of its own; the errno is the implementation's); once a socket is connected, sendall delivers
    every byte."""
    r = side.call([("socket", []), ("sendall", [Ref(0), b"nobody"])], mode="C")
    side.ok(r[0], "socket()")
    side.raised(r[1], cls_clause="mp:error.absent", what="sendall on a socket that never connected")
    side.detail("sendall before connect", "%s %s" % (r[1].cls, r[1].errno))
    peer = side.echo()
    data = b"everybody" * 200
    r = side.connected(peer, extra=[("sendall", [Ref(1), data])])
    side.ok(r[3], "sendall once connected")
    got = peer.wait_received(len(data))
    side.check(got == data, "the peer received %d of the %d bytes sendall sent" % (len(got), len(data)))


@case("mp:send.connected", "mp:error.absent")
def test_send_needs_a_connected_socket(side):
    """"The socket must be connected to a remote socket": send on a stream socket that never
    connected raises, OSError itself (MicroPython has no socket exception of its own; the errno is
    the implementation's); once a socket is connected, send delivers."""
    r = side.call([("socket", []), ("send", [Ref(0), b"nobody"])], mode="C")
    side.ok(r[0], "socket()")
    side.raised(r[1], cls_clause="mp:error.absent", what="send on a socket that never connected")
    side.detail("send before connect", "%s %s" % (r[1].cls, r[1].errno))
    peer = side.echo()
    data = b"somebody"
    r = side.connected(peer, extra=[("send", [Ref(1), data])])
    n = side.ok(r[3], "send once connected")
    side.check(isinstance(n, int) and 0 < n <= len(data), "send on a connected socket returned %s" % _short(n))
    got = peer.wait_received(n)
    side.check(got == data[:n], "the peer received %s, send reported %d bytes" % (_short(got), n))
