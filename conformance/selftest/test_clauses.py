"""Every conformance case cites the documented sentence it checks, and the sentence is really there."""
import ast
import pathlib
import re

import pytest

CASES = pathlib.Path(__file__).resolve().parent.parent / "cases"
DOCS = pathlib.Path(__file__).resolve().parent.parent.parent.parent / "shared" / "docs"


def _norm(text):
    return re.sub(r"\s+", " ", text).strip()


def _cases():
    """(path, function node, module string constants) for every test function in cases/."""
    for path in sorted(CASES.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 and isinstance(n.value, ast.Constant) for t in n.targets if isinstance(t, ast.Name)}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                yield pytest.param(node, names, id="%s::%s" % (path.name, node.name))


def _clause(func, names):
    """(doc, section, quote) of the case's @pytest.mark.clause(...), or None."""
    for dec in func.decorator_list:
        if isinstance(dec, ast.Call) and ast.unparse(dec.func) == "pytest.mark.clause":
            return tuple(eval(ast.unparse(a), {"__builtins__": {}}, names) for a in dec.args)
    return None


def test_there_are_cases():
    assert list(_cases())


@pytest.mark.parametrize("func,names", _cases())
def test_case_cites_a_documented_sentence(func, names):
    if not DOCS.is_dir():
        pytest.skip("the contract documents are not at %s" % DOCS)
    clause = _clause(func, names)
    assert clause and len(clause) == 3, "%s has no @pytest.mark.clause(doc, section, quote)" % func.name
    doc, section, quote = clause
    text = _norm((DOCS / doc).read_text(encoding="utf-8"))
    assert _norm(section) in text, "section %r is not in %s" % (section, doc)
    assert _norm(quote) in text, "quote %r is not in %s" % (quote, doc)
