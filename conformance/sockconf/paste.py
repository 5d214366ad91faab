"""A MicroPython without a raw REPL (uc386 on DOS, where Ctrl-A ends MicroPython): its friendly
REPL's paste mode carries the code, and the agent is imported from a file where the board can
read one.

Paste mode, as MicroPython's documentation shows it (docs/reference/repl.rst, "Paste mode"):
Ctrl-E at the prompt prints "paste mode; Ctrl-C to cancel, Ctrl-D to finish" and the prompt
"=== ", what comes is echoed, a "=== " before each line; Ctrl-D "exits paste mode and initiates
the compilation" (its output and any traceback follow, then the prompt ">>> "); Ctrl-C cancels. It has no flow control, so PasteRepl sends a window of bytes at a time and waits
for its echo before the next, and checks the echo byte for byte: a byte the board lost or
changed is an error naming where, not code that runs wrong later. The first window's echo
measures the link (bytes a second, `rate`); the whole paste's deadline is then three times what
its size takes at that rate, plus the quiet timeout, so a slow emulated CPU gets the time it
needs and a board that stops echoing is still noticed within `timeout` seconds.

The agent's file: agent.py's source as a board runs it (sockconf/upload.py, agent_chunks: no
docstrings or comments), named sc<6 hex digits of its sha256>.py (a DOS 8.3 name), in a
directory the board reads (`files`: '' for its working directory, 'D:/' for a disk the suite
wrote, sockconf/qemu.py). load_agent() imports it from there if it is there; else writes it
there through pastes (once: a later session finds it), if the board can write there; else
pastes the source itself, a few statements at a time.
"""
import hashlib
import time

from . import upload

PROMPT = b">>> "
PASTE = b"paste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== "
TRACEBACK = b"Traceback (most recent call last):"
WINDOW = 128        # bytes sent before waiting for their echo
QUIET, BOOT = 0.3, 5.0
TRIES = 3

FIND = """import sys
if %(dir)r not in sys.path:
    sys.path.insert(0, %(dir)r)
try:
    from %(name)s import main, nic
    print('found')
except ImportError:
    try:
        _sc_f = open(%(dir)r + %(name)r + '.tmp', 'wb')
        print('absent writable')
    except OSError:
        print('absent')
"""
class BoardError(Exception):
    """The board did not do what the friendly REPL's paste mode does; str() says what it did."""


def source(path=upload.AGENT):
    """The agent's source as a board gets it (agent_chunks joined)."""
    return "".join(upload.agent_chunks(1 << 30, path))


def file_name(text):
    """sc<6 hex digits of the source's sha256>: a module name that is a DOS 8.3 file name."""
    return "sc" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


class PasteRepl:
    """The friendly REPL and its paste mode over an open pyserial port; the same calls as
    serial_link.RawRepl (enter, exec, exec_start, drain, leave), so that SerialLink takes either."""

    use_raw_paste = False

    def __init__(self, port, timeout=10.0, window=WINDOW, interrupt=True, ends=()):
        self.port, self.timeout, self.window = port, timeout, window
        self.interrupt = interrupt  # whether Ctrl-C may be sent (on DOS, its break handling ends MicroPython)
        self.ends = [e.encode() for e in ends]  # what the console shows when MicroPython itself ended
        self.rate = None        # bytes a second the board echoed in paste mode (measured)
        self.seen = b""
        self.tries = 0
        self.pasted = 0         # bytes pasted so far
        self.pending = b""      # bytes read past what the last read wanted

    def _read(self, end_of, deadline, quiet):
        """Bytes up to where end_of(data) says they end (an index, or None: not yet); what came
        after that stays for the next read. BoardError after `quiet` s with nothing new, or at the
        deadline."""
        data, last = self.pending, time.monotonic()
        while end_of(data) is None:
            now = time.monotonic()
            if now - last > quiet or now > deadline:
                self.seen, self.pending = data, b""
                raise BoardError("the board %s; it sent %r" % (
                    "sent nothing more for %.1f s" % quiet if now - last > quiet else "had not finished by the deadline "
                    "the link's measured speed gives", data[-200:]))
            self.port.timeout = 0.05
            got = self.port.read(max(1, self.port.in_waiting))
            if got:
                data, last = data + got, time.monotonic()
        k = end_of(data)
        self.pending = data[k:]
        return data[:k]

    def read_until(self, ending, timeout=None):
        timeout = self.timeout if timeout is None else timeout

        def end_of(d):
            k = d.find(ending)
            return None if k < 0 else k + len(ending)
        return self._read(end_of, time.monotonic() + 3 * timeout, timeout)

    def drain(self, quiet=0.2, most=2.0):
        last = start = time.monotonic()
        self.port.timeout, self.pending = 0.05, b""
        while time.monotonic() - last < quiet and time.monotonic() - start < most:
            if self.port.read(max(1, self.port.in_waiting)):
                last = time.monotonic()

    def _quiet_tail(self, wait):
        """What the board says within `wait` s, read until it has been quiet for QUIET s."""
        data, last, end = self.pending, time.monotonic(), time.monotonic() + wait
        self.port.timeout, self.pending = 0.05, b""
        while time.monotonic() - last < QUIET and time.monotonic() < end:
            got = self.port.read(max(1, self.port.in_waiting))
            if got:
                data, last = data + got, time.monotonic()
        return data

    def enter(self):
        """To the friendly prompt from any state but a crashed board, never sending Ctrl-A or Ctrl-D
        at the prompt: boot noise drained, Ctrl-C twice and CR (a program interrupted, a line
        cleared; only CR where Ctrl-C may not be sent); an agent of ours takes those as data,
        answers `X`, and is then ended with the line 0x04."""
        self.drain(QUIET, BOOT)
        wait = min(self.timeout, 2.0)
        for self.tries in range(1, TRIES + 1):
            self.port.write(b"\x03\x03\r" if self.interrupt else b"\r")
            said = self._quiet_tail(wait)
            if said.startswith(b"X ") or b"\nX " in said:
                self.port.write(b"\n\x04\n")    # the agent's end: back at the prompt
                said = self._quiet_tail(wait)
            if said.rstrip(b" ").endswith(PROMPT.rstrip()):
                return
            self.seen = said
        raise BoardError("the board did not show the friendly REPL's prompt %r after %d tries of %.1f s; it sent %s"
                         % (PROMPT, TRIES, wait, repr(self.seen[-200:]) if self.seen else "nothing"))

    def exec_start(self, code):
        """Paste code and run it (Ctrl-D); the board then runs it."""
        text = code.replace("\r\n", "\n").replace("\n", "\r").encode("utf-8")
        self.port.write(b"\x05")
        self.read_until(PASTE)
        start, deadline = time.monotonic(), time.monotonic() + 3 * self.timeout
        for k in range(0, len(text), self.window):
            piece = text[k:k + self.window]
            t0 = time.monotonic()
            self.port.write(piece)
            expect = piece.replace(b"\r", b"\r\n=== ")
            got = self._read(lambda d: len(expect) if len(d) >= len(expect) else None, deadline, self.timeout)
            if got != expect:
                j = next((i for i, (a, b) in enumerate(zip(got, expect)) if a != b), min(len(got), len(expect)))
                raise BoardError("the board's paste-mode echo differs from what was sent at byte %d of the paste: "
                                 "%r where %r was sent" % (k + j, got[j:j + 40], expect[j:j + 40]))
            if self.rate is None and time.monotonic() > t0:
                self.rate = len(expect) / (time.monotonic() - t0)
            if self.rate:   # the paste's deadline from the measured rate
                deadline = start + self.timeout + 3 * len(text) / self.rate
        self.pasted += len(text)
        self.port.write(b"\x04")
        self.read_until(b"\r\n")

    def follow(self):
        """After exec_start, until the prompt comes back: (output, error output: the traceback)."""
        data = self.read_until(PROMPT)[:-len(PROMPT)]
        k = data.find(TRACEBACK)
        return (data, b"") if k < 0 else (data[:k], data[k:])

    def exec(self, code):
        self.exec_start(code)
        return self.follow()

    def end_of(self, seen):
        """Where in `seen` (what the board sent while its code ran) the sign that the code ended
        starts, or None, and the sign when it says MicroPython itself ended (one of `ends`): the
        friendly REPL's traceback or prompt at the start of a line, or one of `ends`, whichever
        comes first (as serial_link.RawRepl.end_of has it for the raw REPL)."""
        found = [k + 1 for k in (seen.find(b"\n" + TRACEBACK), seen.find(b"\n" + PROMPT)) if k >= 0]
        if seen.startswith((TRACEBACK, PROMPT)):
            found.append(0)
        k, sign = (min(found) if found else None), None
        for e in self.ends:
            j = seen.find(e)
            if j >= 0 and (k is None or j < k):
                k, sign = j, e
        return k, sign

    def tail_done(self, tail):
        return tail.endswith(PROMPT) or any(e in tail for e in self.ends)

    @staticmethod
    def error_text(tail):
        return tail[:-len(PROMPT)] if tail.endswith(PROMPT) else tail

    def leave(self):
        """End an agent of ours (the line 0x04): back at the prompt. No soft reset: on a port such
        as uc386, Ctrl-D at the prompt ends MicroPython."""
        self.port.write(b"\n\x04\n")
        try:
            self.read_until(PROMPT, timeout=2.0)
        except BoardError:
            self.enter()


def load_agent(run, files="", path=upload.AGENT):
    """The agent's names (main, nic) in the board's globals through `run` (code -> its output;
    raises on a traceback): imported from its file in `files` where it is; else that file written
    through pastes and imported, where the board can write it; else the source pasted a few
    statements at a time. An upload.Loaded (where: 'file' found, 'stored' written now, '' for
    source)."""
    text = source(path)
    name = file_name(text)
    found = run(FIND % {"dir": files, "name": name}).decode("utf-8", "replace").split()
    if found[:1] == ["found"]:
        return upload.Loaded("file", 1, 0, "file")
    if found[1:2] == ["writable"]:
        data = text.encode("utf-8")
        pieces = upload.store_file(run, data, files + name + ".tmp", files + name + ".py",
                                   then="from %s import main, nic\n" % name)
        return upload.Loaded("file", pieces, len(data), "stored")
    chunks = upload.agent_chunks(upload.CHUNK, path)
    for code in chunks:
        run(code)
    return upload.Loaded("source", len(chunks), sum(map(len, chunks)), note="the board cannot keep the agent's file "
                         "in %r" % (files or "its working directory"))
