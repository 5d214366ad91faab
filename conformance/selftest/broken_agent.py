"""A real agent with one documented rule broken, for proving that the suite catches it.

    python broken_agent.py RULE COMMAND...

runs COMMAND (an agent on stdin/stdout, e.g. the C harness) and passes every line through,
except that the answers are changed by RULE:

- eof-once: recv at EOF gives b'' once; after that, recv on that handle raises ENOTCONN
  (what lwIP's own sockets do, against "b'' every time");
- timeout-eagain: an expired timeout raises EAGAIN instead of ETIMEDOUT;
- no-dns: HELLO does not claim the suite-dns capability;
- exit-on-recv: the agent dies when asked to recv (a crash mid-case);
- hang-nonblocking: settimeout(0) and setblocking(False) are turned into their blocking forms,
  so a non-blocking recv on a silent peer never returns (a hang mid-case);
- wedge-on-recv: from the first recv on, the agent answers nothing at all, to any line (a board
  that stopped answering: only a restart brings it back);
- ms-timeouts: settimeout takes milliseconds, as Zerynth documents (the value is divided by
  1000 on its way to the agent);
- flaky-eof: eof-once, but only on every other socket that meets EOF (a target whose status
  changes from run to run).

Rules that each break one canonical rule, for showing that a profile's documented deviation in
the same case never hides it (conformance/selftest/test_deviations.py):

- timeout-early: every settimeout value is a tenth of what was asked (an expiry comes early);
- timeout-late: every settimeout value is five times what was asked (an expiry comes late);
- timeout-valueerror: an expired timeout raises ValueError, a class no document names for it;
- timeout-returns: a recv, read or readline whose timeout expired returns b'' instead of raising;
- nonblocking-waits: settimeout(0) and setblocking(False) wait 0.3 s (settimeout(0.3)) instead;
- gai-positive: a getaddrinfo error's negative number in args[0] turns positive;
- gai-text: a getaddrinfo error carries text in args[0] ('[addrinfo error -2]'), no number;
- gai-four-tuples: getaddrinfo's items lose canonname (4-tuples);
- write-overcounts: a write that took fewer bytes than given reports all of them (a pump's tally
  with write counts each short write's shortfall as sent);
- short-read: read(n) returns half of what it read (the rest is lost); a sink's tally with read
  says so (every read short, the stream wrong from halfway through the first);
- recv-none-at-eof: recv returns None where it returned b'' (at EOF);
- recv-overflow: recv(n) returns n+1 bytes, one more than bufsize;
- udp-merge: recvfrom's data gets a byte the sender never sent;
- udp-wrong-sender: recvfrom's (ip, port) address names the next port, not the sender's.
"""
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sockconf import wire  # noqa: E402

RULES = ("eof-once", "timeout-eagain", "no-dns", "exit-on-recv", "hang-nonblocking", "wedge-on-recv", "ms-timeouts",
         "flaky-eof", "timeout-early", "timeout-late", "timeout-valueerror", "timeout-returns", "nonblocking-waits",
         "gai-positive", "gai-text", "gai-four-tuples", "write-overcounts", "short-read", "recv-none-at-eof",
         "recv-overflow", "udp-merge", "udp-wrong-sender")
BLOCKING = {("settimeout", 0): None, ("settimeout", 0.0): None, ("setblocking", False): True}
SCALE = {"ms-timeouts": 0.001, "timeout-early": 0.1, "timeout-late": 5.0}   # settimeout value multipliers
TIMEOUT_CLASSES = ("timeout", "TimeoutError")


def _changed(rule, name, args):
    """The op (name, arguments) under rule, or None when the rule leaves the op alone."""
    if len(args) != 2 or not isinstance(args[1], (bool, int, float)):
        return None
    if rule == "hang-nonblocking" and (name, args[1]) in BLOCKING:
        return name, [args[0], BLOCKING[name, args[1]]]
    if rule == "nonblocking-waits" and (name, args[1]) in BLOCKING:
        return "settimeout", [args[0], 0.3]
    if rule in SCALE and name == "settimeout" and not isinstance(args[1], bool) and args[1] > 0:
        return name, [args[0], args[1] * SCALE[rule]]
    return None


def _expired(r):
    """Whether a result is an expired timeout: ETIMEDOUT, or a timeout class."""
    return isinstance(r, wire.Raised) and (r.errno == "ETIMEDOUT" or r.cls in TIMEOUT_CLASSES)


def _broken(rule, r, name, args):
    """The result r of op (name, args) under a rule that breaks one answer, or None to keep it."""
    ok = isinstance(r, wire.Ok)
    if rule == "timeout-valueerror" and _expired(r):
        return wire.Raised("ValueError", None, r.args)
    if rule == "timeout-returns" and name in ("recv", "read", "readline") and _expired(r):
        return wire.Ok(b"")
    if name == "getaddrinfo" and isinstance(r, wire.Raised) and r.args and isinstance(r.args[0], int) \
            and r.args[0] < 0 and rule in ("gai-positive", "gai-text"):
        n = r.args[0]
        return wire.Raised(r.cls, None, ((-n,) if rule == "gai-positive" else ("[addrinfo error %d]" % n,)) + r.args[1:])
    if rule == "gai-four-tuples" and name == "getaddrinfo" and ok and isinstance(r.value, list):
        return wire.Ok([tuple(i[:3]) + tuple(i[4:]) if isinstance(i, tuple) else i for i in r.value])
    if rule == "write-overcounts" and name == "write" and ok and isinstance(r.value, int) and len(args) > 1 \
            and isinstance(args[1], (bytes, bytearray)) and 0 < r.value < len(args[1]):
        return wire.Ok(len(args[1]))
    if rule == "short-read" and name == "read" and ok and isinstance(r.value, bytes) and len(r.value) > 1:
        return wire.Ok(r.value[:len(r.value) // 2])
    if rule == "recv-none-at-eof" and name == "recv" and ok and r.value == b"":
        return wire.Ok(None)
    if rule == "recv-overflow" and name == "recv" and ok and isinstance(r.value, (bytes, bytearray)) and r.value \
            and len(args) > 1 and isinstance(args[1], int) and len(r.value) == args[1]:
        return wire.Ok(r.value + b"X")
    if rule in ("udp-merge", "udp-wrong-sender") and name == "recvfrom" and ok and isinstance(r.value, tuple) \
            and len(r.value) == 2:
        data, addr = r.value
        if rule == "udp-merge":
            return wire.Ok((data + b"!", addr))
        if isinstance(addr, tuple) and len(addr) >= 2 and isinstance(addr[1], int):
            return wire.Ok((data, (addr[0], addr[1] % 65535 + 1) + tuple(addr[2:])))
    return None


def _broken_tally(rule, r, bulk):
    """tally's result r after the pump or sink (name, args) of the same request, as the broken rule
    would have made it come out had the target's own calls been broken, or None to keep it.
    short-read: every read was short and the rest of each lost, so the stream goes wrong halfway
    through the first; write-overcounts: every short write reported all it was given."""
    if not (bulk and isinstance(r, wire.Ok) and isinstance(r.value, tuple) and len(r.value) == 7):
        return None
    (name, args), (n, calls, short, bad, end, kind, last) = bulk, r.value
    method = args[1] if len(args) > 1 else None
    if rule == "short-read" and name == "sink" and method == "read" and n > 1:
        first = min(args[2], args[3])
        return wire.Ok((n, calls, calls, args[4] + first // 2 if len(args) > 4 else first // 2, end, kind, last))
    if rule == "write-overcounts" and name == "pump" and method == "write" and short:
        return wire.Ok((n + short, calls, 0, bad, end, kind, last))
    return None


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in RULES:
        sys.exit("usage: broken_agent.py {%s} COMMAND..." % "|".join(RULES))
    rule = sys.argv[1]
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    pending = {}     # seq: the request's ops
    lock = threading.Lock()
    at_eof = set()   # handles whose recv already gave b''
    broken = [0]     # flaky-eof: how many handles met EOF

    wedged = []

    def downstream():
        for raw in sys.stdin.buffer:
            if wedged:
                continue
            try:
                req = wire.decode_request(raw.rstrip(b"\r\n").decode("ascii"), check=False)
                with lock:
                    pending[req.seq] = req.ops
                if rule == "exit-on-recv" and any(name == "recv" for name, _ in req.ops):
                    child.kill()
                    os._exit(3)
                if rule == "wedge-on-recv" and any(name == "recv" for name, _ in req.ops):
                    wedged.append(req.seq)
                    continue
                changed = [_changed(rule, n, a) for n, a in req.ops]
                if any(changed):
                    ops = [c or (n, list(a)) for (n, a), c in zip(req.ops, changed)]
                    raw = (wire.encode_request(req.seq, ops, req.mode, check=False) + "\n").encode("ascii")
            except (wire.WireError, UnicodeDecodeError):
                pass
            child.stdin.write(raw)
            child.stdin.flush()
        child.stdin.close()

    threading.Thread(target=downstream, daemon=True).start()
    for raw in child.stdout:
        line = raw.rstrip(b"\r\n").decode("ascii", "replace")
        try:
            resp = wire.decode_response(line)
        except wire.WireError:
            resp = None
        if resp is not None and resp.results:
            with lock:
                ops = pending.pop(resp.seq, [])
            results, changed = list(resp.results), False
            bulk = None     # the request's last pump or sink, for its tally
            for k, (r, (name, args)) in enumerate(zip(results, ops)):
                if name in ("pump", "sink"):
                    bulk = (name, args)
                if rule == "timeout-eagain" and isinstance(r, wire.Raised) and r.errno == "ETIMEDOUT":
                    results[k], changed = wire.Raised("OSError", "EAGAIN", (11,)), True
                if rule in ("eof-once", "flaky-eof") and name == "recv" and isinstance(r, wire.Ok) and r.value == b"":
                    h = repr(args[0])
                    if h in at_eof:
                        if rule == "eof-once" or broken[0] % 2:
                            results[k], changed = wire.Raised("OSError", "ENOTCONN", (107,)), True
                    else:
                        broken[0] += 1      # flaky-eof: every other handle that meets EOF is broken
                    at_eof.add(h)
                if name in ("reset", "close"):
                    at_eof.clear()
                other = _broken_tally(rule, r, bulk) if name == "tally" else _broken(rule, r, name, args)
                if other is not None:
                    results[k], changed = other, True
                if rule == "no-dns" and name == "hello" and isinstance(r, wire.Ok):
                    results[k] = wire.Ok([(key, [c for c in v if c != "suite-dns"] if key == "caps" else v)
                                          for key, v in r.value])
                    changed = True
            if changed:
                raw = (wire.encode_response(resp.seq, results) + "\n").encode("ascii")
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
    sys.exit(child.wait())


if __name__ == "__main__":
    main()
