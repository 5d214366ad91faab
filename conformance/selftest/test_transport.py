# Transports and the client against small real processes: the fake agent, and the C harness if built.
import os
import sys
import time
from pathlib import Path

import pytest

from sockconf import wire
from sockconf.client import (Client, KeywordsUnsupported, OpFailed, ProtocolError, ProtocolReject, TargetDied,
                             TargetSilent)
from sockconf.transport import PipeTransport, PtyTransport, SerialTransport

HERE = Path(__file__).resolve().parent
FAKE = str(HERE / "fake_agent.py")
HARNESS = Path(os.environ.get("SOCKCONF_HARNESS", HERE.parent.parent / "ref" / "build" / "sockconf-harness"))


def py(code):
    return PipeTransport([sys.executable, "-c", code])


def soon(seconds=5.0):
    return time.monotonic() + seconds


def fake(*opts, **kw):
    return Client(PipeTransport([sys.executable, FAKE, *opts]), **kw)


# --- PipeTransport ---------------------------------------------------------------------------

def test_pipe_echo_lines():
    with py("import sys\nfor l in sys.stdin: sys.stdout.write(l); sys.stdout.flush()") as t:
        t.write(b"one\ntwo\n")
        assert t.readline(soon()) == b"one\n" and t.readline(soon()) == b"two\n"


def test_pipe_big_write_does_not_deadlock():
    # the child echoes everything while we are still writing: output is buffered meanwhile
    with py("import sys\nfor l in sys.stdin.buffer: sys.stdout.buffer.write(l); sys.stdout.flush()") as t:
        t.write((b"x" * 999 + b"\n") * 2000)
        assert all(t.readline(soon()) == b"x" * 999 + b"\n" for _ in range(2000))


def test_pipe_exit_status_and_stderr():
    with py("import sys; sys.stderr.write('boom\\n'); sys.exit(3)") as t:
        with pytest.raises(TargetDied) as e:
            t.readline(soon())
    assert e.value.status == 3 and "boom" in e.value.stderr_tail
    assert str(e.value) == "target exited with status 3 (stderr: boom)"


def test_pipe_partial_line_then_died():
    with py("import sys; sys.stdout.write('abc'); sys.exit(0)") as t:
        assert t.readline(soon()) == b"abc"
        with pytest.raises(TargetDied) as e:
            t.readline(soon())
    assert e.value.status == 0


def test_pipe_killed_by_signal():
    with py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)") as t:
        with pytest.raises(TargetDied, match="killed by signal 9"):
            t.readline(soon())


def test_pipe_write_to_dead_process():
    with py("import sys; sys.exit(4)") as t:
        t.proc.wait()
        with pytest.raises(TargetDied) as e:
            t.write(b"x\n" * 100000)
    assert e.value.status == 4


def test_pipe_readline_deadline():
    with py("import time; time.sleep(30)") as t:
        start = time.monotonic()
        assert t.readline(start + 0.3) is None
        assert 0.29 <= time.monotonic() - start < 1.0
        assert t.readline(time.monotonic() - 1) is None  # a past deadline still returns at once


# --- Client ----------------------------------------------------------------------------------

def test_client_hello_reset_const_counters():
    c = fake("--noise", "--stale", "--crlf")
    try:
        info = c.hello()
        assert info["proto"] == 2 and info["impl"] == "fake" and c.info is info
        assert c.reset() == 2
        assert c.const("AF_INET", "NO_SUCH") == {"AF_INET": 10, "NO_SUCH": None}
        assert c.round_trips == 3 and len(c.noise) == 3 and len(c.stale) == 3
        assert c.bytes_out > 40 and c.bytes_in > c.bytes_out
        resp = c.call([("reset", [])], mode="C")
        assert resp.results == [wire.Ok(2)] and resp.seq == c.seq
    finally:
        c.transport.close()


def test_client_never_sends_invalid_requests():
    c = fake()
    try:
        with pytest.raises(ValueError, match="unknown op 'frob'"):
            c.call([("frob", [])])
        with pytest.raises(ValueError, match="'recv' takes 2 arguments, got 1"):
            c.call([("recv", [wire.Handle(0)])])
        c.hello()
        with pytest.raises(ValueError, match="maxops 16"):
            c.call([("hello", [])] * 17)
        assert c.round_trips == 1
    finally:
        c.transport.close()


@pytest.mark.parametrize("how", ["seq", "anon"])
def test_client_resends_once_on_crc(how):
    c = fake("--crc-once=" + how)
    try:
        assert c.reset() == 2 and c.round_trips == 2 and c.seq == 2
    finally:
        c.transport.close()


def test_client_junk_before_resync_is_stale():
    c = fake("--junk")
    try:
        assert c.reset() == 2 and c.round_trips == 1 and c.stale[0].startswith("X - crc ")
    finally:
        c.transport.close()


def test_client_reject():
    c = fake("--reject=type")
    try:
        with pytest.raises(ProtocolReject) as e:
            c.reset()
        assert e.value.code == "type" and e.value.line.startswith("X 1 type ")
    finally:
        c.transport.close()


def test_client_protocol_errors():
    for opts, match in ((["--proto=3"], "protocol 3"), (["--extra"], "2 results to 1 ops")):
        c = fake(*opts)
        try:
            with pytest.raises(ProtocolError, match=match):
                c.hello()
        finally:
            c.transport.close()
    c = fake()
    try:
        with pytest.raises(OpFailed, match="'recv' did not return a value: AgentError\\(unsupported\\)"):
            c.value("recv", wire.Handle(0), 1)
    finally:
        c.transport.close()


def test_client_continued_response():
    """PROTOCOL.md 4 and 7: a response continued over `+` lines is one response; a late continued
    answer to another request (its `+` lines and its last line) is stale; the client counts every byte."""
    c = fake("--read=9000", "--stale-more", "--noise")
    try:
        c.hello()
        before = c.bytes_in
        assert c.value("read", wire.Handle(0)) == b"\xab" * 9000
        assert c.bytes_in - before > 12000 + 6666     # its base64 and the stale answer's
        assert [x[:2] for x in c.stale[-4:]] == ["+ ", "R ", "+ ", "R "]
        assert c.value("hello")[0] == ("proto", 2)      # and on it goes
    finally:
        c.transport.close()


@pytest.mark.parametrize("opts,match", [
    (["--short-more"], "a `+` line of 4095 bytes; every one is maxline"),
    (["--x-after-more"], "`+` lines not ended by an `R` line of text: X 2 op"),
])
def test_client_continued_protocol_errors(opts, match):
    c = fake("--read=9000", *opts)
    try:
        c.hello()
        with pytest.raises(ProtocolError, match=match.replace("+", r"\+")):
            c.value("read", wire.Handle(0))
    finally:
        c.transport.close()


def test_client_bounds_continued_lines(monkeypatch):
    """PROTOCOL.md 7: at most wire.MAX_MORE (4096) `+` lines; past it, a ProtocolError naming the bound."""
    assert wire.MAX_MORE == 4096
    monkeypatch.setattr(wire, "MAX_MORE", 2)
    c = fake("--read=12000")
    try:
        c.hello()
        with pytest.raises(ProtocolError, match="more than 2 `.` lines for request 2"):
            c.value("read", wire.Handle(0))
    finally:
        c.transport.close()


def test_client_deadline_covers_the_whole_response():
    c = fake("--read=9000", "--slow-more=0.3")
    try:
        c.hello()
        start = time.monotonic()
        with pytest.raises(TargetSilent):
            c.value("read", wire.Handle(0), timeout=0.45)    # each line within 0.3 s, not all three
        assert time.monotonic() - start < 1.0
    finally:
        c.transport.close()


def test_client_keywords_need_protocol_2():
    """A keyword argument is never sent to an agent of protocol 1 (it would answer `X syntax`)."""
    c = fake("--proto=1")
    try:
        assert c.hello()["proto"] == 1
        with pytest.raises(KeywordsUnsupported, match="op 'recv' has a keyword argument, and the target speaks "
                                                      "protocol 1"):
            c.call([("recv", [wire.Handle(0), 1, wire.Kw("flags", 0)])])
        assert c.round_trips == 1
        assert c.call([("recv", [wire.Handle(0), 1])]).results == [wire.AgentError("unsupported")]
    finally:
        c.transport.close()
    c = fake()
    try:
        c.hello()
        r = c.call([("recv", [wire.Handle(0), 1, wire.Kw("flags", 0)])]).results
        assert r == [wire.AgentError("unsupported")] and c.round_trips == 2
    finally:
        c.transport.close()


def test_client_target_died():
    c = fake("--die-on=recv")
    try:
        c.hello()
        with pytest.raises(TargetDied) as e:
            c.call([("socket", []), ("recv", [wire.Ref(0), 10])])
        assert e.value.status == 3 and e.value.ops == ["socket", "recv"]
        assert str(e.value) == ("target exited with status 3 while running: socket, recv "
                                "(stderr: agent: dying on purpose)")
    finally:
        c.transport.close()


def test_client_target_silent_at_deadline():
    c = fake("--silent-on=recv", timeout_scale=2.0)
    try:
        c.hello()
        start = time.monotonic()
        with pytest.raises(TargetSilent) as e:
            c.call([("recv", [wire.Handle(0), 1])], timeout=0.15)
        assert 0.29 <= time.monotonic() - start < 1.0
        assert str(e.value) == "target sent no answer within 0.3 s to: recv" and e.value.ops == ["recv"]
    finally:
        c.transport.close()


# --- PtyTransport, SerialTransport -------------------------------------------------------------

def test_pty_started_agent():
    t = PtyTransport([sys.executable, FAKE])
    try:
        assert t.path.startswith("/dev/") and Client(t).hello()["impl"] == "fake"
    finally:
        t.close()


def test_pty_agent_death():
    t = PtyTransport([sys.executable, FAKE, "--die-on=reset"])
    try:
        with pytest.raises(TargetDied) as e:
            Client(t).reset()
        assert e.value.status == 3 and "dying on purpose" in str(e.value)
    finally:
        t.close()


@pytest.mark.parametrize("kind", ["pty", "serial"])
def test_existing_pty_path(kind):
    if kind == "serial":
        pytest.importorskip("serial", reason="pyserial is not installed")
    master, slave = os.openpty()
    name = os.ttyname(slave)
    t = PtyTransport(name) if kind == "pty" else SerialTransport(name, 115200)
    try:
        t.write(b"ping\n")
        got = b""
        while not got.endswith(b"\n"):
            got += os.read(master, 100)
        assert got == b"ping\n"
        os.write(master, b"pong\nmore")
        assert t.readline(soon()) == b"pong\n"
        assert t.readline(time.monotonic() + 0.2) is None  # "more" has no newline yet
    finally:
        t.close()
        os.close(master)
        os.close(slave)


def test_serial_without_pyserial(monkeypatch):
    monkeypatch.setitem(sys.modules, "serial", None)
    with pytest.raises(RuntimeError, match="pip install pyserial"):
        SerialTransport("/dev/null")


# --- the C harness, when built ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["pipe", "pty"])
def test_c_harness_session(kind):
    if not HARNESS.exists():
        pytest.skip("C harness not built: %s does not exist" % HARNESS)
    t = PipeTransport([str(HARNESS)]) if kind == "pipe" else PtyTransport([str(HARNESS)])
    try:
        c = Client(t)
        info = c.hello()
        assert info["impl"] == "sockconf-c" and info["maxline"] >= 256
        consts = c.const("AF_INET", "NO_SUCH_CONSTANT")
        assert isinstance(consts["AF_INET"], int) and consts["NO_SUCH_CONSTANT"] is None
        resp = c.call([("echo", [1, b"\x00", "a b", (None, [1.5])]), ("echo", [wire.Ref(0, -1, 1, 0)])])
        assert resp.results == [wire.Ok((1, b"\x00", "a b", (None, [1.5]))), wire.Ok((1.5,))]
        assert c.reset() == 0 and c.noise == []
    finally:
        t.close()
