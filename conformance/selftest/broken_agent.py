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
"""
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sockconf import wire  # noqa: E402

RULES = ("eof-once", "timeout-eagain", "no-dns", "exit-on-recv", "hang-nonblocking", "wedge-on-recv", "ms-timeouts", "flaky-eof")
BLOCKING = {("settimeout", 0): None, ("settimeout", 0.0): None, ("setblocking", False): True}


def _changed(rule, name, args):
    """The op's arguments under rule (a new list), or None when the rule leaves the op alone."""
    if len(args) != 2 or not isinstance(args[1], (bool, int, float)):
        return None
    if rule == "hang-nonblocking" and (name, args[1]) in BLOCKING:
        return [args[0], BLOCKING[name, args[1]]]
    if rule == "ms-timeouts" and name == "settimeout" and not isinstance(args[1], bool):
        return [args[0], args[1] / 1000.0]
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
                if rule in ("hang-nonblocking", "ms-timeouts"):
                    changed = [_changed(rule, n, a) for n, a in req.ops]
                    if any(changed):
                        ops = [(n, c or list(a)) for (n, a), c in zip(req.ops, changed)]
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
            for k, (r, (name, args)) in enumerate(zip(results, ops)):
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
