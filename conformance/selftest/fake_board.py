"""A MicroPython board in software, for testing the serial target without hardware.

    python fake_board.py [--python='micropython -X heapsize=69200'] [--baud=115200] [--raw-paste=no]
                         [--raw-repl=no] [--window=128] [--link=PATH] [--cwd=DIR] [--boot-noise=SECONDS]
                         [--without=MODULE,...]

It opens a pty, prints `pty: /dev/pts/N` on stderr (and makes PATH a symlink to it), and speaks
MicroPython's REPL protocol there as MicroPython's documentation describes it (docs/reference/
repl.rst): the friendly REPL (banner, Ctrl-A raw REPL, Ctrl-B banner, Ctrl-C, Ctrl-D soft reset), the raw REPL (Ctrl-A reset, Ctrl-B
friendly, Ctrl-C clear, Ctrl-D execute or, on an empty line, soft reset; "OK", output, 0x04,
error output, 0x04, ">") and raw-paste mode (Ctrl-E 'A' Ctrl-A: "R\\x01", a window of --window
bytes and a second one, 0x01 for each window consumed, 0x04 to end; it checks that the host never
sends beyond its window). --raw-paste=no is a firmware from before raw-paste mode. The friendly
REPL has paste mode as repl.rst shows it ("If you press Ctrl-E, then you will enter paste mode,
which essentially turns off the auto-indent feature, and changes the prompt from >>> to ===",
its transcript "paste mode; Ctrl-C to cancel, Ctrl-D to finish" then a "=== " before each line,
"Pressing Ctrl-D exits paste mode and initiates the compilation": every byte echoed, each CR
echoed as a new line and its "=== "), and friendly-mode code prints its output and traceback as
they are.
--raw-repl=no is a port without a raw REPL whose Ctrl-A ends MicroPython (uc386 on DOS): after a
Ctrl-A the board says nothing more.

Code runs in one persistent interpreter (--python: CPython by default, or a MicroPython unix
binary with its options), whose globals last until a soft reset starts a fresh one. While code
runs, the bytes of the link are its stdin and its stdout goes to the link, unchanged (the program
is assumed to have called micropython.kbd_intr(-1): 0x03 is data). --baud paces both directions
at BAUD/10 bytes a second, as a UART does. The interpreter's working directory is the board's
filesystem: --cwd=DIR, else a fresh temporary directory removed when the board ends.

What a real board brings with it: a boot.py in its filesystem runs in every fresh interpreter
(at power-on and at each soft reset, as MicroPython's ports run it), and modules there import (a
stand-in for a port's `network` module, say); --boot-noise=SECONDS is a board just reset: its
boot ROM prints a log for that long and loses what the host sends meanwhile, then MicroPython
prints its banner; --without=socket,usocket is a firmware built without those modules
(importing them raises ImportError).
"""
import os
import queue
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tty

BANNER = (b"MicroPython v1.0-fake on 2000-01-01; sockconf fake board with %s\r\n"
          b"Type \"help()\" for more information.\r\n")
RAW = b"raw REPL; CTRL-B to exit\r\n"
# The interpreter's side: code comes on fd CONTROL (not stdin, which is the program's), runs in one
# namespace, and ends with 0x04, the error output, 0x04 on stdout, as a board's raw REPL prints.
RUNTIME = r'''
import sys
g = {"__name__": "__main__"}
%s
try:
    f = open("boot.py")
except OSError:
    f = None
if f:
    try:
        exec(f.read(), g)
    except Exception as x:
        print("boot.py:", repr(x))
    f.close()
i, o = open("/dev/fd/%d", "rb"), sys.stdout.buffer
def trace(x):
    if hasattr(sys, "print_exception"):
        import io
        s = io.StringIO()
        sys.print_exception(x, s)
        t = s.getvalue()
    else:
        import traceback
        t = "".join(traceback.format_exception(type(x), x, x.__traceback__))
    t = t.split("\n")
    return "\n".join(t[:1] + t[2:])     # without this runtime's own frame: as a board prints it
while True:
    n = i.readline()
    if not n:
        break
    code = i.read(int(n))
    err = ""
    try:
        exec(compile(code, "<stdin>", "exec"), g)     # named as a board's raw REPL names it
    except BaseException as x:
        err = trace(x)
    try:
        sys.stdout.flush()
    except Exception:
        pass
    o.write(b"\x04" + err.replace("\n", "\r\n").encode() + b"\x04")
    try:
        o.flush()
    except Exception:
        pass
'''


# A firmware without some modules: importing them raises ImportError, as on a build without them.
WITHOUT = r'''
import builtins
_imp = builtins.__import__
def _without(name, *args):
    if name in %r:
        raise ImportError("no module named '%%s'" %% name)
    return _imp(name, *args)
builtins.__import__ = _without
'''
# what a board prints while its boot ROM starts it, with bytes a careless host could take for answers
NOISE = b"ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\nOK R\x01 >\x04\r\n"


class Board:
    def __init__(self, python, baud, raw_paste, window, cwd=None, without=(), raw_repl=True):
        self.python, self.baud, self.raw_paste, self.window, self.cwd = python, baud, raw_paste, window, cwd
        self.raw_repl = raw_repl
        self.prelude = WITHOUT % (tuple(without),) if without else ""
        self.name = os.path.basename(shlex.split(python)[0]).encode()
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.out = queue.Queue()
        self.inbuf = bytearray()
        self.in_clock = time.monotonic()
        self.child = self.control = None
        self.mode = "friendly"
        self.line = bytearray()
        threading.Thread(target=self._writer, daemon=True).start()

    # ---- the link ----

    def send(self, data):
        self.out.put(bytes(data))

    def _writer(self):
        clock = time.monotonic()
        while True:
            data = self.out.get()
            for k in range(0, len(data), 64):
                piece = data[k:k + 64]
                if self.baud:
                    clock = max(clock, time.monotonic())
                    time.sleep(max(0.0, clock - time.monotonic()))
                    clock += len(piece) * 10.0 / self.baud
                view = memoryview(piece)
                while view:
                    view = view[os.write(self.master, view):]

    def _read(self):
        """What the link brings next, no faster than the line brings it."""
        data = os.read(self.master, 64)
        if self.baud:
            self.in_clock = max(self.in_clock, time.monotonic()) + len(data) * 10.0 / self.baud
            time.sleep(max(0.0, self.in_clock - time.monotonic()))
        return data

    def byte(self):
        while not self.inbuf:
            self.inbuf += self._read()
        c = self.inbuf[0]
        del self.inbuf[0]
        return c

    # ---- the interpreter ----

    def start(self):
        if self.child:
            self.child.kill()
            self.child.wait()
            os.close(self.control)
        r, self.control = os.pipe()
        self.child = subprocess.Popen(shlex.split(self.python) + ["-c", RUNTIME % (self.prelude, r)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, pass_fds=(r,),
                                      cwd=self.cwd)
        os.close(r)

    def run(self, code, friendly=False):
        """Run code in the interpreter, the link's bytes its stdin and its stdout the link's,
        until it ends (0x04, error output, 0x04; friendly: without the two 0x04, as the friendly
        REPL prints output and traceback)."""
        os.write(self.control, b"%d\n" % len(code) + bytes(code))
        marks, out = 0, self.child.stdout.fileno()
        pending, self.inbuf = bytes(self.inbuf), bytearray()
        while marks < 2:
            if pending:
                try:
                    self.child.stdin.write(pending)
                except OSError:
                    pass
                pending = b""
            ready = select.select([self.master, out], [], [], 1.0)[0]
            if self.master in ready:
                pending = self._read()
            if out in ready:
                data = os.read(out, 4096)
                if not data:
                    why = b"fake board: the interpreter ended (status %d)\r\n" % self.child.wait()
                    self.send((b"\x04" if marks == 0 else b"") + why + b"\x04")
                    self.start()
                    return
                marks += data.count(b"\x04")
                self.send(data.replace(b"\x04", b"") if friendly else data)

    # ---- the REPLs ----

    def banner(self):
        return BANNER % self.name + b">>> "

    def soft_reset(self):
        self.send(b"MPY: soft reboot\r\n")
        self.start()
        self.send(RAW + b">" if self.mode == "raw" else self.banner())

    def friendly(self, c):
        if c == 1 and not self.raw_repl:
            self.mode = "ended"     # a port whose Ctrl-A ends MicroPython: nothing answers any more
        elif c == 1:
            self.send(b"\r\n" + RAW + b">")
            self.mode, self.line = "raw", bytearray()
        elif c == 5 and not self.line:
            self.paste_mode()
        elif c == 2:
            self.send(b"\r\n" + self.banner())
        elif c == 3:
            self.send(b"\r\n>>> ")
            self.line = bytearray()
        elif c == 4:
            self.send(b"\r\n")
            self.soft_reset()
        elif c == 13:
            self.send(b"\r\n")
            if self.line:
                self.run(self.line, friendly=True)
            self.line = bytearray()
            self.send(b">>> ")
        elif c >= 32:
            self.line.append(c)
            self.send(bytes([c]))

    def paste_mode(self):
        """The friendly REPL's paste mode, as repl.rst shows it (the module docstring)."""
        self.send(b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
        code = bytearray()
        while True:
            c = self.byte()
            if c == 3:
                self.send(b"\r\n>>> ")
                return
            if c == 4:
                self.send(b"\r\n")
                if code:
                    self.run(code, friendly=True)
                self.send(b">>> ")
                return
            code.append(c)
            self.send(b"\r\n=== " if c == 13 else bytes([c]))

    def raw(self, c):
        if c == 1:
            if len(self.line) == 2 and self.line[0] == 5 and self.raw_paste:
                self.paste(self.line[1])
            else:
                self.send(RAW + b">")
            self.line = bytearray()
        elif c == 2:
            self.send(b"\r\n" + self.banner())
            self.mode, self.line = "friendly", bytearray()
        elif c == 3:
            self.line = bytearray()
        elif c == 4:
            self.send(b"OK")
            if not self.line:
                self.send(b"\r\n")
                self.soft_reset()
                return
            code, self.line = self.line, bytearray()
            self.run(code)
            self.send(b">")
        else:
            self.line.append(c)

    def paste(self, command):
        """Raw-paste mode: take the code under flow control, then run it."""
        if command != ord("A"):
            self.send(b"R\x00>")
            return
        w = self.window
        self.send(b"R\x01" + bytes([w & 0xFF, w >> 8, 1]))
        code, remain, credit = bytearray(), w, 2 * w
        while True:
            c = self.byte()
            if c in (3, 4):
                self.send(b"\x04")     # the end, acknowledged
                if c == 3:
                    self.send(b"\x04Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n\x04>")
                else:
                    self.run(code)
                    self.send(b">")
                return
            credit -= 1
            if credit < 0:
                sys.stderr.write("fake board: the host sent beyond the raw-paste window\n")
                self.send(b"\x04\x04fake board: flow control violated: more than the window\r\n\x04>")
                while self.byte() not in (3, 4):    # as mp_reader_stdin_close
                    pass
                return
            code.append(c)
            remain -= 1
            if remain == 0:
                self.send(b"\x01")
                remain, credit = w, credit + w

    def boot_noise(self, seconds):
        """A board just reset: its boot ROM's log for `seconds`, what the host sends meanwhile
        lost, then MicroPython's banner."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.send(NOISE)
            if select.select([self.master], [], [], 0.05)[0]:
                os.read(self.master, 4096)
        self.send(b"\r\n" + self.banner())

    def serve(self, noise=0.0):
        self.start()
        if noise:
            self.boot_noise(noise)
        while True:
            c = self.byte()
            if self.mode != "ended":
                (self.raw if self.mode == "raw" else self.friendly)(c)


def main():
    opts = dict(a[2:].partition("=")[::2] for a in sys.argv[1:] if a.startswith("--"))
    cwd = opts.get("cwd") or tempfile.mkdtemp(prefix="sockconf-board-")
    board = Board(opts.get("python") or shlex.quote(sys.executable), int(opts.get("baud") or 0),
                  opts.get("raw-paste", "yes") != "no", int(opts.get("window") or 128), cwd,
                  [m for m in opts.get("without", "").split(",") if m], opts.get("raw-repl", "yes") != "no")
    path = os.ttyname(board.slave)
    if opts.get("link"):
        if os.path.lexists(opts["link"]):
            os.unlink(opts["link"])
        os.symlink(path, opts["link"])
    sys.stderr.write("pty: %s\n" % path)
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))     # so that the directory goes too
    try:
        board.serve(float(opts.get("boot-noise") or 0))
    finally:
        if not opts.get("cwd"):
            shutil.rmtree(cwd, ignore_errors=True)


if __name__ == "__main__":
    main()
