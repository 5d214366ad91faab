"""The model ports (conformance/selftest/models) as targets: each model, under its own port's
profile, gives no FAIL and no UNRESOLVED over the whole suite; each of its broken variants
(model_port.py PORT --break RULE) FAILs, on a case citing the clause of the sentence the rule
breaks. A model follows its document, so a FAIL of an unbroken model is either a model bug or a
case that asks more than the documents say."""
import importlib
import json
import pathlib
import re
import subprocess
import sys

import pytest

from selftest.models import PORTS

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
MODEL_PORT = ROOT / "conformance" / "selftest" / "model_port.py"
ORACLE = ROOT / "ref" / "build" / "sockconf-ref"


def _port(name):
    return importlib.import_module("selftest.models." + name)


def run(tmp_path, port, rule=None, select=None, profile=None):
    """Run the cases (those matching `select`, else all) against the model of port (with rule
    broken) under port's profile (or `profile`, a path); (exit status, output, the results file's
    cases)."""
    if not ORACLE.exists():
        pytest.skip("%s is not built: the cases compare every target with it" % ORACLE)
    results = tmp_path / "results.json"
    spec = "cmd:%s %s %s%s" % (sys.executable, MODEL_PORT, port, " --break " + rule if rule else "")
    p = subprocess.run([sys.executable, "-m", "pytest", "conformance/cases", "-q", "-p", "no:cacheprovider",
                        "--target=" + spec, "--profile=%s" % (profile or port), "--results=%s" % results]
                       + (["-k", select] if select else []), cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert results.exists(), p.stdout + p.stderr
    return p.returncode, p.stdout + p.stderr, json.loads(results.read_text())["cases"]


def _line(c):
    return "%s %s [%s]: %s" % (c["status"], c["id"].rpartition("::")[2], c.get("clause"), c.get("reason"))


@pytest.mark.parametrize("port", PORTS)
def test_the_model_has_no_fail_and_no_unresolved_under_its_profile(tmp_path, port):
    status, out, cases = run(tmp_path, port)
    bad = [_line(c) for c in cases if c["status"] in ("FAIL", "UNRESOLVED")]
    assert cases and not bad, "%d of %d cases:\n%s" % (len(bad), len(cases), "\n".join(bad))
    assert status == 0, out[-3000:]


def test_uc386_without_its_service_hook_fails(tmp_path):
    """uc386's model delivers what arrives only when lwip.callback() runs (its docstring), as its
    document says the stack needs ("The lwIP timers + packet queue need lwip.callback()calls.").
    Under its profile, which names that function as the service hook, the suite is clean (the
    test above); under the same profile without the hook, the cases that read without waiting
    FAIL: the data the peers sent is not there."""
    profile = json.loads((ROOT / "targets" / "profiles" / "uc386.json").read_text())
    assert profile["service"]["call"] == "lwip.callback"
    del profile["service"]
    path = tmp_path / "uc386-without-service.json"
    path.write_text(json.dumps(profile))
    select = "nonblocking_read_returns_what_is_there or accept_address_is_the_peers"
    status, out, cases = run(tmp_path, "uc386", select=select, profile=path)
    failed = {c["id"].rpartition("::")[2] for c in cases if c["status"] == "FAIL"}
    assert status == 1 and failed == {"test_nonblocking_read_returns_what_is_there", "test_accept_address_is_the_peers"}, \
        "\n".join(map(_line, cases)) or out[-3000:]
    status, out, cases = run(tmp_path, "uc386", select=select)
    assert status == 0 and [c["status"] for c in cases] == ["PASS", "PASS"], "\n".join(map(_line, cases)) or out[-3000:]


BROKEN = [(port, rule) for port in PORTS for rule in _port(port).BREAKS]


@pytest.mark.parametrize("port, rule", BROKEN, ids=["%s-%s" % x for x in BROKEN])
def test_a_broken_rule_fails_citing_its_clause(tmp_path, port, rule):
    broken = _port(port).BREAKS[rule]
    status, out, cases = run(tmp_path, port, rule, broken.cases)
    failed = [c for c in cases if c["status"] == "FAIL"]
    assert status == 1 and any(c.get("clause") == broken.clause for c in failed), \
        "%s --break %s (%s): no FAIL on %s among:\n%s" % (port, rule, broken.quote, broken.clause,
                                                            "\n".join(map(_line, cases)) or out[-3000:])


@pytest.mark.parametrize("port", PORTS)
def test_every_broken_rule_is_listed_with_its_sentence(port):
    """The port module's docstring names each rule and quotes the sentence it breaks; that
    sentence is the clause's (vectors/clauses)."""
    m = _port(port)
    doc = " ".join(m.__doc__.split())
    clauses = {}
    for path in (ROOT / "vectors" / "clauses").glob("*.json"):
        clauses.update((c["id"], c["quote"]) for c in json.loads(path.read_text())["clauses"])
    assert len(m.BREAKS) >= 2
    for rule, broken in m.BREAKS.items():
        assert re.search(r"- %s: .*?%s" % (re.escape(rule), re.escape(" ".join(broken.quote.split()))), doc), rule
        assert broken.quote in clauses.get(broken.clause, ""), (rule, broken.clause)
