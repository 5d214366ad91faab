"""Which cases cover each clause of the inventory, and why any clause is untested.

    python -m sockconf.coverage [--doc FILE] [--strict | --strict-all]

prints one line per clause: its ID, then the cases citing it, or `same as mp:X (its cases)` for a
port's clause whose inventory entry links it to canonical clauses (same_as, sockconf/clauses.py),
or untested with the reason the inventory gives, or UNTESTED (no case yet, or a same_as that does
not hold). A same_as counts only when each clause it names has a case. --strict exits 1 when a
testable clause of the canonical document has no case; --strict-all when a testable clause of any
document has neither a case nor a same_as; both, on any problem (a case or a same_as naming what
is not in the inventory). Cases are read from their source (the @case(...) decorators), so no
target is needed.
"""
import argparse
import ast
import pathlib
import sys

from . import clauses as sc_clauses
from .root import ROOT

CASES = ROOT / "conformance" / "cases"
CANONICAL = "micropython-usocket.txt"


def cited(cases_dir=CASES):
    """{clause ID: [case names]} from every @case(...) under cases_dir; and [(case, problem)]."""
    by_clause, problems = {}, []
    for path in sorted(pathlib.Path(cases_dir).glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            name = "%s::%s" % (path.name, node.name)
            ids = None
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and ast.unparse(dec.func) in ("case", "sc_case.case"):
                    ids = [a.value for a in dec.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                    if len(ids) != len(dec.args):
                        problems.append((name, "@case takes clause IDs as string literals"))
            if not ids:
                problems.append((name, "no @case(clause IDs...)"))
                continue
            for cid in ids:
                by_clause.setdefault(cid, []).append(name)
    return by_clause, problems


def links(cid, c, inventory, by_clause):
    """What is wrong with clause c's same_as (sockconf/clauses.py), as a list of sentences: each
    canonical clause it names must be in the inventory, testable and cited by a case, and only a
    testable clause of a port's document links to them."""
    wrong = []
    v = c.get("same_as")
    if v is None:
        return wrong
    if not (isinstance(v, str) or isinstance(v, list) and v and all(isinstance(x, str) for x in v)):
        return ["%s: same_as must be a clause ID or a non-empty list of them, not %r" % (cid, v)]
    named = sc_clauses.same_as(c)
    if c.get("why_untested"):
        wrong.append("%s has both a same_as and a why_untested" % cid)
    if c["doc"] == CANONICAL:
        wrong.append("%s is a canonical clause: only a port's clause is the same as one" % cid)
    if not c["testable"]:
        wrong.append("%s is untestable, yet says it is the same as %s" % (cid, ", ".join(named)))
    for x in named:
        target = inventory.get(x)
        if target is None:
            wrong.append("%s is the same as %s, which is not in vectors/clauses" % (cid, x))
        elif target["doc"] != CANONICAL:
            wrong.append("%s is the same as %s, which is not a clause of %s" % (cid, x, CANONICAL))
        elif not target["testable"]:
            wrong.append("%s is the same as %s, which is untestable" % (cid, x))
        elif not by_clause.get(x):
            wrong.append("%s is the same as %s, which has no case" % (cid, x))
    return wrong


def report(doc=None, out=sys.stdout):
    """Print the report; (the testable clauses of the canonical document without a case, the
    testable clauses of any document with neither a case nor a sound same_as, the problems)."""
    inventory = sc_clauses.load()
    by_clause, problems = cited()
    missing, missing_all = [], []
    counts = {}         # doc: [testable, with a case, covered by a same_as]
    for cid, c in inventory.items():
        if doc and c["doc"] != doc:
            continue
        cases = by_clause.get(cid, [])
        named = sc_clauses.same_as(c)
        wrong = links(cid, c, inventory, by_clause)
        problems += [(cid, w) for w in wrong]
        count = counts.setdefault(c["doc"], [0, 0, 0])
        count[0] += c["testable"]
        same = "same as %s" % ", ".join("%s (%s)" % (x, ", ".join(by_clause.get(x, [])) or "no case") for x in named)
        if cases and not c["testable"]:
            problems.append((", ".join(cases), "cites %s, which the inventory says is untestable" % cid))
        if cases:
            count[1] += c["testable"]
            out.write("%-34s %s%s\n" % (cid, ", ".join(cases), "; " + same if named else ""))
        elif named and c["testable"] and not wrong:
            count[2] += 1
            out.write("%-34s %s\n" % (cid, same))
        elif not c["testable"]:
            out.write("%-34s untested: %s\n" % (cid, c.get("why_untested", "?")))
        else:
            out.write("%-34s UNTESTED: %s\n" % (cid, "no case yet" if not named else
                                                  "no case, and its same_as does not hold (below)"))
            missing_all.append(cid)
            if c["doc"] == CANONICAL:
                missing.append(cid)
    for cid in sorted(set(by_clause) - set(inventory)):
        problems.append((", ".join(by_clause[cid]), "cites %s, which is not in vectors/clauses" % cid))
    for name, problem in problems:
        out.write("problem: %s: %s\n" % (name, problem))
    for d, (testable, with_case, same) in counts.items():
        if d != CANONICAL:
            out.write("%s: %d of %d testable clauses have a case, %d more a same_as, %d neither\n"
                      % (d, with_case, testable, same, testable - with_case - same))
    if not doc or doc == CANONICAL:     # the last line (make coverage shows it)
        testable = counts.get(CANONICAL, [0])[0]
        out.write("canonical document: %d of %d testable clauses have a case\n" % (testable - len(missing), testable))
    return missing, missing_all, problems


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sockconf.coverage", description=__doc__.splitlines()[0])
    ap.add_argument("--doc", help="only this document's clauses")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a canonical testable clause has no case")
    ap.add_argument("--strict-all", action="store_true",
                    help="exit 1 if a testable clause of any document has neither a case nor a same_as")
    args = ap.parse_args(argv)
    missing, missing_all, problems = report(args.doc)
    if args.strict_all:
        return 1 if missing_all or problems else 0
    return 1 if args.strict and (missing or problems) else 0


if __name__ == "__main__":
    sys.exit(main())
