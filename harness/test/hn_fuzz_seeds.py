"""Seed corpus and dictionary for harness/test/hn_fuzz.c, from vectors/protocol and harness/ops.def.

Usage: PYTHONPATH=conformance python3 harness/test/hn_fuzz_seeds.py VECTOR_DIR DICT OUT_DIR
Writes OUT_DIR/seeds/ (one file per input, named by its SHA-1: the vectors' sends, each op of
ops.def with arguments of its signature, and the inputs in hn_fuzz_regress/) and OUT_DIR/hn_fuzz.dict (DICT plus every op name). An input's first byte is hn_fuzz.c's mode: '0' raw, '1' chunks of 13,
'2' sealed by the fuzzer, '3' sealed and given to hn_agent_line.
"""
import hashlib
import re
import shutil
import sys
from pathlib import Path

from sockconf import vectors, wire

CRC = re.compile(rb" [0-9a-f]{8}$")
REGRESS = Path(__file__).resolve().parent / "hn_fuzz_regress"


def inputs(records):
    """Every record's sends as one input and each send alone, in every mode."""
    for rec in records:
        sends = [s.send for s in rec.steps]
        for group in [sends] + [[s] for s in sends] if len(sends) > 1 else [sends]:
            raw = b"".join(group)
            yield b"0" + raw
            yield b"1" + raw
            lines = raw[:-1].split(b"\n")
            if any(CRC.search(line) for line in lines):
                bodies = b"\n".join(CRC.sub(b"", line) for line in lines)
                yield b"2" + bodies
                yield b"3" + bodies


# an argument of each signature letter (PROTOCOL.md section 5); h is the socket op 0 opened
ARGS = {"h": "@0", "i": "i1", "z": "i8", "n": "f0.5", "b": "bAAE=", "s": "sAF_INET",
        "v": "( s127.0.0.1 i80 )", "l": "[ ( @0 i1 ) ( @1 i4 ) ]"}
# and requests for paths the stub takes on particular values (hn_fuzz.c)
EXTRA = ["Q 1 C socket ; recv @0 i2000 ; send @0 @1 ; recv @0 i600 ; send @0 @3",
         "Q 1 C socket ; recv @0 i13 ; recv @0 i17 ; listen @0 i0 ; socket i99 ; read @0",
         "Q 1 C socket ; settimeout @0 f1e-05 ; settimeout @0 f-2.5e+300 ; settimeout @0 fnan",
         "Q 1 C socket ; connect @0 ( s%C3%A9 i-9223372036854775808 f1e-05 bAAE= yAA== N T F h0 [ ] ( ) )",
         "Q 1 C socket ; socket ; socket ; socket ; socket ; socket ; socket ; socket ; socket ; accept @0",
         "Q 1 C getaddrinfo sfail i80 ; getaddrinfo slocalhost i200 ; inet_ntop i2 bAAAAAA== ; hello",
         "Q 1 C socket ; socket ; socket ; socket ; read @1 ; readline @2 ; echo @4 ; readall @3 ; recv @0 i19",
         "Q 1 C socket ; recv @0 i1 kflags i0 ; socket kfamily @0 ktype N ; listen @0 kx ( i1 )",
         "Q 1 C socket ; socket ; with @0 ; with @1 ; with @0 ; send @0 bAAE= ; send @1 bAAE= ; reset"]


def op_inputs():
    """Every op of ops.def with its required arguments and with all of them, after two sockets."""
    for name, sig in wire.OPS.items():
        letters = sig.replace("*", "")
        for args in {letters.split("|")[0], letters.replace("|", "") + (sig[-2] if sig.endswith("*") else "")}:
            body = " ".join(["Q 1 C socket ; socket ; " + name] + [ARGS[x] for x in args]).encode()
            yield b"2" + body
            yield b"2Q 1 S socket\n" + body.replace(b"@0", b"h0").replace(b"Q 1 C", b"Q 2 S", 1)
    for body in EXTRA:
        yield b"2" + body.encode()


def main(vector_dir, dict_in, out_dir):
    out = Path(out_dir)
    seeds = out / "seeds"
    shutil.rmtree(seeds, ignore_errors=True)
    seeds.mkdir(parents=True)
    count = 0
    regress = [p.read_bytes() for p in sorted(REGRESS.iterdir()) if p.suffix != ".md"]
    for data in regress + list(op_inputs()) + list(inputs(vectors.load_all(Path(vector_dir)))):
        path = seeds / hashlib.sha1(data).hexdigest()
        if not path.exists():
            path.write_bytes(data)
            count += 1
    ops = "".join('"%s"\n" %s "\n' % (name, name) for name in wire.OP_NAMES)
    (out / "hn_fuzz.dict").write_text(Path(dict_in).read_text() + "\n# ops.def\n" + ops)
    print("hn_fuzz_seeds: %d seeds, %d ops in the dictionary" % (count, len(wire.OP_NAMES)))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[2])
    main(*sys.argv[1:])
