"""A conformance certificate for one results file, in Markdown and in JSON.

    python -m sockconf.reports.certificate RESULTS.json --out DIR [--date YYYY-MM-DD]

writes DIR/certificate.md and DIR/certificate.json: the target as its HELLO names it
(implementation, version, machine), the profile, the suite version and vectors hash, the date,
the counts per status, the verdict, and every FAIL with its clause and quote (every DEVIATION
with the quote documenting it, every UNRESOLVED with its reason). The verdict:

- NOT CONFORMANT: a case FAILed, a case is UNRESOLVED (the run cannot certify what it could not
  decide), no case ran, or cases of this checkout's suite that the profile applies did not run;
- CONFORMANT WITH DOCUMENTED DEVIATIONS: otherwise, if a case is a DEVIATION;
- CONFORMANT: every case that ran is PASS or UNSUPPORTED.

The date is --date if given, else the day of the run (the results file's "date"), else
$SOURCE_DATE_EPOCH, else today (UTC).
"""
import argparse
import datetime
import hashlib
import json
import os
import pathlib
import sys

from .. import clauses as sc_clauses
from . import results as rp_results

CONFORMANT = "CONFORMANT"
WITH_DEVIATIONS = "CONFORMANT WITH DOCUMENTED DEVIATIONS"
NOT_CONFORMANT = "NOT CONFORMANT"
IDENTITY = ("impl", "version", "machine", "proto", "spec")


def _today():
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch and epoch.isdigit()
            else datetime.datetime.now(datetime.timezone.utc))
    return when.strftime("%Y-%m-%d")


def verdict(counts, missing):
    """(verdict, the reason in one sentence) from the counts per status and the cases not run."""
    why = []
    if counts["FAIL"]:
        why.append("%d case%s FAILed" % (counts["FAIL"], "" if counts["FAIL"] == 1 else "s"))
    if counts["UNRESOLVED"]:
        why.append("%d case%s could not be decided (UNRESOLVED)" % (counts["UNRESOLVED"],
                                                                   "" if counts["UNRESOLVED"] == 1 else "s"))
    if missing:
        why.append("%d case%s of the suite that the profile applies did not run" % (
            len(missing), "" if len(missing) == 1 else "s"))
    if not sum(counts.values()):
        why.append("no case ran")
    if why:
        return NOT_CONFORMANT, "; ".join(why) + "."
    if counts["DEVIATION"]:
        return WITH_DEVIATIONS, "every case that applies passed, %d with a deviation the profile documents." % (
            counts["DEVIATION"])
    return CONFORMANT, "every case that applies passed."


def _entry(case, clauses, with_clause=True):
    e = {"case": rp_results.name(case["id"]), "id": case["id"], "reason": case.get("reason")}
    if with_clause:
        e["clause"] = rp_results.cite(clauses, rp_results.clause_of(case))
    return e


def certify(data, clauses=None, date=None, suite=None):
    """The certificate (a dict, as certificate.json holds it) for the results DATA; SUITE:
    {case function: [clause IDs]} the run should have covered (default: this checkout's cases)."""
    clauses = sc_clauses.load() if clauses is None else clauses
    cases = data["cases"]
    counts = rp_results.counts(cases)
    missing, unknown = rp_results.not_run(data, clauses, suite)
    result, reason = verdict(counts, missing)
    ok, applicable = rp_results.conforming(cases)
    cert = {
        "certificate": "sockconf conformance",
        "verdict": result,
        "verdict_reason": reason,
        "target": {k: data["target"].get(k) for k in IDENTITY},
        "profile": data.get("profile"),
        "suite": {"version": data["suite"].get("version"), "vectors_hash": data["suite"].get("vectors_hash")},
        "date": date or (data.get("date") or "")[:10] or _today(),
        "counts": counts,
        "cases": len(cases),
        "conforming": {"cases": ok, "of": applicable},
        "fails": [_entry(c, clauses) for c in cases if c["status"] == "FAIL"],
        "deviations": [_entry(c, clauses) for c in cases if c["status"] == "DEVIATION"],
        "unresolved": [_entry(c, clauses, False) for c in cases if c["status"] == "UNRESOLVED"],
        "unsupported": [_entry(c, clauses, False) for c in cases if c["status"] == "UNSUPPORTED"],
        "not_run": missing,
    }
    if unknown:
        cert["not_run_unknown"] = "which cases should have run is not known: %s" % unknown
    path = data.get("_path")
    if path:
        cert["results_file"] = {"name": pathlib.Path(path).name,
                                "sha256": hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()}
    return cert


def _md(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def _quote(c):
    where = "%s, %s" % (c["doc"], c["section"]) if c.get("doc") else "not in the clause inventory"
    lines = ["- clause: `%s` (%s)" % (c["id"], _md(where))]
    if c.get("quote"):
        lines.append("  > %s" % c["quote"].replace("\n", " "))
    return lines


def markdown(cert):
    t = cert["target"]
    out = ["# sockconf conformance certificate", "",
           "**%s**: %s" % (cert["verdict"], cert["verdict_reason"]), "",
           "| | |", "|---|---|",
           "| implementation | %s |" % _md(t.get("impl")),
           "| version | %s |" % _md(t.get("version")),
           "| machine | %s |" % _md(t.get("machine")),
           "| protocol | %s |" % _md(t.get("proto")),
           "| reached as | `%s` |" % _md(t.get("spec")),
           "| profile | %s |" % _md(cert["profile"]),
           "| suite | sockconf %s |" % _md(cert["suite"]["version"]),
           "| vectors hash | `%s` |" % _md(cert["suite"]["vectors_hash"]),
           "| date | %s |" % _md(cert["date"])]
    if cert.get("results_file"):
        out.append("| results file | %s (sha256 `%s`) |" % (_md(cert["results_file"]["name"]),
                                                           cert["results_file"]["sha256"]))
    n = cert["counts"]
    out += ["", "## Counts", "",
            "| " + " | ".join(n) + " | total | conforming |",
            "|" + "---|" * (len(n) + 2),
            "| " + " | ".join(str(v) for v in n.values()) + " | %d | %d of %d |" % (
                cert["cases"], cert["conforming"]["cases"], cert["conforming"]["of"]),
            "", "Conforming: PASS or DEVIATION, of the cases that ran and are not UNSUPPORTED."]
    sections = [("Failures", "fails", True), ("Documented deviations", "deviations", True),
                ("Unresolved", "unresolved", False), ("Unsupported", "unsupported", False)]
    for title, key, cited in sections:
        if not cert[key] and key != "fails":
            continue
        out += ([] if out[-1] == "" else [""]) + ["## %s (%d)" % (title, len(cert[key])), ""]
        if not cert[key]:
            out.append("None.")
        for e in cert[key]:
            out.append("### `%s`" % e["case"])
            out.append("")
            if cited:
                out += _quote(e["clause"])
            if e.get("reason"):
                out.append("- %s: %s" % ("documented by" if key == "deviations" else "reason", _md(e["reason"])))
            out.append("")
    if cert["not_run"]:
        out += ([] if out[-1] == "" else [""]) + ["## Not run (%d)" % len(cert["not_run"]), "",
                "Cases of this checkout's suite that the profile applies, missing from the results:", ""]
        out += ["- `%s`" % c for c in cert["not_run"]]
    if cert.get("not_run_unknown"):
        out += ["", "Note: %s." % cert["not_run_unknown"]]
    out.append("")
    return "\n".join(out)


def write(results_path, out_dir, date=None):
    """Write OUT_DIR/certificate.md and certificate.json; the certificate."""
    cert = certify(rp_results.load(results_path), date=date)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "certificate.json").write_text(json.dumps(cert, indent=1) + "\n", encoding="utf-8")
    (out / "certificate.md").write_text(markdown(cert), encoding="utf-8")
    return cert


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sockconf.reports.certificate", description=__doc__.splitlines()[0])
    ap.add_argument("results", metavar="RESULTS.json")
    ap.add_argument("--out", required=True, metavar="DIR", help="where certificate.md and certificate.json go")
    ap.add_argument("--date", help="the certificate's date (default: the run's, else $SOURCE_DATE_EPOCH, else today)")
    args = ap.parse_args(argv)
    try:
        cert = write(args.results, args.out, args.date)
    except (rp_results.ResultsError, OSError) as e:
        sys.stderr.write("sockconf.reports.certificate: %s\n" % e)
        return 2
    sys.stdout.write("%s/certificate.md, %s/certificate.json: %s, profile %s: %s: %s\n" % (
        args.out, args.out, rp_results.target_name({"target": cert["target"]}), cert["profile"], cert["verdict"],
        cert["verdict_reason"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
