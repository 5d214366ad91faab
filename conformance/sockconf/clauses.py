"""The clause inventory (vectors/clauses/*.json): every testable statement of the four documents,
with a stable ID (`mp:send.short-write`), its section and its exact quote.

An entry is {"id", "section", "quote", "testable"}, with "why_untested" (a reason a reviewer
accepts: a radio, another module, nothing a target could break) when testable is false. A
testable clause of a port's document may instead carry "same_as": the canonical clause it
restates (or a list of them, when the port's sentence joins several canonical ones), e.g.

    {"id": "pycom:listen", "quote": "Enable a server to accept connections.", "testable": true,
     "same_as": "mp:listen"}

It says that the cases of those canonical clauses, which run under every profile naming the
canonical document, check this sentence on that port: the port's sentence states the same rule,
and those cases reach it through the port's own documented forms (set-up in the profile's address
form). Such a clause is covered when each canonical clause it names has a case
(sockconf/coverage.py)."""
import json
import pathlib
import re

from .root import ROOT

INVENTORY = ROOT / "vectors" / "clauses"


def norm(text):
    """Whitespace-insensitive form for finding a quote in a document."""
    return re.sub(r"\s+", " ", text).strip()


def same_as(entry):
    """The canonical clause IDs an entry's same_as names, as a list ([] without one)."""
    v = entry.get("same_as")
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def load(directory=INVENTORY):
    """{clause ID: entry}; each entry has id, doc, section, quote, testable, and why_untested or
    same_as where it has one."""
    clauses = {}
    for path in sorted(pathlib.Path(directory).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for entry in data["clauses"]:
            if entry["id"] in clauses:
                raise ValueError("%s: clause %s is listed twice" % (path.name, entry["id"]))
            clauses[entry["id"]] = dict(entry, doc=data["doc"])
    return clauses
