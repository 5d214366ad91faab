"""Parser of the protocol test-vector files (vectors/protocol/README.md); strict: VectorError on anything odd."""
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import wire
from .root import ROOT

VECTOR_DIR = ROOT / "vectors" / "protocol"


class VectorError(Exception):
    def __init__(self, path, lineno, msg):
        super().__init__("%s:%d: %s" % (path, lineno, msg))


@dataclass
class Step:
    send: bytes                 # the bytes written, '\n' included
    lineno: int
    lines: list = field(default_factory=list)   # the answer's exact lines without '\n': its `+`
                                # lines (a continued response), then its last; ['-'] for no answer
    request: dict = None        # JSON meaning of send
    response: dict = None       # JSON meaning of the whole answer

    @property
    def line(self):
        """The send without its final '\\n'."""
        return self.send[:-1]

    @property
    def expect(self):
        """The answer's last line ('-' for no answer), None before an `expect` came."""
        return self.lines[-1] if self.lines else None

    @property
    def more(self):
        """The answer's `+` lines."""
        return self.lines[:-1]


@dataclass
class Record:
    name: str
    path: str
    lineno: int
    about: str = ""
    agent: str = None           # only for this implementation (HELLO's impl); None: every agent
    steps: list = field(default_factory=list)


def unescape(text):
    """Bytes of a `send` value: literal UTF-8 except `\\xHH` (one byte) and `\\\\`."""
    out = bytearray()
    for k, part in enumerate(re.split(r"(\\x[0-9A-Fa-f]{2}|\\\\)", text)):
        if k % 2:
            out += b"\\" if part == "\\\\" else bytes([int(part[2:], 16)])
        elif "\\" in part:
            raise ValueError("bad escape in %r (only \\xHH and \\\\)" % text)
        else:
            out += part.encode("utf-8")
    return bytes(out)


def _value(key, value):
    """The parsed value of a step key; ValueError if malformed."""
    if key == "send":
        return unescape(value) + b"\n"
    if key == "send-fill":
        m = re.fullmatch(r"([1-9][0-9]*) (.+)", value)
        char = unescape(m.group(2)) if m else b""
        if len(char) != 1:
            raise ValueError("send-fill is 'COUNT CHAR', not %r" % value)
        return char * int(m.group(1)) + b"\n"
    if key == "expect":  # escapes as in send (seal.py reads both alike)
        value = unescape(value).decode("latin-1")
        if not re.fullmatch(r"[\x20-\x7e]+", value):
            raise ValueError("expect must be a non-empty printable ASCII line or '-'")
        return value
    meaning = json.loads(value)
    (wire.request_from_json if key == "request" else wire.response_from_json)(meaning)
    return meaning


def parse_text(text, path="<vectors>"):
    """The records of one vector file."""
    records, rec = [], None

    def finish(n):
        if rec is not None:
            if not rec.steps:
                raise VectorError(path, n, "record %r has no send" % rec.name)
            if rec.steps[-1].expect is None or rec.steps[-1].expect.startswith("+ "):
                raise VectorError(path, rec.steps[-1].lineno, "send without expect, or `+` lines without the last")
            records.append(rec)

    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        if "\r" in line:
            raise VectorError(path, n, "carriage return in the file (write \\x0d in a send)")
        if not line.strip():
            finish(n)
            rec = None
            continue
        m = re.fullmatch(r"([a-z][a-z-]*):(?: (.*))?", line)
        if not m:
            raise VectorError(path, n, "not a 'key: value' line: %r" % line)
        key, value = m.group(1), m.group(2) or ""
        step = rec.steps[-1] if rec and rec.steps else None
        if rec is None:
            if key != "name" or not value:
                raise VectorError(path, n, "a record starts with 'name: ID'")
            rec = Record(value, str(path), n)
        elif key in ("about", "agent"):
            if getattr(rec, key) or rec.steps or not value:
                raise VectorError(path, n, "%r comes once, non-empty, before the first send" % key)
            setattr(rec, key, value)
        elif key in ("send", "send-fill"):
            if step and (step.expect is None or step.expect.startswith("+ ")):
                raise VectorError(path, step.lineno, "send without expect, or `+` lines without the last")
            step = Step(b"", n)
            rec.steps.append(step)
        elif key == "expect":
            # several: `+` lines, then the last (PROTOCOL.md section 4)
            if step is None or step.response is not None or (step.lines and not step.expect.startswith("+ ")):
                raise VectorError(path, n, "'expect' needs a send before it; more than one only after `+` lines")
            if step.lines and not value.startswith(("R ", "+ ")):
                raise VectorError(path, n, "after `+` lines, an 'expect' is a `+` line or the `R` line")
        elif key in ("request", "response"):
            if step is None or getattr(step, key) is not None or key == "response" and (
                    step.expect in (None, "-") or step.expect.startswith("+ ")):
                raise VectorError(path, n, "%r needs a send (a response, the last expect) before it, once" % key)
        else:
            raise VectorError(path, n, "unknown key %r (or a missing blank line before 'name')" % key)
        if step is not None and key in ("send", "send-fill", "expect", "request", "response"):
            try:
                parsed = _value(key, value)
            except ValueError as e:
                raise VectorError(path, n, "bad %s: %s" % (key, e)) from None
            if key == "expect":
                step.lines.append(parsed)
            else:
                setattr(step, "send" if key.startswith("send") else key, parsed)
    finish(len(lines))
    return records


def parse_file(path):
    return parse_text(Path(path).read_text(encoding="utf-8"), Path(path).name)


def vector_files(directory=VECTOR_DIR):
    return sorted(Path(directory).glob("*.vec"))


def load_all(directory=VECTOR_DIR):
    """Every record of every *.vec file; VectorError on a bad file or a name used twice."""
    records, seen = [], {}
    for path in vector_files(directory):
        for rec in parse_file(path):
            if rec.name in seen:
                raise VectorError(rec.path, rec.lineno, "name %r already used at %s" % (rec.name, seen[rec.name]))
            seen[rec.name] = "%s:%d" % (rec.path, rec.lineno)
            records.append(rec)
    return records


def next_answer(transport, seconds):
    """The next `R`, `X` or `+` line from transport within seconds (console noise skipped), or
    None. A target that dies raises TargetDied."""
    deadline = time.monotonic() + seconds
    while True:
        line = transport.readline(deadline)
        if line is None or line.startswith((b"R ", b"X ", b"+ ")):
            return line
