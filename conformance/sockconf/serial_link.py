"""The serial target: a MicroPython board on a serial port, a local one or one a farm exports
(pyserial's serial_for_url: /dev/ttyACM0, rfc2217://host:port, socket://host:port), reached
through its raw REPL with mpremote's transport (PyPI mpremote, MicroPython's own tool).

SerialLink opens the port exclusively with DTR and RTS as the maintainer says (both asserted by
default, as the kernel's open leaves them, which does not reset an ESP32 on a USB-serial bridge),
drains what the board prints while it boots, interrupts it and enters the raw REPL without a
soft reset (so boot.py and main.py do not run again), runs the maintainer's setup script, uploads
harness/micropython/agent.py a few top-level statements at a time (raw-paste mode with its flow
control, else raw mode), starts it, and then carries the protocol like any other transport. A
port without a raw REPL goes through its friendly REPL's paste mode instead (repl=paste,
sockconf/paste.py), the agent imported from a file on the board.
close() ends the agent (a line that is exactly 0x04) and soft-resets the board in the raw REPL
(which frees the agent's heap and sockets; boot.py runs then, main.py does not), then leaves it
at its friendly REPL.

Why chunks: a board compiles what the raw REPL gives it in one piece, and the parse tree of the
whole agent needs more heap than it then uses (about 4 bytes per source byte); a few statements
at a time, the largest compile is a few KiB and the agent loads in 64 KiB of free heap. A
traceback names a chunk's line; agent_line() maps it back to agent.py's.
"""
import ast
import contextlib
import io
import os
import pathlib
import re
import struct
import time

from . import paste, upload
from .paste import BoardError
from .transport import TargetDied, TargetLacks, Transport
from .upload import AGENT, CHUNK, agent_chunks  # noqa: F401 (the source form; agent_chunks is also here)
BANNER = b"raw REPL; CTRL-B to exit\r\n"
SPEC = re.compile(r"(?P<device>[^@,]+)(?:@(?P<baud>[1-9][0-9]*))?(?P<opts>(?:,[a-z_]+=[^,]*)*)")
OPTIONS = {
    "host": "host=ADDR (where the board reaches the host's peers)",
    "listen_host": "listen_host=ADDR (where the host reaches the board; default: its active interface's address)",
    "dtr": "dtr=0|1 and rts=0|1 (the modem lines while the port is open; default 1, which does not reset an "
           "ESP32 on a USB-serial bridge)",
    "rts": None,
    "setup": "setup=FILE.py (a script run in the raw REPL before the agent, e.g. to bring the network up)",
    "dns": "dns=suite (the board's resolver points at the suite's DNS peer on port 53 of host=ADDR while the "
           "agent runs)",
    "form": "form=auto|mpy|source (the agent compiled by mpy-cross, or its source; auto: compiled where the "
            "board has a filesystem to keep it in; sockconf/upload.py)",
    "repl": "repl=raw|paste (paste: a port without a raw REPL, reached through its friendly REPL's paste mode, "
            "sockconf/paste.py)",
    "files": "files=DIR (repl=paste: the directory on the board the agent's file is imported from, and written to "
             "if it is not there; default: the board's working directory)",
}
USAGE = ("serial:DEVICE[@BAUD][,host=ADDR][,listen_host=ADDR][,dtr=0|1][,rts=0|1][,setup=FILE.py][,dns=suite]"
         "[,form=auto|mpy|source][,repl=raw|paste][,files=DIR]")
FINAL = ("ImportError", "SyntaxError", "IndentationError", "MemoryError")   # the same on every try
QUIET, BOOT = 0.3, 5.0      # boot noise: drained until the line is quiet this long, at most BOOT s
TRIES = 3                   # attempts to reach the raw REPL's banner
# The board's module, probed before the upload: a board without one gets no agent.
PROBE = "try:\n import socket\nexcept ImportError:\n import usocket\n"
# Where peers reach the board: its active interface's address (agent.py's nic(), once uploaded).
ADDRESS = "try:\n n = nic()\nexcept ImportError:\n n = None\nprint(repr(n.ifconfig()[0] if n else None))\n"


class BoardDown(TargetDied):
    """The board could not be reached, or the agent on it ended; str() says what the board said."""

    def __init__(self, what, ops=None, final=False):
        Exception.__init__(self, what + (" (while running: %s)" % ", ".join(ops) if ops else ""))
        self.status, self.stderr_tail, self.ops, self.what, self.final = None, what, ops, what, final


def parse_spec(rest):
    """(device, baud, options) of DEVICE[@BAUD][,NAME=VALUE]... (OPTIONS; dtr and rts as bools);
    ValueError in one sentence."""
    m = SPEC.fullmatch(rest)
    if not m:
        raise ValueError("the serial target is %s, not serial:%s" % (USAGE, rest))
    opts = dict(kv[1:].split("=", 1) for kv in re.findall(r",[a-z_]+=[^,]*", m.group("opts")))
    unknown = sorted(set(opts) - set(OPTIONS))
    if unknown:
        raise ValueError("serial:%s: unknown option %s; the options are %s" % (
            rest, unknown[0], ", ".join(v for v in OPTIONS.values() if v)))
    for line in ("dtr", "rts"):
        if line in opts:
            if opts[line] not in ("0", "1"):
                raise ValueError("serial:%s: %s=%s: give %s=0 or %s=1" % (rest, line, opts[line], line, line))
            opts[line] = opts[line] == "1"
    if "dns" in opts:
        if opts["dns"] != "suite":
            raise ValueError("serial:%s: dns=%s: the one value is dns=suite" % (rest, opts["dns"]))
        if not opts.get("host"):
            raise ValueError("serial:%s: dns=suite needs host=ADDR, the host address the board reaches (the suite's "
                             "DNS peer listens on its port 53)" % rest)
    if opts.get("form", "auto") not in upload.FORMS:
        raise ValueError("serial:%s: form=%s: give form=auto, form=mpy or form=source" % (rest, opts["form"]))
    if opts.get("repl", "raw") not in ("raw", "paste"):
        raise ValueError("serial:%s: repl=%s: give repl=raw or repl=paste" % (rest, opts["repl"]))
    if "form" in opts and opts.get("repl") == "paste":
        raise ValueError("serial:%s: form= is how the raw REPL takes the agent; repl=paste imports its source file"
                         % rest)
    if "files" in opts and opts.get("repl") != "paste":
        raise ValueError("serial:%s: files=DIR is where repl=paste keeps the agent's file; give repl=paste too" % rest)
    return m.group("device"), int(m.group("baud") or 115200), opts


def _statements(path):
    """agent.py's top-level statements as agent_chunks sends them: {their text: (the statement, with
    its docstrings dropped as agent_chunks drops them)}."""
    return dict((ast.unparse(stmt) + "\n", stmt) for stmt in upload.agent_tree(path).body)


_KNOWN = {}     # path: (its mtime, _statements(path))


def chunk_lines(chunk, path=AGENT):
    """For code the host sent (a chunk from agent_chunks, or anything else): agent.py's line for
    each of its lines (None where a line is not agent.py's), and the functions and classes it
    defines as (name, its first line, its last line), in the code's own lines. Each statement is
    parsed again from the text sent and walked beside agent.py's (the same tree, the same order)."""
    mtime = os.stat(path).st_mtime_ns
    if _KNOWN.get(path, (None,))[0] != mtime:
        _KNOWN[path] = (mtime, _statements(path))
    known = _KNOWN[path][1]
    try:
        sent = ast.parse(chunk).body
    except SyntaxError:
        return [None] * chunk.count("\n"), []
    lines, defs = [None] * max(chunk.count("\n"), 1), []
    for stmt in sent:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defs.append((node.name, node.lineno, node.end_lineno))
        old = known.get(ast.unparse(stmt) + "\n")
        if old is None:
            continue
        for new, was in zip(ast.walk(stmt), ast.walk(old)):
            k, j = getattr(new, "lineno", None), getattr(was, "lineno", None)
            if k is not None and j is not None and k <= len(lines) and (lines[k - 1] is None or j < lines[k - 1]):
                lines[k - 1] = j
        for k in range(stmt.lineno, stmt.end_lineno + 1):  # a line no node starts on (else:): the one before
            if lines[k - 1] is None and k > stmt.lineno:
                lines[k - 1] = lines[k - 2]
    return lines, defs


def agent_line(sent, line, function="<module>", path=AGENT):
    """agent.py's line for line `line` of a traceback frame in `function` of code the host sent
    (`sent`: what it sent, oldest first; '<module>' is the last of them, the one that was running; a
    function is found where it was defined), or None when that line is not agent.py's."""
    for code in (sent[-1:] if function == "<module>" else reversed(sent)):
        lines, defs = chunk_lines(code, path)
        if function == "<module>" or any(n == function and a <= line <= b for n, a, b in defs):
            return lines[line - 1] if 1 <= line <= len(lines) else None
    return None


FRAME = re.compile(r'File "(<stdin>|agent\.py)", line (\d+)(?:, in (\S+))?')    # agent.py: the .mpy form's


def board_error(text, sent, path=AGENT, name="what the host sent"):
    """A board's traceback as one sentence: its last line, then where, each frame named by
    agent.py's line (agent_line) or else as a line of `name`: (sentence, the exception's class)."""
    text = text.replace("\r\n", "\n").strip()
    last = text.rpartition("\n")[2].strip()
    cls = re.match(r"[A-Za-z_][A-Za-z0-9_.]*", last)
    where = []
    for m in FRAME.finditer(text):
        line, function = int(m.group(2)), m.group(3) or "<module>"
        k = line if m.group(1) == "agent.py" else agent_line(sent, line, function, path)
        where.append("agent.py line %d" % k if k else "line %d of %s" % (line, name))
        if function != "<module>":
            where[-1] += " in %s" % function
    return last + (" (at %s)" % ", called from ".join(reversed(where)) if where else ""), cls.group(0) if cls else ""


def start_line(host=None, listen_host=None, dns=None, service=None, bringup=None):
    """The statement that starts the agent (agent.py's main(); service and bringup: the profile's,
    sockconf/profiles.py start_args)."""
    args = [host, listen_host, dns, service, bringup]
    while len(args) > 2 and args[-1] is None:
        args.pop()
    return "main(%s)\n" % ", ".join(repr(x) for x in args)


def _lines(port, rts, dtr):
    """Set the modem lines of an open port. open() left both asserted (the kernel's open does too);
    RTS goes first, so that an ESP32's auto-reset pair never sees RTS asserted alone (EN low: a
    reset) on the way. A port without modem lines (a pty) refuses, as pyserial's open() allows."""
    import errno
    for name, value in (("rts", rts), ("dtr", dtr)):
        if getattr(port, name) != value:
            try:
                setattr(port, name, value)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOTTY):
                    raise


@contextlib.contextmanager
def _said():
    """mpremote prints what a board sent when it gives up: kept here for the error, not shown."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        yield out


class _Bounded:
    """The port as mpremote sees it: a read after `until` (time.monotonic()) raises BoardError.
    mpremote's read loops end on a quiet line only; a board that never stops talking would keep
    them going."""

    def __init__(self, port):
        self.port, self.until = port, None

    def _check(self):
        if self.until is not None and time.monotonic() > self.until:
            raise BoardError("the board kept talking past the deadline without ending the code")

    def read(self, n=1):
        self._check()
        return self.port.read(n)

    def inWaiting(self):
        self._check()
        return self.port.in_waiting

    def __getattr__(self, name):
        return getattr(self.port, name)


class RawRepl:
    """MicroPython's raw REPL over an open pyserial port, through mpremote's SerialTransport; each
    execution bounded by 3 times `timeout`, on top of mpremote's `timeout` of quiet."""

    def __init__(self, port, timeout=10.0, raw_paste=True):
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport
        self.port, self.timeout, self.Error = port, timeout, TransportError
        mp = self.mp = SerialTransport.__new__(SerialTransport)     # its methods over our open port:
        mp.serial, mp.device_name, mp.is_pty = _Bounded(port), port.port, False  # its __init__ opens one
        mp.in_raw_repl, mp.use_raw_paste, mp.mounted = False, raw_paste, False
        self.seen = b""     # what the board said last, for errors
        self.tries = 0      # how many tries enter() took

    @property
    def use_raw_paste(self):
        return self.mp.use_raw_paste

    def read_until(self, ending, timeout=None):
        """Bytes up to and including `ending`; BoardError if it does not come within timeout s of
        quiet, or within three times that of talk."""
        timeout = self.timeout if timeout is None else timeout
        data = self.seen = self.mp.read_until(1, ending, timeout=timeout, timeout_overall=3 * timeout)
        if not data.endswith(ending):
            raise BoardError("the board did not send %r within %.1f s; it sent %r" % (ending, timeout, data[-200:]))
        return data

    def drain(self, quiet=0.2, most=2.0):
        """Discard what the board sends until it has been quiet for `quiet` s (at most `most` s)."""
        last = start = time.monotonic()
        while time.monotonic() - last < quiet and time.monotonic() - start < most:
            if self.port.in_waiting:
                self.port.read(self.port.in_waiting)
                last = time.monotonic()
            else:
                time.sleep(0.01)

    def enter(self):
        """From any state (booting, the friendly REPL, a program, the raw REPL, an agent of ours)
        into the raw REPL, waiting at its prompt, without a soft reset: boot noise is drained
        first; Ctrl-C and Ctrl-A (mpremote's enter_raw_repl(soft_reset=False)) reach every state
        but an agent of ours, which takes them as data: a newline then makes it answer `X`, and
        only then the line 0x04 ends it (0x04 at the friendly prompt would soft-reboot)."""
        self.drain(QUIET, BOOT)
        wait = min(self.timeout, 1.0)
        for self.tries in range(1, TRIES + 1):
            try:
                with _said() as out:
                    self.mp.enter_raw_repl(soft_reset=False, timeout_overall=wait)
                return
            except self.Error:
                text = out.getvalue().strip()
                self.seen = ast.literal_eval(text) if re.fullmatch(r"b(['\"]).*\1", text, re.S) else b""
            self.port.write(b"\n")
            said = self.mp.read_until(1, b"\n", timeout=wait, timeout_overall=wait)
            if said.startswith(b"X ") or b"\nX " in said:
                self.port.write(b"\x04\n")      # the agent's end: back at the raw REPL's prompt
                self.mp.read_until(1, b"\x04>", timeout=wait, timeout_overall=2 * wait)
            self.drain(0.1, wait)
        raise BoardError("the board did not show the raw REPL's banner %r after %d tries of %.1f s; it sent %s"
                         % (BANNER, TRIES, wait, repr(self.seen[-200:]) if self.seen else "nothing"))

    def soft_reset(self):
        """Ctrl-C (clear the line), Ctrl-D at the raw REPL's prompt: a fresh interpreter, back at the
        raw REPL's prompt (boot.py runs; main.py does not, in the raw REPL)."""
        self.port.write(b"\x03\x04")
        self.read_until(b"soft reboot\r\n")
        self.read_until(BANNER)

    def exec_start(self, code):
        """Send code and start it; the board then runs it."""
        self.mp.serial.until = time.monotonic() + 3 * self.timeout
        try:
            self.mp.exec_raw_no_follow(code)
        except (self.Error, struct.error) as e:     # struct: a short raw-paste window header
            raise BoardError("the raw REPL did not take the code: %s" % e) from None
        finally:
            self.mp.serial.until = None

    def follow(self):
        """After exec_start, until the code ends: (output, error output)."""
        self.mp.serial.until = time.monotonic() + 3 * self.timeout
        try:
            return self.mp.follow(self.timeout)
        except self.Error as e:
            raise BoardError("the code did not end within %.1f s of quiet: %s" % (self.timeout, e)) from None
        finally:
            self.mp.serial.until = None

    def exec(self, code):
        """Run code to its end: (output, error output: the board's traceback, if it raised)."""
        self.exec_start(code)
        return self.follow()

    pending = b""   # bytes read past what a read wanted (PasteRepl keeps some; the raw REPL none)

    @staticmethod
    def end_of(seen):
        """Where in `seen` (what the board sent while its code ran) the sign that the code ended
        starts, or None; and the sign when it says MicroPython itself ended (never, here): the
        raw REPL's 0x04. PasteRepl.end_of is the friendly REPL's."""
        k = seen.find(b"\x04")
        return (None if k < 0 else k), None

    @staticmethod
    def tail_done(tail):
        """Whether `tail` (from the sign on) holds all the board says after the code ended."""
        return tail.count(b"\x04") >= 2

    @staticmethod
    def error_text(tail):
        """The code's error output in a whole tail."""
        return tail.strip(b"\x04>")

    def leave(self):
        """End an agent of ours, soft-reset, and leave the board at its friendly REPL."""
        self.port.write(b"\n\x04\n")
        try:
            self.read_until(b"\x04>", timeout=2.0)
        except BoardError:
            self.enter()
        self.soft_reset()
        self.mp.exit_raw_repl()


class SerialLink(Transport):
    """The agent on a MicroPython board: SerialLink('/dev/ttyACM0', 115200, host='192.168.1.5').
    Every failure to bring it up is TargetDied with what the board said (`final` when it would be
    the same on every try); a board without a socket module is TargetLacks. Once the agent runs,
    the board's end-of-execution marker (0x04) means the agent ended, reported with its traceback
    (repl="paste", sockconf/paste.py: the friendly REPL's traceback or prompt does)."""

    def __init__(self, device, baud=115200, host=None, listen_host=None, timeout=10.0, raw_paste=True,
                 chunk=CHUNK, dtr=True, rts=True, setup=None, dns=None, agent=AGENT, form="auto", service=None,
                 bringup=None, repl="raw", files="", ends=(), interrupt=True):
        super().__init__()
        try:
            import serial
            import mpremote.transport_serial  # noqa: F401
        except ImportError as e:
            raise RuntimeError("the serial target needs pyserial and mpremote (conformance/requirements.txt): %s"
                               % e) from None
        self._serial, self.device = serial, device
        self.chunks = 0
        self._tail = b""        # the board's last words after the agent ended
        self._recent = b""      # the last bytes read (a sign of the agent's end split between reads)
        self._end_sign = None   # the sign that MicroPython itself ended, when the console showed one (paste mode)
        self._spoke = False     # the agent answered once: an end after that is no start error
        self.listen_host = listen_host
        try:
            # pyserial's RFC 2217 client has no write timeout; its writes go to a socket
            more = {} if device.startswith("rfc2217://") else {"write_timeout": timeout}
            self.port = serial.serial_for_url(device, baudrate=baud, timeout=timeout, exclusive=True, **more)
            _lines(self.port, rts, dtr)
        except (serial.SerialException, OSError, ValueError) as e:
            raise BoardDown("cannot open %s: %s" % (device, e)) from None
        self.repl = paste.PasteRepl(self.port, timeout, interrupt=interrupt, ends=ends) if repl == "paste" else \
            RawRepl(self.port, timeout, raw_paste)
        self.agent, self.sent = agent, []    # the code sent so far, oldest first (tracebacks name its lines)
        try:
            self.repl.enter()
            if setup:
                self.run(pathlib.Path(setup).read_text(encoding="utf-8"), "it", "the setup script %s raised" % setup)
            if b"ImportError" in self.repl.exec(PROBE)[1]:
                raise TargetLacks("the board on %s has neither a socket nor a usocket module" % device)
            if repl == "paste":     # its file imported, else written and imported, else the chunks pasted
                self.loaded = paste.load_agent(self.run, files, agent)
                self.form_note = self.loaded.note
            else:   # the compiled agent where `form` asks for it (sockconf/upload.py), else the chunks
                self.loaded, self.form_note = self._mpy(form, agent, device)
            for code in agent_chunks(chunk, agent) if self.loaded is None else ():
                self.run(code)
                self.chunks += 1
            if listen_host is None:
                found = self.run(ADDRESS).decode("utf-8", "replace").strip()
                self.listen_host = ast.literal_eval(found) if re.fullmatch(r"'[0-9a-fA-F.:]+'", found) else None
            self.sent.append(start_line(host, self.listen_host, host if dns == "suite" else None, service, bringup))
            self.repl.exec_start(self.sent[-1])
        except (BoardError, serial.SerialException, OSError) as e:
            self.port.close()
            raise BoardDown("the board on %s did not start the agent: %s" % (device, e)) from None
        except (BoardDown, TargetLacks):
            self._quit()
            raise
        self.rate = getattr(self.repl, "rate", None)     # paste mode: the echo's measured bytes a second
        self.raw_paste = self.repl.use_raw_paste
        self.port.timeout = 0.05

    def _mpy(self, form, agent, device):
        try:
            return upload.try_mpy(self.run, form, agent, BoardDown)
        except upload.UploadError as e:
            raise BoardDown("the board on %s did not take the compiled agent: %s" % (device, e), final=True) from None

    def run(self, code, name="what the host sent", what="the agent did not start"):
        """Run code in the raw REPL to its end, its output; BoardDown (`what` on DEVICE: ...) with
        the board's traceback in one sentence if it raised (its frames as agent.py's lines where
        the code is agent.py's, else as lines of `name`), final for an ImportError, SyntaxError or
        MemoryError. The upload (upload.load_agent) runs its code through here."""
        self.sent.append(code)
        out, err = self.repl.exec(code)
        if err:
            said, cls = board_error(err.decode("utf-8", "replace"), self.sent, self.agent, name)
            raise BoardDown("%s on %s: %s" % (what, self.device, said), final=cls in FINAL)
        return out

    def _quit(self):
        """Leave the board at its friendly REPL and close the port (a start that ended early)."""
        try:
            if hasattr(self.repl, "mp"):
                self.repl.mp.exit_raw_repl()
        except (self._serial.SerialException, OSError):
            pass
        self.port.close()

    def _read_some(self, timeout):
        if self._tail:
            return None     # the agent ended
        try:
            data, self.repl.pending = self.repl.pending + self.port.read(max(1, self.port.in_waiting)), b""
        except (self._serial.SerialException, OSError):
            return None
        seen = self._recent + data
        k, sign = self.repl.end_of(seen)
        self._recent = seen[-256:]
        if k is None:
            self._spoke = self._spoke or b"R " in data
            return data
        # the agent ended: the rest is its error output (MicroPython's own end: what came before it)
        self._end_sign = sign
        self._tail = seen[max(0, k - 256):] if sign else seen[k:]
        self._collect_tail()
        return data[:max(0, k - (len(seen) - len(data)))] or None

    def _collect_tail(self):
        deadline = time.monotonic() + 1.0
        while not self.repl.tail_done(self._tail) and time.monotonic() < deadline:
            try:
                self._tail += self.port.read(max(1, self.port.in_waiting))
            except (self._serial.SerialException, OSError):
                break

    def _died(self):
        if self._end_sign:
            text = self._tail.decode("utf-8", "replace").partition(self._end_sign.decode("utf-8", "replace"))[0]
            said = [x.strip() for x in text.replace("\r", "\n").split("\n")
                    if x.strip() and not x.startswith(("R ", "X ", "+ "))]
            return BoardDown("MicroPython on %s ended (the console showed %r)%s" % (
                self.device, self._end_sign.decode("utf-8", "replace"), ": " + "; ".join(said[-2:]) if said else ""))
        err = self.repl.error_text(self._tail).decode("utf-8", "replace")
        if not err.strip():
            return BoardDown("the agent on %s ended, the board said nothing more" % self.device)
        said, cls = board_error(err, self.sent, self.agent)
        if not self._spoke and cls in FINAL:
            return BoardDown("the agent did not start on %s: %s" % (self.device, said), final=True)
        return BoardDown("the agent on %s ended: %s" % (self.device, said))

    def write(self, data):
        try:
            self.port.write(bytes(data))
        except self._serial.SerialTimeoutException:
            raise TimeoutError("%s did not accept input for %.1f s" % (self.device, self.repl.timeout)) from None
        except (self._serial.SerialException, OSError):
            raise self._died() from None

    def close(self):
        self.port.timeout = self.repl.timeout
        try:
            if not self._end_sign:  # (MicroPython itself ended: there is no REPL to leave)
                self.repl.leave()
        except (BoardError, self._serial.SerialException, OSError):
            pass
        self.port.close()
