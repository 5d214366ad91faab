"""A target that hangs, wedges, dies or cannot start costs the cases it happened in, never the
run: every case gets a status, the recovery ladder (resync, RESET, restart, give up) is recorded
in the results, and --repeat reports a case whose status changes between rounds.

The targets are real agents with one thing broken (broken_agent.py over the C harness), the
oracle killed at random points of full runs, and commands that do not start.
"""
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
HARNESS = ROOT / "ref" / "build" / "sockconf-harness"
ORACLE = ROOT / "ref" / "build" / "sockconf-ref"
BROKEN = ROOT / "conformance" / "selftest" / "broken_agent.py"
STATUSES = {"PASS", "FAIL", "DEVIATION", "UNSUPPORTED", "UNRESOLVED"}
KILLS = 50          # the floor: at least this many random kills over the kill test
KILL_ROUNDS = 6     # full runs at most, to deliver them


def suite(tmp_path, spec, *args, timeout=300):
    """Run cases against `spec` (a --target value); (exit status, output, results dict)."""
    results = tmp_path / "results.json"
    p = subprocess.run([sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider", "--target=" + spec,
                        "--profile=oracle", "--results=%s" % results], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)   # paths first: conformance/conftest.py names the plugin
    assert results.exists(), p.stdout + p.stderr
    return p.returncode, p.stdout + p.stderr, json.loads(results.read_text())


def broken(rule):
    if not HARNESS.exists():
        pytest.skip("%s is not built" % HARNESS)
    return "cmd:%s %s %s %s" % (sys.executable, BROKEN, rule, HARNESS)


def by_name(data):
    return {c["id"].rpartition("::")[2]: c for c in data["cases"]}


def every_case_has_a_status(data):
    ids = [c["id"] for c in data["cases"]]
    assert sorted(ids) == sorted(data["collected"]["run"]), "cases without a status: %s" % (
        set(data["collected"]["run"]) - set(ids))
    assert {c["status"] for c in data["cases"]} <= STATUSES


def test_a_wedged_target_costs_its_case_and_is_restarted(tmp_path):
    """A target that stops answering mid-case: that case is UNRESOLVED with the op it hung in;
    resync and RESET get no answer, a restart does; the next case passes."""
    status, out, data = suite(tmp_path, broken("wedge-on-recv"), "conformance/cases/test_streams.py",
                              "-k", "recv_at_eof_is_empty or nonblocking_send_short", "--timeout-scale=0.3")
    every_case_has_a_status(data)
    cases = by_name(data)
    hung = cases["test_recv_at_eof_is_empty_every_time"]
    assert hung["status"] == "UNRESOLVED" and "no answer" in hung["reason"] and "recv" in hung["reason"], hung
    assert "recovered by a restart" in hung["reason"], hung
    assert cases["test_nonblocking_send_short_writes_then_eagain"]["status"] == "PASS", out
    climb = [e for e in data["recoveries"] if e["case"] == hung["id"] and e["trouble"].startswith("after")][0]
    assert [r.split(":")[0] for r in climb["rungs"]] == ["resync", "RESET", "restart"], climb
    assert not data["given_up"] and status == 1, out


def test_a_blocking_call_that_never_returns_costs_one_case(tmp_path):
    """settimeout(0) ignored, so a non-blocking recv on a silent peer blocks: that case is
    UNRESOLVED (no answer in time), the case after it passes."""
    status, out, data = suite(
        tmp_path, broken("hang-nonblocking"), "conformance/cases/test_timeouts.py::test_zero_timeout_does_not_wait[recv]",
        "conformance/cases/test_udp.py::test_sendto_reaches_the_peer_and_recvfrom_gives_data_and_sender",
        "--timeout-scale=0.3")
    every_case_has_a_status(data)
    cases = by_name(data)
    hung = cases["test_zero_timeout_does_not_wait[recv]"]
    assert hung["status"] == "UNRESOLVED" and "no answer within" in hung["reason"], hung
    assert cases["test_sendto_reaches_the_peer_and_recvfrom_gives_data_and_sender"]["status"] == "PASS", out


def test_a_target_that_cannot_restart_is_given_up_and_the_run_finishes(tmp_path):
    """It dies mid-case and will not start again: two restarts fail, the target is given up,
    and every later case is UNRESOLVED at once, naming why."""
    marker = tmp_path / "started-once"
    spec = "cmd:sh -c 'if [ -e %s ]; then echo no second start >&2; exit 7; fi; touch %s; exec %s %s exit-on-recv %s'" \
        % (marker, marker, sys.executable, BROKEN, HARNESS)
    if not HARNESS.exists():
        pytest.skip("%s is not built" % HARNESS)
    t0 = time.monotonic()
    status, out, data = suite(tmp_path, spec, "conformance/cases/test_streams.py", "conformance/cases/test_udp.py")
    every_case_has_a_status(data)
    assert data["given_up"].get("target") and "exited with status 7" in data["given_up"]["target"], data["given_up"]
    statuses = [c["status"] for c in data["cases"]]
    first = statuses.index("UNRESOLVED")
    assert all(s == "UNRESOLVED" for s in statuses[first:]), statuses
    assert all("given up" in c["reason"] for c in data["cases"][first + 1:]), data["cases"][first + 1]
    assert status == 1 and time.monotonic() - t0 < 60, out


def test_a_target_that_never_starts_gets_every_case_unresolved(tmp_path):
    """A command that exits at once: no crash of the run, no pytest error; every case is
    UNRESOLVED with the target's exit status, and the summary says why."""
    status, out, data = suite(tmp_path, "cmd:sh -c 'echo broken board >&2; exit 5'",
                              "conformance/cases/test_streams.py")
    every_case_has_a_status(data)
    assert data["cases"] and {c["status"] for c in data["cases"]} == {"UNRESOLVED"}, data["cases"]
    assert all("did not start" in c["reason"] and "status 5" in c["reason"] for c in data["cases"]), data["cases"]
    assert status == 1 and "broken board" in out and " error" not in out.splitlines()[-1], out


def test_a_runtime_that_fails_the_agents_probe_gets_every_case_unresolved_with_its_sentence(tmp_path):
    """The agent's runtime probe (agent.py PROBES) fails on a runtime without memoryview: HELLO
    says which operation, and every case is UNRESOLVED with that one sentence, started once (the
    same on every try), never a traceback from inside the agent."""
    script = tmp_path / "no_memoryview.py"
    script.write_text("import builtins, sys\nsys.path.insert(0, %r)\nimport agent\n"
                      "def memoryview(*a):\n    raise NameError(\"name 'memoryview' isn't defined\")\n"
                      "builtins.memoryview = memoryview\nagent.main()\n" % str(ROOT / "harness" / "micropython"))
    status, out, data = suite(tmp_path, "cmd:%s %s" % (sys.executable, script), "conformance/cases/test_streams.py")
    every_case_has_a_status(data)
    said = ("the target was given up at the start: its runtime failed the agent's probe: the runtime raised "
            "NameError: name 'memoryview' isn't defined at `memoryview(b'abcd')[1:3]`")
    assert data["cases"] and {(c["status"], c["reason"]) for c in data["cases"]} == {("UNRESOLVED", said)}, \
        data["cases"][:2]
    assert status == 1 and "Traceback" not in out, out[-2000:]


def _children(pid):
    kids = []
    for task in pathlib.Path("/proc/%d/task" % pid).glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _age(pid):
    """Seconds since the process started."""
    start = int(pathlib.Path("/proc/%d/stat" % pid).read_text().rpartition(")")[2].split()[19])
    return float(pathlib.Path("/proc/uptime").read_text().split()[0]) - start / os.sysconf("SC_CLK_TCK")


def _oracles(pid):
    out = []
    for kid in _children(pid):
        try:
            if os.readlink("/proc/%d/exe" % kid) == str(ORACLE) and _age(kid) > 0.25:   # past its HELLO (after a 0.2 s resync)
                out.append(kid)
        except (OSError, ValueError, IndexError):
            pass
    return out


def test_random_kills_of_the_oracle_leave_no_case_without_a_status(tmp_path):
    """Full runs of the suite on the oracle, SIGKILLed at random points (at least 50 kills in
    all): every run finishes, every case gets a status, no kill turns into a FAIL, each kill
    costs at most the case it landed in, and each is followed by a restart."""
    if not ORACLE.exists():
        pytest.skip("%s is not built" % ORACLE)
    rng = random.Random(7)
    kills, report = 0, []
    for round_ in range(KILL_ROUNDS):
        results = tmp_path / ("results%d.json" % round_)
        p = subprocess.Popen([sys.executable, "-m", "pytest", "conformance/cases", "-q", "-p", "no:cacheprovider",
                              "--target=ref", "--results=%s" % results], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        landed, deadline = 0, time.monotonic() + 240
        while p.poll() is None and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.02, 0.2))
            victims = _oracles(p.pid)
            if victims:
                try:
                    os.kill(victims[0], signal.SIGKILL)
                    landed += 1
                except ProcessLookupError:
                    pass
        if p.poll() is None:
            p.kill()
        out = p.communicate()[0]
        assert p.returncode in (0, 1), "the run did not finish (exit %s):\n%s" % (p.returncode, out[-3000:])
        data = json.loads(results.read_text())
        every_case_has_a_status(data)
        statuses = [c["status"] for c in data["cases"]]
        assert "FAIL" not in statuses, [c for c in data["cases"] if c["status"] == "FAIL"]
        unresolved = [c for c in data["cases"] if c["status"] == "UNRESOLVED"]
        assert len(unresolved) <= landed, (landed, [c["reason"] for c in unresolved])
        assert all("signal 9" in c["reason"] for c in unresolved), [c["reason"] for c in unresolved]
        restarts = sum(e["outcome"] == "recovered by a restart" for e in data["recoveries"])
        assert not data["given_up"] and landed - 1 <= restarts <= landed, (landed, restarts, data["recoveries"])
        kills += landed
        report.append("run %d: %d kills, %d UNRESOLVED, %d restarts" % (round_ + 1, landed, len(unresolved),
                                                                           restarts))
        if kills >= KILLS:
            break
    print("; ".join(report))
    assert kills >= KILLS, report


def test_repeat_reports_a_case_whose_status_flips(tmp_path):
    """--repeat=4 against a target that breaks the EOF rule every other time: the case is
    reported with its four statuses; the same rounds on the unbroken harness flip nothing."""
    status, out, data = suite(tmp_path, broken("flaky-eof"), "conformance/cases/test_streams.py",
                              "-k", "recv_at_eof_is_empty", "--repeat=4")
    flips = data["repeat"]["flips"]
    key = "conformance/cases/test_streams.py::test_recv_at_eof_is_empty_every_time"
    assert list(flips) == [key] and sorted(flips[key]) == ["FAIL", "FAIL", "PASS", "PASS"], flips
    assert "repeat   4 rounds: 1 cases changed status" in out and "flip     " + key in out, out
    status, out, data = suite(tmp_path, "harness", "conformance/cases/test_streams.py",
                              "-k", "recv_at_eof_is_empty", "--repeat=4")
    assert data["repeat"] == {"rounds": 4, "flips": {}} and len(data["cases"]) == 4 and status == 0, out


def test_flips_groups_rounds_of_parametrized_cases():
    """--repeat's round id may come first or last among a case's parameters; both group."""
    from sockconf import plugin
    records = [{"id": "t.py::test_a[run1-bytes]", "status": "PASS"}, {"id": "t.py::test_a[run2-bytes]", "status": "FAIL"},
               {"id": "t.py::test_a[run1-int]", "status": "PASS"}, {"id": "t.py::test_a[run2-int]", "status": "PASS"},
               {"id": "t.py::test_b[x-run1]", "status": "PASS"}, {"id": "t.py::test_b[x-run2]", "status": "UNRESOLVED"},
               {"id": "t.py::test_c[run1]", "status": "PASS"}, {"id": "t.py::test_c[run2]", "status": "PASS"}]
    assert plugin.flips(records) == {"t.py::test_a[bytes]": ["PASS", "FAIL"], "t.py::test_b[x]": ["PASS", "UNRESOLVED"]}
