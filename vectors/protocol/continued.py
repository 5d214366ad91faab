"""Write continued.vec: results continued over `+` lines (PROTOCOL.md section 4), one record per agent.

Usage: python3 vectors/protocol/continued.py   (rewrites continued.vec next to it)

The lines are too long to write by hand: this script builds them from the exchange below and
cuts them by section 4's rule, on its own (not with wire.py, which the vectors check). Each
agent gets its own record because its set-up differs (MicroPython's unix port binds only what
getaddrinfo returns; CPython's socket has no read, its file does); the continued answers are
the same bytes for all three. The agent connects to itself on 127.0.0.1: a listener on a fixed
port with SO_REUSEADDR, and a client bound to a fixed port too, so accept's address is fixed; the
client lingers 0 s, so that closing it resets the connection and leaves no TIME_WAIT behind for
the next run.
"""
import base64
import json
import pathlib
import zlib

HERE = pathlib.Path(__file__).resolve().parent
MAXLINE = 4096
PORT, CLIENT = 28517, 28518     # below Linux's ephemeral range (32768-60999)
SOL_SOCKET, SO_REUSEADDR, SO_LINGER = 1, 2, 13
LINGER0 = b"\x01\x00\x00\x00\x00\x00\x00\x00"   # struct linger {1, 0}: close resets
PAY = bytes((i * 7 + 3) & 255 for i in range(3000))
LINE = bytes(32 if b == 10 else b for b in PAY)     # no newline in it


def b64(data):
    return base64.b64encode(data).decode()


def frame(body):
    return "%s %08x" % (body, zlib.crc32(body.encode()))


def answer(seq, text):
    """The lines of the response `R <seq> <text>`, cut as section 4 says."""
    head = "R %d " % seq
    room = MAXLINE - 10 - len(head)
    lines = []
    while len(text) > room:
        lines.append(frame("+ %d %s" % (seq, text[:room])))
        text = text[room:]
    return lines + [frame(head + text)]


def setup(agent):
    """The first request and its answer's text: a listener (h0), a client (h1) connected to it, the
    accepted socket (h2)."""
    if agent == "micropython":
        def addr(k, port):
            return "getaddrinfo s127.0.0.1 i%d i0 i1" % port, "= [ ( i2 i1 i6 N y%s ) ]" % b64(sockaddr(port))
        a0, r0 = addr(2, PORT)
        a1, r1 = addr(8, CLIENT)
        ops = ["socket", "setsockopt @0 i%d i%d i1" % (SOL_SOCKET, SO_REUSEADDR), a0, "bind @0 @2.0.-1",
               "listen @0 i1", "socket", "setsockopt @5 i%d i%d i1" % (SOL_SOCKET, SO_REUSEADDR),
               "setsockopt @5 i%d i%d b%s" % (SOL_SOCKET, SO_LINGER, b64(LINGER0)), a1, "bind @5 @8.0.-1",
               "connect @5 @2.0.-1", "accept @0"]
        results = ["= h0", "= N", r0, "= N", "= N", "= h1", "= N", "= N", r1, "= N", "= N",
                   "= ( h2 y%s )" % b64(sockaddr(CLIENT))]
    else:
        ops = ["socket", "setsockopt @0 i%d i%d i1" % (SOL_SOCKET, SO_REUSEADDR), "bind @0 ( s127.0.0.1 i%d )" % PORT,
               "listen @0 i1", "socket", "setsockopt @4 i%d i%d i1" % (SOL_SOCKET, SO_REUSEADDR),
               "setsockopt @4 i%d i%d b%s" % (SOL_SOCKET, SO_LINGER, b64(LINGER0)),
               "bind @4 ( s127.0.0.1 i%d )" % CLIENT, "connect @4 ( s127.0.0.1 i%d )" % PORT, "accept @0"]
        results = ["= h0", "= N", "= N", "= N", "= h1", "= N", "= N", "= N", "= N",
                   "= ( h2 ( s127.0.0.1 i%d ) )" % CLIENT]
    return "Q 1 S " + " ; ".join(ops), " ; ".join(results)     # S: on an agent that refuses an address, no accept waits


def sockaddr(port):
    """struct sockaddr_in of 127.0.0.1:port, as Linux's getaddrinfo gives it."""
    return b"\x02\x00" + port.to_bytes(2, "big") + b"\x7f\x00\x00\x01" + bytes(8)


def record(agent):
    name = {"sockconf-c": "continued-read-and-readline", "cpython": "continued-read-and-readline-cpython",
            "micropython": "continued-read-and-readline-micropython"}[agent]
    out = ["name: " + name,
           "about: a line of 6004 bytes and the 6000 bytes after it until EOF come back from readline and read "
           "without a size, each continued over a `+` line; a reference to the continued result or to an op "
           "before it is `? ref`; the agent's own connection on 127.0.0.1:%d (%s)." % (PORT, {
               "sockconf-c": "tuple addresses", "cpython": "tuple addresses; read and readline on makefile('rb')",
               "micropython": "addresses from getaddrinfo"}[agent]),
           "agent: " + agent]

    def step(seq, body, text, meaning=None):
        out.append("send: " + frame(body))
        out.extend("expect: " + line for line in answer(seq, text))
        if meaning is not None:
            out.append("response: " + json.dumps({"seq": seq, "results": meaning}))

    body, text = setup(agent)
    step(1, body, text)
    sent = [LINE, LINE, b"end\n" + PAY, PAY]
    for k, data in enumerate(sent):
        step(2 + k, "Q %d S sendall h2 b%s" % (2 + k, b64(data)), "= N")
    step(6, "Q 6 S close h2", "= N")
    f = "h1"
    if agent == "cpython":
        step(7, "Q 7 S makefile h1 srb", "= h3")
        f = "h3"
    stream = b"".join(sent)
    line, rest = stream[:6004], stream[6004:]
    meaning = agent == "sockconf-c"
    step(8, "Q 8 C echo i1 ; readline %s ; echo @0 ; echo @1 ; echo i5" % f,
         "= ( i1 ) ; = b%s ; ? ref ; ? ref ; = ( i5 )" % b64(line),
         meaning and [{"ok": {"tuple": [1]}}, {"ok": {"bytes": line.hex()}}, {"agent": "ref"}, {"agent": "ref"},
                      {"ok": {"tuple": [5]}}] or None)
    step(9, "Q 9 C read %s ; echo @0 ; read %s ; echo @2" % (f, f),
         "= b%s ; ? ref ; = b ; = ( b )" % b64(rest),
         meaning and [{"ok": {"bytes": rest.hex()}}, {"agent": "ref"}, {"ok": {"bytes": ""}},
                      {"ok": {"tuple": [{"bytes": ""}]}}] or None)
    step(10, "Q 10 S reset", "= i%d" % (3 if agent == "cpython" else 2))
    return "\n".join(out) + "\n"


def main():
    text = ("# Results continued over `+` lines (PROTOCOL.md section 4). Written by continued.py: edit it, not this.\n\n"
            + "\n".join(record(a) for a in ("sockconf-c", "cpython", "micropython")))
    (HERE / "continued.vec").write_text(text, encoding="utf-8")
    print("wrote", HERE / "continued.vec")


if __name__ == "__main__":
    main()
