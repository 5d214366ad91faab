# A MicroPython without a raw REPL (sockconf/paste.py): the fake board with --raw-repl=no (its Ctrl-A
# ends MicroPython, as uc386's does on DOS) and the real MicroPython unix binary inside, reached
# through its friendly REPL's paste mode (serial:...,repl=paste), the agent written to the board's
# filesystem once and imported from it after that.
import json
import os
import time

import pytest

from sockconf import mpunix as sc_mpunix
from sockconf import paste, serial_link
from sockconf.client import Client
from sockconf.transport import TargetDied

from selftest.test_serial_link import ROOT, FakeBoard, _pytest

pytest.importorskip("serial", reason="the serial target needs pyserial (conformance/requirements.txt)")


def _mp():
    mp = sc_mpunix.binary()
    if mp is None:
        pytest.skip(sc_mpunix.WHY_NONE)
    return mp


@pytest.fixture
def no_raw(tmp_path):
    b = FakeBoard("--python=%s" % _mp(), "--raw-repl=no", "--cwd=%s" % tmp_path)
    b.dir = tmp_path
    yield b
    b.close()


def _start(path, **kw):
    t0 = time.monotonic()
    link = serial_link.SerialLink(path, repl="paste", **kw)
    c = Client(link)
    c.hello()
    return link, c, time.monotonic() - t0


def test_paste_mode_start_then_the_file_import(no_raw):
    """The first start writes the agent's file (sc<hash>.py) through pastes and imports it; the
    second finds it and imports it without sending the agent; both answer as the agent does."""
    link, c, first = _start(no_raw.path)
    try:
        assert link.loaded.where == "stored" and link.loaded.sent > 20000, link.loaded
        assert c.info["impl"] == "micropython"
        assert c.value("echo", b"x" * 3000) == (b"x" * 3000,)
        assert link.rate and link.rate > 0
    finally:
        link.close()
    name = paste.file_name(paste.source()) + ".py"
    assert sorted(os.listdir(no_raw.dir)) == [name]
    link, c, second = _start(no_raw.path)
    try:
        assert link.loaded.where == "file" and link.loaded.sent == 0, link.loaded
        assert c.value("echo", 7) == (7,)
    finally:
        link.close()


def test_the_paste_echo_is_checked(no_raw):
    """What the board echoes is compared with what was sent: the friendly REPL's own echo (a CR as
    CR LF and the '=== ' prompt) is expected, and code with a syntax error comes back as its
    traceback, not as silence."""
    import serial
    with serial.Serial(no_raw.path, 115200, timeout=1) as port:
        r = paste.PasteRepl(port, timeout=5)
        r.enter()
        assert r.exec("x = 6 * 7\nprint(x)\n") == (b"42\n", b"")
        out, err = r.exec("def f(:\n")
        assert out == b"" and b"SyntaxError" in err
        assert r.rate > 0


def test_a_raw_repl_start_on_a_board_without_one_is_one_sentence(no_raw):
    """The raw REPL's Ctrl-A ends this board's MicroPython (as uc386's ends on DOS): the raw start
    fails in one sentence saying what it waited for, within its bounded tries."""
    t0 = time.monotonic()
    with pytest.raises(TargetDied) as e:
        serial_link.SerialLink(no_raw.path, timeout=2.0)
    assert "raw REPL's banner" in str(e.value) and time.monotonic() - t0 < 60


def test_an_agent_that_ends_in_paste_mode_is_reported_with_its_traceback(no_raw):
    """The friendly REPL prints a traceback and its prompt when the agent ends: the link reports it
    as the agent's end, with the traceback's last line."""
    link, c, _ = _start(no_raw.path)
    try:
        link.write(b"\x04\n")   # the agent ends normally: the prompt comes back
        with pytest.raises(TargetDied) as e:
            c.value("echo", 1, timeout=3)
        assert "ended" in str(e.value)
    finally:
        link.close()


def test_cases_over_the_paste_mode_target(no_raw, tmp_path):
    """Cases end to end through --target=serial:PTY,repl=paste against the real MicroPython: the same
    statuses as the record of that MicroPython under the raw REPL (vectors/oracle/micropython.json)."""
    results = tmp_path / "r.json"
    status, out = _pytest("conformance/cases/test_basics.py", "conformance/cases/test_streams.py",
                          "--target=serial:%s,repl=paste" % no_raw.path, "--profile=micropython",
                          "--results=%s" % results)
    got = {c["id"].rpartition("::")[2]: c["status"] for c in json.loads(results.read_text())["cases"]}
    record = json.loads((ROOT / "vectors" / "oracle" / "micropython.json").read_text())
    want = {cid.rpartition("::")[2]: c["status"] for cid, c in record["cases"].items()
            if cid.rpartition("::")[2] in got}
    assert got and got == want, out[-3000:]
