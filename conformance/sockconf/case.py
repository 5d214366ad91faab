"""Cases that run on the oracle and on the target, and the verdict that compares them.

A case is a function of one argument, a Side, decorated with @case(clause IDs...):

    @case("mp:recv.bufsize")
    def test_recv_returns_at_most_bufsize(side):
        peer = side.echo()
        r = side.call(side.connect(peer) + [("sendall", [Ref(1), b"0123456789"]), ("recv", [Ref(1), 3])])
        got = side.ok(r[-1])
        side.check(0 < len(got) <= 3, "recv(3) returned %d bytes" % len(got))
        side.same("type", type(got).__name__)

The plugin runs it once against the oracle and once against the target, each with its own
fresh peers, then decides one status:

- PASS: every check held on the target and every normative observation (side.same) equals the
  oracle's;
- FAIL: a check failed on the target, or a normative observation differs; the report shows the
  clause and the two transcripts side by side;
- DEVIATION: it differs, and the target's profile documents that difference for the clause;
- UNSUPPORTED: the case needs a capability the target lacks (HELLO caps or profile), or an op
  it does not have;
- UNRESOLVED: it could not be decided: the link, the harness, a peer, or the oracle itself
  failed; always with the reason.

A check or observation names the clause that makes it normative (default: the case's first).
A profile says which clauses apply (whole documents, plus single clauses of others); when the
clause does not apply, a failed check or a difference is shown as a detail and decides nothing.
"""
import socket
import time

from . import peers as sc_peers
from . import wire
from .client import ClientError
from .transport import TargetDied

STATUSES = ("PASS", "FAIL", "DEVIATION", "UNSUPPORTED", "UNRESOLVED")


class Verdict(Exception):
    """Ends a side's run: a status other than PASS, and why."""
    status = None

    def __init__(self, reason, clause=None):
        super().__init__(reason)
        self.reason, self.clause = reason, clause


class CheckFailed(Verdict):
    status = "FAIL"


class Unsupported(Verdict):
    status = "UNSUPPORTED"


class Unresolved(Verdict):
    status = "UNRESOLVED"


def case(*clauses, needs=(), dns=False, slow=0.0):
    """Mark a function as a conformance case checking the given clause IDs (vectors/clauses).
    needs: capabilities the target must have (else UNSUPPORTED); dns: the case resolves names
    and needs the suite's DNS peer (else UNRESOLVED); slow: seconds the case waits on purpose
    (its timeouts), for the suite-time benchmark."""
    if not clauses:
        raise TypeError("a case cites at least one clause ID")

    def wrap(fn):
        fn.sockconf_case = {"clauses": list(clauses), "needs": list(needs), "dns": dns, "slow": slow}
        return fn
    return wrap


class Native(int):
    """A settimeout value already in the target's own unit: sent as it is. Every other number
    given to settimeout is in seconds, and Side converts it to the unit the target's profile
    documents (timeout_unit: Zerynth's settimeout takes milliseconds)."""


def _in_unit(ops, per_second):
    """ops with each settimeout value (seconds) in the target's unit (per_second units a second)."""
    out = []
    for name, args in ops:
        if name == "settimeout" and len(args) == 2 and isinstance(args[1], (int, float)) \
                and not isinstance(args[1], bool):
            v = args[1]
            v = int(v) if isinstance(v, Native) else (v if per_second == 1 else int(round(v * per_second)))
            args = [args[0], v]
        out.append((name, args))
    return out


class Side:
    """One run of a case against one agent: ops, peers, checks and observations."""

    def __init__(self, name, client, peer_bind, dns_peer, link, applies, clause, timeout_scale=1.0, per_second=1):
        """link: the target's measured rtt, per_byte and tick (sockconf/link.py), for timing
        windows; applies(clause ID) -> bool: whether the profile makes that clause normative;
        clause: the case's first clause, the default for checks and observations; per_second:
        the target's settimeout unit, in units per second (1000: milliseconds)."""
        self.name, self.client, self.peer_bind, self.dns = name, client, peer_bind, dns_peer
        self.link, self.applies, self.clause = link, applies, clause
        self.timeout_scale, self.per_second = timeout_scale, per_second
        self._wire = 0          # bytes the last timed() call put on the line, both ways
        self.info = client.info
        self.host = self.info.get("host", sc_peers.LOOPBACK)
        self.listen_host = self.info.get("listen_host", sc_peers.LOOPBACK)
        self.caps = set(self.info.get("caps", []))
        self.normative = {}     # key: (value, clause)
        self.details = {}       # key: value, shown, never decisive
        self.transcript = []    # lines: what was sent and what came
        self._peers = []
        self._consts = getattr(client, "_sockconf_consts", None)
        if self._consts is None:
            self._consts = client._sockconf_consts = {}

    # ---- talking to the agent ----

    def call(self, ops, mode="S", timeout=5.0):
        """Run ops as one request; the list of results (Ok, Raised or AgentError). An op the
        agent does not have makes the case UNSUPPORTED; link trouble makes it UNRESOLVED.
        settimeout values are seconds (see Native), sent in the target's unit."""
        ops = _in_unit(ops, self.per_second)
        self.transcript.append("> " + " ; ".join("%s %s" % (n, ", ".join(map(_show, a))) for n, a in ops))
        try:
            results = self.client.call(ops, mode=mode, timeout=timeout).results
        except (ClientError, TargetDied, TimeoutError) as e:
            self.transcript.append("< (%s)" % e)
            raise Unresolved("%s: %s" % (type(e).__name__, e)) from None
        self.transcript.append("< " + " ; ".join(map(_show, results)))
        for (name, _), r in zip(ops, results):
            if isinstance(r, wire.AgentError):
                if r.code == "unsupported":
                    raise Unsupported("the target has no %s" % name)
                raise Unresolved("the agent could not run %s: ? %s" % (name, r.code))
        return results

    def const(self, *names):
        """The target's numbers for these constants (None where the module lacks one); one name:
        its value."""
        missing = [n for n in names if n not in self._consts]
        for k in range(0, len(missing), 8):     # 8: the fewest arguments an agent takes per op
            try:
                self._consts.update(self.client.const(*missing[k:k + 8]))
            except (ClientError, TargetDied) as e:
                raise Unresolved("const: %s" % e) from None
        return self._consts[names[0]] if len(names) == 1 else {n: self._consts[n] for n in names}

    def require_const(self, *names):
        """Like const, but UNSUPPORTED when the module lacks one of them."""
        values = self.const(*names) if len(names) > 1 else {names[0]: self.const(names[0])}
        absent = [n for n, v in values.items() if v is None]
        if absent:
            raise Unsupported("the module has no %s" % ", ".join(absent))
        return values[names[0]] if len(names) == 1 else values

    def connect(self, port, host=None, extra=(), two_args=False):
        """Ops that make a TCP socket (result 1) connected to host:port through getaddrinfo, as the
        docs advise; `port` may be a peer. Append extra ops; Ref(1) is the socket. two_args: ask
        getaddrinfo(host, port) only, the form Pycom's and uc386's documents show, instead of
        naming SOCK_STREAM."""
        port = getattr(port, "port", port)
        args = [host or self.host, port] + ([] if two_args else [0, self.const("SOCK_STREAM")])
        return [("getaddrinfo", args), ("socket", []), ("connect", [wire.Ref(1), wire.Ref(0, 0, -1)])] + list(extra)

    def connected(self, port, host=None, extra=(), two_args=False, mode="S", timeout=5.0):
        """Run connect(...) now; the results (the three that connect must return)."""
        r = self.call(self.connect(port, host, extra, two_args), mode=mode, timeout=timeout)
        for x in r[:3]:
            self.ok(x, "setting up the connection")
        return r

    # ---- what the case decides with ----

    def check(self, cond, message, clause=None):
        """An invariant the clause requires. Failing a clause the profile does not apply only
        becomes a detail."""
        if cond:
            return True
        clause = clause or self.clause
        if self.applies(clause):
            raise CheckFailed(message, clause)
        self.details["not required (%s)" % clause] = message
        return False

    def same(self, key, value, clause=None):
        """A normative observation: the target's must equal the oracle's."""
        self.normative[key] = (value, clause or self.clause)
        return value

    def detail(self, key, value):
        """An implementation-defined observation: reported, never failed."""
        self.details[key] = value
        return value

    def ok(self, result, what="", clause=None):
        """The value of a result that must have returned."""
        if not isinstance(result, wire.Ok):
            raise CheckFailed("%sexpected a return, got %s" % (what + ": " if what else "", _show(result)),
                              clause or self.clause)
        return result.value

    def raised(self, result, errno=None, cls="OSError", clause=None, errno_clause=None, cls_clause=None, what=""):
        """Check that result raised (under clause), that the exception is cls (under cls_clause)
        and, when given, its errno name (under errno_clause); both default to clause. Returns it.
        Separate clauses keep a profile's deviation narrow: a port documented to raise another
        class than OSError deviates on the class, not on raising at all."""
        head = what + ": " if what else ""
        clause = clause or self.clause
        if not isinstance(result, wire.Raised):
            raise CheckFailed("%sexpected %s%s, got %s" % (head, cls, " " + errno if errno else "", _show(result)),
                              clause)
        self.check(result.cls == cls, "%sexpected %s, got %s" % (head, cls, _show(result)), cls_clause or clause)
        if errno:
            self.check(result.errno == errno, "%sexpected %s %s, got %s" % (head, cls, errno, _show(result)),
                       errno_clause or clause)
        return result

    def retry(self, op, seconds=3.0):
        """Run one op (on a non-blocking socket) until it does not raise EAGAIN/EWOULDBLOCK; its
        last result. Bounded: 400 tries, `seconds` in all."""
        deadline = time.monotonic() + seconds
        for _ in range(400):
            r = self.call([op])[0]
            if not (isinstance(r, wire.Raised) and r.errno in ("EAGAIN", "EWOULDBLOCK")) or \
                    time.monotonic() >= deadline:
                return r
            time.sleep(0.01)
        return r

    def try_dial(self, port, timeout=2.0):
        """dial(), or the OSError that refused it (or timed out)."""
        try:
            return self.dial(port, timeout)
        except OSError as e:
            return e

    def timed(self, ops, mode="S", timeout=10.0):
        """call(), and the seconds it took on the host (the link round trip included)."""
        before = self.client.bytes_out + self.client.bytes_in
        t0 = time.monotonic()
        r = self.call(ops, mode, timeout)
        took = time.monotonic() - t0
        self._wire = self.client.bytes_out + self.client.bytes_in - before
        return r, took

    def window(self, seconds):
        """(earliest, latest) host-side elapsed times for the last timed() operation, which should
        give up after `seconds` on the target: not more than one timer tick before it, and within
        a tick, 50 ms, three link round trips and the time its request and answer took on the line.
        --timeout-scale scales that allowance, never the documented timeout itself (the tick, rtt
        and per-byte cost are measured per target: sockconf/link.py)."""
        tick = self.link["tick"]
        allowance = tick + 0.05 + 3 * self.link["rtt"] + self._wire * self.link["per_byte"]
        return max(0.0, seconds - tick), seconds + allowance * self.timeout_scale

    # ---- peers: fresh for each side's run, closed after it ----

    def _peer(self, p):
        self._peers.append(p)
        return p

    def echo(self):
        return self._peer(sc_peers.TcpEcho(self.peer_bind))

    def source(self, data, rst=False, delay=0.0):
        return self._peer(sc_peers.Source(data, rst, self.peer_bind, delay))

    def sink(self):
        return self._peer(sc_peers.Sink(self.peer_bind))

    def silent(self):
        return self._peer(sc_peers.SilentAcceptor(self.peer_bind))

    def late_dial(self, port, delay):
        """A host connection to the target's listening port, made `delay` seconds from now from a
        thread (for an accept that must wait for it); closed with the side."""
        return self._peer(sc_peers.LateDial(self.listen_host, port, delay))

    def blackhole(self):
        return self._peer(sc_peers.BlackHole(self.peer_bind))

    def udp_echo(self):
        return self._peer(sc_peers.UdpEcho(self.peer_bind))

    def udp_sender(self):
        return self._peer(sc_peers.UdpSender(self.peer_bind))

    def closed_port(self):
        """A TCP port where nothing listens (connecting to it is refused)."""
        return sc_peers.free_port(self.peer_bind)

    def free_port(self):
        """A port for the target to listen on (free on the host, which reaches it there)."""
        return sc_peers.free_port()

    def dial(self, port, timeout=5.0):
        """A host TCP connection to the target's listening port (closed with the side)."""
        s = socket.create_connection((self.listen_host, port), timeout=timeout)
        self._peers.append(s)
        return s

    def close(self):
        """Close the side's peers and host connections; the names of peers that did not end clean."""
        unclean = []
        for p in self._peers:
            try:
                p.close()
            except OSError as e:
                unclean.append("%s (close: %s)" % (type(p).__name__, e))
                continue
            if hasattr(p, "ended") and not p.ended():
                unclean.append("%s on port %s (its thread still runs)" % (type(p).__name__, getattr(p, "port", "?")))
        self._peers = []
        return unclean


def _show(x):
    if isinstance(x, (bytes, bytearray)) and len(x) > 24:
        return "%s(%d bytes %r...)" % (type(x).__name__, len(x), bytes(x[:12]))
    if isinstance(x, wire.Ok):
        return "= " + _show(x.value)
    if isinstance(x, wire.Raised):
        return "! %s %s %r" % (x.cls, x.errno or "N", x.args)
    if isinstance(x, wire.AgentError):
        return "? " + x.code
    if isinstance(x, (list, tuple)):
        if len(x) > 6:
            return "%s of %d" % (type(x).__name__, len(x))
        inner = ", ".join(_show(i) for i in x)
        return "(%s%s)" % (inner, "," if len(x) == 1 else "") if isinstance(x, tuple) else "[%s]" % inner
    return repr(x)


def run_side(fn, side):
    """Run the case body on one side, then close its peers; (status or None, reason, clause). A
    peer that does not end clean makes the side UNRESOLVED: the suite, not the target, is at fault."""
    outcome = None, None, None
    try:
        try:
            fn(side)
        except Verdict as v:
            outcome = v.status, v.reason, v.clause
        except (OSError, socket.timeout) as e:
            outcome = "UNRESOLVED", "host-side trouble: %s: %s" % (type(e).__name__, e), None
    finally:
        unclean = side.close()
    if unclean:
        reason = "host peers did not end clean: %s" % ", ".join(unclean)
        return "UNRESOLVED", reason + ("; the case had: %s" % outcome[1] if outcome[1] else ""), None
    return outcome


def compare(oracle, target):
    """Normative keys whose values differ, as (key, oracle value, target value, clause), for the
    clauses the target's profile applies; the others become details of the target."""
    diffs = []
    for key in sorted(set(oracle.normative) | set(target.normative)):
        o = oracle.normative.get(key, (None, target.clause))
        t = target.normative.get(key, (None, o[1]))
        if o[0] != t[0]:
            if target.applies(t[1]):
                diffs.append((key, o[0], t[0], t[1]))
            else:
                target.details["differs from the oracle (%s): %s" % (t[1], key)] = "%r vs %r" % (o[0], t[0])
    return diffs


def side_by_side(left, right, width=64):
    """Two transcripts in two columns."""
    lines = ["%-*s | %s" % (width, "oracle", "target"), "%s-+-%s" % ("-" * width, "-" * width)]
    n = max(len(left), len(right))
    for k in range(n):
        a = left[k] if k < len(left) else ""
        b = right[k] if k < len(right) else ""
        a_parts = [a[i:i + width] for i in range(0, max(len(a), 1), width)]
        b_parts = [b[i:i + width] for i in range(0, max(len(b), 1), width)]
        for j in range(max(len(a_parts), len(b_parts))):
            lines.append("%-*s | %s" % (width, a_parts[j] if j < len(a_parts) else "",
                                        b_parts[j] if j < len(b_parts) else ""))
    return "\n".join(lines)

