"""The clause inventory is true to the documents, and every case cites clauses from it."""
import pathlib

import pytest

from sockconf import clauses as sc_clauses
from sockconf import coverage as sc_coverage
from sockconf import profiles as sc_profiles

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


@pytest.mark.parametrize("name", sc_profiles.names())
def test_every_profile_quotes_its_documents(name):
    """Each deviation and timeout unit a profile documents carries a quote that is in the named
    document (or, without `doc`, in one of the profile's documents)."""
    if not DOCS.is_dir():
        pytest.skip("the contract documents are not at %s" % DOCS)
    p = sc_profiles.load(name, INVENTORY)
    entries = list(p["deviations"]) + ([p["timeout_unit"]] if p["timeout_unit"]["unit"] != "s" else [])
    for e in entries:
        docs = [e["doc"]] if e.get("doc") else p["documents"]
        texts = [sc_clauses.norm((DOCS / d).read_text(encoding="utf-8")) for d in docs]
        assert any(sc_clauses.norm(e["quote"]) in t for t in texts), "%s: quote %r is not in %s" % (
            name, e["quote"], docs)
