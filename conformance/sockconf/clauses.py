"""The clause inventory (vectors/clauses/*.json): every testable statement of the four documents,
with a stable ID (`mp:send.short-write`), its section and its exact quote."""
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
INVENTORY = ROOT / "vectors" / "clauses"


def norm(text):
    """Whitespace-insensitive form for finding a quote in a document."""
    return re.sub(r"\s+", " ", text).strip()


def load(directory=INVENTORY):
    """{clause ID: entry}; each entry has id, doc, section, quote, testable, why_untested."""
    clauses = {}
    for path in sorted(pathlib.Path(directory).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for entry in data["clauses"]:
            if entry["id"] in clauses:
                raise ValueError("%s: clause %s is listed twice" % (path.name, entry["id"]))
            clauses[entry["id"]] = dict(entry, doc=data["doc"])
    return clauses
