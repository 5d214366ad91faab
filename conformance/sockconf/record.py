"""Recorded results (vectors/oracle/*.json): what a run decided for each case, kept as data so
that a change to a target, to a case or to the verdicts shows up as a difference. ref.json is
the oracle's; micropython.json the real MicroPython unix port's (the pinned wheel), FAILs and all.

    python -m sockconf.record write RESULTS.json RECORD.json   # make record: regenerate
    python -m sockconf.record check RESULTS.json RECORD.json   # make test: compare

Only what must not vary between runs is recorded: each case's status, the clause a FAIL or
DEVIATION is about, and its normative observations (side.same). Details (short-write sizes,
timings) are left out.
"""
import json
import pathlib
import sys


def extract(results):
    """{case id: {"status", "observations"}} from a results file's data."""
    return {c["id"]: dict({"status": c["status"], "observations": c.get("observations", {})},
                          **({"clause": c["clause"]} if c["status"] in ("FAIL", "DEVIATION") else {}))
            for c in results["cases"]}


def write(results_path, record_path):
    results = json.loads(pathlib.Path(results_path).read_text(encoding="utf-8"))
    data = {"about": "Recorded by `make record` from a run of the cases; never edit by hand.",
            "target": {k: results["target"].get(k) for k in ("impl", "version", "machine", "spec")},
            "profile": results["profile"], "cases": extract(results)}
    pathlib.Path(record_path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


def check(results_path, record_path, out=sys.stdout):
    """Lines that differ between a fresh run and the record; exit status 1 if any."""
    fresh = extract(json.loads(pathlib.Path(results_path).read_text(encoding="utf-8")))
    kept = json.loads(pathlib.Path(record_path).read_text(encoding="utf-8"))["cases"]
    problems = []
    for cid in sorted(set(fresh) | set(kept)):
        if cid not in kept:
            problems.append("%s: not recorded (run make record)" % cid)
        elif cid not in fresh:
            problems.append("%s: recorded, but did not run" % cid)
        elif fresh[cid] != kept[cid]:
            problems.append("%s: recorded %s, now %s" % (cid, json.dumps(kept[cid], sort_keys=True),
                                                         json.dumps(fresh[cid], sort_keys=True)))
    for p in problems:
        out.write(p + "\n")
    out.write("record: %d cases, %d differ from %s\n" % (len(fresh), len(problems), record_path))
    return 1 if problems else 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3 or argv[0] not in ("write", "check"):
        sys.stderr.write("usage: python -m sockconf.record {write|check} RESULTS.json RECORD.json\n")
        return 2
    return (write if argv[0] == "write" else check)(argv[1], argv[2])


if __name__ == "__main__":
    sys.exit(main())
