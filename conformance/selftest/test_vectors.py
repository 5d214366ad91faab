# Runs vectors/protocol/*.vec: codec checks of every record, then the exchanges against the C harness.
import json
import os
from pathlib import Path

import pytest

from sockconf import vectors, wire
from sockconf.transport import PipeTransport, PtyTransport
from sockconf.vectors import VectorError

ROOT = Path(__file__).resolve().parent.parent.parent
HARNESS = Path(os.environ.get("SOCKCONF_HARNESS", ROOT / "ref" / "build" / "sockconf-harness"))
HARNESS_IMPL = "sockconf-c"
MAXLINE, MAXOPS = 4096, 16  # the C harness defaults the vectors are written for
FILES = vectors.vector_files(ROOT / "vectors" / "protocol")


def _records():
    out = []
    for path in FILES:
        try:
            out += vectors.parse_file(path)
        except VectorError:
            pass  # reported by test_file_parses
    return out


RECORDS = _records()


def _same(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _response(step):
    """The response a step's expect lines make (its `+` lines, then the last)."""
    return wire.decode_response(step.expect, [wire.decode_more(m)[1] for m in step.more])


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_file_parses(path):
    vectors.parse_file(path)


def test_names_unique():
    if all(_parses(p) for p in FILES):  # a file that does not parse fails test_file_parses instead
        vectors.load_all(ROOT / "vectors" / "protocol")


def _parses(path):
    try:
        vectors.parse_file(path)
        return True
    except VectorError:
        return False


@pytest.mark.parametrize("rec", RECORDS, ids=[r.name for r in RECORDS])
def test_codec(rec):
    """request encodes to send exactly; expect decodes to response and is canonical."""
    for step in rec.steps:
        where = "%s:%d" % (rec.path, step.lineno)
        if step.request is not None:
            req = wire.request_from_json(step.request)
            want = wire.request_to_json(req)  # normalised: bare JSON floats become {"float": ...}
            line = wire.encode_request(req.seq, req.ops, req.mode, check=False)
            assert line.encode() == step.line, where
            assert _same(wire.request_to_json(wire.decode_request(step.line, check=False)), want), where
        if step.expect != "-":
            resp = _response(step)  # every answer must be a valid response
            again = ([wire.encode_reject(resp.seq, resp.reject)] if resp.reject
                     else wire.encode_lines(resp.seq, resp.results, MAXLINE))
            assert again == step.lines, where + ": not canonical (or not cut as PROTOCOL.md section 4 says)"
            if step.response is not None:
                want = wire.response_to_json(wire.response_from_json(step.response))
                assert _same(wire.response_to_json(resp), want), where


@pytest.mark.parametrize("rec", RECORDS, ids=[r.name for r in RECORDS])
def test_agent_checks(rec):
    """decode_request, acting as an agent, rejects each send as the vector's `X` does, accepts the rest."""
    for step in rec.steps:
        where = "%s:%d" % (rec.path, step.lineno)
        if b"\n" in step.line:
            continue  # several lines in one send
        if not step.line.replace(b"\r", b""):
            assert step.expect == "-", where + ": an empty line gets no answer"
            continue
        want = _response(step) if step.expect != "-" else None
        try:
            req = wire.decode_request(step.send, maxline=MAXLINE, maxops=MAXOPS)
        except wire.WireError as e:
            assert want is not None and (want.seq, want.reject) == (e.seq, e.code), "%s: decoder says %s" % (where, e)
        else:
            assert want is not None and want.reject is None and want.seq == req.seq, where


class TestHarnessExchange:
    """Every record against the C harness binary, a fresh process per record, byte for byte."""

    @pytest.mark.parametrize("kind", ["pipe", "pty"])
    @pytest.mark.parametrize("rec", RECORDS, ids=[r.name for r in RECORDS])
    def test_record(self, rec, kind):
        if not HARNESS.exists():
            pytest.skip("C harness not built: %s does not exist" % HARNESS)
        if rec.agent not in (None, HARNESS_IMPL):
            pytest.skip("vector only for agent %r" % rec.agent)
        with (PipeTransport if kind == "pipe" else PtyTransport)([str(HARNESS)]) as t:
            for step in rec.steps:
                t.write(step.send)
                if step.expect == "-":
                    continue  # a wrong answer would show up as the next line instead
                for k, line in enumerate(step.lines):
                    got = vectors.next_answer(t, 5.0)
                    assert got == line.encode() + b"\n", "%s:%d: line %d of %d: %.200r" % (
                        rec.path, step.lineno, k + 1, len(step.lines), got)
            if rec.steps[-1].expect == "-":
                assert vectors.next_answer(t, 0.2) is None, "answer to a send that expects none"




# --- the parser itself -----------------------------------------------------------------------

GOOD = r"""# a comment
name: one
about: two steps, escapes, meanings
send: Q 1 S hello ; \x41\\ ~crc
expect: X 1 op 00000000
send: %s
request: {"seq": 2, "mode": "S", "ops": [["socket", []]]}
expect: %s
response: {"seq": 2, "results": [{"ok": {"handle": 0}}]}

# between records
name: fill
send-fill: 5 a
expect: -

name: continued
send: Q 3 S read h1 ~crc
expect: + 3 = bAAAA ~crc
expect: + 3 AAAA ~crc
expect: R 3 AA== ~crc
response: {"seq": 3, "results": [{"ok": {"bytes": "0000000000000000"}}]}
""" % (wire.encode_request(2, [("socket", [])]), wire.encode_response(2, [wire.Ok(wire.Handle(0))]))


def test_parser_good():
    recs = vectors.parse_text(GOOD)
    assert [r.name for r in recs] == ["one", "fill", "continued"] and recs[0].about.startswith("two")
    s = recs[0].steps
    assert s[0].send == b"Q 1 S hello ; A\\ ~crc\n" and s[0].request is None and s[0].response is None
    assert s[1].request["seq"] == 2 and s[1].response["results"][0]["ok"] == {"handle": 0}
    assert s[1].lines == [s[1].expect] and s[1].more == []
    assert recs[1].steps[0].send == b"aaaaa\n" and recs[1].steps[0].expect == "-"
    c = recs[2].steps[0]
    assert c.more == ["+ 3 = bAAAA ~crc", "+ 3 AAAA ~crc"] and c.expect == "R 3 AA== ~crc" and c.response


@pytest.mark.parametrize("text", [
    "send: x\nexpect: -\n",                                     # no name
    "name: a\n",                                                # no send
    "name: a\nsend: x\n",                                       # send without expect
    "name: a\nsend: x\nsend: y\nexpect: -\n",                   # send without expect
    "name: a\nexpect: -\n",                                     # expect without send
    "name: a\nsend: x\nexpect: -\nexpect: -\n",                 # two expects
    "name: a\nsend: x\nexpect: -\nresponse: {\"seq\": null, \"reject\": \"long\"}\n",  # meaning of no answer
    "name: a\nsend: x\\q\nexpect: -\n",                         # bad escape
    "name: a\nsend-fill: 0 a\nexpect: -\n",                     # bad fill
    "name: a\nsend-fill: 3 ab\nexpect: -\n",                    # bad fill
    "name: a\nsend: x\nexpect: -\nrequest: {\"seq\": 1}\n",      # bad request meaning
    "name: a\nsend: x\nexpect: R 1 = N 0\nresponse: [1]\n",      # bad response meaning
    "name: a\nsend: x\nexpect: -\nfrob: 1\n",                   # unknown key
    "name: a\nsend: x\nexpect: -\nname: b\nsend: y\nexpect: -\n",  # missing blank line
    "name: a\nsend: x\r\nexpect: -\n",                          # CR
    "name: a\njunk\n",                                          # not key: value
    "name: a\nsend: x\nexpect: \n",                             # empty expect
    "name: a\nsend: x\nexpect: + 1 AAAA 0\n",                   # `+` lines without the last
    "name: a\nsend: x\nexpect: + 1 AAAA 0\nsend: y\nexpect: -\n",  # `+` lines without the last
    "name: a\nsend: x\nexpect: + 1 AAAA 0\nexpect: -\n",        # no answer after `+` lines
    "name: a\nsend: x\nexpect: + 1 AAAA 0\nexpect: X 1 op 0\n",  # a rejection after `+` lines
    "name: a\nsend: x\nexpect: R 1 = N 0\nexpect: R 1 = N 0\n",  # two last lines
    "name: a\nsend: x\nexpect: + 1 A 0\nresponse: {\"seq\": 1, \"results\": []}\nexpect: R 1 A 0\n",
])
def test_parser_rejects(text):
    with pytest.raises(VectorError):
        vectors.parse_text(text)


def test_duplicate_names(tmp_path):
    (tmp_path / "a.vec").write_text("name: x\nsend: q\nexpect: -\n")
    (tmp_path / "b.vec").write_text("name: x\nsend: q\nexpect: -\n")
    with pytest.raises(VectorError, match="already used"):
        vectors.load_all(tmp_path)
