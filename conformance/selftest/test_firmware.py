# The serial target against MicroPython's own firmware: the qemu port built for MPS2-AN385 (a
# Cortex-M3 board that QEMU emulates), its UART on a pty. SOCKCONF_FIRMWARE=<firmware.elf> names
# it (built outside this repository from MicroPython's source: make -C ports/qemu
# BOARD=MPS2_AN385); without it, or without qemu-system-arm, every test here skips with the reason.
#
# That firmware has no socket module and no writable filesystem: the raw REPL, both forms of the
# upload (the .mpy from RAM) and HELLO are checked with an empty socket module standing in (the
# serial target's setup= script), and the suite's run without it is every case UNSUPPORTED with
# one sentence. Every session leaves the board at its friendly prompt.
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sockconf import serial_link, upload
from sockconf.client import Client
from sockconf.transport import Transport

ENV = "SOCKCONF_FIRMWARE"
QEMU = "qemu-system-arm"
ROOT = Path(__file__).resolve().parent.parent.parent
BOOT = 10.0     # seconds for QEMU to name its pty and the firmware to print its banner
# An empty socket module: the agent loads, and HELLO lists no socket method.
STUB = "import sys\nclass socket:\n    class socket:\n        pass\nsys.modules['socket'] = socket\ndel socket\n"


def _why_not():
    fw = os.environ.get(ENV)
    if not fw:
        return ("set %s=<firmware.elf> (MicroPython's ports/qemu built with BOARD=MPS2_AN385) to run the serial "
                "target against real firmware" % ENV)
    if not os.path.isfile(fw):
        return "%s=%s is not a file" % (ENV, fw)
    if not shutil.which(QEMU):
        return "%s is not installed (apt-get install qemu-system-arm)" % QEMU
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")
pytest.importorskip("serial", reason="the serial target needs pyserial (conformance/requirements.txt)")


class Qemu:
    """The firmware under qemu-system-arm, its UART on a pty (.path)."""

    def __init__(self, elf):
        self.proc = subprocess.Popen([QEMU, "-machine", "mps2-an385", "-nographic", "-monitor", "null",
                                      "-semihosting", "-serial", "pty", "-kernel", elf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.set_blocking(self.proc.stdout.fileno(), False)
        said, deadline = b"", time.monotonic() + BOOT
        while not re.search(rb"/dev/pts/\d+", said) and time.monotonic() < deadline and self.proc.poll() is None:
            said += self.proc.stdout.read() or b""
            time.sleep(0.05)
        m = re.search(rb"/dev/pts/\d+", said)
        if not m:
            self.close()
            pytest.fail("%s named no pty within %.0f s; it said %r" % (QEMU, BOOT, said[-200:]))
        self.path = m.group(0).decode()

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def board():
    q = Qemu(os.environ[ENV])
    yield q
    q.close()


@pytest.fixture
def stub(tmp_path):
    p = tmp_path / "no_socket.py"
    p.write_text(STUB)
    return str(p)


def at_prompt(path):
    """The board answers at its friendly prompt: a return gives `>>> `, and 1+1 is 2."""
    import serial
    with serial.Serial(path, 115200, timeout=0.2) as p:
        for send, want in ((b"\r", b">>> "), (b"1+1\r", b"2\r\n>>> ")):
            p.write(send)
            got, deadline = b"", time.monotonic() + 5
            while not got.endswith(want) and time.monotonic() < deadline:
                got += p.read(64)
            assert got.endswith(want), "the board is not at its friendly prompt: it said %r to %r" % (got, send)


class _Port(Transport):
    """The agent's protocol straight over the open port (after RawRepl started main())."""

    def __init__(self, port):
        super().__init__()
        self.port = port

    def _read_some(self, timeout):
        self.port.timeout = min(max(timeout, 0.01), 0.2)
        return self.port.read(max(1, self.port.in_waiting))

    def write(self, data):
        self.port.write(data)


def test_raw_repl(board):
    import serial
    with serial.Serial(board.path, 115200, timeout=1) as port:
        repl = serial_link.RawRepl(port)
        repl.enter()
        out, err = repl.exec("import sys\nprint(sys.implementation._machine, sys.implementation._mpy)\n")
        assert err == b"" and out.startswith(b"mps2-an385 with Cortex-M3 "), (out, err)
        assert int(out.split()[-1]) & 0xFF == 6     # .mpy version 6: what upload compiles for
        repl.leave()
    at_prompt(board.path)


@pytest.mark.parametrize("form", ["source", "mpy"])
def test_each_form_loads_and_says_hello(board, stub, form):
    """The agent goes up as source chunks, or as the .mpy (from RAM: the firmware has no writable
    filesystem), and answers HELLO and an echo; close() leaves the friendly prompt."""
    t = serial_link.SerialLink(board.path, setup=stub, form=form)
    try:
        if form == "mpy":
            assert (t.loaded.form, t.loaded.where, t.loaded.sent) == ("mpy", "ram", len(upload.compile_agent(6)))
        else:
            assert t.loaded is None and t.chunks == len(serial_link.agent_chunks())
        c = Client(t)
        info = c.hello()
        assert info["impl"] == "micropython" and info["machine"] == "mps2-an385 with Cortex-M3"
        assert not {"connect", "send", "recv", "getaddrinfo"} & set(info["ops"])
        assert c.call([("echo", [b"\x00\x03\x04" * 300])]).results[0].value == (b"\x00\x03\x04" * 300,)
    finally:
        t.close()
    at_prompt(board.path)


def test_heap_each_form_keeps(board, record_property):
    """gc.mem_free() before the agent loads and after, for each form (the figures are recorded as
    properties; printed with -s)."""
    import serial
    with serial.Serial(board.path, 115200, timeout=1) as port:
        repl = serial_link.RawRepl(port)
        repl.enter()

        def run(code):
            out, err = repl.exec(code)
            if err:
                raise serial_link.BoardError(err.decode("utf-8", "replace").strip().splitlines()[-1])
            return out

        free = "import gc\ngc.collect()\nprint(gc.mem_free())\n"
        for form, store in (("source", None), ("mpy", "ram")):
            repl.soft_reset()
            run(STUB)
            before = int(run(free))
            if store:
                upload.load_mpy(run, store=store, board_error=serial_link.BoardError)
            else:
                upload.load_source(run)
            after = int(run(free))
            repl.exec_start("main()\n")
            assert Client(_Port(port), resync_wait=0).hello()["impl"] == "micropython"
            port.write(b"\x04\n")   # ends the agent: back at the raw REPL
            repl.read_until(b"\x04>")
            assert 0 < before - after < before
            record_property("heap_%s" % form, {"free_before": before, "free_after": after, "kept": before - after})
            print("firmware heap, %s: free %d before, %d after: the agent keeps %d" % (form, before, after,
                                                                                       before - after))
        repl.leave()
    at_prompt(board.path)


def test_every_case_is_unsupported_without_a_socket_module(board):
    """The suite over the serial target: the firmware has no socket module, so every case is
    UNSUPPORTED with that one sentence, the run passes, and the board is left at its prompt."""
    p = subprocess.run([sys.executable, "-m", "pytest", "conformance/cases", "-q", "-p", "no:cacheprovider",
                        "--target=serial:%s" % board.path], cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    m = re.search(r"cases +0 PASS, 0 FAIL, 0 DEVIATION, (\d+) UNSUPPORTED, 0 UNRESOLVED", out)
    assert p.returncode == 0 and m and int(m.group(1)) > 0, out[-2000:]
    assert "has neither a socket nor a usocket module" in out and "Traceback" not in out, out[-2000:]
    at_prompt(board.path)
