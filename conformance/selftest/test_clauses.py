"""The clause inventory is true to the documents, and every case cites clauses from it."""
import pathlib

import pytest

from sockconf import clauses as sc_clauses
from sockconf import coverage as sc_coverage

DOCS = pathlib.Path(__file__).resolve().parent.parent.parent.parent / "shared" / "docs"
PREFIX = {"micropython-usocket.txt": "mp:", "pycom-usocket.md": "pycom:", "zerynth-socket.txt": "zerynth:",
          "uc386-socket.txt": "uc386:"}
INVENTORY = sc_clauses.load()


@pytest.mark.parametrize("cid", sorted(INVENTORY))
def test_clause_is_in_its_document(cid):
    if not DOCS.is_dir():
        pytest.skip("the contract documents are not at %s" % DOCS)
    c = INVENTORY[cid]
    assert cid.startswith(PREFIX[c["doc"]]), "%s: the ID of a clause of %s starts with %s" % (cid, c["doc"],
                                                                                               PREFIX[c["doc"]])
    text = sc_clauses.norm((DOCS / c["doc"]).read_text(encoding="utf-8"))
    assert sc_clauses.norm(c["section"]) in text, "section %r is not in %s" % (c["section"], c["doc"])
    assert sc_clauses.norm(c["quote"]) in text, "quote %r is not in %s" % (c["quote"], c["doc"])
    assert c["testable"] or c.get("why_untested"), "%s is untestable but says not why" % cid


def test_every_case_cites_known_clauses():
    by_clause, problems = sc_coverage.cited()
    assert by_clause, "no cases found"
    unknown = sorted(set(by_clause) - set(INVENTORY))
    assert not problems and not unknown, (problems, unknown)
