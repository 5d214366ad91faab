# The serial target without hardware: sockconf.serial_link against fake_board.py (MicroPython's raw
# REPL on a pty, running the agent under CPython or a MicroPython unix binary, at 115200 baud or
# unthrottled), and the plugin's serial:, micropython: and cpython targets.
import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sockconf import mpunix as sc_mpunix
from sockconf import serial_link, vectors, wire
from sockconf.client import Client
from sockconf.transport import TargetDied

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FAKE_BOARD = HERE / "fake_board.py"
from selftest.test_agent_py import COMMON, micropython  # noqa: E402

pytest.importorskip("serial", reason="the serial target needs pyserial (conformance/requirements.txt)")


class FakeBoard:
    """fake_board.py in a process of its own; .path is its pty."""

    def __init__(self, *opts):
        self.proc = subprocess.Popen([sys.executable, str(FAKE_BOARD), *opts], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        m = re.match(rb"pty: (\S+)", self.proc.stderr.readline())
        assert m, "fake_board.py printed no pty"
        self.path = m.group(1).decode()

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)
        self.proc.stderr.close()


@pytest.fixture
def board(request):
    b = FakeBoard(*getattr(request, "param", ()))
    yield b
    b.close()


def _mp_board():
    mp = micropython()
    if mp is None:
        pytest.skip(sc_mpunix.WHY_NONE)
    return "--python=%s -X heapsize=69200" % mp    # 64 KiB free before the agent loads


# ---- the spec and the upload ----

@pytest.mark.parametrize("rest,want", [
    ("/dev/ttyACM0", ("/dev/ttyACM0", 115200, {})),
    ("/dev/ttyUSB1@921600", ("/dev/ttyUSB1", 921600, {})),
    ("/dev/ttyUSB1@9600,host=192.168.1.5,listen_host=192.168.1.77",
     ("/dev/ttyUSB1", 9600, {"host": "192.168.1.5", "listen_host": "192.168.1.77"})),
])
def test_parse_spec(rest, want):
    assert serial_link.parse_spec(rest) == want


@pytest.mark.parametrize("rest", ["", "/dev/x@", "/dev/x@0", "/dev/x@fast", "/dev/x,speed=1"])
def test_parse_spec_rejects(rest):
    with pytest.raises(ValueError):
        serial_link.parse_spec(rest)


def test_chunks_are_whole_statements_without_docstrings():
    chunks = serial_link.agent_chunks()
    src = serial_link.AGENT.read_text()
    biggest = max(len(ast.unparse(s)) + 1 for s in ast.parse(src).body)
    assert all(len(c) <= max(serial_link.CHUNK, biggest) for c in chunks)
    for c in chunks:
        ast.parse(c)    # each compiles on its own
    joined = "".join(chunks)
    assert "__main__" not in joined and '"""' not in joined and "def main(" in joined
    assert len(joined) < len(src)


# ---- bringing the agent up on a board ----

@pytest.mark.parametrize("board,paste", [((), True), (("--raw-paste=no",), False), (("--window=16",), True)],
                         indirect=["board"], ids=["raw-paste", "raw-fallback", "small-window"])
def test_upload_start_talk_and_leave(board, paste):
    """The agent goes up in raw-paste mode (or raw mode on a firmware without it, or a small
    window), answers, and close() leaves the board soft-reset at its friendly REPL."""
    t = serial_link.SerialLink(board.path, 115200, host="10.1.2.3")
    try:
        c = Client(t)
        info = c.hello()
        assert t.raw_paste is paste and t.chunks == len(serial_link.agent_chunks())
        assert info["impl"] == "cpython" and info["host"] == "10.1.2.3"
        assert c.call([("echo", [b"\x00" * 2000, "%;"])]).results[0].value == (b"\x00" * 2000, "%;")
    finally:
        t.close()
    import serial
    with serial.Serial(board.path, 115200, timeout=0.3) as p:
        p.write(b"\r\x02")
        assert b"Type \"help()\"" in p.read(400)
    # and again: a second session on the same board starts from its friendly REPL
    t = serial_link.SerialLink(board.path, 115200)
    try:
        assert Client(t).hello()["proto"] == 2
    finally:
        t.close()


@pytest.mark.parametrize("board", [("--baud=115200",)], indirect=True)
def test_at_115200_baud(board):
    """Over a simulated 115200-baud line the upload takes about its bytes' time and a 2900-byte
    echo (4 KiB each way) about 0.7 s."""
    t0 = time.monotonic()
    t = serial_link.SerialLink(board.path, 115200)
    try:
        up = time.monotonic() - t0
        sent = sum(map(len, serial_link.agent_chunks()))
        assert up < 3 * sent * 10 / 115200 + 1.0, "upload of %d bytes took %.2f s" % (sent, up)
        c = Client(t)
        c.hello()
        t0 = time.monotonic()
        assert c.call([("echo", [b"x" * 2900])]).results[0].value == (b"x" * 2900,)
        assert time.monotonic() - t0 < 1.5
    finally:
        t.close()


@pytest.mark.parametrize("rec", [r for r in COMMON if r.name in ("echo-str", "overlong-line", "binary-junk",
                                                                 "control-byte", "hostile-size-never-allocates")],
                         ids=lambda r: r.name)
def test_vectors_over_the_board(rec):
    """Vectors through the raw REPL's link: 0x03 inside a frame stays data (kbd_intr(-1))."""
    board = FakeBoard()
    try:
        t = serial_link.SerialLink(board.path)
        try:
            for step in rec.steps:
                t.write(step.send)
                if step.expect != "-":
                    line = t.readline(time.monotonic() + 5)
                    while line is not None and not line.startswith((b"R ", b"X ")):
                        line = t.readline(time.monotonic() + 5)
                    assert line == step.expect.encode() + b"\n", "%s:%d" % (rec.path, step.lineno)
        finally:
            t.close()
    finally:
        board.close()


def test_micropython_board_with_64_kib():
    """The agent under the MicroPython unix binary with 64 KiB of free heap, behind the raw REPL."""
    board = FakeBoard(_mp_board(), "--baud=115200")
    try:
        t = serial_link.SerialLink(board.path)
        try:
            c = Client(t)
            info = c.hello()
            assert info["impl"] == "micropython" and "tuple-address" not in info["caps"]
            r = c.call([("socket", []), ("recv", [wire.Ref(0), 1]), ("reset", [])], mode="C").results
            assert r[1].cls == "OSError" and r[1].errno == "ENOTCONN" and r[2].value == 1
        finally:
            t.close()
    finally:
        board.close()


# ---- when the board does not answer, or the agent ends ----

def test_silent_board_is_one_clear_error():
    master, slave = os.openpty()
    try:
        with pytest.raises(TargetDied, match=r"the board on .* did not start the agent: the board did not send "
                                             r"b'raw REPL; CTRL-B to exit\\r\\n>' within 0.5 s"):
            serial_link.SerialLink(os.ttyname(slave), timeout=0.5)
    finally:
        os.close(master)
        os.close(slave)


def test_missing_device_is_one_clear_error():
    with pytest.raises(TargetDied, match="cannot open /nonexistent/tty"):
        serial_link.SerialLink("/nonexistent/tty")


def test_agent_that_ends_is_reported_with_what_the_board_said(board):
    t = serial_link.SerialLink(board.path)
    try:
        c = Client(t)
        c.hello()
        t.write(b"\x04\n")      # ends the agent: the board prints 0x04, its error output, 0x04, ">"
        with pytest.raises(TargetDied, match="the agent on .* ended"):
            c.call([("echo", [])])
    finally:
        t.close()


# ---- the plugin's targets ----

def _pytest(*args):
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


@pytest.mark.parametrize("option,sentence", [
    ("--target=micropython:", "--target=micropython: needs the path of a MicroPython unix binary"),
    ("--target=micropython:/nonexistent/micropython",
     "--target=micropython:/nonexistent/micropython: /nonexistent/micropython is not an executable file"),
    ("--target=serial:/nonexistent/tty",
     "--target=serial:/nonexistent/tty: there is no serial device /nonexistent/tty"),
    ("--target=serial:/dev/null@fast", "the serial target is serial:DEVICE[@BAUD]"),
    ("--target=serial:/dev/null,speed=9", "unknown option speed"),
])
def test_wrong_target_is_one_sentence(option, sentence):
    status, out = _pytest("conformance/cases/test_basics.py", option)
    assert status == 4 and sentence in out and "Traceback" not in out, out


def test_cases_over_the_serial_target(board):
    """A few cases end to end through --target=serial: on the fake board."""
    status, out = _pytest("conformance/cases/test_basics.py", "--target=serial:%s" % board.path,
                          "--profile=cpython")
    assert status == 0, out
    assert "target   serial:%s: cpython" % board.path in out, out
