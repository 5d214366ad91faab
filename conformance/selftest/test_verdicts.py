"""Each status is reachable and says the right thing: a real agent with one rule broken is a
FAIL citing the clause that rule breaks; a documented difference is a DEVIATION; a missing
capability is UNSUPPORTED; a crash or a missing resolver is UNRESOLVED; results files carry it."""
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
HARNESS = ROOT / "ref" / "build" / "sockconf-harness"
BROKEN = ROOT / "conformance" / "selftest" / "broken_agent.py"


def run(tmp_path, rule, select, profile="oracle", extra=()):
    """Run the cases matching `select` against the C harness with `rule` broken; (exit status,
    output, {case name: result entry})."""
    if not HARNESS.exists():
        pytest.skip("%s is not built" % HARNESS)
    results = tmp_path / "results.json"
    spec = "cmd:%s %s %s %s" % (sys.executable, BROKEN, rule, HARNESS) if rule else "harness"
    p = subprocess.run([sys.executable, "-m", "pytest", "conformance/cases", "-q", "-p", "no:cacheprovider",
                        "--target=" + spec, "--profile=" + profile, "--results=%s" % results, "-k", select,
                        *extra], cwd=ROOT, capture_output=True, text=True, timeout=300)
    cases = {c["id"].rpartition("::")[2]: c for c in json.loads(results.read_text())["cases"]}
    return p.returncode, p.stdout + p.stderr, cases


def test_a_broken_eof_rule_fails_citing_the_eof_clause(tmp_path):
    status, out, cases = run(tmp_path, "eof-once", "recv_at_eof")
    c = cases["test_recv_at_eof_is_empty_every_time"]
    assert status == 1 and c["status"] == "FAIL" and c["clause"] == "uc386:quirks.recv-fin", (c, out)
    assert "socket.recv()returnsb''on clean peer FIN, like POSIX." in out and "oracle" in out, out


def test_a_broken_timeout_rule_fails_citing_the_etimedout_clause(tmp_path):
    status, out, cases = run(tmp_path, "timeout-eagain", "etimedout_after")
    c = cases["test_recv_timeout_is_etimedout_after_the_timeout"]
    assert status == 1 and c["status"] == "FAIL" and c["clause"] == "uc386:timeouts.etimedout", (c, out)


def test_the_unbroken_agent_passes_the_same_cases(tmp_path):
    status, out, cases = run(tmp_path, None, "recv_at_eof or etimedout_after")
    assert status == 0 and {c["status"] for c in cases.values()} == {"PASS"}, out


def test_the_canonical_profile_only_reports_what_uc386_requires(tmp_path):
    status, out, cases = run(tmp_path, "timeout-eagain", "etimedout_after", profile="micropython")
    c = cases["test_recv_timeout_is_etimedout_after_the_timeout"]
    assert status == 0 and c["status"] == "PASS", (c, out)
    assert any("uc386:timeouts.etimedout" in k for k in c["detail"]), c


def test_a_documented_difference_is_a_deviation(tmp_path):
    profile = tmp_path / "eof-once.json"
    profile.write_text(json.dumps({"name": "eof-once", "documents": ["micropython-usocket.txt"],
                                   "clauses": ["uc386:quirks.recv-fin"], "deviations": [
                                       {"clause": "uc386:quirks.recv-fin", "doc": "uc386-socket.txt",
                                        "quote": "a test quote documenting the difference"}]}))
    status, out, cases = run(tmp_path, "eof-once", "recv_at_eof", profile=str(profile))
    c = cases["test_recv_at_eof_is_empty_every_time"]
    assert status == 0 and c["status"] == "DEVIATION", (c, out)
    assert "DEVIATION" in out, out


def test_a_missing_capability_is_unsupported(tmp_path):
    profile = tmp_path / "no-timeout.json"
    profile.write_text(json.dumps({"name": "no-timeout", "documents": ["micropython-usocket.txt"],
                                   "lacks": ["settimeout"]}))
    status, out, cases = run(tmp_path, None, "etimedout_after", profile=str(profile))
    c = cases["test_recv_timeout_is_etimedout_after_the_timeout"]
    assert status == 0 and c["status"] == "UNSUPPORTED" and "settimeout" in c["reason"], (c, out)


def test_a_target_without_the_suite_resolver_is_unresolved_for_names(tmp_path):
    status, out, cases = run(tmp_path, "no-dns", "name_resolves", extra=["--host-net"])
    c = cases["test_a_name_resolves_to_an_address_that_connects"]
    assert status == 1 and c["status"] == "UNRESOLVED" and "suite-dns" in c["reason"], (c, out)
    assert "UNRESOLVED" in out, out


def test_a_target_that_dies_mid_case_is_unresolved_with_the_reason(tmp_path):
    status, out, cases = run(tmp_path, "exit-on-recv", "recv_returns_at_most")
    c = cases["test_recv_returns_at_most_bufsize"]
    assert status == 1 and c["status"] == "UNRESOLVED" and "status 3" in c["reason"], (c, out)


def test_a_documented_timeout_unit_is_spoken_not_failed(tmp_path):
    """A target whose settimeout takes milliseconds (as Zerynth documents) fails the timeout case
    under a profile in seconds, and passes it under one whose timeout_unit says milliseconds: the
    suite then sends settimeout(100) for the case's 0.1 s."""
    status, out, cases = run(tmp_path, "ms-timeouts", "etimedout_after")
    c = cases["test_recv_timeout_is_etimedout_after_the_timeout"]
    assert status == 1 and c["status"] == "FAIL", (c, out)
    profile = tmp_path / "ms.json"
    profile.write_text(json.dumps({"name": "ms", "documents": ["micropython-usocket.txt"], "timeout_unit": {
        "unit": "ms", "doc": "zerynth-socket.txt",
        "quote": "The timeout argument can be a nonnegative integer number expressing milliseconds, or None."}}))
    status, out, cases = run(tmp_path, "ms-timeouts", "etimedout_after", profile=str(profile))
    c = cases["test_recv_timeout_is_etimedout_after_the_timeout"]
    assert status == 0 and c["status"] == "PASS", (c, out)
    assert "settimeout @1, 100" in "\n".join(c["transcript"]["target"]), c["transcript"]
