# Unit tests of the wire codec: canonical token text, strict decoding, CRC, requests, keyword
# arguments, responses (continued over `+` lines too), JSON.
import math

import pytest

from sockconf import wire
from sockconf.wire import AgentError, Handle, Kw, Ok, Raised, Ref, Response, WireError

CANONICAL = [
    (None, "N"), (True, "T"), (False, "F"),
    (0, "i0"), (-12, "i-12"), (7, "i7"), (2**70, "i1180591620717411303424"),
    (0.5, "f0.5"), (1e-05, "f1e-05"), (1e16, "f1e+16"), (-0.0, "f-0.0"), (3.0, "f3.0"),
    (math.inf, "finf"), (-math.inf, "f-inf"),
    (b"", "b"), (b"\x00\x01", "bAAE="), (b"abc", "bYWJj"), (b"\xff" * 4, "b/////w=="),
    (bytearray(b"ab"), "yYWI="), (bytearray(), "y"),
    ("", "s"), ("127.0.0.1", "s127.0.0.1"), ("[addrinfo error -2]", "s%5Baddrinfo%20error%20-2%5D"),
    ("a-b._~:/", "sa-b._~:/"), ("é%+", "s%C3%A9%25%2B"), ("a b;", "sa%20b%3B"),
    (Handle(3), "h3"), (Handle(0), "h0"),
    (Ref(0), "@0"), (Ref(1, 0, -1), "@1.0.-1"),
    ((1, None), "( i1 N )"), ((), "( )"), ([], "[ ]"),
    ([(Handle(0), 1), [b"x"]], "[ ( h0 i1 ) [ beA== ] ]"),
]


@pytest.mark.parametrize("value,text", CANONICAL, ids=[t for _, t in CANONICAL])
def test_canonical_round_trip(value, text):
    assert wire.encode_value(value) == text
    back = wire.decode_value(text)
    assert type(back) is type(value) and back == value
    assert wire.encode_value(back) == text


def test_nan_and_bool_before_int():
    assert wire.encode_value(math.nan) == "fnan" and math.isnan(wire.decode_value("fnan"))
    assert wire.encode_value(True) == "T" and wire.decode_value("T") is True
    assert repr(Handle(3)) == "h3" and repr(Ref(0, 2)) == "@0.2"


MALFORMED = [
    "i01", "i-0", "i+1", "i", "i1.0", "ix",                      # ints
    "f", "f.5", "f1.", "f+1.0", "finfinity", "f1_0.0", "f1e5", "f1E+5", "fNaN", "f-nan",  # floats
    "s%4", "s%zz", "s%e9", "s%41", "sa%20b c", "s a", "s%C3",  # strs: escapes, raw, UTF-8
    "bAAE", "bAA=E", "bA===", "bAA-_", "bAB==", "b====",        # base64
    "( i1", "[ i1 )", ")", "]", "( ( )", "[ [ ] ] ]",           # brackets
    "x1", "n", "t", "Z", "q1", "h-1", "h01", "h1234567890", "@-1", "@0.-0", "@", "@0.",  # prefixes
    "i1  i2", " i1", "i1 ", "", "i1 i2", ";", "s\x7f",           # spacing, trailing, bytes
]


@pytest.mark.parametrize("text", MALFORMED)
def test_strict_decoder_rejects(text):
    with pytest.raises(WireError) as e:
        wire.decode_value(text)
    assert e.value.code == "syntax"


def test_refs_only_in_requests():
    line = wire.encode_response(1, [Ok(None)]).replace("= N", "= @0")
    line = line.rpartition(" ")[0] + " " + wire.crc(line.rpartition(" ")[0])
    with pytest.raises(WireError):
        wire.decode_response(line)


def test_unencodable_values():
    for v in (object(), {1: 2}, {1}, Handle(-1), Ref(-1)):
        with pytest.raises((TypeError, ValueError)):
            wire.encode_value(v)


def test_crc():
    assert wire.crc("") == "00000000"
    assert wire.crc("X - long") == "4c7c411e"
    assert wire.crc("Q 1 S hello") == "%08x" % __import__("zlib").crc32(b"Q 1 S hello")
    line = wire.encode_request(1, [("hello", [])])
    assert line == "Q 1 S hello " + wire.crc("Q 1 S hello")
    for bad in (line[:-1] + ("0" if line[-1] != "0" else "1"), line[:-9], line.upper(), line + " ",
                line.replace(" ", "  ", 1), "Q 1 S hello"):
        with pytest.raises(WireError) as e:
            wire.decode_request(bad)
        assert e.value.code == "crc"
    with pytest.raises(WireError) as e:
        wire.decode_response("R 1 = N 00000000")
    assert e.value.code == "crc"


def test_request_example():
    ops = [("socket", []), ("connect", [Ref(0), ("127.0.0.1", 7)]), ("send", [Ref(0), b"\x00\x01"])]
    body = "Q 2 S socket ; connect @0 ( s127.0.0.1 i7 ) ; send @0 bAAE="
    line = wire.encode_request(2, ops)
    assert line == body + " " + wire.crc(body)
    req = wire.decode_request(line + "\r\n")
    assert (req.seq, req.mode, req.ops) == (2, "S", ops)
    assert wire.encode_request(9, [("hello", [])], mode="C").startswith("Q 9 C hello ")


@pytest.mark.parametrize("ops,msg", [
    ([("frob", [])], "unknown op 'frob'"),
    ([("recv", [Handle(0)])], "'recv' takes 2 arguments, got 1"),
    ([("hello", [1])], "'hello' takes 0 arguments, got 1"),
    ([("socket", [1, 2, 3, 4])], "'socket' takes 0 to 3 arguments, got 4"),
    ([("close", [])], "'close' takes 1 arguments, got 0"),
    ([("recv", [Handle(0), "x"])], "argument 2 of 'recv' must be an int (size), got str"),
    ([("send", [0, b""])], "argument 1 of 'send' must be a handle, got int"),
    ([("listen", [Handle(0), True])], "argument 2 of 'listen' must be an int, got bool"),
    ([("const", ["AF_INET", 2])], "argument 2 of 'const' must be a str, got int"),
    ([], "at least one op"),
    ([("echo", [2**63])], "would reject this request: range: int beyond 64 bits"),
    ([("echo", [((((((((((),),),),),),),),),)])], "would reject this request: range: brackets nested deeper than 8"),
])
def test_request_errors(ops, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        wire.encode_request(1, ops)


def test_request_arity_accepts():
    for ops in ([("const", [])], [("const", ["A"] * 5)], [("socket", [2])], [("makefile", [Handle(1), "rb", 0])],
                [("getaddrinfo", ["localhost", 80, 0, 0, 0, 0])], [("recv", [Ref(0), Ref(1, 0)])],
                [("settimeout", [Handle(0), None])], [("settimeout", [Handle(0), 0.5])],
                [("send", [Handle(0), bytearray(b"x")])], [("poll", [[(Handle(0), 1)], -1])]):
        line = wire.encode_request(5, ops)
        assert wire.decode_request(line).ops == ops


def test_request_bad_seq_mode():
    for seq, mode in ((-1, "S"), (10**9, "S"), (True, "S"), (1, "X")):
        with pytest.raises(ValueError):
            wire.encode_request(seq, [("hello", [])], mode)


def _framed(body):
    return body + " " + wire.crc(body)


@pytest.mark.parametrize("body,code,seq", [
    ("Q 3 S frob", "op", 3), ("Q 3 S recv h0", "arity", 3), ("Q 3 S recv s h0", "type", 3),
    ("Q 3 S hello ; ; reset", "syntax", 3), ("Q 3 S", "syntax", 3), ("Q 03 S hello", "syntax", None),
    ("Q 3 Z hello", "syntax", 3), ("R 3 hello", "syntax", None), ("Q 3 S send h0 bAAE", "syntax", 3),
    ("Q 1000000000 S hello", "syntax", None), ("Q 3 S socket ; close @0 )", "syntax", 3),
])
def test_decode_request_codes(body, code, seq):
    with pytest.raises(WireError) as e:
        wire.decode_request(_framed(body))
    assert (e.value.code, e.value.seq) == (code, seq)
    if code in ("op", "arity", "type"):
        assert wire.decode_request(_framed(body), check=False).ops[0][0] in ("frob", "recv")
        assert wire.encode_request(3, wire.decode_request(_framed(body), check=False).ops, check=False) == _framed(body)


def test_crc_error_has_no_seq():
    with pytest.raises(WireError) as e:
        wire.decode_request("Q 12 S hello 00000000")
    assert (e.value.code, e.value.seq) == ("crc", None)


@pytest.mark.parametrize("body,code,seq", [
    ("Q 5 S echo i9223372036854775807 i-9223372036854775808", None, 5),
    ("Q 5 S echo i9223372036854775808", "range", 5),
    ("Q 5 S echo i-9223372036854775809", "range", 5),
    ("Q 5 S echo " + "( " * 8 + ") " * 7 + ")", None, 5),
    ("Q 5 S echo " + "[ " * 9 + "] " * 8 + "]", "range", 5),
    ("Q 5 S echo i99999999999999999999 i01", "range", 5),   # token order: the first fault wins
    ("Q 5 S echo i01 i99999999999999999999", "syntax", 5),
    ("Q 5 S frob s%zz", "op", 5),                             # op name before its values
    ("Q 5 S recv s%zz", "syntax", 5),                         # value syntax before arity
    ("Q 5 S recv s", "type", 5),                              # a bad argument before too few
    ("Q 5 S close h0 s%zz", "syntax", 5),
    ("Q 5 S close h0 h1", "arity", 5),
    ("Q 5 S recv s ; frob", "type", 5),                       # op by op
    ("Q 5 S " + " ; ".join(["echo"] * 17), "range", 5),      # maxops last
    ("Q 5 S " + " ; ".join(["echo"] * 16 + ["frob"]), "op", 5),
    ("Q 5 Z echo  i1", "syntax", 5), ("Q  5 S echo", "syntax", None), ("R 5 = N", "syntax", None),
])
def test_decode_request_as_agent(body, code, seq):
    line = _framed(body)
    if code is None:
        assert wire.decode_request(line, maxops=16).seq == seq
        return
    with pytest.raises(WireError) as e:
        wire.decode_request(line, maxops=16)
    assert (e.value.code, e.value.seq) == (code, seq)


def test_decode_request_line_rules():
    line = _framed("Q 7 S echo")
    assert wire.decode_request(line + "\r\n").seq == 7
    assert wire.decode_request(line[:4] + "\r" + line[4:] + "\n").seq == 7   # every CR is dropped
    long_line = _framed("Q 7 S echo s" + "a" * 5000)
    with pytest.raises(WireError) as e:
        wire.decode_request(long_line, maxline=4096)
    assert (e.value.code, e.value.seq) == ("long", None)
    assert wire.decode_request(long_line).ops == [("echo", ["a" * 5000])]
    with pytest.raises(WireError) as e:
        wire.decode_request(_framed("Q 7 S echo s\x03"))
    assert (e.value.code, e.value.seq) == ("syntax", 7)


def test_response_round_trip():
    results = [Ok(Handle(0)), Raised("OSError", "ECONNREFUSED", (111,)),
               Raised("OSError", None, ("[addrinfo error -2]",)), AgentError("range"),
               Ok([("proto", 1), ("caps", ["AF_INET6"])]), Ok((3, bytearray(b"abc")))]
    line = wire.encode_response(7, results)
    assert line.startswith("R 7 = h0 ; ! OSError ECONNREFUSED ( i111 ) ; ! OSError N ( s%5Baddrinfo%20error%20-2%5D )"
                           " ; ? range ; = [ ( sproto i1 ) ( scaps [ sAF_INET6 ] ) ] ; = ( i3 yYWJj ) ")
    resp = wire.decode_response(line + "\n")
    assert resp == Response(7, results) and resp.reject is None
    assert wire.encode_response(resp.seq, resp.results) == line
    assert repr(resp.results[1]) == "Raised(OSError ECONNREFUSED (111,))"
    assert repr(resp.results[0]) == "Ok(h0)" and repr(resp.results[3]) == "AgentError(range)"


def test_reject_round_trip():
    for seq, code in ((None, "long"), (5, "arity"), (0, "crc")):
        line = wire.encode_reject(seq, code)
        assert line.startswith("X %s %s " % ("-" if seq is None else seq, code))
        resp = wire.decode_response(line)
        assert (resp.seq, resp.reject, resp.results) == (seq, code, [])


@pytest.mark.parametrize("body", [
    "R 1", "R 1 =", "R 1 = i1 i2", "R 1 = N ;", "R 1 ! OSError ( i1 )", "R 1 ! OSError N i1",
    "R 1 ! OSError eintr ( )", "R 1 ? ", "R 1 ? Range", "R 1 ? a b", "R x = N", "X 1", "X 1 crc extra",
    "Y 1 = N", "R 1 = N ; ; = N", "X -1 crc", "R 01 = N",
])
def test_decode_response_rejects(body):
    with pytest.raises(WireError) as e:
        wire.decode_response(_framed(body))
    assert e.value.code == "syntax"


def test_json_values():
    for value, _ in CANONICAL:
        j = wire.to_json(value)
        back = wire.from_json(j)
        assert type(back) is type(value) and back == value and wire.to_json(back) == j
    assert wire.to_json((b"\x00", bytearray(b"\x01"), 0.5, Handle(2), Ref(0, -1), [None])) == {"tuple": [
        {"bytes": "00"}, {"bytearray": "01"}, {"float": "0.5"}, {"handle": 2}, {"ref": [0, -1]}, [None]]}
    assert wire.from_json(0.5) == 0.5 and wire.from_json({"float": "1e-05"}) == 1e-05  # bare floats too
    for bad in ({"bytes": "0"}, {"bytes": "0 0"}, {"float": "0,5"}, {"handle": -1}, {"ref": []},
                {"tuple": [], "x": 1}, {"set": []}, {"handle": True}):
        with pytest.raises(ValueError):
            wire.from_json(bad)


def test_json_request_response():
    rj = {"seq": 7, "mode": "S", "ops": [["socket", []], ["close", [{"ref": [0]}]]]}
    req = wire.request_from_json(rj)
    assert wire.encode_request(req.seq, req.ops, req.mode) == _framed("Q 7 S socket ; close @0")
    assert wire.request_to_json(req) == rj
    for j in ({"seq": 7, "results": [{"ok": {"handle": 0}}, {"raise": ["OSError", "EBADF", [9]]}, {"agent": "ref"}]},
              {"seq": None, "reject": "long"}, {"seq": 3, "reject": "crc"}):
        assert wire.response_to_json(wire.response_from_json(j)) == j
    for bad in ({"seq": 1}, {"seq": 1, "results": [{"ok": 1, "agent": "x"}]}, {"seq": 1, "results": [{"raise": ["E", None]}]}):
        with pytest.raises(ValueError):
            wire.response_from_json(bad)


def test_ops_table():
    assert wire.OP_NAMES[:3] == ["hello", "reset", "const"] and list(wire.OPS) == wire.OP_NAMES
    assert wire.OPS["getaddrinfo"] == "vv|iiii" and wire.OPS["const"] == "s*"
    assert len(wire.OP_NAMES) == len(set(wire.OP_NAMES)) >= 30


# --- keyword arguments (PROTOCOL.md section 3) ---------------------------------------------------

def test_keyword_round_trip():
    ops = [("socket", []), ("recv", [Ref(0), 64, Kw("flags", 0)]),
           ("getaddrinfo", ["h", 80, Kw("family", Ref(0)), Kw("type", (1, b"x")), Kw("_" + "a" * 31, None)])]
    line = wire.encode_request(4, ops)
    assert line.startswith("Q 4 S socket ; recv @0 i64 kflags i0 ; getaddrinfo sh i80 kfamily @0 ktype ( i1 beA== ) k_a")
    req = wire.decode_request(line)
    assert req.ops == ops and repr(ops[1][1][2]) == "flags=0"
    j = wire.request_to_json(req)
    assert j["ops"][1][1][2] == {"kw": ["flags", 0]} and j["ops"][2][1][2] == {"kw": ["family", {"ref": [0]}]}
    assert wire.request_from_json(j).ops == ops
    for bad in ({"kw": ["x"]}, {"kw": [1, 2]}, {"kw": "x"}):
        with pytest.raises(ValueError):
            wire.arg_from_json(bad)
    with pytest.raises(ValueError, match="never a value"):
        wire.encode_value((Kw("x", 1),))


KW_FAULTS = [
    ("recv", [Handle(0), Kw("flags", 0), 1], "syntax", "positional argument after keyword argument 'flags'"),
    ("recv", [Handle(0), 1, Kw("x", 0), Kw("x", 1)], "syntax", "keyword argument 'x' given twice"),
    ("recv", [Handle(0), 1, Kw("Flags", 0)], "syntax", "a keyword is"),
    ("recv", [Handle(0), 1, Kw("1x", 0)], "syntax", "a keyword is"),
    ("recv", [Handle(0), 1, Kw("a" * 33, 0)], "syntax", "a keyword is"),
    ("echo", [Kw("x", 1)], "arity", "'echo' takes no keyword arguments"),
    ("const", ["AF_INET", Kw("default", None)], "arity", "'const' takes no keyword arguments"),
    ("close", [Handle(0)] + [Kw("k%d" % i, i) for i in range(8)], "arity", "at most 8 arguments"),
    ("recv", [Handle(0), Kw("bufsize", 1)], "arity", "'recv' takes 2 arguments, got 1"),
]


@pytest.mark.parametrize("name,args,code,msg", KW_FAULTS, ids=[m for _, _, _, m in KW_FAULTS])
def test_keyword_rules(name, args, code, msg):
    """check_op, encode_request and decode_request (an agent's answer) agree on every rule."""
    assert wire.check_op(name, args)[0] == code and msg in wire.check_op(name, args)[1]
    with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
        wire.encode_request(1, [(name, args)])
    line = wire.encode_request(1, [(name, args)], check=False)
    with pytest.raises(WireError) as e:
        wire.decode_request(line)
    assert (e.value.code, e.value.seq) == (code, 1)


def test_keywords_are_any_value_and_count():
    for args in ([Handle(0), 1, Kw("flags", "any")], [Handle(0), 1, Kw("a" * 32, [Handle(1), (None,)])],
                 [Handle(0)] + [Kw("k%d" % i, i) for i in range(7)], [Handle(0), Kw("x", Ref(3, -1))]):
        name = "close" if len(args) == 8 or isinstance(args[1], Kw) else "recv"
        assert wire.check_op(name, args) is None
        assert wire.decode_request(wire.encode_request(2, [(name, args)])).ops == [(name, args)]


@pytest.mark.parametrize("body,code", [
    ("Q 5 S recv h0 i1 kBad i99999999999999999999", "syntax"),   # the name before the value
    ("Q 5 S recv h0 i1 kx i1 kx i99999999999999999999", "syntax"),  # a repeated name before its value
    ("Q 5 S recv h0 kx i1 i99999999999999999999", "syntax"),      # a positional one before its value
    ("Q 5 S echo kx i99999999999999999999", "range"),              # the value before the counts
    ("Q 5 S echo kx ( i1", "syntax"),
    ("Q 5 S recv h0 i1 kx", "syntax"), ("Q 5 S recv h0 i1 kx ; echo", "syntax"),
    ("Q 5 S recv h0 i1 kx ky i1", "syntax"), ("Q 5 S connect h0 ( kx i1 )", "syntax"),
    ("Q 5 S recv h0 i1 k i1", "syntax"), ("Q 5 S recv h0 i1 kx-y i1", "syntax"),
    ("Q 5 S recv s kx i1 i2", "type"),                              # token by token: the first fault
    ("Q 5 S hello kx N", "arity"), ("Q 5 S recv kflags i0", "arity"),
])
def test_keyword_check_order(body, code):
    with pytest.raises(WireError) as e:
        wire.decode_request(_framed(body))
    assert (e.value.code, e.value.seq) == (code, 5)


# --- responses continued over `+` lines (PROTOCOL.md section 4) ---------------------------------

def _lines_back(lines):
    more = [wire.decode_more(x)[1] for x in lines[:-1]]
    return wire.decode_response(lines[-1], more)


def test_continued_lines_cut_anywhere():
    """Every maxline from tiny to roomy: `+` lines are exactly maxline bytes, the last at most that,
    and the lines decode back to the results, whether a cut falls inside a token or at a space."""
    results = [Ok((1, "two", None)), Raised("OSError", "ECONNRESET", (104,)), Ok(b"\x00\x01" * 40), AgentError("ref")]
    spaces = tokens = 0
    for maxline in range(24, 400):
        lines = wire.encode_lines(12, results, maxline)
        assert all(len(x) + 1 == maxline and x.startswith("+ 12 ") for x in lines[:-1])
        assert len(lines[-1]) + 1 <= maxline and lines[-1].startswith("R 12 ")
        assert _lines_back(lines) == Response(12, results)
        for x, y in zip(lines, lines[1:]):
            at_space = x[-10] == " " or y[5] == " "
            spaces += at_space
            tokens += not at_space
        if len(wire.encode_response(12, results)) + 1 <= maxline:
            assert lines == [wire.encode_response(12, results)]
    assert spaces and tokens
    with pytest.raises(ValueError):
        wire.encode_lines(123456, results, 19)     # no room for text after "R 123456 "


def test_continued_line_errors():
    lines = wire.encode_lines(3, [Ok(b"x" * 300)], 100)
    assert len(lines) == 5 and wire.decode_more(lines[0] + "\r\n") == (3, lines[0][4:-9])
    bad = lines[1][:-1] + ("0" if lines[1][-1] != "0" else "1")
    with pytest.raises(WireError) as e:
        wire.decode_more(bad)
    assert e.value.code == "crc"
    for body in ("+ 3 ", "+ 3", "+ x abc", "+ 03 abc", "R 3 abc", "+  3 abc"):
        with pytest.raises(WireError) as e:
            wire.decode_more(_framed(body))
        assert e.value.code == "syntax", body
    more = [wire.decode_more(x)[1] for x in lines[:-1]]
    for last in (_framed("R 3 "), _framed("X 3 op")):     # (whose seq it is, the client checks)
        with pytest.raises(WireError):
            wire.decode_response(last, more)
    with pytest.raises(WireError):
        wire.decode_response(lines[-1])     # the last line alone is not a response
