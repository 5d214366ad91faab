"""The cross-port matrix: several results files as one self-contained HTML page and one Markdown table.

    python -m sockconf.reports.matrix --out DIR [LABEL=]RESULTS.json...

writes DIR/matrix.html and DIR/matrix.md. Rows are cases, grouped by the document and section of
their first clause (in the documents' order); columns are targets, labelled LABEL or else the
target's spec (the file's name when the spec is long). Every cell is one case on one target,
coloured by status; a cell that did not run says so. In the page a cell opens the oracle's and
the target's transcripts side by side, the reason, and the cited sentences; a summary row gives
each target's counts and its share conforming: PASS or DEVIATION, of the cases that ran and
are not UNSUPPORTED. The page needs no network and no script (a little script only marks the
open cell and closes it on Escape).
"""
import argparse
import datetime
import html
import pathlib
import re
import sys

from .. import clauses as sc_clauses
from . import results as rp_results

NOT_RUN = "not run"
CLASS = {"PASS": "pass", "FAIL": "fail", "DEVIATION": "dev", "UNSUPPORTED": "unsup", "UNRESOLVED": "unres",
         NOT_RUN: "none"}
MEANING = {
    "PASS": "every check held; every normative observation equals the oracle's",
    "FAIL": "a check failed or an observation differs from the oracle's",
    "DEVIATION": "it differs, as the target's profile documents",
    "UNSUPPORTED": "the target lacks a capability the case needs",
    "UNRESOLVED": "could not be decided; always with the reason",
    NOT_RUN: "the target's run did not include this case",
}
LABEL_MAX = 24
HEAD, TAIL, LINE_MAX = 60, 20, 400   # what the page shows of a transcript: first and last lines, their length


# ---- the model: targets across, cases down ----

def label(path, data, given=None):
    """A column's label: GIVEN, else the target's spec when it is short, else the file's name."""
    spec = data["target"].get("spec") or ""
    if given:
        return given
    return spec if spec and len(spec) <= LABEL_MAX and " " not in spec else pathlib.Path(path).stem


def build(runs, clauses):
    """runs: [(label, results data)]. {"targets": [...], "groups": [{"doc", "section", "rows"}]}:
    each row is {"id", "name", "clauses", "cells": [the case's entry in each target's results, or None]}."""
    where = rp_results.place(clauses)
    seen, labels = {}, []
    for name, data in runs:
        for case in data["cases"]:
            seen.setdefault(case["id"], (where(case), case.get("clauses", [])))
        n, k = name, 2
        while n in labels:
            n, k = "%s #%d" % (name, k), k + 1
        labels.append(n)
    by_target = [{c["id"]: c for c in data["cases"]} for _, data in runs]
    groups = []
    for cid, ((key, doc, section), cids) in sorted(seen.items(), key=lambda kv: kv[1][0][0]):
        if not groups or (groups[-1]["doc"], groups[-1]["section"]) != (doc, section):
            groups.append({"doc": doc, "section": section, "rows": []})
        groups[-1]["rows"].append({"id": cid, "name": rp_results.name(cid), "clauses": cids,
                                   "cells": [t.get(cid) for t in by_target]})
    targets = []
    for lab, (_, data) in zip(labels, runs):
        ok, applicable = rp_results.conforming(data["cases"])
        targets.append({"label": lab, "data": data, "counts": rp_results.counts(data["cases"]),
                        "conforming": ok, "applicable": applicable})
    return {"targets": targets, "groups": groups, "clauses": clauses}


def share(target):
    """'94% (15 of 16)', or '-' when no case applies."""
    if not target["applicable"]:
        return "-"
    return "%d%% (%d of %d)" % (100 * target["conforming"] // target["applicable"], target["conforming"],
                                target["applicable"])


def count_line(target):
    return ", ".join("%d %s" % (n, s) for s, n in target["counts"].items() if n) or "no cases"


def about(target):
    """impl version on machine, profile P."""
    t = target["data"]["target"]
    machine = (" on %s" % t["machine"]) if t.get("machine") else ""
    return "%s%s, profile %s" % (rp_results.target_name(target["data"]), machine, target["data"].get("profile"))


# ---- Markdown ----

def _md(s):
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(model):
    """The matrix as one Markdown table, with the targets and a legend below it."""
    targets = model["targets"]
    out = ["# sockconf conformance matrix", "",
           "| case | " + " | ".join(_md(t["label"]) for t in targets) + " |",
           "|---|" + "---|" * len(targets),
           "| **conforming** | " + " | ".join(share(t) for t in targets) + " |",
           "| **counts** | " + " | ".join(_md(count_line(t)) for t in targets) + " |"]
    for g in model["groups"]:
        out.append("| ***%s, %s*** |%s" % (_md(g["doc"]), _md(g["section"]), " |" * len(targets)))
        for row in g["rows"]:
            cells = []
            for case in row["cells"]:
                s = case["status"] if case else NOT_RUN
                cells.append("**%s**" % s if s in rp_results.FAILING else s)
            out.append("| `%s` | %s |" % (_md(row["name"]), " | ".join(cells)))
    out += ["", "Targets:", ""]
    for t in targets:
        out.append("- **%s**: %s; `%s` (%s)" % (_md(t["label"]), _md(about(t)), _md(t["data"]["target"].get("spec")),
                                               _md(pathlib.Path(t["data"].get("_path", "?")).name)))
    out += ["", "Conforming: PASS or DEVIATION, of the cases that ran and are not UNSUPPORTED. " +
            "; ".join("%s: %s" % (s, MEANING[s]) for s in rp_results.STATUSES + (NOT_RUN,)) + ".", ""]
    return "\n".join(out)


# ---- HTML ----

STYLE = """
:root { --pass: #1a7f37; --fail: #cf222e; --dev: #bf8700; --unsup: #57606a; --unres: #8250df; --none: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1em 2em; color: #1f2328; }
h1 { font-size: 1.4em; margin: .6em 0 .2em; }
.legend span { margin-right: 1em; white-space: nowrap; }
.badge { display: inline-block; padding: 0 .4em; border-radius: 3px; color: #fff; font-weight: 600; }
.s-pass { background: var(--pass); } .s-fail { background: var(--fail); } .s-dev { background: var(--dev); }
.s-unsup { background: var(--unsup); } .s-unres { background: var(--unres); }
.s-none { background: var(--none); color: #57606a; }
table#matrix { border-collapse: collapse; margin-top: 1em; }
#matrix th, #matrix td { border: 1px solid #d0d7de; padding: 2px 6px; }
#matrix thead th { background: #f6f8fa; vertical-align: bottom; }
#matrix thead tr:first-child th { position: sticky; top: 0; z-index: 1; }
#matrix th.target small { display: block; font-weight: normal; color: #57606a; max-width: 16em; }
#matrix tr.summary td { background: #f6f8fa; font-size: 12px; vertical-align: top; }
#matrix tr.summary .share { font-weight: 600; font-size: 14px; margin-bottom: 2px; }
#matrix tr.summary .count { font-size: 11px; margin: 1px 0; }
#matrix tr.section th { text-align: left; background: #eaeef2; font-weight: 600; }
#matrix th.case { text-align: left; font: 12px ui-monospace, monospace; font-weight: normal; }
#matrix td.cell { padding: 0; text-align: center; }
#matrix td.cell a { display: block; padding: 2px 8px; color: #fff; text-decoration: none; font-weight: 600;
  font-size: 12px; }
#matrix td.s-none a { color: #57606a; font-weight: normal; }
#matrix td.cell a:hover, #matrix td.cell a:focus, #matrix td.cell.open a { outline: 3px solid #0969da;
  outline-offset: -3px; }
.detail { display: none; position: fixed; top: 0; right: 0; bottom: 0; width: min(56em, 60vw); overflow: auto;
  background: #fff; border-left: 1px solid #d0d7de; box-shadow: -4px 0 12px rgba(0,0,0,.15); padding: 0 1.2em 1em;
  z-index: 2; }
.detail:target { display: block; }
.detail h2 { font-size: 1.1em; font-family: ui-monospace, monospace; word-break: break-all; }
.detail h3 { font-size: 1em; margin: 1em 0 .3em; }
.detail .close { float: right; margin-top: 1em; }
.detail blockquote { margin: .2em 0 .6em 1em; padding-left: .6em; border-left: 3px solid #d0d7de; }
.detail .about { color: #57606a; }
table.transcript { border-collapse: collapse; width: 100%; table-layout: fixed; }
table.transcript th { text-align: left; background: #f6f8fa; }
table.transcript td, table.transcript th { border: 1px solid #d0d7de; padding: 1px 4px; vertical-align: top;
  font: 12px ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
table.transcript tr.differs td { background: #fff8c5; }
table.transcript tr.gap td { background: #eaeef2; font-style: italic; text-align: center; }
dl.kv dt { font-family: ui-monospace, monospace; } dl.kv dd { margin: 0 0 .3em 1.5em;
  font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
footer { margin-top: 1.5em; color: #57606a; font-size: 12px; }
"""

SCRIPT = """
(function () {
  function mark() {
    var open = document.querySelectorAll("td.cell.open");
    for (var i = 0; i < open.length; i++) open[i].classList.remove("open");
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var a = document.querySelector('td.cell a[href="#' + id + '"]');
    if (a) a.parentNode.classList.add("open");
  }
  window.addEventListener("hashchange", mark);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && location.hash) location.hash = "";
  });
  mark();
})();
"""


def _e(s):
    return html.escape(str(s), quote=True)


ADDRESS = re.compile(r"'(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]*:[0-9a-fA-F:.]*)'(?:, \d+)?")


def _shape(line):
    """A transcript line with its addresses and ports masked: they differ between the oracle's
    network and the target's, and from run to run."""
    return ADDRESS.sub("'ADDRESS'", line)


def _clip(line):
    return line if len(line) <= LINE_MAX else line[:LINE_MAX] + " \u2026 (%d characters)" % len(line)


def _shown(n):
    """(the transcript rows the page shows of N: all, or the first and last few; the row after the gap)."""
    if n <= HEAD + TAIL:
        return list(range(n)), None
    return list(range(HEAD)) + list(range(n - TAIL, n)), n - TAIL


def _transcript(case):
    t = (case or {}).get("transcript") or {}
    if not t.get("target"):
        return "<p>No transcript: the case did not reach the target%s.</p>" % (
            "" if case else " (it did not run)")
    oracle, target = t.get("oracle"), t["target"]
    n = max(len(oracle or []), len(target))
    rows, gap = _shown(n)
    if oracle is None:
        out = ["<p>The target is the oracle: one transcript.</p>",
               "<table class=\"transcript\"><tr><th>target (the oracle)</th></tr>"]
    else:
        out = ["<table class=\"transcript\"><tr><th>oracle</th><th>target</th></tr>"]
    for k in rows:
        if k == gap:
            out.append("<tr class=\"gap\"><td colspan=\"2\">\u2026 %d lines left out here; the results file has "
                       "them all \u2026</td></tr>" % (n - HEAD - TAIL))
        b = target[k] if k < len(target) else ""
        if oracle is None:
            out.append("<tr><td>%s</td></tr>" % _e(_clip(b)))
            continue
        a = oracle[k] if k < len(oracle) else ""
        out.append("<tr%s><td>%s</td><td>%s</td></tr>" % (
            " class=\"differs\"" if _shape(a) != _shape(b) else "", _e(_clip(a)), _e(_clip(b))))
    out.append("</table>")
    return "\n".join(out)


def _kv(title, d):
    if not d:
        return ""
    items = "".join("<dt>%s</dt><dd>%s</dd>" % (_e(k), _e(v)) for k, v in sorted(d.items()))
    return "<h3>%s</h3><dl class=\"kv\">%s</dl>" % (_e(title), items)


def _detail(did, row, target, case, clauses):
    status = case["status"] if case else NOT_RUN
    about_clause = (case or {}).get("clause")      # the clause a FAIL or DEVIATION is about
    cited = []
    for cid in row["clauses"] + ([about_clause] if about_clause and about_clause not in row["clauses"] else []):
        c = rp_results.cite(clauses, cid)
        mark = " <span class=\"badge s-%s\">the verdict's clause</span>" % CLASS[status] if (
            cid == about_clause) else ""
        where = "%s, %s" % (c["doc"], c["section"]) if c["doc"] else "not in the clause inventory"
        cited.append("<li><b>%s</b> (%s)%s<blockquote class=\"quote\">%s</blockquote></li>" % (
            _e(cid), _e(where), mark, _e(c["quote"] or "")))
    parts = [
        "<section class=\"detail\" id=\"%s\" role=\"dialog\" aria-label=\"%s on %s\">" % (
            did, _e(row["name"]), _e(target["label"])),
        "<a class=\"close\" href=\"#\" title=\"close (Escape)\">close \u00d7</a>",
        "<h2>%s</h2>" % _e(row["name"]),
        "<p><span class=\"badge s-%s\">%s</span> on <b>%s</b> <span class=\"about\">%s</span></p>" % (
            CLASS[status], _e(status), _e(target["label"]), _e(about(target))),
        "<p class=\"about\">%s</p>" % _e(row["id"]),
        "<h3>Cited</h3><ul class=\"clauses\">%s</ul>" % "".join(cited),
    ]
    if case and case.get("reason"):
        parts.append("<h3>Reason</h3><p class=\"reason\">%s</p>" % _e(case["reason"]))
    elif not case:
        parts.append("<p class=\"reason\">%s: not selected in that run, or its profile applies none of "
                     "the case's clauses.</p>" % _e(MEANING[NOT_RUN]))
    parts.append("<h3>Transcripts</h3>" + _transcript(case))
    if case:
        parts.append(_kv("Observations (normative)", case.get("observations")))
        parts.append(_kv("Details (implementation-defined)", case.get("detail")))
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def page(model, made=None):
    """The matrix as one self-contained HTML page (a str)."""
    made = made or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    targets, clauses = model["targets"], model["clauses"]
    rows = sum(len(g["rows"]) for g in model["groups"])
    head = ["<tr><th class=\"case\">case</th>"]
    for t in targets:
        spec = t["data"]["target"].get("spec", "")
        head.append("<th class=\"target\" scope=\"col\" title=\"%s\">%s<small>%s</small></th>" % (
            _e(spec), _e(t["label"]), _e(about(t))))
    head.append("</tr><tr class=\"summary\"><th class=\"case\">summary</th>")
    for t in targets:
        head.append("<td><div class=\"share\" title=\"PASS or DEVIATION, of the cases that ran and are not "
                    "UNSUPPORTED\">%s conforming</div>%s</td>" % (_e(share(t)), " ".join(
                        "<span class=\"badge count s-%s\" data-status=\"%s\">%d %s</span>" % (CLASS[s], s, n, s)
                        for s, n in t["counts"].items() if n)))
    head.append("</tr>")
    body, details = [], []
    r = 0
    for g in model["groups"]:
        body.append("<tr class=\"section\"><th colspan=\"%d\">%s &mdash; %s</th></tr>" % (
            len(targets) + 1, _e(g["doc"]), _e(g["section"])))
        for row in g["rows"]:
            r += 1
            cells = ["<tr><th class=\"case\" scope=\"row\" title=\"%s\">%s</th>" % (_e(row["id"]), _e(row["name"]))]
            for k, (t, case) in enumerate(zip(targets, row["cells"])):
                status = case["status"] if case else NOT_RUN
                did = "d%d-%d" % (r, k + 1)
                cells.append("<td class=\"cell s-%s\" data-status=\"%s\" data-target=\"%s\"><a href=\"#%s\" "
                             "title=\"%s on %s: %s\">%s</a></td>" % (
                                 CLASS[status], _e(status), _e(t["label"]), did, _e(row["name"]), _e(t["label"]),
                                 _e(status), _e(status)))
                details.append(_detail(did, row, t, case, clauses))
            body.append("".join(cells) + "</tr>")
    legend = "".join("<span><span class=\"badge s-%s\">%s</span> %s</span>" % (CLASS[s], _e(s), _e(MEANING[s]))
                     for s in rp_results.STATUSES + (NOT_RUN,))
    suites = sorted({"%s, vectors %s" % (t["data"]["suite"].get("version"),
                                         str(t["data"]["suite"].get("vectors_hash"))[:12]) for t in targets})
    files = ", ".join("%s: %s" % (t["label"], pathlib.Path(t["data"].get("_path", "?")).name) for t in targets)
    return "\n".join([
        "<!DOCTYPE html>",
        "<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<link rel=\"icon\" href=\"data:,\">",
        "<title>sockconf conformance matrix</title>",
        "<style>%s</style></head><body>" % STYLE,
        "<header><h1>sockconf conformance matrix</h1>",
        "<p>%d cases &times; %d targets. Open a cell for the oracle's and the target's transcripts and the "
        "sentence it checks; in a transcript, lines that differ other than in addresses and ports are marked.</p>" % (
            rows, len(targets)),
        "<p class=\"legend\">%s</p></header>" % legend,
        "<table id=\"matrix\"><thead>%s</thead><tbody>" % "".join(head),
        "\n".join(body),
        "</tbody></table>",
        "<div id=\"details\">",
        "\n".join(details),
        "</div>",
        "<footer>Made %s from %s. Suite %s%s.</footer>" % (
            _e(made), _e(files), _e("; ".join(suites)),
            " (the files come from different suites or vectors)" if len(suites) > 1 else ""),
        "<script>%s</script>" % SCRIPT,
        "</body></html>", ""])


# ---- the command ----

def write(specs, out_dir, made=None):
    """specs: ["[LABEL=]RESULTS.json", ...]; writes OUT_DIR/matrix.html and matrix.md; the model."""
    runs = []
    for spec in specs:
        given, eq, path = spec.partition("=")
        if not eq or not given or pathlib.Path(spec).exists():
            given, path = None, spec
        data = rp_results.load(path)
        runs.append((label(path, data, given), data))
    model = build(runs, sc_clauses.load())
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "matrix.html").write_text(page(model, made), encoding="utf-8")
    (out / "matrix.md").write_text(markdown(model), encoding="utf-8")
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sockconf.reports.matrix", description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", metavar="[LABEL=]RESULTS.json")
    ap.add_argument("--out", required=True, metavar="DIR", help="where matrix.html and matrix.md go")
    args = ap.parse_args(argv)
    try:
        model = write(args.results, args.out)
    except (rp_results.ResultsError, OSError) as e:
        sys.stderr.write("sockconf.reports.matrix: %s\n" % e)
        return 2
    rows = sum(len(g["rows"]) for g in model["groups"])
    sys.stdout.write("%s/matrix.html, %s/matrix.md: %d cases x %d targets\n" % (
        args.out, args.out, rows, len(model["targets"])))
    for t in model["targets"]:
        sys.stdout.write("  %-24s %s conforming; %s\n" % (t["label"], share(t), count_line(t)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
