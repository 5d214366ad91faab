"""A results file (--results=FILE.json), read and checked: the one input of every report.

Every report reads results files through load(), which gives one sentence for a file that
cannot be used, and finds a case's clauses, document and section through the clause inventory
(vectors/clauses): a case belongs to the section of its first clause.
"""
import hashlib
import json
import pathlib

from .. import case as sc_case
from .. import clauses as sc_clauses
from .. import coverage as sc_coverage
from .. import profiles as sc_profiles

STATUSES = sc_case.STATUSES
FAILING = ("FAIL", "UNRESOLVED")          # a pytest failure: exit status 1
CONFORMING = ("PASS", "DEVIATION")
ROOT = sc_clauses.ROOT


class ResultsError(Exception):
    """A results file that cannot be used; str() is one sentence."""


def load(path):
    """The results file at PATH, checked; its path is kept under "_path"."""
    path = pathlib.Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ResultsError("%s cannot be read: %s" % (path, e.strerror)) from None
    except ValueError as e:
        raise ResultsError("%s is not valid JSON: %s" % (path, e)) from None
    check(data, str(path))
    data["_path"] = str(path)
    return data


def check(data, where="the results"):
    """Raise ResultsError unless DATA has the shape of a results file (README.md)."""
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise ResultsError("%s is not a sockconf results file: it has no \"cases\" list" % where)
    for key in ("suite", "target"):
        if not isinstance(data.get(key), dict):
            raise ResultsError("%s is not a sockconf results file: it has no \"%s\" object" % (where, key))
    for k, c in enumerate(data["cases"]):
        if not isinstance(c, dict) or not isinstance(c.get("id"), str):
            raise ResultsError("%s: case %d has no \"id\"" % (where, k))
        if c.get("status") not in STATUSES:
            raise ResultsError("%s: case %s has status %r, not one of %s" % (where, c["id"], c.get("status"),
                                                                           ", ".join(STATUSES)))


def name(case_id):
    """The case's ID without its directory: test_streams.py::test_recv_at_eof_is_empty_every_time."""
    path, sep, rest = case_id.partition("::")
    return path.rpartition("/")[2] + sep + rest


def function(case_id):
    """The case's function, without parameters: test_getaddrinfo.py::test_resolution_failure_..."""
    return name(case_id).partition("[")[0]


def counts(cases):
    """{status: number of cases} for every status, in STATUSES order."""
    return {s: sum(c["status"] == s for c in cases) for s in STATUSES}


def conforming(cases):
    """(conforming, applicable): PASS or DEVIATION, of the cases that ran and are not UNSUPPORTED."""
    n = counts(cases)
    return n["PASS"] + n["DEVIATION"], len(cases) - n["UNSUPPORTED"]


def target_name(data):
    """impl version, as HELLO says: sockconf-ref 0.1.0."""
    t = data["target"]
    return " ".join(str(t[k]) for k in ("impl", "version") if t.get(k)) or t.get("spec", "?")


def clause_of(case):
    """The clause a case's verdict is about: the one a FAIL or DEVIATION names, else its first."""
    return case.get("clause") or (case.get("clauses") or [None])[0]


def cite(clauses, cid):
    """{id, doc, section, quote} for a clause ID; doc/section/quote None if the inventory lacks it."""
    c = clauses.get(cid) or {}
    return {"id": cid, "doc": c.get("doc"), "section": c.get("section"), "quote": c.get("quote")}


def place(clauses):
    """A function: case -> (sort key, doc, section), by the case's first clause in the order of
    the inventory (documents, then their sections and clauses as the documents have them)."""
    docs, sections, order = {}, {}, {}
    for k, (cid, c) in enumerate(clauses.items()):
        docs.setdefault(c["doc"], len(docs))
        sections.setdefault((c["doc"], c["section"]), len(sections))
        order[cid] = k

    def where(case):
        cid = (case.get("clauses") or [None])[0]
        c = clauses.get(cid)
        if c is None:
            return (len(docs), 0, 0, case["id"]), "(no clause in the inventory)", cid or "(none)"
        return (docs[c["doc"]], sections[(c["doc"], c["section"])], order[cid], case["id"]), c["doc"], c["section"]
    return where


def vectors_hash(root=ROOT):
    """sha256 over the protocol vectors and the clause inventory, as the plugin writes it into
    the results file (sockconf/plugin.py, vectors_hash)."""
    h = hashlib.sha256()
    for sub in ("protocol", "clauses"):
        for p in sorted((pathlib.Path(root) / "vectors" / sub).glob("*")):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def suite_cases():
    """{case function: [clause IDs]} for every case of this checkout (read from the source)."""
    by_case = {}
    for cid, cases in sc_coverage.cited()[0].items():
        for c in cases:
            by_case.setdefault(c, []).append(cid)
    return by_case


def not_run(data, clauses, suite=None):
    """(the cases the run should have covered but has no result for, or None when that cannot be
    told; and why not). A results file that says what it collected (the plugin writes
    "collected") answers for itself: collected but without a result (an interrupted run), or a
    run narrowed to part of the suite. Otherwise it is compared with SUITE (default: this
    checkout's cases), which is told only for results made with this checkout's vectors and a
    profile under targets/profiles/."""
    collected = data.get("collected")
    if collected and suite is None:
        ran = {c["id"] for c in data["cases"]}
        missing = sorted(function(i) for i in collected.get("run", []) if i not in ran)
        if not collected.get("narrowed"):
            return missing, None
        if data["suite"].get("vectors_hash") != vectors_hash():
            return missing + ["(the run was narrowed to part of the suite: -k, -m, or named tests)"], None
    if suite is None and data["suite"].get("vectors_hash") != vectors_hash():
        return None, "the results were made with other vectors than this checkout's"
    try:
        profile = sc_profiles.load(data.get("profile") or "", clauses)
    except sc_profiles.ProfileError:
        return None, "profile %r is not one of targets/profiles/" % data.get("profile")
    applies = sc_profiles.applies(profile, clauses)
    ran = {function(c["id"]) for c in data["cases"]}
    suite = suite_cases() if suite is None else suite
    return sorted(c for c, ids in suite.items() if c not in ran and any(applies(i) for i in ids)), None