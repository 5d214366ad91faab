# The serial target against MicroPython's own firmware (sockconf/firmware.py): the qemu port built
# for MPS2-AN385 (a Cortex-M3 board that QEMU emulates), its UART on a pty. SOCKCONF_FIRMWARE=
# <firmware.elf> names it (the maintainer builds it from MicroPython's source, outside this
# repository); without it, or without qemu-system-arm, every test here skips with the reason.
#
# That firmware has no socket module and no writable filesystem: the raw REPL, every form of the
# upload (source, the .mpy sent to RAM, the .mpy found in a ROM filesystem QEMU loads) and HELLO
# are checked with an empty socket module standing in (the serial target's setup= script), the
# heap each form keeps, issue 14's goal (the agent from /rom runs in 20 KiB of free heap), and the
# suite's run without the stand-in: every case UNSUPPORTED with one sentence. Every session leaves
# the board at its friendly prompt.
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sockconf import firmware, serial_link, upload
from sockconf.client import Client
from sockconf.firmware import STUB, heap

ROOT = Path(__file__).resolve().parent.parent.parent
GOAL = 20480    # issue 14: the agent runs with 20 KiB of free heap

pytestmark = pytest.mark.skipif(firmware.why_not() is not None, reason=firmware.why_not() or "")
pytest.importorskip("serial", reason="the serial target needs pyserial (conformance/requirements.txt)")


def _qemu(rom=None):
    try:
        return firmware.Qemu(rom=rom)
    except firmware.FirmwareError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def board():
    q = _qemu()
    yield q
    q.close()


@pytest.fixture(scope="module")
def rom_board(tmp_path_factory):
    """The firmware with the agent's .mpy in its ROM filesystem (/rom), as `mpremote romfs deploy` leaves it."""
    img = tmp_path_factory.mktemp("romfs") / "romfs.img"
    img.write_bytes(upload.romfs_image(6))
    q = _qemu(rom=img)
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


def test_raw_repl(board):
    import serial
    with serial.Serial(board.path, 115200, timeout=10) as port:
        repl = serial_link.RawRepl(port)
        repl.enter()
        out, err = repl.exec("import sys\nprint(sys.implementation._machine, sys.implementation._mpy)\n")
        assert err == b"" and out.startswith(b"mps2-an385 with Cortex-M3 "), (out, err)
        assert int(out.split()[-1]) & 0xFF == 6     # .mpy version 6: what upload compiles for
        repl.leave()
    at_prompt(board.path)


@pytest.mark.parametrize("form", ["source", "mpy", "auto", "auto-rom"])
def test_each_form_loads_and_says_hello(board, rom_board, stub, form):
    """The agent goes up as source chunks, or as the .mpy (sent to RAM: the firmware has no
    writable filesystem), or is found in /rom; auto sends the source where it would have to send
    the .mpy to RAM. Each answers HELLO and an echo, and close() leaves the friendly prompt."""
    path = rom_board.path if form == "auto-rom" else board.path
    t = serial_link.SerialLink(path, setup=stub, form=form.partition("-")[0])
    try:
        if form == "mpy":
            assert (t.loaded.form, t.loaded.where, t.loaded.sent) == ("mpy", "ram", len(upload.compile_agent(6)))
        elif form == "auto-rom":
            assert (t.loaded.form, t.loaded.where, t.loaded.pieces) == ("mpy", "rom", 0)
        else:
            assert t.loaded is None and t.chunks == len(serial_link.agent_chunks())
            assert t.form_note.startswith("the source form" if form == "auto" else ""), t.form_note
        c = Client(t)
        info = c.hello()
        assert info["impl"] == "micropython" and info["machine"] == "mps2-an385 with Cortex-M3"
        assert not {"connect", "send", "recv", "getaddrinfo"} & set(info["ops"])
        assert c.call([("echo", [b"\x00\x03\x04" * 300])]).results[0].value == (b"\x00\x03\x04" * 300,)
    finally:
        t.close()
    at_prompt(path)


@pytest.mark.parametrize("form", ["source", "ram", "rom"])
def test_heap_each_form_keeps(board, rom_board, form, record_property):
    """gc.mem_free() before the agent loads and after, for each form (recorded as properties,
    printed with -s): from /rom, the agent's bytecode takes no heap, so it keeps the least."""
    before, after, trouble = heap((rom_board if form == "rom" else board).path, form)
    assert not trouble, trouble
    assert 0 < before - after < before
    record_property("heap_" + form, {"free_before": before, "free_after": after, "kept": before - after})
    print("firmware heap, %s: free %d before, %d after: the agent keeps %d" % (form, before, after, before - after))
    if form == "rom":   # its bytecode stays in ROM: it keeps less than the .mpy's own size
        assert before - after < len(upload.compile_agent(6))
    at_prompt((rom_board if form == "rom" else board).path)


@pytest.mark.xfail(strict=True, reason="missed since issue 16: the agent's start-up code (runtime probe, bring-up, "
                                       "service hook) keeps about 1 KB more heap; with its .mpy in /rom the agent "
                                       "needs 21,456 B free (bench: firmware_heap_needed_rom_bytes)")
def test_agent_in_rom_runs_in_20_kib(rom_board):
    """Issue 14's goal: with its .mpy in /rom, the agent loads and answers with 20 KiB of free heap.
    Missed now (the mark says by how much); strict, so that it says so when the goal is met again."""
    before, _, trouble = heap(rom_board.path, "rom", GOAL)
    assert abs(before - GOAL) < 64 and not trouble, "with %d bytes free: %s" % (before, trouble)
    at_prompt(rom_board.path)


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
