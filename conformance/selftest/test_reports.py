"""The reports on results files (sockconf/reports/) and the progress plugin (sockconf/progress.py),
on real results files: four runs of five cases, made here in a tmp dir, that between them have
every status. The matrix page is also loaded in a real headless browser (Debian's chromium and
chromium-driver, and selenium from conformance/requirements-browser.txt); without them that
test skips with the reason."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from sockconf import clauses as sc_clauses
from sockconf import progress as sc_progress
from sockconf.reports import certificate as rp_certificate
from sockconf.reports import matrix as rp_matrix
from sockconf.reports import results as rp_results

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
HARNESS = ROOT / "ref" / "build" / "sockconf-harness"
ORACLE = ROOT / "ref" / "build" / "sockconf-ref"
BROKEN = ROOT / "conformance" / "selftest" / "broken_agent.py"
ENV = dict(os.environ, PYTHONPATH=str(ROOT / "conformance"))
CASES = ["conformance/cases/test_basics.py::test_inet_pton_example",
         "conformance/cases/test_basics.py::test_accept_returns_a_pair",
         "conformance/cases/test_streams.py::test_recv_at_eof_is_empty_every_time",
         "conformance/cases/test_streams.py::test_recv_timeout_is_etimedout_after_the_timeout",
         "conformance/cases/test_getaddrinfo.py::test_a_name_resolves_to_an_address_that_connects"]
PTON, ACCEPT, EOF, TIMEOUT, NAME = (c.rpartition("::")[2] for c in CASES)
# a profile that documents the broken agent's EOF rule and lacks settimeout
DOCUMENTED = {"name": "documented", "documents": ["micropython-usocket.txt"], "clauses": ["uc386:quirks.recv-fin"],
              "lacks": ["settimeout"], "deviations": [{"clause": "uc386:quirks.recv-fin", "doc": "uc386-socket.txt",
                                                       "quote": "recv gives b'' once at EOF (a test quote)"}]}


def _broken(*rules):
    words = []
    for rule in rules:
        words += [sys.executable, str(BROKEN), rule]
    return "cmd:" + " ".join(words + [str(HARNESS)])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{name: results file}: ref (the oracle: all PASS), broken (the harness with the EOF rule
    broken: one FAIL), mixed (broken EOF documented as a deviation, no settimeout, no suite
    resolver: PASS, DEVIATION, UNSUPPORTED, UNRESOLVED) and stale (the unbroken harness under
    that profile: its deviation is stale). The four runs go in parallel."""
    for binary in (HARNESS, ORACLE):
        if not binary.exists():
            pytest.skip("%s is not built; run make build" % binary)
    d = tmp_path_factory.mktemp("results")
    profile = d / "documented.json"
    profile.write_text(json.dumps(DOCUMENTED))
    specs = {"ref": ["--target=ref"],
             "broken": ["--target=" + _broken("eof-once"), "--profile=oracle"],
             "mixed": ["--target=" + _broken("no-dns", "eof-once"), "--profile=%s" % profile, "--host-net"],
             "stale": ["--target=harness", "--profile=%s" % profile]}
    procs = {name: subprocess.Popen([sys.executable, "-m", "pytest", *CASES, "-q", "-p", "no:cacheprovider",
                                     "--results=%s" % (d / (name + ".json")), *args], cwd=ROOT, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for name, args in specs.items()}
    out = {}
    for name, p in procs.items():
        text = p.communicate(timeout=300)[0]
        path = d / (name + ".json")
        assert path.exists(), "the %s run wrote no results file:\n%s" % (name, text)
        out[name] = path
    return out


def statuses(path):
    return {c["id"].rpartition("::")[2]: c["status"] for c in json.loads(path.read_text())["cases"]}


def report(*args):
    p = subprocess.run([sys.executable, "-m", "sockconf.reports", *map(str, args)], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def test_the_runs_have_every_status(runs):
    assert set(statuses(runs["ref"]).values()) == {"PASS"}
    assert statuses(runs["broken"])[EOF] == "FAIL"
    assert statuses(runs["mixed"]) == {PTON: "PASS", ACCEPT: "PASS", EOF: "DEVIATION", TIMEOUT: "UNSUPPORTED",
                                       NAME: "UNRESOLVED"}
    stale = {c["id"].rpartition("::")[2]: c for c in json.loads(runs["stale"].read_text())["cases"]}
    assert stale[EOF]["status"] == "PASS" and stale[EOF]["detail"]["stale deviation"] == ["uc386:quirks.recv-fin"]


def test_a_file_that_is_not_a_results_file_is_one_sentence(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cases": [{"id": "x", "status": "MAYBE"}], "suite": {}, "target": {}}))
    status, out = report("certificate", bad, "--out", tmp_path)
    assert status == 2 and "case x has status 'MAYBE', not one of PASS, FAIL" in out and "Traceback" not in out, out
    status, out = report("baseline-diff", tmp_path / "missing.json", bad)
    assert status == 2 and "missing.json cannot be read" in out, out


# ---- JUnit ----

def test_junit_tells_the_statuses_apart(runs, tmp_path):
    cases = {}
    for name in ("broken", "mixed"):
        status, out = report("junit", runs[name], tmp_path / (name + ".xml"))
        assert status == 0, out
        root = ET.parse(tmp_path / (name + ".xml")).getroot()
        suite = root.find("testsuite")
        assert root.tag == "testsuites" and int(suite.get("tests")) == len(CASES)
        cases[name] = {tc.get("name"): tc for tc in suite.iter("testcase")}
    fail = cases["broken"][EOF].find("failure")
    assert fail.get("type") == "FAIL" and fail.get("message").startswith("FAIL: uc386:quirks.recv-fin")
    assert "Quirks on this port" in fail.text and "oracle" in fail.text and "ENOTCONN" in fail.text
    assert cases["broken"][EOF].get("classname") == "conformance.cases.test_streams"
    mixed = cases["mixed"]
    assert mixed[EOF].find("skipped").get("message").startswith("DEVIATION: uc386:quirks.recv-fin: \"recv gives")
    assert mixed[TIMEOUT].find("skipped").get("message") == "UNSUPPORTED: the target lacks settimeout"
    assert mixed[NAME].find("error").get("message").startswith("UNRESOLVED: the target does not resolve names")
    for name in (PTON, ACCEPT):
        assert [c.tag for c in mixed[name]] == ["properties", "system-out"], name
    suite = ET.parse(tmp_path / "mixed.xml").getroot().find("testsuite")
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "1", "2")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["target.impl"] == "sockconf-c" and props["profile"] == "documented" and props["count.PASS"] == "2"


# ---- the matrix ----

class Cells(HTMLParser):
    """The matrix page's cells, the ids of its details, and every address it would load."""

    def __init__(self):
        super().__init__()
        self.cells, self.ids, self.loads, self.in_cell = [], set(), [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td":
            self.in_cell = "cell" in (a.get("class") or "").split()
            if self.in_cell:
                self.cells.append(a)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and self.in_cell:
            self.cells[-1]["href"] = a.get("href", "")[1:]
        for key in ("src", "href"):
            if a.get(key) and not a[key].startswith(("#", "data:")):
                self.loads.append((tag, a[key]))
        if tag == "link" and a.get("rel") == "stylesheet":
            self.loads.append((tag, a.get("href")))

    def handle_endtag(self, tag):
        if tag == "td":
            self.in_cell = False


def test_matrix_page_and_table(runs, tmp_path):
    status, out = report("matrix", "--out", tmp_path, *("%s=%s" % (k, v) for k, v in runs.items()))
    assert status == 0 and "5 cases x 4 targets" in out, out
    page = (tmp_path / "matrix.html").read_text()
    cells = Cells()
    cells.feed(page)
    assert len(cells.cells) == len(CASES) * len(runs)
    assert {c["data-status"] for c in cells.cells} == set(rp_results.STATUSES)
    assert all(c["href"] in cells.ids for c in cells.cells)
    assert cells.loads == [] and "url(" not in page and "@import" not in page, cells.loads
    md = (tmp_path / "matrix.md").read_text().splitlines()
    assert "| case | ref | broken | mixed | stale |" in md
    assert "| **conforming** | 100% (5 of 5) | 80% (4 of 5) | 75% (3 of 4) | 100% (4 of 4) |" in md
    row = [line for line in md if EOF in line]
    assert row == ["| `test_streams.py::%s` | PASS | **FAIL** | DEVIATION | PASS |" % EOF]
    # one section row per document section of the cases' first clauses; each case under its own
    inventory = sc_clauses.load()
    sections = [line for line in md if line.startswith("| ***")]
    first = {(inventory[c["clauses"][0]]["doc"], inventory[c["clauses"][0]]["section"])
             for c in json.loads(runs["ref"].read_text())["cases"]}
    assert len(sections) == len(first)
    assert md.index(row[0]) == md.index("| ***uc386-socket.txt, Quirks on this port*** | | | | |") + 1


def test_a_case_a_target_did_not_run_is_a_cell_that_says_so(runs):
    ref, broken = rp_results.load(runs["ref"]), rp_results.load(runs["broken"])
    broken["cases"] = [c for c in broken["cases"] if not c["id"].endswith(PTON)]
    model = rp_matrix.build([("ref", ref), ("broken", broken)], sc_clauses.load())
    page = rp_matrix.page(model)
    cells = Cells()
    cells.feed(page)
    assert len(cells.cells) == 2 * len(CASES)
    assert [c["data-target"] for c in cells.cells if c["data-status"] == rp_matrix.NOT_RUN] == ["broken"]
    assert "| `test_basics.py::%s` | PASS | not run |" % PTON in rp_matrix.markdown(model)


def test_a_long_transcript_is_shortened_on_the_page(runs):
    data = rp_results.load(runs["broken"])
    case = next(c for c in data["cases"] if c["id"].endswith(EOF))
    case["transcript"]["target"] = ["> line %d" % k for k in range(1000)] + ["< " + "x" * 5000]
    page = rp_matrix.page(rp_matrix.build([("broken", data)], sc_clauses.load()))
    assert "921 lines left out here" in page and "&gt; line 59<" in page and "&gt; line 60<" not in page
    assert "&gt; line 999<" in page
    assert "(5002 characters)" in page and "x" * 401 not in page


# ---- the baseline diff ----

def test_the_baseline_diff_exits_non_zero_only_for_a_regression(runs):
    status, out = report("baseline-diff", runs["ref"], runs["broken"])
    assert status == 1 and "newly failing (1):" in out and "REGRESSION test_streams.py::%s  PASS -> FAIL" % EOF in out
    assert "gate     1 regression" in out, out
    status, out = report("baseline-diff", runs["broken"], runs["ref"])
    assert status == 0 and "newly fixed (1):" in out and "FAIL -> PASS" in out and "no regression" in out, out
    status, out = report("baseline-diff", runs["ref"], runs["ref"])
    assert status == 0 and out.splitlines()[-1] == "gate     no regression", out


def test_newly_unresolved_gates_unless_ignored_and_stale_deviations_are_listed(runs):
    status, out = report("baseline-diff", runs["stale"], runs["mixed"])
    assert status == 1 and "newly unresolved (1):" in out and "REGRESSION test_getaddrinfo.py::%s" % NAME in out
    assert "other changes (1):" in out and "PASS -> DEVIATION" in out, out
    status, out = report("baseline-diff", runs["stale"], runs["mixed"], "--ignore-unresolved")
    assert status == 0 and "newly unresolved (1):" in out and "REGRESSION" not in out, out
    status, out = report("baseline-diff", runs["mixed"], runs["stale"])
    assert status == 0 and "newly fixed (1):" in out and "UNRESOLVED -> PASS" in out, out
    assert "stale deviations (1):" in out and "deviation on uc386:quirks.recv-fin is not needed" in out, out


GATE_CONFTEST = """
import json
import pytest
from sockconf.reports import baseline as sc_baseline

def pytest_addoption(parser):
    parser.addoption("--baseline", default=None)

def pytest_configure(config):
    why = config.getoption("--baseline") and sc_baseline.usage_problem(config.getoption("--baseline"))
    if why:
        raise pytest.UsageError(why)

def pytest_sessionfinish(session, exitstatus):
    # stands for the plugin's results data of this run
    data = json.load(open(%r))
    if session.config.getoption("--baseline"):
        sc_baseline.session_gate(session, session.config.getoption("--baseline"), data)
"""


@pytest.mark.parametrize("old,failing,status,says", [
    ("broken", 1, 0, "every failing case was already failing in the baseline"),
    ("ref", 1, 1, "REGRESSION test_streams.py::%s" % EOF),
    ("broken", 2, 1, "no regression"),     # a failing test that is no case keeps pytest's status
    ("bogus", 1, 4, "--baseline=bogus.json: "),
])
def test_the_baseline_gate_after_a_run(runs, tmp_path, old, failing, status, says):
    """session_gate, called as the lines proposed for conftest.py call it: a run whose failing
    cases were failing in the baseline exits 0, a regression exits 1."""
    (tmp_path / "conftest.py").write_text(GATE_CONFTEST % str(runs["broken"]))
    (tmp_path / "test_x.py").write_text("".join("def test_%d():\n    assert False\n" % k for k in range(failing)))
    base = runs[old] if old in runs else "bogus.json"
    # without the plugin (installed, its entry point would load here too): this conftest stands for it
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:sockconf.plugin",
                        "--baseline=%s" % base], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert p.returncode == status and says in p.stdout + p.stderr, p.stdout + p.stderr


# ---- the certificate ----

def test_certificates_for_the_oracle_and_a_broken_target(runs, tmp_path):
    status, out = report("certificate", runs["ref"], "--out", tmp_path / "ref", "--date", "2025-01-02")
    assert status == 0, out
    cert = json.loads((tmp_path / "ref" / "certificate.json").read_text())
    hello = json.loads(runs["ref"].read_text())["target"]
    assert cert["target"] == {k: hello[k] for k in rp_certificate.IDENTITY}
    assert cert["profile"] == "oracle" and cert["date"] == "2025-01-02" and cert["suite"]["version"]
    assert cert["counts"] == {"PASS": 5, "FAIL": 0, "DEVIATION": 0, "UNSUPPORTED": 0, "UNRESOLVED": 0}
    # five cases are not the suite: a run of part of it certifies nothing
    assert cert["verdict"] == "NOT CONFORMANT" and "test_basics.py::test_inet_ntop_example" in cert["not_run"]
    md = (tmp_path / "ref" / "certificate.md").read_text()
    assert "**NOT CONFORMANT**" in md and "| implementation | sockconf-ref |" in md and "## Not run" in md

    status, out = report("certificate", runs["broken"], "--out", tmp_path / "broken")
    cert = json.loads((tmp_path / "broken" / "certificate.json").read_text())
    quote = sc_clauses.load()["uc386:quirks.recv-fin"]["quote"]
    assert [(f["case"], f["clause"]["id"], f["clause"]["quote"]) for f in cert["fails"]] == [
        ("test_streams.py::" + EOF, "uc386:quirks.recv-fin", quote)]
    md = (tmp_path / "broken" / "certificate.md").read_text()
    assert "## Failures (1)" in md and "> " + quote in md and "ENOTCONN" in md


def test_the_three_verdicts(runs):
    def certify(name, drop=()):
        data = rp_results.load(runs[name])
        data["cases"] = [c for c in data["cases"] if c["id"].rpartition("::")[2] not in drop]
        return rp_certificate.certify(data, suite={rp_results.function(c["id"]): c["clauses"]
                                                   for c in data["cases"]})
    ref = certify("ref")
    assert (ref["verdict"], ref["not_run"]) == ("CONFORMANT", [])
    assert certify("broken")["verdict"] == "NOT CONFORMANT"
    mixed = certify("mixed")
    assert mixed["verdict"] == "NOT CONFORMANT" and "could not be decided" in mixed["verdict_reason"]
    assert mixed["not_run"] is None and "is not one of targets/profiles/" in mixed["not_run_unknown"]
    deviating = certify("mixed", drop=(NAME,))
    assert deviating["verdict"] == "CONFORMANT WITH DOCUMENTED DEVIATIONS"
    assert deviating["deviations"][0]["reason"].startswith("uc386:quirks.recv-fin: \"recv gives b''")
    assert [u["reason"] for u in deviating["unsupported"]] == ["the target lacks settimeout"]
    assert rp_certificate.markdown(deviating).startswith(
        "# sockconf conformance certificate\n\n**CONFORMANT WITH DOCUMENTED DEVIATIONS**")


# ---- progress ----

def test_progress_lines_count_name_and_estimate():
    t = [100.0]
    p = sc_progress.Progress(always=False, every=60, now=lambda: t[0])
    p.total = 40
    assert p.line("conformance/cases/test_a.py::test_one") is None
    t[0], p.done = 161.0, 10
    assert p.line("conformance/cases/test_a.py::test_two[x]") == (
        "progress 10/40  test_a.py::test_two[x]  1m01s so far, about 3m03s left")
    t[0] = 200.0
    assert p.line("conformance/cases/test_a.py::test_three") is None     # at most one line a minute
    assert sc_progress.clock(3725) == "1h02m" and sc_progress.clock(59.4) == "59s"


def test_progress_in_a_real_run():
    if not ORACLE.exists():
        pytest.skip("%s is not built; run make build" % ORACLE)
    args = [sys.executable, "-m", "pytest", *CASES[:2], "-q", "-p", "no:cacheprovider", "-p", "sockconf.progress"]
    p = subprocess.run(args + ["--progress"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    lines = [line for line in p.stdout.splitlines() if line.startswith("progress")]
    assert p.returncode == 0 and len(lines) == 2, p.stdout + p.stderr
    assert lines[0].startswith("progress 0/2  test_basics.py::%s  " % PTON) and "no estimate yet" in lines[0]
    assert lines[1].startswith("progress 1/2  test_basics.py::%s  " % ACCEPT) and "left" in lines[1]
    p = subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "progress" not in p.stdout, p.stdout    # a short run: not a word


# ---- the page in a real browser ----

def _browser():
    """A headless chromium under selenium, or a skip that says what is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed: .venv/bin/pip install -r conformance/requirements-browser.txt")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("no chromium or chromedriver: apt-get install -y chromium chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=opts, service=Service(executable_path=driver))


def test_the_matrix_page_in_a_browser(runs, tmp_path):
    status, out = report("matrix", "--out", tmp_path, *("%s=%s" % (k, v) for k, v in runs.items()))
    assert status == 0, out
    browser = _browser()
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        browser.get((tmp_path / "matrix.html").as_uri())
        assert browser.title == "sockconf conformance matrix"
        cells = browser.find_elements(By.CSS_SELECTOR, "td.cell")
        assert len(cells) == len(CASES) * len(runs)
        assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
        cell = browser.find_element(By.CSS_SELECTOR, "td.cell[data-target='broken'][data-status='FAIL'] a")
        detail = browser.find_element(By.ID, cell.get_attribute("href").rpartition("#")[2])
        assert not detail.is_displayed()
        cell.click()
        assert detail.is_displayed()
        assert "open" in cell.find_element(By.XPATH, "..").get_attribute("class")
        quote = detail.find_element(By.CSS_SELECTOR, "blockquote.quote")
        assert quote.is_displayed() and quote.text == sc_clauses.load()["uc386:quirks.recv-fin"]["quote"]
        transcript = detail.find_element(By.CSS_SELECTOR, "table.transcript")
        assert transcript.is_displayed() and "ENOTCONN" in transcript.text and "oracle" in transcript.text
        shot = tmp_path / "matrix.png"
        assert browser.save_screenshot(str(shot))
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10000, len(data)
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        assert not detail.is_displayed()
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
    finally:
        browser.quit()
