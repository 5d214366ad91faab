"""Benchmarks (make bench): measured, printed as a table with the goals, written as JSON. Not tests:
nothing here passes or fails on a number.

    python -m sockconf.bench [--out FILE.json] [--quick]

1. suite time: wall time of a full case run per target, against the waits its cases declare
   (@case(slow=...): their timeouts and deliberate delays); goal ratio <= 1.3;
2. round trips per case (the target side's requests, from the results file's transcripts);
   goals <= 3 on average and <= 20 at most; the bytes that crossed the link to the oracle in the
   whole run (the results file's traffic; goal a tenth of the 9.3 MB the run took before pump and
   sink); the whole suite through a board at 115200 baud (selftest/fake_board.py with the real
   MicroPython unix binary inside, paced as a UART; goal 3 minutes);
3. wire bytes per payload byte for bulk send and recv (goal <= 1.4), and over a simulated
   115200-baud pty (sockconf.slowlink) the payload throughput as a share of the link's limit
   (goal >= 80%);
4. the C harness core cross-compiled for Cortex-M4 (arm-none-eabi-gcc -Os), text and static
   RAM without the socket backend and libc (goals 4 KiB, 1 KiB); the MicroPython agent's source
   size and heap use, and the least free heap it loads and answers in, in each form a board takes
   it (sockconf.upload: source chunks, the .mpy from a filesystem or from RAM), by bisection over
   the MicroPython unix binary's -X heapsize (goal 20 KiB for the .mpy; a 64-bit build's objects
   are larger than a board's), and with SOCKCONF_FIRMWARE on MicroPython's own firmware under
   QEMU (sockconf/firmware.py: goal 20 KiB for the .mpy in /rom, whose bytecode stays out of the
   heap);
5. the oracle's start-up time and per-op latency, next to the host-kernel target's;
6. the start of the agent on a MicroPython without a raw REPL (selftest/fake_board.py
   --raw-repl=no at 115200 baud, MicroPython unix inside; sockconf/paste.py): seconds from opening
   the port to HELLO when the agent's file is written through paste mode, and when it is found and
   imported, and the echo rate paste mode measured.
"""
import argparse
import ast
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from . import client as sc_client
from . import mpunix as sc_mpunix
from . import peers as sc_peers
from . import root as sc_root
from . import transport as sc_transport
from .wire import Handle, Ref

ROOT = sc_root.ROOT
ORACLE = ROOT / "ref" / "build" / "sockconf-ref"
HARNESS = ROOT / "ref" / "build" / "sockconf-harness"
AGENT = ROOT / "harness" / "micropython" / "agent.py"
CORE = [ROOT / "harness" / "hn_wire.c", ROOT / "harness" / "hn_agent.c"]
GOALS = {"suite_time_ratio": ("<=", 1.3), "round_trips_per_case_avg": ("<=", 3), "round_trips_per_case_max": ("<=", 20),
         "link_bytes_per_run_ref": ("<=", 930000), "serial_115200_suite_s": ("<=", 180),
         "wire_bytes_per_payload_byte": ("<=", 1.4), "link_115200_efficiency": (">=", 0.80),
         "harness_text_bytes": ("<=", 4096), "harness_ram_bytes": ("<=", 1024), "oracle_start_ms": ("<=", 20),
         "agent_heap_needed_mpy_bytes": ("<=", 20480), "firmware_heap_needed_rom_bytes": ("<=", 20480)}


def _session(argv, dns=None):
    env = dict(os.environ, SOCKCONF_DNS_PORT=str(dns.port)) if dns else None
    t = sc_transport.PipeTransport(argv, env=env)
    c = sc_client.Client(t, resync_wait=0)
    c.hello()
    return t, c


# ---- 1 and 2: suite time and round trips ----

def declared_waits():
    """{case function name: seconds it waits on purpose} from the @case(slow=...) decorators, for
    results files that do not carry each case's own "slow" (module constants are resolved)."""
    waits = {}
    for path in sorted((ROOT / "conformance" / "cases").glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        consts = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                  and isinstance(n.value, ast.Constant) for t in n.targets if isinstance(t, ast.Name)}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                for dec in node.decorator_list:
                    if isinstance(dec, ast.Call) and ast.unparse(dec.func) == "case":
                        for kw in dec.keywords:
                            if kw.arg == "slow" and isinstance(kw.value, ast.Constant):
                                waits[node.name] = float(kw.value.value)
                            elif kw.arg == "slow" and isinstance(kw.value, ast.Name) and kw.value.id in consts:
                                waits[node.name] = float(consts[kw.value.id])
    return waits


def suite_run(target, out_dir):
    """(wall seconds, results data) of a full case run against target."""
    results = pathlib.Path(out_dir) / ("%s.json" % target)
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "conformance/cases", "-q", "-p", "no:cacheprovider",
                    "--target=" + target, "--results=%s" % results], cwd=ROOT, capture_output=True, timeout=1200)
    wall = time.monotonic() - t0
    return wall, json.loads(results.read_text())


def serial_suite(out_dir, baud=115200):
    """(wall seconds, results data) of a full case run through the serial target against a fake
    board at `baud` with the MicroPython unix binary inside (its DNS peer aside, as a board's); or
    (None, why)."""
    mp = sc_mpunix.binary()
    if not mp:
        return None, sc_mpunix.WHY_NONE
    link = pathlib.Path(out_dir) / "board"
    board = subprocess.Popen([sys.executable, str(ROOT / "conformance" / "selftest" / "fake_board.py"),
                              "--python=%s -X heapsize=262144" % mp, "--baud=%d" % baud, "--link=%s" % link],
                             stderr=subprocess.PIPE, text=True)
    try:
        board.stderr.readline()     # "pty: ...": the link is there
        results = pathlib.Path(out_dir) / "serial.json"
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "pytest", "conformance/cases", "-q", "-p", "no:cacheprovider",
                        "--target=serial:%s@%d" % (link, baud), "--profile=micropython", "--results=%s" % results],
                       cwd=ROOT, capture_output=True, timeout=1800)
        wall = time.monotonic() - t0
        if not results.exists():
            return None, "the run through the fake board wrote no results"
        return wall, json.loads(results.read_text())
    finally:
        board.terminate()
        board.wait(10)


def paste_start(baud=115200):
    """({paste_start_write_s, paste_start_import_s, paste_echo_bytes_per_s}, None) for the agent
    started through paste mode on a fake board without a raw REPL, or ({}, why not)."""
    mp = sc_mpunix.binary()
    if not mp:
        return {}, sc_mpunix.WHY_NONE
    from . import serial_link
    with tempfile.TemporaryDirectory() as d:
        board = subprocess.Popen([sys.executable, str(ROOT / "conformance" / "selftest" / "fake_board.py"),
                                  "--python=%s" % mp, "--raw-repl=no", "--baud=%d" % baud, "--cwd=%s" % d],
                                 stderr=subprocess.PIPE, text=True)
        try:
            path = board.stderr.readline().split()[-1]
            out = {}
            for key in ("paste_start_write_s", "paste_start_import_s"):
                t0 = time.monotonic()
                link = serial_link.SerialLink(path, baud, repl="paste")
                try:
                    sc_client.Client(link).hello()
                    out[key] = round(time.monotonic() - t0, 2)
                    out["paste_echo_bytes_per_s"] = round(link.rate)
                finally:
                    link.close()
            return out, None
        except (OSError, sc_transport.TargetDied, sc_client.ClientError) as e:
            return {}, "paste-mode start: %s" % e
        finally:
            board.terminate()
            board.wait(10)


def suite_figures(target, data, wall, waits):
    ran = [c for c in data["cases"] if c["status"] != "UNSUPPORTED"]
    sides = 1 if target in ("ref", "ref-tap") else 2     # a non-oracle target also runs the oracle side
    waited = sum(c["slow"] if "slow" in c else waits.get(c["id"].rpartition("::")[2].split("[")[0], 0.0)
                 for c in ran) * sides
    trips = [sum(1 for line in (c.get("transcript") or {}).get("target") or [] if line.startswith("> "))
             for c in ran]
    traffic = data.get("traffic") or {}
    return {"wall_s": round(wall, 2), "declared_waits_s": round(waited, 2), "cases": len(ran),
            "link_bytes": traffic.get("bytes_out", 0) + traffic.get("bytes_in", 0) if traffic else None,
            "ratio": round(wall / waited, 2) if waited else None,
            "round_trips_avg": round(statistics.mean(trips), 2) if trips else None,
            "round_trips_median": statistics.median(trips) if trips else None,
            "round_trips_max": max(trips) if trips else None,
            "round_trips_top": sorted(((n, c["id"].rpartition("::")[2]) for n, c in zip(trips, ran)),
                                      reverse=True)[:5]}


# ---- 3: wire efficiency ----

def bulk_efficiency(argv, total=256 * 1024, chunk=2048):
    """Wire bytes per payload byte: (sending `total` bytes with sendall in `chunk`s, receiving
    them back with read), both directions through the protocol, to an echo peer."""
    with sc_peers.FakeDns() as dns, sc_peers.TcpEcho() as echo:
        t, c = _session(argv, dns)
        try:
            host = c.info.get("host", sc_peers.LOOPBACK)
            c.call([("getaddrinfo", [host, echo.port, 0, 1]), ("socket", []), ("connect", [Ref(1), Ref(0, 0, -1)]),
                    ("settimeout", [Ref(1), 5.0])])
            data = bytes(range(256)) * (chunk // 256)
            out0, in0 = c.bytes_out, c.bytes_in
            for _ in range(total // chunk):
                c.call([("sendall", [Handle(0), data])])
            up = (c.bytes_out - out0) / total
            out0, in0 = c.bytes_out, c.bytes_in
            got = 0
            for _ in range(total // chunk * 4):
                if got >= total:
                    break
                r = c.call([("read", [Handle(0), min(chunk, total - got)])]).results[0]
                got += len(r.value)
            down = (c.bytes_in - in0) / max(got, 1)
        finally:
            t.close()
    return up, down


def link_efficiency(baud=115200, total=16 * 1024, chunk=2048):
    """Payload bytes a second through a simulated `baud` pty, as a share of its limit (baud/10),
    sending to an echo peer and reading back (the payload crosses the link once each way)."""
    argv = [sys.executable, "-m", "sockconf.slowlink", str(baud), str(HARNESS)]
    with sc_peers.TcpEcho() as echo:
        t = sc_transport.PtyTransport(argv, env=dict(os.environ, PYTHONPATH=str(ROOT / "conformance")))
        c = sc_client.Client(t, resync_wait=0.1)
        try:
            c.hello()
            c.call([("getaddrinfo", ["127.0.0.1", echo.port, 0, 1]), ("socket", []),
                    ("connect", [Ref(1), Ref(0, 0, -1)]), ("settimeout", [Ref(1), 30.0])])
            data = bytes(range(256)) * (chunk // 256)
            t0 = time.monotonic()
            for _ in range(total // chunk):
                c.call([("sendall", [Handle(0), data])], timeout=60)
                c.call([("read", [Handle(0), chunk])], timeout=60)
            took = time.monotonic() - t0
        finally:
            t.close()
    return (2 * total / took) / (baud / 10.0), took


# ---- 4: footprint ----

def footprint():
    """Text and static RAM (data + bss) of the harness core for Cortex-M4 at -Os; None where no
    arm-none-eabi-gcc is installed (package gcc-arm-none-eabi)."""
    gcc, size = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-size")
    if not (gcc and size):
        return None, "arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)"
    with tempfile.TemporaryDirectory() as d:
        objs = []
        for src in CORE:
            obj = pathlib.Path(d) / (src.stem + ".o")
            subprocess.run([gcc, "-mcpu=cortex-m4", "-mthumb", "-Os", "-std=c99", "-ffunction-sections",
                            "-fdata-sections", "-I", str(ROOT / "harness"), "-c", str(src), "-o", str(obj)],
                           check=True, capture_output=True)
            objs.append(str(obj))
        out = subprocess.run([size, "-t"] + objs, check=True, capture_output=True, text=True).stdout
    text, data, bss = (int(x) for x in out.strip().splitlines()[-1].split()[:3])
    return {"text": text, "data": data, "bss": bss, "table": out.strip()}, None


def agent_figures():
    """The MicroPython agent's source size, and its heap use under a MicroPython binary
    (sockconf/mpunix.py) measured as gc.mem_alloc() before and after importing it."""
    if not AGENT.exists():
        return None, None, "harness/micropython/agent.py does not exist yet"
    src = AGENT.stat().st_size
    mp = sc_mpunix.binary()
    if not mp:
        return src, None, sc_mpunix.WHY_NONE
    probe = ("import gc, sys\nsys.path.insert(0, %r)\ngc.collect()\na = gc.mem_alloc()\nimport agent\n"
             "gc.collect()\nprint(gc.mem_alloc() - a)\n" % str(AGENT.parent))
    r = subprocess.run([mp, "-c", probe], capture_output=True, text=True, timeout=30)
    try:
        return src, int(r.stdout.strip().splitlines()[-1]), None
    except (ValueError, IndexError):
        return src, None, "the heap probe printed %r %r" % (r.stdout[-200:], r.stderr[-200:])


# ---- 4b: the free heap the MicroPython agent needs, in each form a board loads it ----

# A board's raw REPL over pipes, under a MicroPython unix binary (its working directory the board's
# filesystem): first the free heap before anything loaded, then for each length line and code:
# the code run in the same globals, its output, 0x04, what it raised, 0x04. `main()` then serves.
PIPE_REPL = r"""import gc, os, sys
os.chdir(%r)
gc.collect()
print(gc.mem_free())
i = sys.stdin.buffer
while True:
    n = int(i.readline())
    e = ''
    try:
        exec(i.read(n))
    except BaseException as x:
        e = repr(x)
    print('\x04' + e + '\x04')
"""
HEAP_FORMS = {"source": "agent_heap_needed_source_bytes", "mpy": "agent_heap_needed_mpy_bytes",
              "mpy-ram": "agent_heap_needed_mpy_ram_bytes"}


def _pipe_run(t, code):
    """Run code in PIPE_REPL; its output, or RuntimeError with what it raised."""
    data = code.encode()
    t.write(b"%d\n" % len(data) + data)
    out = b""
    while out.count(b"\x04") < 2:
        line = t.readline(time.monotonic() + 10)
        if line is None:
            raise RuntimeError("the REPL did not answer within 10 s")
        out += line
    text, err = out.split(b"\x04")[:2]
    if err:
        raise RuntimeError(err.decode("utf-8", "replace"))
    return text


def agent_loads(mp, heapsize, form):
    """The free heap before the agent loaded (bytes) if, under `mp -X heapsize=N`, it loads in
    `form` the way a board loads it (sockconf.upload: source chunks, the .mpy written to the
    filesystem and imported, or the .mpy imported from RAM) and answers HELLO and an echo of 100
    bytes (as selftest/test_firmware.py's heap figures on MPS2-AN385); None if it does not."""
    from . import upload as sc_upload
    with tempfile.TemporaryDirectory() as d:
        t = sc_transport.PipeTransport([mp, "-X", "heapsize=%d" % heapsize, "-c", PIPE_REPL % d])
        try:
            free = int(t.readline(time.monotonic() + 10) or b"x")
            run = lambda code: _pipe_run(t, code)  # noqa: E731
            if form == "source":
                sc_upload.load_source(run)
            else:
                sc_upload.load_mpy(run, store="ram" if form == "mpy-ram" else "file")
            data = b"\x00" * 100
            t.write(b"6\nmain()")
            c = sc_client.Client(t, resync_wait=0)
            c.hello()
            ok = c.call([("echo", [data])]).results[0].value == (data,)
            return free if ok else None
        except (ValueError, RuntimeError, TimeoutError, sc_transport.TargetDied, sc_client.ClientError,
                sc_upload.UploadError):
            return None
        finally:
            t.close()


def agent_heap_needed(mp, form, lo=4096, hi=262144, step=128):
    """The least free heap (bytes, within `step`) with which the agent loads in `form` and answers,
    by bisection over -X heapsize under `mp`: the free heap before it loaded, at the least heap
    size that worked; None if even `hi` bytes of heap do not do."""
    free = agent_loads(mp, hi, form)
    if free is None:
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2
        got = agent_loads(mp, mid, form)
        if got is None:
            lo = mid
        else:
            hi, free = mid, got
    return free


def agent_heap_figures():
    """{key: bytes} of HEAP_FORMS, and a note if there is no MicroPython or no mpy-cross."""
    mp = sc_mpunix.binary()
    if not mp:
        return {k: None for k in HEAP_FORMS.values()}, sc_mpunix.WHY_NONE
    from . import upload as sc_upload
    out, why = {}, None
    for form, key in HEAP_FORMS.items():
        try:
            if form != "source":
                sc_upload.compile_agent(6)  # mpy-cross missing or refusing: said here, not lost in the bisection
            out[key] = agent_heap_needed(mp, form)
        except Exception as e:      # noqa: BLE001  (mpy-cross missing or failing: the figure is n/a)
            out[key], why = None, "%s: %s" % (key, e)
    return out, why


# ---- 5: oracle latency ----

def start_ms(argv, n=30):
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        t, c = _session(argv)
        times.append((time.monotonic() - t0) * 1e3)
        t.close()
    return statistics.median(times)


def op_latency_us(argv, n=200):
    """Median round trip of one 1-byte send + recv on a connected socket to an echo peer, minus
    the median of an `echo` op (the link alone): what the stack adds per op."""
    with sc_peers.TcpEcho() as echo:
        t, c = _session(argv)
        try:
            host = c.info.get("host", sc_peers.LOOPBACK)
            c.call([("getaddrinfo", [host, echo.port, 0, 1]), ("socket", []), ("connect", [Ref(1), Ref(0, 0, -1)]),
                    ("settimeout", [Ref(1), 5.0])])
            link, op = [], []
            for _ in range(n):
                t0 = time.perf_counter()
                c.call([("echo", [])])
                t1 = time.perf_counter()
                c.call([("send", [Handle(0), b"x"]), ("recv", [Handle(0), 1])])
                t2 = time.perf_counter()
                link.append(t1 - t0)
                op.append(t2 - t1)
        finally:
            t.close()
    return statistics.median(op) * 1e6 / 2, statistics.median(link) * 1e6


def measure(quick=False):
    out, notes = {}, []
    waits = declared_waits()
    with tempfile.TemporaryDirectory() as d:
        for target in (["ref"] if quick else ["ref", "harness"]):
            wall, data = suite_run(target, d)
            out["suite_" + target] = suite_figures(target, data, wall, waits)
    ref = out["suite_ref"]
    out["suite_time_ratio"] = ref["ratio"]
    out["round_trips_per_case_avg"] = ref["round_trips_avg"]
    out["round_trips_per_case_max"] = ref["round_trips_max"]
    out["round_trips_per_case_median"] = ref["round_trips_median"]
    out["link_bytes_per_run_ref"] = ref["link_bytes"]
    with tempfile.TemporaryDirectory() as d:
        wall, data = serial_suite(d)
        out["serial_115200_suite_s"] = round(wall, 1) if wall else None
        if wall:
            out["suite_serial_115200"] = suite_figures("serial", data, wall, waits)
        else:
            notes.append(data)
    up, down = bulk_efficiency([str(HARNESS)])
    out["wire_bytes_per_payload_byte_send"], out["wire_bytes_per_payload_byte_recv"] = round(up, 3), round(down, 3)
    out["wire_bytes_per_payload_byte"] = round(max(up, down), 3)
    eff, took = link_efficiency(total=8 * 1024 if quick else 16 * 1024)
    out["link_115200_efficiency"] = round(eff, 3)
    out["link_115200_seconds"] = round(took, 1)
    fp, why = footprint()
    if fp:
        out["harness_text_bytes"], out["harness_ram_bytes"] = fp["text"], fp["data"] + fp["bss"]
        out["harness_size_table"] = fp["table"]
    else:
        out["harness_text_bytes"] = out["harness_ram_bytes"] = None
        notes.append(why)
    src, heap, why = agent_figures()
    out["agent_source_bytes"], out["agent_heap_bytes"] = src, heap
    if why:
        notes.append(why)
    heap, why = agent_heap_figures()
    out.update(heap)
    if why:
        notes.append(why)
    from . import firmware as sc_firmware      # MicroPython's MPS2-AN385 firmware under QEMU, if given
    heap, why = sc_firmware.figures()
    out.update(heap)
    if heap:
        out["firmware_heap_kept"] = " / ".join(str(heap.get("firmware_heap_kept_%s_bytes" % f))
                                               for f in sc_firmware.FORMS)
    if why:
        notes.append(why)
    pasted, why = paste_start()
    out.update(pasted)
    if why:
        notes.append(why)
    out["oracle_start_ms"] = round(start_ms([str(ORACLE)]), 2)
    out["host_start_ms"] = round(start_ms([str(HARNESS)]), 2)
    (o_op, o_link), (h_op, h_link) = op_latency_us([str(ORACLE)]), op_latency_us([str(HARNESS)])
    out["oracle_op_latency_us"], out["host_op_latency_us"] = round(o_op, 1), round(h_op, 1)
    out["link_echo_rtt_us"] = round((o_link + h_link) / 2, 1)
    out["notes"] = notes
    return out


def table(m):
    rows = [("suite time ratio (ref: wall / declared waits)", "suite_time_ratio"),
            ("round trips per case, average", "round_trips_per_case_avg"),
            ("round trips per case, median", "round_trips_per_case_median"),
            ("round trips per case, maximum", "round_trips_per_case_max"),
            ("bytes over the link, a whole run on the oracle", "link_bytes_per_run_ref"),
            ("whole suite through a fake board at 115200 baud, MicroPython inside (s)", "serial_115200_suite_s"),
            ("wire bytes per payload byte (worst of send, recv)", "wire_bytes_per_payload_byte"),
            ("115200-baud pty: payload share of the link", "link_115200_efficiency"),
            ("harness core text, Cortex-M4 -Os (bytes)", "harness_text_bytes"),
            ("harness core static RAM (bytes)", "harness_ram_bytes"),
            ("MicroPython agent source (bytes)", "agent_source_bytes"),
            ("MicroPython agent heap (bytes)", "agent_heap_bytes"),
            ("free heap the agent needs, source chunks (bytes, unix -X heapsize)", "agent_heap_needed_source_bytes"),
            ("free heap the agent needs, .mpy from the filesystem (bytes)", "agent_heap_needed_mpy_bytes"),
            ("free heap the agent needs, .mpy from RAM (bytes)", "agent_heap_needed_mpy_ram_bytes"),
            ("firmware (MPS2-AN385): free heap the agent needs, source chunks", "firmware_heap_needed_source_bytes"),
            ("firmware: free heap the agent needs, .mpy sent to RAM", "firmware_heap_needed_ram_bytes"),
            ("firmware: free heap the agent needs, .mpy in /rom", "firmware_heap_needed_rom_bytes"),
            ("firmware: heap the agent keeps, source / .mpy in RAM / in /rom", "firmware_heap_kept"),
            ("no raw REPL, 115200 baud: open to HELLO, the agent's file written by paste (s)", "paste_start_write_s"),
            ("no raw REPL, 115200 baud: open to HELLO, the agent's file imported (s)", "paste_start_import_s"),
            ("no raw REPL, 115200 baud: paste-mode echo measured (bytes/s)", "paste_echo_bytes_per_s"),
            ("oracle start-up (ms, median)", "oracle_start_ms"),
            ("oracle per-op latency (us, median)", "oracle_op_latency_us"),
            ("host-kernel target per-op latency (us, median)", "host_op_latency_us")]
    lines = ["| figure | measured | goal |", "|---|---|---|"]
    for label, key in rows:
        goal = GOALS.get(key)
        lines.append("| %s | %s | %s |" % (label, "n/a" if m.get(key) is None else m[key],
                                          "%s %s" % goal if goal else ""))
    for target in ("ref", "harness"):
        s = m.get("suite_" + target)
        if s:
            lines.append("| suite on %s: wall %.1f s, declared waits %.1f s, %d cases | ratio %s | |"
                         % (target, s["wall_s"], s["declared_waits_s"], s["cases"], s["ratio"]))
    return "\n".join(lines) + "".join("\n\nnote: " + n for n in m.get("notes", []))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sockconf.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("--quick", action="store_true", help="fewer and smaller runs")
    args = ap.parse_args(argv)
    m = measure(args.quick)
    print(table(m))
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(m, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
