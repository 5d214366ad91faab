"""Host-side peers for conformance cases: real sockets on loopback, or on the tap address of a
network namespace the run made (sockconf.netns), never anywhere else; one thread each."""
import socket
import struct
import threading
import time

LOOPBACK = "127.0.0.1"
LOOPBACK6 = "::1"     # where a peer listens for a case that needs an IPv6 peer


def family(bind):
    """The address family of a bind address: AF_INET6 for colon notation, else AF_INET."""
    return socket.AF_INET6 if ":" in bind else socket.AF_INET


def _wake(socks):
    """Shut the sockets down so that a thread blocked on them (accept, recv) returns now rather
    than at its next 0.1 s timeout: that wait, once per peer, was half of a suite run."""
    for s in socks:
        try:
            if s.type == socket.SOCK_DGRAM:
                s.sendto(b"", s.getsockname())    # shutdown does not wake an unconnected UDP socket
            else:
                s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Closing:
    """A peer is a context manager: `with` closes it."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def ended(self):
        """After close(): whether the peer ended clean (its thread, if it has one, has finished)."""
        thread = getattr(self, "_thread", None)
        return thread is None or not thread.is_alive()


class _Peer(_Closing):
    """A listening TCP socket on loopback with one thread serving it; a context manager."""

    rcvbuf = None    # a small receive buffer, for peers that never read

    def __init__(self, bind=LOOPBACK):
        self.sock = socket.socket(family(bind), socket.SOCK_STREAM)
        if self.rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        self.sock.bind((bind, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self.conns = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(0.1)
            self.conns.append(conn)
            self.serve(conn)

    def serve(self, conn):
        """Handle one accepted connection (the default holds it open and says nothing)."""

    def close(self):
        self._stop.set()
        _wake([self.sock] + self.conns)
        self._thread.join(timeout=5)
        for s in self.conns + [self.sock]:
            s.close()


class TcpEcho(_Peer):
    """Sends back every byte it receives, and keeps a copy in .received."""

    def wait_received(self, n, timeout=5.0):
        """What it received, once it has n bytes or after timeout seconds."""
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.005)
        return bytes(self.received)

    def serve(self, conn):
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            self.received += data
            try:
                conn.sendall(data)
            except OSError:
                return      # the target closed or reset first: what came is in .received



class SilentAcceptor(_Peer):
    """Accepts connections and never sends or closes them (reads time out against it)."""


class Source(_Peer):
    """Sends `data` on each connection (after `delay` seconds), then FIN (or, with rst=True, RST)."""

    def __init__(self, data, rst=False, bind=LOOPBACK, delay=0.0):
        self.data, self.rst, self.delay = bytes(data), rst, delay
        super().__init__(bind)

    def serve(self, conn):
        if self.delay:
            time.sleep(self.delay)
        conn.sendall(self.data)
        if self.rst:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        else:
            conn.shutdown(socket.SHUT_WR)


class Sink(_Peer):
    """Never reads while a case runs, with a small receive buffer, so the target's sends fill up;
    drain() then reads every connection to its end and returns what came."""
    rcvbuf = 4096

    def drain(self, timeout=30.0):
        return self.drain_to_end(timeout)[0]

    def drain_to_end(self, timeout=30.0):
        """(every byte that came, whether every connection's end came too) within timeout s."""
        deadline = time.monotonic() + timeout
        while not self.conns and time.monotonic() < deadline:
            time.sleep(0.01)
        data, ends = bytearray(), 0
        for conn in list(self.conns):
            while time.monotonic() < deadline:
                try:
                    chunk = conn.recv(1 << 20)
                except socket.timeout:
                    continue
                if not chunk:
                    ends += 1
                    break
                data += chunk
        return bytes(data), bool(self.conns) and ends == len(self.conns)


class _Udp(_Closing):
    """A UDP socket with one thread serving it; every datagram and its sender kept in .got."""

    def __init__(self, bind=LOOPBACK, port=0):
        self.sock = socket.socket(family(bind), socket.SOCK_DGRAM)
        self.sock.bind((bind, port))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.got = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except OSError:
                continue
            self.got.append((data, addr))
            self.answer(data, addr)

    def answer(self, data, addr):
        """What to do with a datagram (the default: keep it only)."""

    def datagrams(self, n, seconds=2.0):
        """The data of the datagrams got so far, once there are n or after `seconds`."""
        deadline = time.monotonic() + seconds
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.005)
        return [data for data, _ in self.got]

    def close(self):
        self._stop.set()
        _wake([self.sock])
        self._thread.join(timeout=5)
        self.sock.close()


class FakeDns(_Udp):
    """A DNS server on UDP (loopback unless told). Names in `zone` get their address: an A record
    for an IPv4 address to an A query, an AAAA record for an IPv6 one to an AAAA query, an empty
    answer to the other type; names ending in .invalid or under nxdomain. get NXDOMAIN, servfail.
    SERVFAIL, silent. no answer, nodata. an empty answer; every name asked is kept in `queries`.
    Nothing is ever forwarded anywhere."""

    def __init__(self, bind=LOOPBACK, port=0):
        self.zone = {}
        self.queries = []
        super().__init__(bind, port)

    @staticmethod
    def _qname(msg):
        labels, at = [], 12
        while at < len(msg) and msg[at]:
            n = msg[at]
            labels.append(msg[at + 1:at + 1 + n].decode("ascii", "replace"))
            at += 1 + n
        return ".".join(labels).lower(), at + 5

    def answer(self, data, addr):
        reply = self.reply(data)
        if reply is not None:
            self.sock.sendto(reply, addr)

    def reply(self, msg):
        """The reply to query msg, or None for no reply."""
        if len(msg) < 17:
            return None
        name, end = self._qname(msg)
        self.queries.append(name)
        first = name.split(".")[0]
        if first == "silent":
            return None
        rcode, answers = 3, []
        qtype = struct.unpack(">H", msg[end - 4:end - 2])[0] if end <= len(msg) else 0
        if name in self.zone:
            ip = self.zone[name]
            rcode, answers = 0, [ip] if qtype == (28 if ":" in ip else 1) else []
        elif first == "servfail":
            rcode = 2
        elif first == "nodata":
            rcode = 0
        header = msg[:2] + struct.pack(">HHHHH", 0x8180 | rcode, 1, len(answers), 0, 0)
        body = msg[12:end]
        for ip in answers:
            packed = socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)
            body += struct.pack(">HHHIH", 0xC00C, 28 if ":" in ip else 1, 1, 60, len(packed)) + packed
        return header + body


def free_port(bind=LOOPBACK):
    """A TCP port that was free a moment ago: for a target to listen on, or one where nothing
    listens (a connection to it is refused)."""
    with socket.socket(family(bind), socket.SOCK_STREAM) as s:
        s.bind((bind, 0))
        return s.getsockname()[1]


class LateDial(_Closing):
    """A host connection to (host, port) made `delay` seconds from now, from a thread; .sock, or
    .error if the connection failed."""

    def __init__(self, host, port, delay):
        self.sock, self.error = None, None
        self._timer = threading.Timer(delay, self._dial, (host, port))
        self._timer.daemon = True
        self._timer.start()

    def _dial(self, host, port):
        try:
            self.sock = socket.create_connection((host, port), timeout=5)
        except OSError as e:
            self.error = e

    def close(self):
        self._timer.cancel()
        self._timer.join(5)
        if self.sock is not None:
            self.sock.close()


class BlackHole(_Closing):
    """A listener whose backlog is full and is never accepted: SYNs to it go unanswered, so a
    connect to it can only time out."""

    def __init__(self, bind=LOOPBACK):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((bind, 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(4):      # bounded: backlog 0 holds one or two; the rest just time out
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((bind, self.port))
            self.fillers.append(s)
        time.sleep(0.05)

    def close(self):
        for s in self.fillers + [self.sock]:
            s.close()


class UdpEcho(_Udp):
    """Sends every datagram back to where it came from."""

    def answer(self, data, addr):
        self.sock.sendto(data, addr)


class UdpSender(_Udp):
    """Sends datagrams to a port the target bound: send(data, host, port)."""

    def send(self, data, host, port):
        self.sock.sendto(data, (host, port))
