"""JUnit XML from a results file, so that a CI page tells the five statuses apart.

    python -m sockconf.reports.junit RESULTS.json OUT.xml

| status      | JUnit                                                  |
|-------------|--------------------------------------------------------|
| PASS        | a plain <testcase>                                     |
| FAIL        | <failure type="FAIL">: the clause, the reason, both transcripts side by side |
| UNRESOLVED  | <error type="UNRESOLVED">: the reason                  |
| DEVIATION   | <skipped type="DEVIATION" message="DEVIATION: the documenting quote"> |
| UNSUPPORTED | <skipped type="UNSUPPORTED" message="UNSUPPORTED: what the target lacks"> |

Every <testcase> also carries its status and clauses as properties and its transcript as
<system-out>; the <testsuite> carries the target's HELLO, the profile and the suite version.
"""
import argparse
import re
import sys
import xml.etree.ElementTree as ET

from .. import case as sc_case
from .. import clauses as sc_clauses
from . import results as rp_results

ELEMENT = {"FAIL": "failure", "UNRESOLVED": "error", "DEVIATION": "skipped", "UNSUPPORTED": "skipped"}
_BAD_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(s):
    """S as text XML 1.0 can hold."""
    return _BAD_XML.sub("\ufffd", str(s))


def _clause_line(clauses, cid):
    c = rp_results.cite(clauses, cid)
    return "%s (%s, %s): \"%s\"" % (cid, c["doc"], c["section"], c["quote"]) if c["quote"] else str(cid)


def _transcripts(case):
    t = case.get("transcript") or {}
    if not t.get("target"):
        return "(no transcript: the case did not reach the target)"
    if t.get("oracle") is None:
        return "target transcript (the target is the oracle):\n" + "\n".join(t["target"])
    return sc_case.side_by_side(t["oracle"], t["target"])


def testcase(case, clauses):
    """The <testcase> element for one case of a results file."""
    path, _, rest = case["id"].partition("::")
    module = path[:-3] if path.endswith(".py") else path
    el = ET.Element("testcase", classname=module.replace("/", "."), name=rest or path, file=path)
    props = ET.SubElement(el, "properties")
    ET.SubElement(props, "property", name="status", value=case["status"])
    ET.SubElement(props, "property", name="clauses", value=" ".join(case.get("clauses", [])))
    status = case["status"]
    if status in ELEMENT:
        reason = case.get("reason") or "(no reason given)"
        out = ET.SubElement(el, ELEMENT[status], type=status, message=_text("%s: %s" % (status, reason)))
        if status in ("FAIL", "DEVIATION"):
            out.text = _text("clause  %s\n%s\n\n%s" % (_clause_line(clauses, rp_results.clause_of(case)), reason,
                                                       _transcripts(case)))
        elif status == "UNRESOLVED":
            out.text = _text("%s\n\n%s" % (reason, _transcripts(case)))
    if (case.get("transcript") or {}).get("target"):
        ET.SubElement(el, "system-out").text = _text("\n".join(case["transcript"]["target"]))
    return el


def build(data, clauses=None):
    """An ElementTree <testsuites> with one <testsuite> for the results DATA."""
    clauses = sc_clauses.load() if clauses is None else clauses
    n = rp_results.counts(data["cases"])
    t = data["target"]
    attrs = {"tests": str(len(data["cases"])), "failures": str(n["FAIL"]), "errors": str(n["UNRESOLVED"]),
             "skipped": str(n["DEVIATION"] + n["UNSUPPORTED"])}
    root = ET.Element("testsuites", name="sockconf", **attrs)
    suite = ET.SubElement(root, "testsuite", name=_text("sockconf %s (%s)" % (t.get("spec", "?"), data.get("profile"))),
                          **attrs)
    props = ET.SubElement(suite, "properties")
    for key, value in [("target." + k, t[k]) for k in ("spec", "impl", "version", "machine", "proto") if k in t] + [
            ("profile", data.get("profile")), ("suite.version", data["suite"].get("version")),
            ("suite.vectors_hash", data["suite"].get("vectors_hash"))] + [
            ("count." + s, n[s]) for s in rp_results.STATUSES]:
        ET.SubElement(props, "property", name=key, value=_text(value))
    for case in data["cases"]:
        suite.append(testcase(case, clauses))
    ET.indent(root)
    return ET.ElementTree(root)


def write(results_path, out_path):
    """Convert the results file to JUnit XML at OUT_PATH; the counts, for the caller to print."""
    data = rp_results.load(results_path)
    build(data).write(out_path, encoding="utf-8", xml_declaration=True)
    return rp_results.counts(data["cases"])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sockconf.reports.junit", description=__doc__.splitlines()[0])
    ap.add_argument("results", metavar="RESULTS.json")
    ap.add_argument("out", metavar="OUT.xml")
    args = ap.parse_args(argv)
    try:
        n = write(args.results, args.out)
    except (rp_results.ResultsError, OSError) as e:
        sys.stderr.write("sockconf.reports.junit: %s\n" % e)
        return 2
    sys.stdout.write("%s: %s\n" % (args.out, ", ".join("%d %s" % (v, k) for k, v in n.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
