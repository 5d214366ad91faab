"""Which cases cover each clause of the inventory, and why any clause is untested.

    python -m sockconf.coverage [--doc FILE] [--strict]

prints one line per clause: its ID, then the cases citing it, or UNTESTED with the reason the
inventory gives (or "no case yet"). --strict exits 1 when a testable clause of the canonical
document has no case. Cases are read from their source (the @case(...) decorators), so no
target is needed.
"""
import argparse
import ast
import pathlib
import sys

from . import clauses as sc_clauses

CASES = pathlib.Path(__file__).resolve().parent.parent / "cases"
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


def report(doc=None, out=sys.stdout):
    """Print the report; the testable clauses of the canonical document without a case."""
    inventory = sc_clauses.load()
    by_clause, problems = cited()
    missing = []
    for cid, c in inventory.items():
        if doc and c["doc"] != doc:
            continue
        cases = by_clause.get(cid, [])
        if cases:
            out.write("%-34s %s\n" % (cid, ", ".join(cases)))
        elif not c["testable"]:
            out.write("%-34s untested: %s\n" % (cid, c.get("why_untested", "?")))
        else:
            out.write("%-34s UNTESTED: no case yet\n" % cid)
            if c["doc"] == CANONICAL:
                missing.append(cid)
    for cid in sorted(set(by_clause) - set(inventory)):
        problems.append((", ".join(by_clause[cid]), "cites %s, which is not in vectors/clauses" % cid))
    for name, problem in problems:
        out.write("problem: %s: %s\n" % (name, problem))
    total = [c for c in inventory.values() if c["doc"] == CANONICAL and c["testable"]]
    out.write("canonical document: %d of %d testable clauses have a case\n" % (len(total) - len(missing), len(total)))
    return missing, problems


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sockconf.coverage", description=__doc__.splitlines()[0])
    ap.add_argument("--doc", help="only this document's clauses")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a canonical testable clause has no case")
    args = ap.parse_args(argv)
    missing, problems = report(args.doc)
    return 1 if args.strict and (missing or problems) else 0


if __name__ == "__main__":
    sys.exit(main())
