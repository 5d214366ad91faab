"""Byte transports to an agent (pipe to a process, pty, serial port), every read bounded by a deadline."""
import os
import re
import select
import subprocess
import tempfile
import termios
import time
import tty


class TargetDied(Exception):
    """The agent's process exited, or its stream ended. `final`: it will end the same way on every
    try (a deterministic start error: ImportError, SyntaxError, MemoryError), so it is not retried."""

    final = False

    def __init__(self, status, stderr_tail="", ops=None):
        self.status, self.stderr_tail, self.ops = status, stderr_tail, ops
        what = ("target exited with status %d" % status if status is not None and status >= 0
                else "target was killed by signal %d" % -status if status is not None
                else "target closed its stream")
        if ops:
            what += " while running: " + ", ".join(ops)
        super().__init__(what + (" (stderr: %s)" % stderr_tail if stderr_tail else ""))


class TargetLacks(Exception):
    """The target is there but lacks what every case needs (a board without a socket module);
    str() says what, in one sentence: every case is UNSUPPORTED with it."""


class Transport:
    """Line reading over a subclass's _read_some(timeout) -> bytes (b'' when none came), None at EOF."""

    def __init__(self):
        self._buf = bytearray()
        self._eof = False

    def readline(self, deadline):
        """The next line with its b'\\n' (an unterminated tail at EOF comes without); None once
        time.monotonic() passes deadline; TargetDied at EOF."""
        while True:
            i = self._buf.find(b"\n")
            if i >= 0 or (self._eof and self._buf):
                line = bytes(self._buf[:i + 1] if i >= 0 else self._buf)
                del self._buf[:len(line)]
                return line
            if self._eof:
                raise self._died()
            remaining = deadline - time.monotonic()
            data = self._read_some(max(remaining, 0))
            if data is None:
                self._eof = True
            elif data:
                self._buf += data
            elif remaining <= 0:
                return None

    def _died(self):
        return TargetDied(None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _read_fd(fd, timeout):
    """Up to 64 KiB from a non-blocking fd within timeout: b'' if none, None at EOF (or pty EIO)."""
    if not select.select([fd], [], [], timeout)[0]:
        return b""
    try:
        return os.read(fd, 65536) or None
    except BlockingIOError:
        return b""
    except OSError:  # EIO: the pty's other side is closed
        return None


def _tail(f, n=400):
    """The last n bytes of a file object, as one line of text."""
    try:
        f.flush()
        f.seek(max(0, os.fstat(f.fileno()).st_size - n))
        return " | ".join(f.read().decode("utf-8", "replace").split("\n")).strip(" |")
    except (OSError, ValueError):
        return ""


def _stop(proc, grace=1.0, wait_first=True):
    """End a process we started: wait a little (for it to see EOF), then terminate, then kill."""
    for action in ((None,) if wait_first else ()) + (proc.terminate, proc.kill):
        if action:
            action()
        try:
            return proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass


class _ProcessMixin:
    proc = None
    _log = None

    def _died(self):
        status = None
        if self.proc:
            try:
                status = self.proc.wait(2.0)
            except subprocess.TimeoutExpired:
                pass
        return TargetDied(status, _tail(self._log) if self._log else "")

    def stderr_text(self):
        return _tail(self._log, 1 << 20) if self._log else ""

    def stderr_mark(self):
        """Where the agent's stderr ends now, for stderr_since."""
        try:
            return os.fstat(self._log.fileno()).st_size if self._log else 0
        except (OSError, ValueError):
            return 0

    def stderr_since(self, mark, most=2000):
        """What the agent wrote to stderr since stderr_mark() gave mark (at most `most` bytes)."""
        try:
            self._log.flush()
            self._log.seek(mark)
            return self._log.read(most).decode("utf-8", "replace").strip()
        except (AttributeError, OSError, ValueError):
            return ""


class PipeTransport(_ProcessMixin, Transport):
    """An agent process speaking on its stdin/stdout; stderr goes to a temp file."""

    def __init__(self, argv, env=None, write_timeout=10.0):
        super().__init__()
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, env=env, bufsize=0)
        self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        self.write_timeout = write_timeout

    def _read_some(self, timeout):
        return _read_fd(self._out, timeout)

    def write(self, data):
        """Write all of data; output arriving meanwhile is buffered, so neither side can block the other."""
        view, deadline = memoryview(bytes(data)), time.monotonic() + self.write_timeout
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("target did not read its input for %.1f s" % self.write_timeout)
            readable, writable, _ = select.select([] if self._eof else [self._out], [self._in], [], remaining)
            if readable:
                data = _read_fd(self._out, 0)
                self._eof = data is None
                self._buf += data or b""
            if writable:
                try:
                    view = view[os.write(self._in, view):]
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    raise self._died() from None

    def close(self):
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        _stop(self.proc)
        self.proc.stdout.close()
        self._log.close()


class PtyTransport(_ProcessMixin, Transport):
    """An agent on a pty: PtyTransport(argv) starts it (adding --pty) and reads `pty: /dev/pts/N`
    from its stderr; PtyTransport('/dev/pts/N') opens an existing pty slave."""

    def __init__(self, argv_or_path, env=None, start_timeout=10.0):
        super().__init__()
        if isinstance(argv_or_path, (str, os.PathLike)):
            path = os.fspath(argv_or_path)
        else:
            argv = list(argv_or_path) + ([] if "--pty" in argv_or_path else ["--pty"])
            self._log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=self._log, env=env)
            path = self._wait_path(start_timeout)
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self._fd, termios.TCSANOW)

    def _wait_path(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            self._log.seek(0)
            m = re.search(rb"^pty: (\S+)\r?$", self._log.read(), re.M)
            if m:
                return m.group(1).decode()
            if self.proc.poll() is not None:
                raise self._died()
            if time.monotonic() > deadline:
                _stop(self.proc)
                raise TimeoutError("target printed no 'pty: PATH' line within %.1f s" % timeout)
            time.sleep(0.01)

    def _read_some(self, timeout):
        return _read_fd(self._fd, timeout)

    def write(self, data):
        view = memoryview(bytes(data))
        while view:
            if not select.select([], [self._fd], [], 10.0)[1]:
                raise TimeoutError("pty did not accept input for 10 s")
            try:
                view = view[os.write(self._fd, view):]
            except BlockingIOError:
                pass
            except OSError:
                raise self._died() from None

    def close(self):
        os.close(self._fd)
        if self.proc:
            _stop(self.proc, wait_first=False)  # the agent holds the slave open: it sees no EOF
            self._log.close()


class SerialTransport(Transport):
    """An agent on a serial port (pyserial)."""

    def __init__(self, device, baud=115200):
        super().__init__()
        try:
            import serial
        except ImportError:
            raise RuntimeError("SerialTransport needs pyserial: pip install pyserial") from None
        self._serial = serial
        self.port = serial.Serial(device, baud, timeout=0, write_timeout=10.0)

    def _read_some(self, timeout):
        self.port.timeout = min(timeout, 0.05)
        try:
            return self.port.read(max(1, self.port.in_waiting))
        except self._serial.SerialException:
            return None

    def write(self, data):
        try:
            self.port.write(bytes(data))
        except self._serial.SerialTimeoutException:
            raise TimeoutError("serial port did not accept input for 10 s") from None

    def close(self):
        self.port.close()
