"""The serial target: a MicroPython board on a serial port (pyserial), reached through its raw REPL.

SerialLink interrupts the board, enters the raw REPL, soft-resets it, uploads
harness/micropython/agent.py a few top-level statements at a time (raw-paste mode with its flow
control, else raw mode), starts it, and then carries the protocol like any other transport.
close() ends the agent (a line that is exactly 0x04) and soft-resets the board again. The raw
REPL and raw-paste mode follow MicroPython's documentation of them (docs/reference/repl.rst,
"Raw mode and raw-paste mode").

Why chunks: a board compiles what the raw REPL gives it in one piece, and the parse tree of the
whole agent needs more heap than it then uses (about 4 bytes per source byte); a few statements
at a time, the largest compile is a few KiB and the agent loads in 64 KiB of free heap.
"""
import ast
import pathlib
import re
import struct
import time

from .transport import TargetDied, Transport

AGENT = pathlib.Path(__file__).resolve().parent.parent.parent / "harness" / "micropython" / "agent.py"
CHUNK = 3072        # source bytes per raw-REPL execution (one statement may be longer)
BANNER = b"raw REPL; CTRL-B to exit\r\n"
SPEC = re.compile(r"(?P<device>[^@,]+)(?:@(?P<baud>[1-9][0-9]*))?(?P<opts>(?:,[a-z_]+=[^,]*)*)")
OPTIONS = ("host", "listen_host")


class BoardError(Exception):
    """The board did not do what the raw REPL protocol says; str() says what it did instead."""


class BoardDown(TargetDied):
    """The board could not be reached, or the agent on it ended; str() says what the board said."""

    def __init__(self, what, ops=None):
        Exception.__init__(self, what + (" (while running: %s)" % ", ".join(ops) if ops else ""))
        self.status, self.stderr_tail, self.ops, self.what = None, what, ops, what


def parse_spec(rest):
    """(device, baud, {host, listen_host}) of DEVICE[@BAUD][,host=ADDR][,listen_host=ADDR]; ValueError
    in one sentence."""
    m = SPEC.fullmatch(rest)
    if not m:
        raise ValueError("the serial target is serial:DEVICE[@BAUD][,host=ADDR][,listen_host=ADDR], not serial:%s"
                         % rest)
    opts = dict(kv[1:].split("=", 1) for kv in re.findall(r",[a-z_]+=[^,]*", m.group("opts")))
    unknown = sorted(set(opts) - set(OPTIONS))
    if unknown:
        raise ValueError("serial:%s: unknown option %s; the options are host=ADDR (where the board reaches the "
                         "host's peers) and listen_host=ADDR (where the host reaches the board)" % (rest, unknown[0]))
    return m.group("device"), int(m.group("baud") or 115200), opts


def agent_chunks(limit=CHUNK, path=AGENT):
    """The agent's source as pieces of whole top-level statements, each at most `limit` bytes
    unless one statement is longer; docstrings and comments dropped, the `if __name__` block left
    out (the caller starts the agent)."""
    tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    chunks, cur = [], ""
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test):
            continue
        text = ast.unparse(stmt) + "\n"
        if cur and len(cur) + len(text) > limit:
            chunks.append(cur)
            cur = ""
        cur += text
    return chunks + [cur] if cur else chunks


def start_line(host=None, listen_host=None):
    """The statement that starts the agent."""
    return "main(%r, %r)\n" % (host, listen_host)


class RawRepl:
    """MicroPython's raw REPL over a pyserial port (or anything with read/write/in_waiting)."""

    def __init__(self, port, timeout=10.0, raw_paste=True):
        self.port, self.timeout, self.use_raw_paste = port, timeout, raw_paste
        self.seen = b""     # what the board said last, for errors

    def read_until(self, ending, timeout=None):
        """Bytes up to and including `ending`; BoardError if it does not come within timeout s of
        quiet, or within three times that of talk."""
        timeout = self.timeout if timeout is None else timeout
        data, last = b"", time.monotonic()
        give_up = last + 3 * timeout
        while not data.endswith(ending):
            chunk = self.port.read(1)     # one at a time: what follows `ending` is not ours
            now = time.monotonic()
            if chunk:
                data += chunk
                last = now
            if now - last > timeout or now > give_up:
                self.seen = data
                raise BoardError("the board did not send %r within %.1f s; it sent %r" % (ending, timeout, data[-200:]))
        self.seen = data
        return data

    def drain(self, quiet=0.2, most=2.0):
        """Discard what the board sends until it has been quiet for `quiet` s (at most `most` s)."""
        last = start = time.monotonic()
        while time.monotonic() - last < quiet and time.monotonic() - start < most:
            if self.port.read(max(1, self.port.in_waiting)):
                last = time.monotonic()

    def enter(self, end_agent=True):
        """From any state (an agent of ours running, the friendly REPL, the raw REPL, a program):
        into the raw REPL, soft-reset, waiting at its prompt."""
        if end_agent:
            self.port.write(b"\n\x04\n")    # ends an agent of ours; elsewhere harmless (a soft reset at worst)
        self.port.write(b"\r\x03\x03")      # interrupt any program
        self.drain()
        self.port.write(b"\r\x01")          # raw REPL
        self.read_until(BANNER + b">")
        self.soft_reset()

    def soft_reset(self):
        """Ctrl-C (clear the line), Ctrl-D at the raw REPL's prompt: a fresh interpreter, back at the
        raw REPL's prompt."""
        self.port.write(b"\x03\x04")
        self.read_until(b"soft reboot\r\n")
        self.read_until(BANNER + b">")

    def exec_start(self, code):
        """Send code and start it (the raw REPL's prompt must be showing); the board then runs it."""
        data = code.encode("utf-8")
        if self.use_raw_paste:
            self.port.write(b"\x05A\x01")
            reply = self._read_exactly(2)
            if reply == b"R\x01":
                return self._raw_paste(data)
            # R\x00: the board knows the request but will not paste, and shows its prompt again.
            # Anything else is the start of the raw REPL's banner, which a firmware from before
            # raw-paste mode prints again: the rest of it follows.
            self.read_until(b">" if reply == b"R\x00" else BANNER[len(reply):] + b">")
            self.use_raw_paste = False
        for k in range(0, len(data), 256):
            self.port.write(data[k:k + 256])
            time.sleep(0.01)
        self.port.write(b"\x04")
        reply = self._read_exactly(2)
        if reply != b"OK":
            raise BoardError("the raw REPL did not take the code: it answered %r" % reply)

    def _raw_paste(self, data):
        """Raw-paste mode: the board names a window (16 bits, little-endian) and may take that many
        bytes; each 0x01 it sends grants one window more, and 0x04 means it ends the paste itself
        (a syntax or memory error), which the host acknowledges with 0x04."""
        window = struct.unpack("<H", self._read_exactly(2))[0]
        credit, rest = window, memoryview(data)
        while rest:
            grants = self._grants(wait=credit == 0)
            if grants is None:
                self.port.write(b"\x04")
                return
            credit += grants * window
            piece = rest[:credit]
            self.port.write(piece)
            credit, rest = credit - len(piece), rest[len(piece):]
        self.port.write(b"\x04")
        self.read_until(b"\x04")    # the end acknowledged; the board compiles and runs it now

    def _grants(self, wait):
        """How many windows the board has granted since last asked (0x01 each), waiting for one
        byte at least when `wait`; None if it ended the paste (0x04)."""
        n = 0
        while wait or self.port.in_waiting:
            b = self._read_exactly(1)
            if b == b"\x04":
                return None
            if b != b"\x01":
                raise BoardError("unexpected %r from the board during raw paste" % b)
            n, wait = n + 1, False
        return n

    def _read_exactly(self, n):
        data, deadline = b"", time.monotonic() + self.timeout
        while len(data) < n:
            data += self.port.read(n - len(data))
            if len(data) < n and time.monotonic() > deadline:
                raise BoardError("the board sent %r of %d bytes within %.1f s" % (data, n, self.timeout))
        return data

    def follow(self):
        """After exec_start, until the code ends: (output, error output)."""
        out = self.read_until(b"\x04")[:-1]
        err = self.read_until(b"\x04")[:-1]
        return out, err

    def exec(self, code):
        """Run code to its end; BoardError with the board's traceback if it raised."""
        self.exec_start(code)
        out, err = self.follow()
        self.read_until(b">")
        if err:
            raise BoardError("the board raised: %s" % err.decode("utf-8", "replace").strip())
        return out

    def leave(self):
        """End an agent of ours, soft-reset, and leave the board at its friendly REPL."""
        self.port.write(b"\n\x04\n")
        try:
            self.read_until(b"\x04>", timeout=2.0)
        except BoardError:
            self.enter(end_agent=False)
        else:
            self.soft_reset()
        self.port.write(b"\r\x02")


class SerialLink(Transport):
    """The agent on a MicroPython board: SerialLink('/dev/ttyACM0', 115200, host='192.168.1.5').
    Every failure to bring it up is TargetDied with what the board said; once the agent runs,
    the board's end-of-execution marker (0x04) means the agent ended, reported with its traceback."""

    def __init__(self, device, baud=115200, host=None, listen_host=None, timeout=10.0, raw_paste=True,
                 chunk=CHUNK):
        super().__init__()
        try:
            import serial
        except ImportError:
            raise RuntimeError("the serial target needs pyserial: pip install pyserial") from None
        self._serial, self.device = serial, device
        self.chunks = 0
        self._tail = b""        # the board's last words after the agent ended
        try:
            self.port = serial.Serial(device, baud, timeout=0.05, write_timeout=timeout)
        except (serial.SerialException, OSError) as e:
            raise BoardDown("cannot open %s: %s" % (device, e)) from None
        self.repl = RawRepl(self.port, timeout, raw_paste)
        try:
            self.repl.enter()
            for code in agent_chunks(chunk):
                self.repl.exec(code)
                self.chunks += 1
            self.repl.exec_start(start_line(host, listen_host))
        except (BoardError, serial.SerialException, OSError) as e:
            self.port.close()
            raise BoardDown("the board on %s did not start the agent: %s" % (device, e)) from None
        self.raw_paste = self.repl.use_raw_paste

    def _read_some(self, timeout):
        if self._tail:
            return None     # the agent ended
        try:
            data = self.port.read(max(1, self.port.in_waiting))
        except (self._serial.SerialException, OSError):
            return None
        k = data.find(b"\x04")
        if k < 0:
            return data
        self._tail = data[k:]   # the agent ended: the rest is its error output
        self._collect_tail()
        return data[:k] or None

    def _collect_tail(self):
        deadline = time.monotonic() + 1.0
        while self._tail.count(b"\x04") < 2 and time.monotonic() < deadline:
            try:
                self._tail += self.port.read(max(1, self.port.in_waiting))
            except (self._serial.SerialException, OSError):
                break

    def _died(self):
        err = self._tail.strip(b"\x04>").decode("utf-8", "replace").replace("\r\n", " | ").strip(" |")
        said = ": " + err if err else ", the board said nothing more"
        return BoardDown("the agent on %s ended%s" % (self.device, said))

    def write(self, data):
        try:
            self.port.write(bytes(data))
        except self._serial.SerialTimeoutException:
            raise TimeoutError("%s did not accept input for %.1f s" % (self.device, self.repl.timeout)) from None
        except (self._serial.SerialException, OSError):
            raise self._died() from None

    def close(self):
        try:
            self.repl.leave()
        except (BoardError, self._serial.SerialException, OSError):
            pass
        self.port.close()
