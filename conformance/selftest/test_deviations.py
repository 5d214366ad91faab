"""A documented deviation never hides a failure. Each rule of broken_agent.py breaks one
canonical rule on a target whose profile documents a deviation in the same cases (CPython's
socket.timeout, socket.gaierror and missing stream methods, Pycom's timeout exception, sendall
and getaddrinfo(host, port), Zerynth's timeout exception and bytearrays): without the rule those
cases are DEVIATION or PASS, never FAIL; with it, one of the cases that cite a documented
deviation (most of them DEVIATION without the rule) is a FAIL, citing a clause the profile does
not excuse, or excuses for something else. The targets are the Python agent under this CPython, and the Pycom and
Zerynth model ports (conformance/selftest/models), run through broken_agent.py."""
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
BROKEN = ROOT / "conformance" / "selftest" / "broken_agent.py"
TARGETS = {     # name: (the agent's command, its profile)
    "cpython": ([sys.executable, str(ROOT / "harness" / "micropython" / "agent.py")], "cpython"),
    "pycom": ([sys.executable, str(ROOT / "conformance" / "selftest" / "model_port.py"), "pycom"], "pycom"),
    "zerynth": ([sys.executable, str(ROOT / "conformance" / "selftest" / "model_port.py"), "zerynth"], "zerynth"),
}
EXPIRY = "timeout_expiry_raises_etimedout and (recv or accept)"
# (rule, target, the cases: a -k expression)
MATRIX = [
    ("timeout-early", "cpython", EXPIRY),
    ("timeout-early", "pycom", EXPIRY),
    ("timeout-early", "zerynth", EXPIRY),
    ("timeout-late", "cpython", EXPIRY),
    ("timeout-late", "pycom", EXPIRY),
    ("timeout-late", "zerynth", EXPIRY),
    ("timeout-valueerror", "cpython", EXPIRY),
    ("timeout-valueerror", "zerynth", EXPIRY),
    ("timeout-returns", "pycom", "recv_timeout_raises_oserror"),
    ("gai-positive", "cpython", "resolution_failure"),
    ("gai-text", "cpython", "resolution_failure or dns_server_that_never"),
    ("gai-four-tuples", "pycom", "unspecified_is_the_same_as_zero"),
    ("nonblocking-waits", "cpython", "zero_timeout_does_not_wait and (recv or accept)"),
    ("short-read", "pycom", "200_kb"),
    ("recv-none-at-eof", "zerynth", "recv_at_eof"),
    ("recv-overflow", "zerynth", "recv_returns_at_most_bufsize"),
    ("udp-merge", "zerynth", "sendto_reaches_the_peer"),
    ("udp-wrong-sender", "zerynth", "sendto_reaches_the_peer"),
]


def _run(argv, profile, select, tmp):
    """Run the cases matching select against argv under profile: {case name: result entry}."""
    results = tmp / "results.json"
    spec = "cmd:" + " ".join(argv)
    p = subprocess.run([sys.executable, "-m", "pytest", "conformance/cases", "-q", "-p", "no:cacheprovider",
                        "--target=" + spec, "--profile=" + profile, "--results=%s" % results, "-k", select],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    if not results.exists():
        pytest.fail("the run wrote no results:\n%s" % (p.stdout + p.stderr)[-3000:])
    return {c["id"].rpartition("::")[2]: c for c in json.loads(results.read_text())["cases"]}


_UNBROKEN = {}


def _unbroken(target, select, factory):
    """The unbroken target's results for select (one run per target and selection)."""
    if (target, select) not in _UNBROKEN:
        argv, profile = TARGETS[target]
        _UNBROKEN[target, select] = _run(argv, profile, select, factory.mktemp("unbroken"))
    return _UNBROKEN[target, select]


@pytest.mark.parametrize("rule, target, select", MATRIX, ids=["%s-%s" % (r, t) for r, t, _ in MATRIX])
def test_a_broken_rule_fails_where_the_profile_documents_a_deviation(rule, target, select, tmp_path_factory):
    argv, profile = TARGETS[target]
    if not pathlib.Path(argv[1]).exists():
        pytest.skip("%s does not exist" % argv[1])
    before = _unbroken(target, select, tmp_path_factory)
    assert before, "no case matched -k %r" % select
    statuses = {name: c["status"] for name, c in before.items()}
    assert not {"FAIL", "UNRESOLVED"} & set(statuses.values()), ("the unbroken target must not fail", statuses)
    documented = {d["clause"] for d in json.loads((ROOT / "targets" / "profiles" / (profile + ".json"))
                                                  .read_text())["deviations"]}
    deviating = {name for name, c in before.items() if c["status"] == "DEVIATION" or set(c["clauses"]) & documented}
    assert deviating, ("the profile documents a deviation in these cases", statuses)
    after = _run([sys.executable, str(BROKEN), rule] + argv, profile, select, tmp_path_factory.mktemp(rule))
    failed = {name: c for name, c in after.items() if c["status"] == "FAIL"}
    assert failed.keys() & deviating, ("a case citing a documented deviation must FAIL with %s broken" % rule,
                                       {n: (c["status"], c.get("reason")) for n, c in after.items()})
    for name in failed.keys() & deviating:
        c = failed[name]
        assert c["clause"] not in documented or "instead" in c["reason"], (name, c["clause"], c["reason"])
