# The serial target without hardware: sockconf.serial_link against fake_board.py (MicroPython's raw
# REPL on a pty, running the agent under CPython or a MicroPython unix binary, at 115200 baud or
# unthrottled), and the plugin's serial:, micropython: and cpython targets.
import ast
import functools
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pytest

from sockconf import mpunix as sc_mpunix
from sockconf import recovery, serial_link, vectors, wire
from sockconf.client import Client
from sockconf.transport import TargetDied, TargetLacks

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
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:   # a loaded machine: it removes its filesystem first
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stderr.close()


@pytest.fixture
def board(request):
    b = FakeBoard(*getattr(request, "param", ()))
    yield b
    b.close()


def _mp_board(heapsize=71248):
    mp = micropython()
    if mp is None:
        pytest.skip(sc_mpunix.WHY_NONE)
    # 67,968 bytes free before the agent loads (measured at the raw REPL): the .mpy form loads with
    # fewer (bench: agent_heap_needed_mpy_bytes), but its load through the raw REPL here fragments
    # the heap; 65,920 (heapsize 69200) stopped being enough when the agent's start-up code (the
    # runtime probe, the bring-up and the service hook) came
    return "--python=%s -X heapsize=%d" % (mp, heapsize)


# ---- the spec and the upload ----

@pytest.mark.parametrize("rest,want", [
    ("/dev/ttyACM0", ("/dev/ttyACM0", 115200, {})),
    ("/dev/ttyUSB1@921600", ("/dev/ttyUSB1", 921600, {})),
    ("/dev/ttyUSB1@9600,host=192.168.1.5,listen_host=192.168.1.77",
     ("/dev/ttyUSB1", 9600, {"host": "192.168.1.5", "listen_host": "192.168.1.77"})),
    ("rfc2217://farm.lan:4001,dtr=0,rts=1", ("rfc2217://farm.lan:4001", 115200, {"dtr": False, "rts": True})),
    ("socket://127.0.0.1:7000@9600,setup=net.py,host=10.0.0.1,dns=suite",
     ("socket://127.0.0.1:7000", 9600, {"setup": "net.py", "host": "10.0.0.1", "dns": "suite"})),
])
def test_parse_spec(rest, want):
    assert serial_link.parse_spec(rest) == want


@pytest.mark.parametrize("rest,sentence", [
    ("", "the serial target is serial:DEVICE"), ("/dev/x@", "the serial target is"), ("/dev/x@0", "the serial target is"),
    ("/dev/x@fast", "the serial target is"), ("/dev/x,speed=1", "unknown option speed"),
    ("/dev/x,dtr=yes", "dtr=yes: give dtr=0 or dtr=1"), ("/dev/x,dns=board", "the one value is dns=suite"),
    ("/dev/x,dns=suite", "dns=suite needs host=ADDR"), ("/dev/x,repl=friendly", "repl=friendly: give repl=raw"),
    ("/dev/x,files=D:/", "files=DIR is where repl=paste keeps the agent's file"),
    ("/dev/x,repl=paste,form=mpy", "form= is how the raw REPL takes the agent"),
])
def test_parse_spec_rejects(rest, sentence):
    with pytest.raises(ValueError, match=re.escape(sentence)):
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
    """The agent under the MicroPython unix binary with about 66 KiB of free heap, behind the raw REPL."""
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
        with pytest.raises(TargetDied, match=r"the board on .* did not start the agent: the board did not show the "
                                             r"raw REPL's banner b'raw REPL; CTRL-B to exit\\r\\n' after 3 tries "
                                             r"of 0.5 s; it sent nothing$"):
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


# ---- opening a board without surprises (the real MicroPython inside the fake board) ----

BOOT_PY = "f = open('boots', 'a')\nf.write('boot\\n')\nf.close()\n"


def _boots(path):
    p = path / "boots"
    return p.read_text().count("boot") if p.exists() else 0


def _until(test, seconds=5.0):
    end = time.monotonic() + seconds
    while not test() and time.monotonic() < end:
        time.sleep(0.05)
    return test()


def test_no_soft_reboot_at_the_normal_prompt(tmp_path):
    """A board at its friendly prompt, and one whose agent a crashed host left running: reaching
    the raw REPL runs no boot.py (its side effect, a line in a file, comes once, at power-on);
    close() then soft-resets it, as documented."""
    (tmp_path / "boot.py").write_text(BOOT_PY)
    board = FakeBoard(_mp_board(), "--cwd=%s" % tmp_path)
    try:
        assert _until(lambda: _boots(tmp_path) == 1), "the board's boot.py did not run at power-on"
        t = serial_link.SerialLink(board.path)
        assert Client(t).hello()["impl"] == "micropython"
        assert _boots(tmp_path) == 1, "opening the board soft-rebooted it"
        t.port.close()      # the host goes away, the agent runs on (0x03 and 0x01 are data to it)
        t = serial_link.SerialLink(board.path)
        try:
            assert Client(t).hello()["proto"] == 2
            assert _boots(tmp_path) == 1, "ending a running agent soft-rebooted the board"
        finally:
            t.close()
        assert _until(lambda: _boots(tmp_path) == 2), "close() did not soft-reset the board"
    finally:
        board.close()


def test_boot_noise_is_drained():
    """A board just reset prints its boot ROM's log for a second (bytes like OK, R\\x01, > and 0x04
    among it) and loses what the host sends meanwhile: the agent still goes up and answers."""
    board = FakeBoard("--boot-noise=1.0")
    try:
        t = serial_link.SerialLink(board.path)
        try:
            assert Client(t).hello()["proto"] == 2
            assert t.repl.tries == 1, "the first Ctrl-C and Ctrl-A went into the noise"
        finally:
            t.close()
    finally:
        board.close()


def test_the_port_is_opened_exclusively(board):
    t = serial_link.SerialLink(board.path)
    try:
        with pytest.raises(TargetDied, match="cannot open %s: .*exclusive" % re.escape(board.path)):
            serial_link.SerialLink(board.path)
    finally:
        t.close()


class _Uart:
    """The serial port behind an RFC 2217 server (what ser2net drives): settings kept, every
    change of a modem line recorded in order in .lines."""

    def __init__(self):
        self.__dict__.update(lines=[], baudrate=115200, bytesize=8, parity="N", stopbits=1, xonxoff=False,
                             rtscts=False, dtr=False, rts=False, break_condition=False, cts=False, dsr=False,
                             ri=False, cd=False)

    def __setattr__(self, name, value):
        if name in ("dtr", "rts"):
            self.lines.append((name, value))
        self.__dict__[name] = value

    def reset_input_buffer(self):
        pass

    reset_output_buffer = reset_input_buffer


class Relay:
    """A ser2net in miniature: a TCP port on loopback relayed to a pty (the fake board's), raw
    (socket://) or through RFC 2217 (rfc2217://, pyserial's PortManager, modem lines in .uart)."""

    def __init__(self, pty, rfc2217=False):
        self.fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.url = "%s://127.0.0.1:%d" % ("rfc2217" if rfc2217 else "socket", self.sock.getsockname()[1])
        self.rfc2217, self.uart = rfc2217, _Uart()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import serial.rfc2217
        while not self.stop.is_set():
            if not select.select([self.sock], [], [], 0.1)[0]:
                continue
            conn, _ = self.sock.accept()

            class Out:
                write = conn.sendall
            pm = serial.rfc2217.PortManager(self.uart, Out()) if self.rfc2217 else None
            while not self.stop.is_set():
                for r in select.select([conn, self.fd], [], [], 0.1)[0]:
                    data = conn.recv(4096) if r is conn else os.read(self.fd, 4096)
                    if r is conn and not data:
                        break
                    if r is conn:
                        os.write(self.fd, b"".join(pm.filter(data)) if pm else data)
                    else:
                        conn.sendall(b"".join(pm.escape(data)) if pm else data)
                else:
                    continue
                break
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()
        os.close(self.fd)


@pytest.mark.parametrize("rfc2217,lines,want", [
    (False, {}, None),
    (True, {}, (True, True)),
    (True, {"dtr": False, "rts": False}, (False, False)),
], ids=["socket", "rfc2217-default", "rfc2217-dtr0-rts0"])
def test_a_board_behind_a_network_relay(board, rfc2217, lines, want):
    """socket:// and rfc2217:// reach the board like a local port; over RFC 2217 the DTR and RTS
    asked for reach the far port, and never RTS asserted alone (an ESP32's EN low: a reset)."""
    relay = Relay(board.path, rfc2217)
    try:
        t = serial_link.SerialLink(relay.url, **lines)
        try:
            assert Client(t).hello()["proto"] == 2
            changes = list(relay.uart.lines)    # while the agent runs
        finally:
            t.close()
        if want is not None:
            state, seen = {"dtr": False, "rts": False}, []     # the far port's, before the client set any
            for name, value in changes:
                state[name] = value
                seen.append((state["dtr"], state["rts"]))
            assert seen and seen[-1] == want, changes
            assert (False, True) not in seen, "RTS was asserted alone: %s" % changes
    finally:
        relay.close()


# ---- start errors, a board without sockets, the setup script ----

def _line_of(text, after="", path=serial_link.AGENT):
    """agent.py's first line (1-based) that starts with `text` once stripped, after the first that
    starts with `after`."""
    lines = Path(path).read_text().splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith(after))
    return next(k for k, line in enumerate(lines[start:], start + 1) if line.strip().startswith(text))


def _keeper(start):
    """A Keeper over start(), and how many times it started the target."""
    tries = []

    def counted(client):
        tries.append(1)
        return start(client)
    return recovery.Keeper("target", counted), tries


def _hello(link):
    t = link()
    try:
        c = Client(t)
        c.hello()
        return c
    except BaseException:
        t.close()
        raise


@pytest.mark.parametrize("form", ["source", "mpy"])
def test_start_error_is_reported_once_with_the_agent_line(tmp_path, form):
    """An ImportError while the agent loads (an agent.py with an import the board cannot make) and
    one as it starts (dns=suite on a board with no network module): each is reported once, not
    retried, and names agent.py's line, not the line of the chunk the board ran (source form), as
    the .mpy form's frames do."""
    lines = serial_link.AGENT.read_text().splitlines(True)
    at = _line_of("import sys")
    lines.insert(at, "import sockconf_no_such_module\n")
    broken = tmp_path / "agent.py"
    broken.write_text("".join(lines))
    # 2 KiB more than the other boards: the second start compiles the whole agent on a heap the
    # first one's failed upload left fragmented (at 71248 the agent's probe chunk no longer fits)
    board = FakeBoard(_mp_board(73296))
    try:
        k, tries = _keeper(lambda client: _hello(functools.partial(serial_link.SerialLink, board.path, agent=broken,
                                                                            form=form)))
        assert len(tries) == 1 and k.client is None, k.gone
        assert re.search(r"ImportError: no module named 'sockconf_no_such_module' \(at agent\.py line %d[,)]" % (at + 1),
                         k.gone), k.gone
        k, tries = _keeper(lambda client: _hello(functools.partial(serial_link.SerialLink, board.path,
                                                                   host="127.0.0.1", dns="suite", form=form)))
        assert len(tries) == 1 and k.client is None, k.gone
        assert re.search(r"ImportError: no module named 'network' \(at agent\.py line %d in resolver, called from "
                         r"agent\.py line %d in main, called from line 1 of what the host sent\)" % (
                             _line_of("import network", "def resolver("), _line_of("undo = resolver(dns)")), k.gone), k.gone
        # and the board is left usable
        assert _hello(functools.partial(serial_link.SerialLink, board.path)).info["impl"] == "micropython"
    finally:
        board.close()


def test_chunk_lines_are_agent_lines():
    """Every line of every chunk maps to an agent.py line with the same statement or clause."""
    src = serial_link.AGENT.read_text().splitlines()
    for chunk in serial_link.agent_chunks():
        lines, defs = serial_link.chunk_lines(chunk)
        assert None not in lines
        for text, k in zip(chunk.splitlines(), lines):
            word = re.match(r"\s*([A-Za-z_]*)", text).group(1)
            if word not in ("", "else", "finally", "try", "pass"):     # a clause keeps no line of its own
                assert word in src[k - 1], (text, k, src[k - 1])
        for name, first, _ in defs:
            assert re.match(r"\s*(async )?(def|class) %s\b" % name, src[lines[first - 1] - 1])
    assert serial_link.chunk_lines("x = 1\n")[0] == [None]      # not agent.py's


def test_a_board_without_a_socket_module_is_unsupported_in_every_case(tmp_path):
    """--without=socket,usocket: one sentence says so, and every case is UNSUPPORTED with it."""
    board = FakeBoard(_mp_board(), "--without=socket,usocket")
    try:
        with pytest.raises(TargetLacks, match=r"^the board on \S+ has neither a socket nor a usocket module$"):
            serial_link.SerialLink(board.path)
        results = tmp_path / "r.json"
        status, out = _pytest("conformance/cases/test_basics.py", "--target=serial:%s" % board.path,
                              "--results=%s" % results)
        assert status == 0 and "Traceback" not in out, out
        cases = json.loads(results.read_text())["cases"]
        assert cases and {(c["status"], c["reason"]) for c in cases} == {
            ("UNSUPPORTED", "the board on %s has neither a socket nor a usocket module" % board.path)}, out
    finally:
        board.close()


NETWORK_PY = '''# A stand-in for a port's network module on the fake board: a station interface that setup
# brings up, and the resolver setting, which on the unix port is what RESOLV says.
STA_IF, AP_IF = 0, 1
RESOLV = %r
_up = []


def _dns():
    try:
        with open(RESOLV) as f:
            return f.read().split()[1]
    except OSError:
        return "0.0.0.0"


class WLAN:
    def __init__(self, which=STA_IF):
        self.which = which

    def active(self, *on):
        if on and self.which == STA_IF:
            _up[:] = [True] if on[0] else []
        return bool(_up) and self.which == STA_IF

    def ifconfig(self):
        return ("10.0.2.15", "255.255.255.0", "10.0.2.2", _dns()) if self.active() else ("0.0.0.0",) * 4


def ipconfig(*which, **kw):
    if "dns" in kw:
        with open(RESOLV, "w") as f:
            f.write("nameserver %%s\\noptions timeout:1 attempts:2\\n" %% kw["dns"])   # a board: few retries
    if which == ("dns",):
        return _dns()
'''
SETUP_PY = "import network\nnetwork.WLAN(network.STA_IF).active(True)\n"


def test_setup_script_runs_and_gives_the_board_address(tmp_path):
    """,setup=FILE.py runs before the agent (here it brings the station interface up), and the
    address peers reach the board at is then its active interface's (HELLO listen_host); without
    it there is none. A setup script that raises is one sentence naming its line."""
    (tmp_path / "network.py").write_text(NETWORK_PY % str(tmp_path / "resolv.conf"))
    setup = tmp_path / "net_up.py"
    setup.write_text(SETUP_PY)
    board = FakeBoard(_mp_board(), "--cwd=%s" % tmp_path)
    try:
        c = _hello(functools.partial(serial_link.SerialLink, board.path))
        assert "listen_host" not in c.info
        c.transport.close()
        c = _hello(functools.partial(serial_link.SerialLink, board.path, setup=str(setup)))
        assert c.info["listen_host"] == "10.0.2.15"
        c.transport.close()
        bad = tmp_path / "bad.py"
        bad.write_text("import network\n\nnetwork.no_such_function()\n")
        with pytest.raises(TargetDied, match=r"the setup script %s raised on \S+: AttributeError: .*no_such_function.* "
                                             r"\(at line 3 of it\)$" % re.escape(str(bad))):
            serial_link.SerialLink(board.path, setup=str(bad))
    finally:
        board.close()


# ---- dns=suite: the board's resolver points at the suite's DNS peer ----

def _agent_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("sockconf_agent_under_test", serial_link.AGENT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Nic:
    def __init__(self, conf):
        self.conf, self.set = conf, []

    def active(self):
        return True

    def ifconfig(self, *conf):
        if conf:
            self.set.append(conf[0])
            self.conf = conf[0]
        return self.conf


@pytest.mark.parametrize("has_ipconfig", [True, False], ids=["ipconfig", "ifconfig"])
def test_resolver_points_at_the_suite_and_back(monkeypatch, has_ipconfig):
    """agent.py's resolver(): network.ipconfig(dns=...) where the port has it, else the active
    interface's ifconfig 4-tuple; the function it returns puts the old setting back."""
    import types
    network, calls = types.SimpleNamespace(STA_IF=0, AP_IF=1), []
    nic = _Nic(("10.0.2.15", "255.255.255.0", "10.0.2.1", "10.0.2.3"))
    network.WLAN = lambda which: nic if which == 0 else None
    if has_ipconfig:
        state = {"dns": "10.0.2.3"}

        def ipconfig(*which, **kw):
            calls.append((which, kw))
            state.update(kw)
            return state[which[0]] if which else None
        network.ipconfig = ipconfig
    monkeypatch.setitem(sys.modules, "network", network)
    agent = _agent_module()
    undo = agent.resolver("10.0.2.2")
    if has_ipconfig:
        assert state["dns"] == "10.0.2.2" and not nic.set
        undo()
        assert state["dns"] == "10.0.2.3" and calls[-1] == ((), {"dns": "10.0.2.3"})
    else:
        assert nic.conf == ("10.0.2.15", "255.255.255.0", "10.0.2.1", "10.0.2.2")
        undo()
        assert nic.conf == ("10.0.2.15", "255.255.255.0", "10.0.2.1", "10.0.2.3")
    assert agent.nic() is nic


NAME_CASES = [
    "conformance/cases/test_addresses.py::test_name_in_a_tuple_is_refused_and_getaddrinfo_resolves_it",
    "conformance/cases/test_addresses.py::test_name_in_an_ipv6_tuple_is_refused",
    "conformance/cases/test_addresses.py::test_malformed_name_is_a_negative_oserror",
    "conformance/cases/test_addresses.py::test_getaddrinfo_with_an_empty_host",
    "conformance/cases/test_getaddrinfo.py::test_resolution_failure_is_a_negative_oserror",
    "conformance/cases/test_getaddrinfo.py::test_a_dns_server_that_never_answers_is_a_negative_oserror",
    "conformance/cases/test_getaddrinfo.py::test_a_name_resolves_to_an_address_that_connects",
]
# In a network namespace and a mount namespace of the test's own: the host address 10.0.2.2 and
# the board's 10.0.2.15 on its loopback device (its only one), /etc/resolv.conf the board's resolver setting (the
# unix port's getaddrinfo reads it), naming an address no one answers at, 192.0.2.1.
IN_NAMESPACE = r'''set -e
ip link set lo up
ip addr add 10.0.2.2/24 dev lo
ip addr add 10.0.2.15/24 dev lo
mount --bind "$RESOLV" /etc/resolv.conf
"$PY" "$FAKE_BOARD" --python="$MP" --cwd="$BOARD" --link="$LINK" 2>/dev/null &
for i in $(seq 50); do [ -e "$LINK" ] && break; sleep 0.1; done
set +e
"$PY" -m pytest -q -p no:cacheprovider "$@"
status=$?
kill $!
exit $status
'''


def test_dns_suite_reaches_the_suites_dns_peer_on_port_53(tmp_path):
    """serial:...,dns=suite on the fake board with the real MicroPython inside, in namespaces
    the test makes: the agent points the board's resolver (the stand-in network.ipconfig, over
    /etc/resolv.conf) at the suite's DNS peer, which listens on port 53 of the host address; the
    7 cases that resolve names get the statuses the real MicroPython has with a private resolver
    (vectors/oracle/micropython.json; none UNRESOLVED), and the old setting is back after."""
    if os.geteuid() != 0:
        pytest.skip("making network and mount namespaces and binding port 53 needs root here")
    for tool in ("unshare", "ip", "mount"):
        if not shutil.which(tool):
            pytest.skip("no %s command on this machine" % tool)
    mp = _mp_board()[len("--python="):]
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.1\noptions timeout:1 attempts:2\n")
    board = tmp_path / "board"
    board.mkdir()
    (board / "network.py").write_text(NETWORK_PY % str(resolv))
    results = tmp_path / "r.json"
    env = dict(os.environ, RESOLV=str(resolv), PY=sys.executable, FAKE_BOARD=str(FAKE_BOARD), MP=mp,
               BOARD=str(board), LINK=str(tmp_path / "tty"))
    p = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", IN_NAMESPACE, "sh",
                        *NAME_CASES, "--target=serial:%s,host=10.0.2.2,dns=suite" % (tmp_path / "tty"),
                        "--results=%s" % results], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    if "unshare failed" in out or "Operation not permitted" in out:
        pytest.skip("this machine does not let the test make namespaces: %s" % out.strip().splitlines()[-1])
    assert results.exists(), out
    got = {c["id"]: c["status"] for c in json.loads(results.read_text())["cases"]}
    record = json.loads((ROOT / "vectors" / "oracle" / "micropython.json").read_text())["cases"]
    want = {k: c["status"] for k, c in record.items() if k.split("[")[0] in NAME_CASES}
    assert len(got) == 9 and got == want, out
    assert "UNRESOLVED" not in got.values()
    assert resolv.read_text().split()[:2] == ["nameserver", "192.0.2.1"], "the board's resolver was not put back"


def test_dns_suite_without_port_53_is_one_sentence(board, tmp_path):
    """dns=suite where this process may not bind port 53 (root without CAP_NET_BIND_SERVICE, by
    setpriv): the cases that resolve names are UNRESOLVED with the sentence saying what is
    missing. A host= that is no address of this machine is one sentence too."""
    if not shutil.which("setpriv"):
        pytest.skip("no setpriv command (util-linux) to run the suite without CAP_NET_BIND_SERVICE")
    p = subprocess.run(["setpriv", "--bounding-set", "-net_bind_service", "--inh-caps", "-net_bind_service",
                        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", NAME_CASES[-1],
                        "--target=serial:%s,host=127.0.0.1,dns=suite" % board.path, "--profile=cpython",
                        "--results=%s" % (tmp_path / "r.json")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 1 and "Traceback" not in out, out
    (case,) = json.loads((tmp_path / "r.json").read_text())["cases"]
    assert case["status"] == "UNRESOLVED" and re.search(
        r"dns=suite: the suite's DNS peer cannot listen on port 53 of 127\.0\.0\.1 \(Permission denied\); it "
        r"needs root or the CAP_NET_BIND_SERVICE capability\)$", case["reason"]), case["reason"]
    status, out = _pytest(NAME_CASES[-1], "--target=serial:%s,host=192.0.2.99,dns=suite" % board.path)
    assert status == 4 and "host=192.0.2.99 is not an address of this machine" in out and "Traceback" not in out, out


def test_a_board_that_never_stops_talking_is_given_a_deadline(board, tmp_path):
    """Each raw-REPL execution is bounded in time, not only by quiet (mpremote's read loops end on
    quiet alone): a setup script that prints forever ends in one sentence within 3 timeouts."""
    chatty = tmp_path / "chatty.py"
    chatty.write_text("import time\nwhile True:\n    print('still here')\n    time.sleep(0.01)\n")
    t0 = time.monotonic()
    with pytest.raises(TargetDied, match="the board kept talking past the deadline without ending the code$"):
        serial_link.SerialLink(board.path, timeout=0.5, setup=str(chatty))
    assert time.monotonic() - t0 < 15.0     # 1.5 s of deadline, on a busy machine
