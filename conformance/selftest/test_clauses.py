"""The clause inventory is true to the documents, and every case cites clauses from it."""
import pathlib
import re

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
    """Each deviation, timeout unit and address form a profile documents carries a quote that is in
    the named document (or, without `doc`, in one of the profile's documents)."""
    if not DOCS.is_dir():
        pytest.skip("the contract documents are not at %s" % DOCS)
    p = sc_profiles.load(name, INVENTORY)
    entries = list(p["deviations"]) + ([p["timeout_unit"]] if p["timeout_unit"]["unit"] != "s" else [])
    entries.append(p["addresses"])
    if "bind_quote" in p["addresses"]:
        entries.append({"doc": p["addresses"].get("doc"), "quote": p["addresses"]["bind_quote"]})
    for e in entries:
        docs = [e["doc"]] if e.get("doc") else p["documents"]
        texts = [sc_clauses.norm((DOCS / d).read_text(encoding="utf-8")) for d in docs]
        assert any(sc_clauses.norm(e["quote"]) in t for t in texts), "%s: quote %r is not in %s" % (
            name, e["quote"], docs)


# --- completeness: every statement of a document is covered by the quotes of its clauses ---------

_FENCE = re.compile(r"^\s*```")
_MD_HEADING = re.compile(r"^#{1,6}\s")
_BULLET = re.compile(r"^(?:[•*]|-(?=\s))\s+")
_BOLD_ONLY = re.compile(r"^\*\*[^*]+\*\*$")
_TABLE_SEP = re.compile(r"^\|?[\s:|]*-[\s:|-]*\|?$")
_NAME = r"[A-Za-z_][\w.]*"
_CODE = [re.compile(p) for p in (
    r"^(?:import\s+\w|from\s+\S+\s+import\s)",                       # imports
    r"^(?:if|elif|while|for|with|def|except)\b.*:$",                  # compound statements
    r"^(?:else|try|finally):$",
    r"^(?:raise|break|continue|pass|return)\b(?:\s+\w.*)?$",
    r"^%s(?:\s*,\s*%s)*\s*=(?!=)\s*(?:%s|\d+)(?:\(.*\)|\[.*?\])*$" % (_NAME, _NAME, _NAME),  # x = f(...)[...]
    r"^%s\(.*\)(?:\[.*?\])*$" % _NAME,                                # a call or a signature alone: f(...)
    r"^[A-Za-z_]\w*(?:\.\w+)+\*?$",                                    # a dotted name: usocket.AF_INET, usocket.SOL_*
    r"^\([\w\s,]*\)$",                                                # a tuple of names
    r"^(?:class|exception)\s+[\w.]+$",                                # class/exception headings
)]
_SENTENCE_END = re.compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.!?])\s+|(?<=:)\n")
_PROSE_END = ".:;,!?”\"'`|"
_JOINERS = {"and", "or", "but"}

# Text the statement rule reads as prose but that states nothing: (document, exact text) -> why.
NOT_STATEMENTS = {
    ("uc386-socket.txt", "- lwIP poll."): "the title of the second quirk, run into the previous line when the "
                                          "page was flattened",
}


def _comment_at(line):
    """Where the comment of a code line starts ('#' outside a string literal, at the start or after a
    blank), or -1."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return i
    return -1


def _is_code(s):
    return s.startswith(">>>") or any(p.match(s) for p in _CODE)


def statements(text, markdown):
    """The statements of a document: [(text, [offset in `text` of each of its characters])].

    The document is read line by line:
      - code is not a statement: lines inside ``` fences (Markdown), `>>>` REPL lines and the output
        line after one, and lines that parse as Python (imports, `if ...:`/`while ...:`/`try:`,
        `x = f(...)[...]`, a call or signature alone on its line, a dotted name such as
        `usocket.AF_INET` or `usocket.SOL_*`, a tuple of names, `class X`/`exception X`);
      - but the comment of a code line (from its `#`) is a statement: the documents put requirements
        there ("# You must use getaddrinfo() even for numeric addresses"); whole-line comments on
        consecutive lines are one paragraph;
      - headings are not statements: the first line of a plain-text document (its title), Markdown
        front matter and `#` headings, a line that is only **bold**, a line of at most 8 words that
        starts with a capital and does not end in punctuation ("Difference to CPython", "Quirks on
        this port"), a label of at most 3 words that starts with a capital and ends in ':' ("Example:",
        "Summing up:"; also as the last sentence of a paragraph), and a table's header row and separator;
      - every other line is prose: a list item (•, *, -) or a table row starts a paragraph of its own,
        a Markdown quote ('>') is read without its marker, and consecutive prose lines are one
        paragraph (uc386-socket.txt is hard-wrapped);
      - a paragraph is split into sentences after '.', '!' or '?' (not in "e.g.", "i.e.") and after a
        ':' that ends a line.
    """
    paragraphs, cur, kind = [], None, None
    in_fence = False
    front = markdown and text.startswith("---")
    after_repl = False
    offset = 0

    def close():
        nonlocal cur, kind
        if cur:
            paragraphs.append(cur)
        cur, kind = None, None

    def add(start, end, new_kind, join):
        nonlocal cur, kind
        if not (join and cur and kind == new_kind):
            close()
            cur, kind = [], new_kind
        cur.append((start, end))

    for n, line in enumerate(text.split("\n")):
        off, offset = offset, offset + len(line) + 1
        s = line.strip()
        lead = off + len(line) - len(line.lstrip())
        if front:
            front = not (n > 0 and s == "---")
            continue
        if markdown and _FENCE.match(line):
            in_fence = not in_fence
            close()
            continue
        if not s:
            close()
            after_repl = False
            continue
        if n == 0 and not markdown:
            continue
        c = _comment_at(line)
        code = line[:c].strip() if c >= 0 else s
        if in_fence or (c >= 0 and not (markdown and c == len(line) - len(line.lstrip()))
                        and (not code or _is_code(code))) or _is_code(s):
            if c >= 0:
                add(off + c + 1, off + len(line), "comment", join=not code)
            else:
                close()
            after_repl = s.startswith(">>>")
            continue
        if after_repl:
            after_repl = False
            close()
            continue
        if markdown and s.startswith(">"):
            lead = off + line.index(">") + 1
            s = s[1:].strip()
        if (markdown and _MD_HEADING.match(s)) or _BOLD_ONLY.match(s):
            close()
            continue
        words = s.split()
        if s[0].isupper() and ((len(words) <= 8 and s[-1] not in _PROSE_END) or (len(words) <= 3 and s[-1] == ":")):
            close()
            continue
        if _TABLE_SEP.match(s):
            if paragraphs and kind is None and paragraphs[-1][0][2:] == ("table",):
                paragraphs.pop()                                  # the header row
            close()
            continue
        m = _BULLET.match(s)
        if s.startswith("|") or s.endswith("|"):
            close()
            paragraphs.append([(lead, off + len(line), "table")])
            continue
        add(lead + (m.end() if m else 0), off + len(line), "prose", join=not m)
    close()

    out = []
    for para in paragraphs:
        chars, index = [], []
        for seg in para:
            if index:
                chars.append("\n")
                index.append(None)
            chars.extend(text[seg[0]:seg[1]])
            index.extend(range(seg[0], seg[1]))
        joined = "".join(chars)
        start = 0
        for m in list(_SENTENCE_END.finditer(joined)) + [None]:
            end = m.start() if m else len(joined)
            sentence = joined[start:end].strip()
            if sentence and not (sentence[0].isupper() and len(sentence.split()) <= 3 and sentence[-1] == ":"):
                out.append((sentence, [i for i in index[start:end] if i is not None]))
            start = m.end() if m else end
    return out


def quoted(text, clauses):
    """[bool per character of `text`]: inside the quote of one of `clauses`. A quote (whitespace-
    insensitive) covers its first occurrence at or after its section's first occurrence."""
    norm_chars, where = [], []
    for m in re.finditer(r"\s+|\S+", text):
        if m.group().isspace():
            norm_chars.append(" ")
            where.append(m.start())
        else:
            norm_chars.extend(m.group())
            where.extend(range(m.start(), m.end()))
    normed = "".join(norm_chars)
    covered = [False] * len(text)
    for c in clauses:
        q = sc_clauses.norm(c["quote"])
        at = normed.find(q, max(normed.find(sc_clauses.norm(c["section"])), 0))
        at = normed.find(q) if at < 0 else at
        for i in range(at, at + len(q) if at >= 0 else at):
            covered[where[i]] = True
    return covered


@pytest.mark.parametrize("doc", sorted(PREFIX))
def test_every_statement_is_quoted(doc):
    """Every statement of the document (see `statements` for what counts) is covered by the quotes of
    its clauses: each of its words (runs of letters and digits) lies inside the text a quote covers
    (see `quoted`), except 'and', 'or' and 'but' joining two quotes. A quote may cover part of a
    sentence or several. NOT_STATEMENTS lists the few bits of prose that state nothing."""
    if not DOCS.is_dir():
        pytest.skip("the contract documents are not at %s" % DOCS)
    text = (DOCS / doc).read_text(encoding="utf-8")
    covered = quoted(text, [c for c in INVENTORY.values() if c["doc"] == doc])
    for (d, bit), why in NOT_STATEMENTS.items():
        if d == doc:
            spans = quoted(text, [{"quote": bit, "section": ""}])
            assert any(spans), "NOT_STATEMENTS: %r is not in %s" % (bit, doc)
            covered = [a or b for a, b in zip(covered, spans)]
    missing = []
    for sentence, index in statements(text, doc.endswith(".md")):
        words, word = [], []
        for i in index + [None]:
            if i is not None and text[i].isalnum() and (not word or word[-1] == i - 1):
                word.append(i)
                continue
            if word:
                words.append(word)
            word = [i] if i is not None and text[i].isalnum() else []
        bare = ["".join(text[i] for i in w) for w in words if not all(covered[i] for i in w)]
        if [w for w in bare if w.lower() not in _JOINERS]:
            missing.append("%s  [unquoted: %s]" % (" ".join(sentence.split()), " ".join(bare)))
    assert not missing, "%d statement(s) of %s in no clause's quote (add clauses to vectors/clauses/):\n  %s" % (
        len(missing), doc, "\n  ".join(missing))


def test_semantics_quotes_every_canonical_clause():
    """ref/SEMANTICS.md quotes every clause of the canonical document. Its quotations are the first
    column of each table row, from the first double quote to the last, cut into pieces at each '...'
    (an omission); all text is whitespace-normalised as sc_clauses.norm does. A clause is quoted when
    one piece holds its whole quote, or a stretch of its quote at least 30 characters long that is in
    no other canonical clause's quote (so the part names this clause: "The socket must be connected
    to a remote socket." is in both send's and sendall's, and quotes neither)."""
    min_part = 30
    semantics = sc_clauses.ROOT / "ref" / "SEMANTICS.md"
    pieces = []
    for line in semantics.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2 and cells[1].count('"') >= 2:
            first = cells[1]
            pieces += [sc_clauses.norm(p) for p in first[first.index('"') + 1:first.rindex('"')].split("...")]
    quoted = "\n".join(p for p in pieces if p)      # no stretch of a quote spans two pieces
    quotes = {cid: sc_clauses.norm(c["quote"]) for cid, c in INVENTORY.items() if c["doc"] == sc_coverage.CANONICAL}
    assert quotes, "no clauses of %s in the inventory" % sc_coverage.CANONICAL
    missing = []
    for cid, q in quotes.items():
        found, j = q in quoted, 0
        for i in range(len(q)):
            if found:
                break
            # q[i:j] is the longest stretch from i that one piece holds; if another clause's quote has
            # it, that quote has every shorter stretch from i too
            j = max(j, i)
            while j < len(q) and q[i:j + 1] in quoted:
                j += 1
            found = j - i >= min_part and sum(q[i:j] in other for other in quotes.values()) == 1
        if not found:
            missing.append(cid)
    assert not missing, "%d clause(s) of %s not quoted in ref/SEMANTICS.md (add a row for each): %s" % (
        len(missing), sc_coverage.CANONICAL, ", ".join(missing))


# --- coverage: cases and same_as links ----------------------------------------------------------

def test_every_same_as_names_a_canonical_clause_with_a_case():
    """A port's clause that says it is the same as canonical clauses (same_as, sockconf/clauses.py)
    is testable, and each clause it names is a testable clause of the canonical document that a case
    cites: the link stands for those cases, which run under the port's profile."""
    by_clause, _ = sc_coverage.cited()
    wrong = []
    for cid, c in INVENTORY.items():
        wrong += sc_coverage.links(cid, c, INVENTORY, by_clause)
    assert not wrong, "\n".join(wrong)


def _inventory(*entries):
    """A small inventory: (id, doc, testable, extra keys)."""
    return {cid: dict({"id": cid, "doc": doc, "section": "s", "quote": "q", "testable": testable}, **extra)
            for cid, doc, testable, extra in entries}


CANON, PORT = sc_coverage.CANONICAL, "pycom-usocket.md"
SMALL = _inventory(("mp:a", CANON, True, {}), ("mp:b", CANON, True, {}),
                   ("mp:c", CANON, False, {"why_untested": "background"}),
                   ("p:same", PORT, True, {"same_as": "mp:a"}), ("p:two", PORT, True, {"same_as": ["mp:a", "mp:b"]}),
                   ("p:case", PORT, True, {}), ("p:none", PORT, True, {}),
                   ("p:untestable", PORT, False, {"why_untested": "a radio"}))
SMALL_CASES = {"mp:a": ["test_x.py::test_a"], "p:case": ["test_port.py::test_p"]}


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(sc_coverage.sc_clauses, "load", lambda: SMALL)
    monkeypatch.setattr(sc_coverage, "cited", lambda: ({k: list(v) for k, v in SMALL_CASES.items()}, []))


def test_coverage_counts_a_same_as_only_when_its_canonical_clauses_have_cases(small):
    import io
    out = io.StringIO()
    missing, missing_all, problems = sc_coverage.report(out=out)
    text = out.getvalue()
    assert missing == ["mp:b"]
    assert missing_all == ["mp:b", "p:two", "p:none"]
    assert [p for _, p in problems] == ["p:two is the same as mp:b, which has no case"]
    assert "p:same" in text and "same as mp:a (test_x.py::test_a)" in text
    assert "%s: 1 of 4 testable clauses have a case, 1 more a same_as, 2 neither" % PORT in text
    assert text.splitlines()[-1] == "canonical document: 1 of 2 testable clauses have a case"


def test_strict_is_the_canonical_document_and_strict_all_every_document(small, monkeypatch, capsys):
    """--strict fails on a canonical clause without a case (or a problem); --strict-all also on a
    port's testable clause with neither a case nor a same_as that holds."""
    assert sc_coverage.main([]) == 0
    assert sc_coverage.main(["--strict"]) == 1                 # mp:b has no case
    monkeypatch.setitem(SMALL_CASES, "mp:b", ["test_x.py::test_b"])
    assert sc_coverage.main(["--strict"]) == 0
    assert sc_coverage.main(["--strict-all"]) == 1             # p:none has neither
    monkeypatch.setitem(SMALL["p:none"], "same_as", "mp:b")
    assert sc_coverage.main(["--strict-all"]) == 0
    monkeypatch.setitem(SMALL["p:none"], "same_as", "mp:c")    # an untestable canonical clause
    assert sc_coverage.main(["--strict-all"]) == 1
    assert sc_coverage.main(["--strict"]) == 1                 # a same_as that does not hold is a problem
    capsys.readouterr()


def test_a_case_citing_an_untestable_clause_is_a_problem(small, monkeypatch, capsys):
    monkeypatch.setitem(SMALL_CASES, "p:untestable", ["test_port.py::test_radio"])
    problems = sc_coverage.report()[2]
    capsys.readouterr()
    assert ("test_port.py::test_radio", "cites p:untestable, which the inventory says is untestable") in problems


@pytest.mark.parametrize("entry, why", [
    ({"id": "p:x", "doc": PORT, "testable": False, "why_untested": "a radio", "same_as": "mp:a"}, "untestable"),
    ({"id": "mp:x", "doc": CANON, "testable": True, "same_as": "mp:a"}, "canonical clause"),
    ({"id": "p:x", "doc": PORT, "testable": True, "same_as": "mp:zzz"}, "not in vectors/clauses"),
    ({"id": "p:x", "doc": PORT, "testable": True, "same_as": "p:case"}, "not a clause of"),
    ({"id": "p:x", "doc": PORT, "testable": True, "same_as": []}, "a clause ID or a non-empty list"),
])
def test_a_same_as_that_does_not_hold_is_named(entry, why):
    wrong = sc_coverage.links(entry["id"], entry, SMALL, SMALL_CASES)
    assert wrong and any(why in w for w in wrong), wrong
