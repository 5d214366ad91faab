"""A scripted stand-in agent for the client and transport tests (stdin/stdout, or --pty)."""
import os
import sys
import time
import tty

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sockconf import wire  # noqa: E402

opts = dict(a[2:].partition("=")[::2] for a in sys.argv[1:] if a.startswith("--"))


def serve(inp, out):
    buf, crc_sent = b"", False
    while True:
        data = os.read(inp, 4096)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                if "junk" in opts:  # as if a partial line had been left in the buffer
                    os.write(out, (wire.encode_reject(None, "crc") + "\n").encode())
                continue
            try:
                req = wire.decode_request(line)
            except wire.WireError as e:
                os.write(out, (wire.encode_reject(e.seq, e.code) + "\n").encode())
                continue
            names = [n for n, _ in req.ops]
            if opts.get("die-on") in names:
                sys.stderr.write("agent: dying on purpose\n")
                sys.stderr.flush()
                os._exit(3)
            if opts.get("silent-on") in names:
                continue
            lines = []
            if "noise" in opts:
                lines.append(">>> print('hello from the console')")
            if "stale" in opts:
                lines.append(wire.encode_response(req.seq + 1000, [wire.Ok(None)]))
            if "stale-more" in opts:   # a late continued answer: its `+` lines and its last
                lines += wire.encode_lines(req.seq + 1000, [wire.Ok(b"\xcd" * 5000)], MAXLINE)
            if "crc-once" in opts and not crc_sent:
                crc_sent = True
                lines.append(wire.encode_reject(None if opts["crc-once"] == "anon" else req.seq, "crc"))
            elif "reject" in opts:
                lines.append(wire.encode_reject(req.seq, opts["reject"]))
            else:
                results = [answer(n, a) for n, a in req.ops] + [wire.Ok(None)] * ("extra" in opts)
                got = wire.encode_lines(req.seq, results, MAXLINE)
                if "short-more" in opts and len(got) > 1:
                    got[0] = wire.encode_lines(req.seq, results, MAXLINE - 1)[0]
                if "x-after-more" in opts and len(got) > 1:
                    got[-1] = wire.encode_reject(req.seq, "op")
                lines += got
            for l in lines:
                os.write(out, (l + "\r\n" if "crlf" in opts else l + "\n").encode())
                if "slow-more" in opts and l.startswith("+ "):
                    time.sleep(float(opts["slow-more"]))    # after each `+` line


MAXLINE = 4096


def answer(name, args):
    if name == "hello":
        return wire.Ok([("proto", int(opts.get("proto", 2))), ("impl", "fake"), ("maxline", MAXLINE),
                        ("maxops", 16), ("ops", ["hello", "reset", "const", "read"])])
    if name == "read":     # --read=N bytes: a continued answer when they do not fit in a line
        return wire.Ok(b"\xab" * int(opts.get("read", 100)))
    if name == "reset":
        return wire.Ok(2)
    if name == "const":
        return wire.Ok([None if a.startswith("NO_") else 10 + k for k, a in enumerate(args)])
    return wire.AgentError("unsupported")


if "pty" in opts:
    master, slave = os.openpty()
    tty.setraw(master)
    sys.stderr.write("pty: %s\n" % os.ttyname(slave))
    sys.stderr.flush()
    serve(master, master)
else:
    serve(0, 1)
