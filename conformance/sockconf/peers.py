"""Host-side peers for conformance cases: real sockets on loopback only, one thread each."""
import socket
import threading

LOOPBACK = "127.0.0.1"


class _Peer:
    """A listening TCP socket on loopback with one thread serving it; a context manager."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOOPBACK, 0))
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
        self._thread.join(timeout=5)
        for s in self.conns + [self.sock]:
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TcpEcho(_Peer):
    """Sends back every byte it receives, and keeps a copy in .received."""

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
            conn.sendall(data)


class SilentAcceptor(_Peer):
    """Accepts connections and never sends or closes them (reads time out against it)."""


def free_port():
    """A loopback TCP port that was free a moment ago (for a target to listen on)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]
