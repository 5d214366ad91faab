"""Cases that run on the oracle and on the target, and the verdict that compares them.

A case is a function of one argument, a Side, decorated with @case(clause IDs...):

    @case("mp:recv.bufsize")
    def test_recv_returns_at_most_bufsize(side):
        peer = side.echo()
        r = side.call(side.connect(peer) + [("sendall", [Ref(1), b"0123456789"]), ("recv", [Ref(1), 3])])
        got = side.ok(r[-1])
        side.check(0 < len(got) <= 3, "recv(3) returned %d bytes" % len(got))

The plugin runs it once against the oracle and once against the target, each with its own
fresh peers, then decides one status, the worst of everything the case saw:

- PASS: every check held on the target and every normative observation (side.same) equals the
  oracle's;
- FAIL: a check failed on a clause the profile applies and does not document as a deviation,
  or such an observation differs; the report shows the clause and the two transcripts;
- DEVIATION: something differed, and the profile documents every such difference for its
  clause. A documented deviation excuses exactly its clause: the check records it and the case
  goes on, so every other check still runs and still decides;
- UNSUPPORTED: the case needs a capability the target lacks (HELLO caps or profile), or an op
  it does not have;
- UNRESOLVED: it could not be decided: the link, the harness, a peer, or the oracle itself
  failed; always with the reason.

A check or observation names the clause that makes it normative (default: the case's first).
A profile (sockconf/profiles.py, Rules) says which clauses apply (whole documents, plus single
clauses of others) and which differences it documents; when a clause does not apply, a failed
check or a difference is shown as a detail and decides nothing. What a value returned by an op
must be, where the canonical document says it (RETURNS), is checked on every result a case
gets, under the canonical clause.
"""
import collections
import socket
import time
import traceback

from . import peers as sc_peers
from . import wire
from .profiles import ANY  # noqa: F401 (cases take it from here, with the rest of Side's vocabulary)
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


class Ended(Verdict):
    """Ends a side's run early with no status of its own: a value the rest of the case needs did
    not come, and the check that wanted it did not decide (its clause does not apply, or the
    profile documents the difference: then it was recorded). What the case saw so far decides."""
    status = None


def _is_count(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _pair(v):
    return isinstance(v, tuple) and len(v) == 2


# What the canonical document says an op returns: op -> (clause, what, test of the value). Every
# value an op returns in any case is checked against it, under that canonical clause, whatever a
# port document adds (a port that documents otherwise has a deviation on the clause). The value
# of a buffer op is (its return value, the buffer).
RETURNS = {
    "socket": ("mp:socket.create", "a new socket", lambda v: isinstance(v, wire.Handle)),
    "getaddrinfo": ("mp:gai.shape", "a list of 5-tuples (family, type, proto, canonname, sockaddr)",
                    lambda v: isinstance(v, list) and all(isinstance(i, tuple) and len(i) == 5 for i in v)),
    "accept": ("mp:accept.pair", "a pair (conn, address), conn a new socket object",
               lambda v: _pair(v) and isinstance(v[0], wire.Handle)),
    "send": ("mp:send.short-write", "the number of bytes sent", _is_count),
    "recv": ("mp:recv.bytes", "a bytes object", lambda v: isinstance(v, bytes)),
    "recvfrom": ("mp:recvfrom", "a pair (bytes, address) where bytes is a bytes object",
                 lambda v: _pair(v) and isinstance(v[0], bytes)),
    "makefile": ("mp:makefile", "a file object", lambda v: isinstance(v, wire.Handle)),
    "read": ("mp:read", "a bytes object", lambda v: isinstance(v, bytes)),
    "readinto": ("mp:readinto.return", "the number of bytes read and stored into buf",
                 lambda v: _pair(v) and _is_count(v[0])),
    "write": ("mp:write.return", "the number of bytes written", _is_count),
    "inet_pton": ("mp:inet_pton", "a binary representation (bytes)", lambda v: isinstance(v, bytes)),
    "inet_ntop": ("mp:inet_ntop", "a textual representation (str)", lambda v: isinstance(v, str)),
}
# Ops that on a non-blocking socket may return None instead: what "less data will be returned"
# and "returned value will be less than the length of buf" come to with nothing there is the
# port's (ref/SEMANTICS.md, implementation-defined); a case says when its sockets are non-blocking.
LESS = {"read": "mp:read.nonblocking", "readinto": "mp:read.nonblocking", "write": "mp:write.nonblocking"}
# pump and sink (PROTOCOL.md section 5): what the last call of the method named returned, by type name,
# for RETURNS (the methods it has an entry for): method -> the type names RETURNS takes
BULK_KINDS = {"send": ("int",), "write": ("int",), "recv": ("bytes",), "read": ("bytes",), "readinto": ("int",)}


class Tally(collections.namedtuple("Tally", "bytes calls short bad end kind last")):
    """What a pump or sink did (PROTOCOL.md section 5, tally): bytes moved, calls made, calls that
    moved fewer than asked, the stream offset of the first byte a sink found wrong (-1: none), how it
    ended (done, value, raised, limit), the type name of what the last call returned, and that value
    (an int; the length of bytes; else None)."""


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


def in_unit(ops, per_second):
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

    def __init__(self, name, client, peer_bind, dns_peer, link, rules, clause, timeout_scale=1.0):
        """link: the target's measured rtt, per_byte and tick (sockconf/link.py), for timing
        windows; rules: what the side's profile decides (sockconf/profiles.py, Rules: clauses
        that apply, documented deviations, capabilities, settimeout unit, address form);
        clause: the case's first clause, the default for checks and observations."""
        self.name, self.client, self.peer_bind, self.dns = name, client, peer_bind, dns_peer
        self.link, self.rules, self.clause = link, rules, clause
        self.applies, self.timeout_scale, self.per_second = rules.applies, timeout_scale, rules.per_second
        self._wire = 0          # bytes the last timed() call put on the line, both ways
        self.info = client.info
        self.host = self.info.get("host", sc_peers.LOOPBACK)
        self.listen_host = self.info.get("listen_host", sc_peers.LOOPBACK)
        self.caps = rules.capabilities(self.info.get("caps", []))
        self.normative = {}     # key: (value, clause)
        self.details = {}       # key: value, shown, never decisive
        self.deviations = []    # (clause, what differed): checks the profile documents as deviations
        self.transcript = []    # lines: what was sent and what came
        self._peers = []
        self._consts = getattr(client, "_sockconf_consts", None)
        if self._consts is None:
            self._consts = client._sockconf_consts = {}

    # ---- talking to the agent ----

    def call(self, ops, mode="S", timeout=5.0, nonblocking=False):
        """Run ops as one request; the list of results (Ok, Raised or AgentError). An op the
        agent does not have makes the case UNSUPPORTED; link trouble makes it UNRESOLVED.
        settimeout values are seconds (see Native), sent in the target's unit. Every value
        returned is checked against what the canonical document says of it (RETURNS);
        nonblocking: the sockets are non-blocking, so None from a read, readinto or write is
        reported, not failed (LESS)."""
        ops = in_unit(ops, self.per_second)
        self.transcript.append("> " + " ; ".join("%s %s" % (n, ", ".join(map(_show, a))) for n, a in ops))
        try:
            results = self.client.call(ops, mode=mode, timeout=timeout).results
        except (ClientError, TargetDied, TimeoutError) as e:
            self.transcript.append("< (%s)" % e)
            raise Unresolved("%s: %s" % (type(e).__name__, e)) from None
        self.transcript.append("< " + " ; ".join(map(_show, results)))
        for (name, args), r in zip(ops, results):
            if isinstance(r, wire.AgentError):
                if r.code == "unsupported":     # pump and sink: the method they were to call
                    raise Unsupported("the target has no %s" % (args[1] if name in ("pump", "sink") else name))
                raise Unresolved("the agent could not run %s: ? %s" % (name, r.code))
        for (name, _), r in zip(ops, results):
            if isinstance(r, wire.Ok) and name in RETURNS:
                self._returned(name, r.value, nonblocking)
        return results

    def _returned(self, name, value, nonblocking):
        """Check a value op `name` returned against the canonical document (RETURNS)."""
        clause, what, test = RETURNS[name]
        ret = value[0] if name in ("readinto", "recvfrom") and _pair(value) else value
        if nonblocking and name in LESS and ret is None:
            self.details["%s on a non-blocking socket (%s)" % (name, LESS[name])] = "None"
            return
        self.check(test(value), "%s returned %s, not %s" % (name, _show(value), what), clause, type(ret).__name__)

    def bulk(self, op, h, method, total, chunk, start=0, timeout=10.0, nonblocking=False):
        """`pump` or `sink` (PROTOCOL.md section 5): the target itself sends `total` bytes of the
        pattern from stream offset `start` with `method`, `chunk` bytes a call, or receives and
        checks them, in one request; (the op's result, its Tally). What the last call returned is
        checked against RETURNS by its type, as call() checks a value (a raise is the result's)."""
        return self.bulks([(op, h, method, total, chunk, start)], timeout, nonblocking)[0]

    def bulks(self, moves, timeout=10.0, nonblocking=False):
        """Several bulk moves, (op, h, method, total, chunk, start) each, in one request (mode C),
        each followed by its tally; [(result, Tally)], checked as bulk() checks one."""
        ops = []
        for op, h, method, total, chunk, start in moves:
            ops += [(op, [h, method, total, chunk, start]), ("tally", [])]
        r = self.call(ops, mode="C", timeout=timeout)
        out = []
        for (_, _, method, _, _, _), result, tally in zip(moves, r[::2], r[1::2]):
            t = Tally(*self.ok(tally, "tally"))
            kinds = BULK_KINDS.get(method)
            if kinds and t.kind and t.kind not in kinds:
                if nonblocking and method in LESS and t.kind == "NoneType":
                    self.details["%s on a non-blocking socket (%s)" % (method, LESS[method])] = "None"
                else:
                    clause, what, _ = RETURNS[method]
                    self.check(False, "%s returned a %s, not %s" % (method, t.kind, what), clause, t.kind)
            out.append((result, t))
        return out

    def module_const(self, *names):
        """The module's own values for these constants (None where it has none); one name: its
        value. Cases use const(), which honours the profile."""
        missing = [n for n in names if n not in self._consts]
        for k in range(0, len(missing), 8):     # 8: the fewest arguments an agent takes per op
            try:
                self._consts.update(self.client.const(*missing[k:k + 8]))
            except (ClientError, TargetDied) as e:
                raise Unresolved("const: %s" % e) from None
        return self._consts[names[0]] if len(names) == 1 else {n: self._consts[n] for n in names}

    def const(self, *names):
        """The target's numbers for these constants (None where the module lacks one, or the
        profile `lacks` it: a port may define a constant it cannot use, e.g. AF_INET6 on an
        IPv4-only lwIP build); one name: its value."""
        values = self.module_const(*names) if len(names) > 1 else {names[0]: self.module_const(names[0])}
        for n in names:
            if n in self.rules.lacks and values[n] is not None:
                self.details["%s (the profile lacks it)" % n] = "the module has %r" % (values[n],)
                values[n] = None
        return values[names[0]] if len(names) == 1 else values

    def require_const(self, *names):
        """Like const, but UNSUPPORTED when the module lacks one of them."""
        values = self.const(*names) if len(names) > 1 else {names[0]: self.const(names[0])}
        absent = [n for n, v in values.items() if v is None]
        if absent:
            raise Unsupported("the module has no %s" % ", ".join(absent))
        return values[names[0]] if len(names) == 1 else values

    def address(self, host, port, kind="SOCK_STREAM"):
        """An op whose result holds the address of host:port (ANY: any local address, to bind),
        in the form the profile's port documents (profiles.FORMS): getaddrinfo(host, port, 0,
        kind), getaddrinfo(host, port), or a tuple (ANY: the port alone, bind(port)) handed
        back by echo. at(k) refers to the address op k made; `port` may be a peer."""
        port = getattr(port, "port", port)
        return self.rules.address(host, port, None if self.rules.addresses == "tuple" else self.const(kind))

    def gai(self, host, port, kind="SOCK_STREAM"):
        """A getaddrinfo op for host:port (and kind, a SOCK_* name), in the form the profile's port
        documents: getaddrinfo(host, port) where that is all it shows, else with the canonical
        filtering params (af 0, the type). For the cases whose subject is getaddrinfo's address."""
        return self.rules.gai(host, getattr(port, "port", port), self.const(kind))

    def at(self, k):
        """A reference to the address op k (an address() op) made."""
        return self.rules.at(k)

    def addr_of(self, value):
        """The address in the value an address() op returned."""
        return self.rules.addr_of(value)

    def listening(self, port, backlog=(1,), reuse=False, options=()):
        """Ops that make a TCP socket (result 1) listen on any local address at port, as the docs'
        server examples do: its address from address(ANY, port), the options (reuse: SO_REUSEADDR
        set to 1 first, where the module has SOL_SOCKET and SO_REUSEADDR), bind, listen(*backlog)."""
        if reuse:
            sol, so = self.const("SOL_SOCKET"), self.const("SO_REUSEADDR")
            options = ([("setsockopt", [wire.Ref(1), sol, so, 1])] if None not in (sol, so) else []) + list(options)
        return ([self.address(ANY, port), ("socket", [])] + list(options) +
                [("bind", [wire.Ref(1), self.at(0)]), ("listen", [wire.Ref(1)] + list(backlog))])

    def nonblocking(self, h):
        """An op that makes socket h non-blocking, for a case whose subject is something else:
        setblocking(False), or where the target has no setblocking, settimeout(0), which the
        document makes its equivalent ("sock.setblocking(False) is equivalent to sock.settimeout(0)")."""
        return ("setblocking", [h, False]) if "setblocking" in self.info.get("ops", ()) else ("settimeout", [h, 0])

    def blocking(self, h):
        """An op that makes socket h blocking: setblocking(True), else settimeout(None)."""
        return ("setblocking", [h, True]) if "setblocking" in self.info.get("ops", ()) else ("settimeout", [h, None])

    def bind_any(self, sock, k):
        """Two ops binding socket `sock` to any local address and a free port, the first of them
        being op k of its request. Every UDP socket a case makes is bound before its first I/O:
        Zerynth's "A udp socket needs to be bound before any input/output operation."; no other
        document forbids it, so it changes nothing for the others."""
        return [self.address(ANY, 0, "SOCK_DGRAM"), ("bind", [sock, self.at(k)])]

    def udp_bound(self, port=0):
        """Ops that make a UDP socket (result 1) bound to any local address at port (0: any free
        port), as the uc386 document's u.bind(('0.0.0.0', 0)) does."""
        return [self.address(ANY, port, "SOCK_DGRAM"), ("socket", [self.const("AF_INET"), self.const("SOCK_DGRAM")]),
                ("bind", [wire.Ref(1), self.at(0)])]

    def connect(self, port, host=None, extra=()):
        """Ops that make a TCP socket (result 1) connected to host:port, its address got as the
        port documents (address()); `port` may be a peer. Append extra ops; Ref(1) is the socket."""
        return [self.address(host or self.host, port), ("socket", []),
                ("connect", [wire.Ref(1), self.at(0)])] + list(extra)

    def connected(self, port, host=None, extra=(), mode="S", timeout=5.0, nonblocking=False):
        """Run connect(...) now; the results (the three that connect must return)."""
        r = self.call(self.connect(port, host, extra), mode=mode, timeout=timeout, nonblocking=nonblocking)
        for x in r[:3]:
            self.ok(x, "setting up the connection")
        return r

    def made_sockets_connect(self, ways, clause=None):
        """For each (what, socket() arguments) of ways: a socket made so connects to a fresh TCP
        echo peer (through address()) and the peer receives what it sends: a stream socket."""
        for k, (what, args) in enumerate(ways):
            peer, tag = self.echo(), b"made-%d" % k
            r = self.call([self.address(self.host, peer), ("socket", args), ("connect", [wire.Ref(1), self.at(0)]),
                           ("sendall", [wire.Ref(1), tag])])
            for x, step in zip(r, ("the address", what, "connect on %s to a TCP peer" % what, "sendall on %s" % what)):
                self.ok(x, step, clause)
            got = peer.wait_received(len(tag))
            self.check(got == tag, "the TCP peer received %r from %s, which sent %r" % (got, what, tag), clause)

    # ---- what the case decides with ----

    def check(self, cond, message, clause=None, observed=None):
        """An invariant the clause requires: True if it held. A failure on a clause the profile
        applies ends the case as FAIL, unless the profile documents a deviation on that clause:
        then it is recorded and the case goes on (False), as it does when the clause does not
        apply (a detail). Where the deviation says what the port does instead (its `instead`: a
        class raised, a type returned), it excuses only a check that observed one of those
        (observed: the class or type name the check saw); any other failure on the clause, of
        content or of shape, still FAILs."""
        if cond:
            return True
        clause = clause or self.clause
        if not self.applies(clause):
            self.details["not required (%s)" % clause] = message
            return False
        dev = self.rules.deviation(clause)
        if dev and ("instead" not in dev or observed in dev["instead"]):
            self.deviations.append((clause, message))
            return False
        if dev:
            message += "; the profile documents only %s instead" % " or ".join(dev["instead"])
        raise CheckFailed(message, clause)

    def need(self, cond, message, clause=None):
        """check(), for a condition the rest of the case depends on (a value's shape, a datagram
        that came): when it does not hold and does not decide, the case cannot go on: it ends."""
        if not self.check(cond, message, clause):
            raise Ended(message, clause or self.clause)
        return True

    def same(self, key, value, clause=None):
        """A normative observation: the target's must equal the oracle's."""
        self.normative[key] = (value, clause or self.clause)
        return value

    def detail(self, key, value):
        """An implementation-defined observation: reported, never failed."""
        self.details[key] = value
        return value

    def ok(self, result, what="", clause=None):
        """The value of a result that must have returned, under clause. When it did not and the
        check does not decide (see check), the case cannot go on without the value: it ends."""
        if isinstance(result, wire.Ok):
            return result.value
        message = "%sexpected a return, got %s" % (what + ": " if what else "", _show(result))
        self.check(False, message, clause)
        raise Ended(message, clause or self.clause)

    def raised(self, result, errno=None, cls="OSError", clause=None, errno_clause=None, cls_clause=None, what=""):
        """Check that result raised (under clause), that the exception is cls (under cls_clause)
        and, when given, its errno name (under errno_clause); both default to clause. Returns it.
        Separate clauses keep a profile's deviation narrow: a port documented to raise another
        class than OSError deviates on the class, not on raising at all."""
        head = what + ": " if what else ""
        clause = clause or self.clause
        if not isinstance(result, wire.Raised):
            message = "%sexpected %s%s, got %s" % (head, cls, " " + errno if errno else "", _show(result))
            self.check(False, message, clause)
            raise Ended(message, clause)
        self.check(result.cls == cls, "%sexpected %s, got %s" % (head, cls, _show(result)), cls_clause or clause,
                   result.cls)
        if errno:
            self.check(result.errno == errno, "%sexpected %s %s, got %s" % (head, cls, errno, _show(result)),
                       errno_clause or clause)
        return result

    def retry(self, op, seconds=3.0):
        """Run one op (on a non-blocking socket) until it does not raise EAGAIN/EWOULDBLOCK; its
        last result. Bounded: 400 tries, `seconds` in all."""
        deadline = time.monotonic() + seconds
        for _ in range(400):
            r = self.call([op], nonblocking=True)[0]
            if not (isinstance(r, wire.Raised) and r.errno in ("EAGAIN", "EWOULDBLOCK")) or \
                    time.monotonic() >= deadline:
                return r
            time.sleep(0.01)
        return r

    def try_dial(self, port, timeout=2.0):
        """dial(), or the OSError that refused it (or timed out). Through a link that forwards the
        target's ports from the host (QEMU's hostfwd: the transport's `forwarded`), the host's
        connect always succeeds, since slirp accepts before it asks the guest; a guest that refuses
        makes slirp close that connection at once. So there, after one request (a guest whose stack
        runs only when the agent calls its service hook sees the connection then), a connection
        closed or reset without a byte within half a second and three round trips is the refusal
        it stands for, and a detail says so."""
        try:
            s = self.dial(port, timeout)
        except OSError as e:
            return e
        if not getattr(self.client.transport, "forwarded", False):
            return s
        self.call([("echo", [])])   # a request: a target that runs its stack only then (a service hook) sees the SYN
        wait = min(timeout, 0.5 + 3 * self.link["rtt"])
        s.settimeout(wait)
        try:
            closed = s.recv(1, socket.MSG_PEEK) == b""
        except socket.timeout:
            closed = False
        except OSError:
            closed = True
        s.settimeout(timeout)
        if closed:
            self.details["port %d through the forward" % port] = "the host's connect succeeded and the forward " \
                "closed it within %.0f ms: the guest refused it" % (wait * 1000)
            return ConnectionRefusedError("the guest refused the forwarded connection to port %d" % port)
        return s

    def timed(self, ops, mode="S", timeout=10.0, nonblocking=False):
        """call(), and the seconds it took on the host (the link round trip included)."""
        before = self.client.bytes_out + self.client.bytes_in
        t0 = time.monotonic()
        r = self.call(ops, mode, timeout, nonblocking)
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


def shown(r):
    """A result as 'Class ERRNO args' or 'returned value', for a case's messages and details."""
    if isinstance(r, wire.Raised):
        return "%s %s %r" % (r.cls, r.errno or "N", r.args)
    return "returned %r" % (r.value,) if isinstance(r, wire.Ok) else repr(r)


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
        except Ended as v:
            side.details["the case ended early"] = v.reason
        except Verdict as v:
            outcome = v.status, v.reason, v.clause
        except (OSError, socket.timeout) as e:
            outcome = "UNRESOLVED", "host-side trouble: %s: %s" % (type(e).__name__, e), None
        except Exception as e:      # the case's own code broke: the suite is at fault, never the target
            where = traceback.extract_tb(e.__traceback__)[-1]
            outcome = "UNRESOLVED", "the case itself failed (a fault of the suite): %s: %s at %s:%d" % (
                type(e).__name__, e, where.filename.rpartition("/")[2], where.lineno), None
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

