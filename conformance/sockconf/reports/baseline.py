"""The baseline diff: what changed between an earlier results file and a new one, as a release gate.

    python -m sockconf.reports.baseline OLD.json NEW.json [--ignore-unresolved]

lists, for the cases both runs have:
- newly failing: FAIL now, not before;
- newly unresolved: UNRESOLVED now, not before;
- newly fixed: FAIL or UNRESOLVED before, PASS or DEVIATION now;
- other changes of status (e.g. PASS to DEVIATION, or to UNSUPPORTED);
- stale deviations: the profile documents a deviation that the case no longer shows (the run
  marks it "stale deviation"), or a DEVIATION before that is a PASS now;
and the cases only one run has. A regression is a case that was PASS, DEVIATION or UNSUPPORTED
and is now FAIL or UNRESOLVED (only FAIL with --ignore-unresolved, for a flaky link); the
exit status is 1 if there is one, else 0 (2: a file cannot be used). A case new to the suite
that fails is listed, but is no regression.

The suite's plugin (sockconf/plugin.py) runs the same gate after a run (--baseline=OLD.json): see
session_gate.
"""
import argparse
import sys

from . import results as rp_results

KINDS = (("newly failing", "newly_failing"), ("newly unresolved", "newly_unresolved"),
         ("newly fixed", "newly_fixed"), ("other changes", "changed"), ("stale deviations", "stale"),
         ("new cases", "new"), ("no longer run", "gone"))


def _stale(case):
    return case["status"] == "PASS" and bool((case.get("detail") or {}).get("stale deviation"))


def diff(old, new, ignore_unresolved=False):
    """{kind: [entry]} for KINDS, plus "regressions"; an entry is {"id", "name", "old", "new", "why"}."""
    before = {c["id"]: c for c in old["cases"]}
    after = {c["id"]: c for c in new["cases"]}
    out = {key: [] for _, key in KINDS}
    out["regressions"] = []
    worse = ("FAIL",) if ignore_unresolved else rp_results.FAILING
    for cid, c in after.items():
        o = before.get(cid)
        e = {"id": cid, "name": rp_results.name(cid), "old": o["status"] if o else None, "new": c["status"],
             "why": c.get("reason") or ""}
        if c["status"] in rp_results.FAILING and c.get("clause"):
            e["why"] = e["why"] if e["why"].startswith(c["clause"]) else "%s: %s" % (c["clause"], e["why"])
        if o is None:
            out["new"].append(e)
            continue
        if o["status"] != c["status"]:
            if c["status"] == "FAIL":
                out["newly_failing"].append(e)
            elif c["status"] == "UNRESOLVED":
                out["newly_unresolved"].append(e)
            elif o["status"] in rp_results.FAILING and c["status"] in rp_results.CONFORMING:
                out["newly_fixed"].append(e)
            else:
                out["changed"].append(e)
            if o["status"] not in rp_results.FAILING and c["status"] in worse:
                out["regressions"].append(e)
        if _stale(c) or (o["status"] == "DEVIATION" and c["status"] == "PASS"):
            stale = (c.get("detail") or {}).get("stale deviation") or [o.get("clause")]
            out["stale"].append(dict(e, why="the profile's deviation on %s is not needed: the case passes" %
                                     ", ".join(str(s) for s in stale)))
    for cid, o in before.items():
        if cid not in after:
            out["gone"].append({"id": cid, "name": rp_results.name(cid), "old": o["status"], "new": None, "why": ""})
    return out


def _run(data):
    t = data["target"]
    return "%s (%s), profile %s, suite %s, %d cases" % (
        t.get("spec"), rp_results.target_name(data), data.get("profile"), data["suite"].get("version"),
        len(data["cases"]))


def lines(old, new, d):
    """The diff as text lines, ending with the gate's verdict."""
    out = ["baseline %s: %s" % (old.get("_path", "OLD"), _run(old)),
           "new      %s: %s" % (new.get("_path", "NEW"), _run(new))]
    for what in ("spec", "impl", "machine"):
        if old["target"].get(what) != new["target"].get(what):
            out.append("note     the target's %s differs: %s, now %s" % (what, old["target"].get(what),
                                                                        new["target"].get(what)))
    if old.get("profile") != new.get("profile"):
        out.append("note     the profile differs: %s, now %s" % (old.get("profile"), new.get("profile")))
    if old["suite"] != new["suite"]:
        out.append("note     the suite or its vectors differ: the cases may have changed")
    regressions = {e["id"] for e in d["regressions"]}
    for title, key in KINDS:
        if not d[key]:
            continue
        out.append("%s (%d):" % (title, len(d[key])))
        for e in d[key]:
            tag = "REGRESSION " if key in ("newly_failing", "newly_unresolved") and e["id"] in regressions else ""
            move = "%s -> %s" % (e["old"] or "(new)", e["new"] or "(not run)")
            out.append("  %s%s  %s%s" % (tag, e["name"], move, ("  " + e["why"]) if e["why"] else ""))
    n = len(d["regressions"])
    out.append("gate     %s" % ("%d regression%s" % (n, "" if n == 1 else "s") if n else "no regression"))
    return out


def compare(old_path, new_path, ignore_unresolved=False, out=sys.stdout):
    """Print the diff; 1 if there is a regression, else 0."""
    old, new = rp_results.load(old_path), rp_results.load(new_path)
    d = diff(old, new, ignore_unresolved)
    for line in lines(old, new, d):
        out.write(line + "\n")
    return 1 if d["regressions"] else 0


def usage_problem(path):
    """For the plugin's pytest_configure: one sentence if --baseline=PATH cannot be used, else None."""
    try:
        rp_results.load(path)
    except rp_results.ResultsError as e:
        return "--baseline=%s: %s" % (path, e)
    return None


def session_gate(session, old_path, new, ignore_unresolved=False):
    """For the plugin's pytest_sessionfinish: compare this run's results (NEW, the data a results
    file holds) with OLD_PATH, show the diff in a "sockconf baseline" section, and make the
    exit status the gate's: 1 on a regression; 0 when every failing test is a case that was
    already failing in the baseline; else pytest's own (an interrupted run stays interrupted)."""
    old = rp_results.load(old_path)
    d = diff(old, new, ignore_unresolved)
    text = lines(old, dict(new, _path="this run"), d)
    failing = sum(c["status"] in rp_results.FAILING for c in new["cases"])
    if d["regressions"] and session.exitstatus in (0, 1):
        session.exitstatus = 1
    elif session.exitstatus == 1 and session.testsfailed == failing:
        session.exitstatus = 0
        text.append("exit     0: every failing case was already failing in the baseline")
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        if getattr(tr, "_tw", None) is not None and tr._tw.width_of_current_line:
            tr.write_line("")           # the run's line of dots is still open
        tr.section("sockconf baseline")
        for line in text:
            tr.write_line(line)
    else:
        sys.stderr.write("\n".join(text) + "\n")
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sockconf.reports.baseline", description=__doc__.splitlines()[0])
    ap.add_argument("old", metavar="OLD.json")
    ap.add_argument("new", metavar="NEW.json")
    ap.add_argument("--ignore-unresolved", action="store_true",
                    help="a case newly UNRESOLVED is listed but is no regression (a flaky link)")
    args = ap.parse_args(argv)
    try:
        return compare(args.old, args.new, args.ignore_unresolved)
    except rp_results.ResultsError as e:
        sys.stderr.write("sockconf.reports.baseline: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
