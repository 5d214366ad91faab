"""The table of normative observations (conformance/cases/NORMATIVE.md) is complete and true:
every side.same(key, value, clause) a case makes has a row naming the case, the key and the
clause, with the clause's exact quote: the sentence that pins the value, so the oracle's value
may be required of the target. Nothing else is compared with the oracle."""
import ast
import pathlib
import re

from sockconf import clauses as sc_clauses

CASES = pathlib.Path(__file__).resolve().parent.parent / "cases"
TABLE = CASES / "NORMATIVE.md"
ROW = re.compile(r"^\| `(?P<case>[\w.:]+)` \| `(?P<key>[^`]+)` \| `(?P<clause>[\w:.-]+)` \| (?P<quote>.+) \|$")


def _same_calls(fn):
    """(key, clause) of every side.same(...) in a function; a key or clause that is not a string
    literal is reported as None."""
    out = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "same":
            args = list(node.args) + [k.value for k in node.keywords if k.arg in ("key", "value", "clause")]
            lit = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in args]
            out.append((lit[0] if lit else None, lit[2] if len(lit) > 2 else None))
    return out


def observations():
    """{(file::case, key, clause)} from the cases' source: a same() in a helper counts for every
    case of its file that calls the helper."""
    found = set()
    for path in sorted(CASES.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        helpers = {name: _same_calls(f) for name, f in funcs.items() if not name.startswith("test_")}
        for name, f in funcs.items():
            if not name.startswith("test_"):
                continue
            calls = _same_calls(f)
            for node in ast.walk(f):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
                    calls += helpers[node.func.id]
            found |= {("%s::%s" % (path.name, name), key, clause) for key, clause in calls}
    return found


def rows():
    out = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            out[(m["case"], m["key"], m["clause"])] = m["quote"]
    return out


def test_every_observation_names_its_key_and_clause_literally():
    bad = sorted(o for o in observations() if None in o)
    assert not bad, "side.same needs a string key and a string clause ID, so the table can name them: %s" % bad


def test_every_normative_observation_has_a_row_and_no_row_is_stale():
    code, table = observations(), set(rows())
    assert code - table == set(), "NORMATIVE.md lacks rows for: %s" % sorted(code - table)
    assert table - code == set(), "NORMATIVE.md has rows no case makes: %s" % sorted(table - code)


def test_every_row_quotes_the_sentence_of_its_clause():
    inventory = sc_clauses.load()
    for (case, key, clause), quote in rows().items():
        assert clause in inventory, "%s: %s is not in vectors/clauses" % (case, clause)
        want = inventory[clause]["quote"]
        assert sc_clauses.norm(quote.strip('"')) == sc_clauses.norm(want), (case, key, quote, want)
