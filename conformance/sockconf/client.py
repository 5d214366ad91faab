"""Host client: sends requests over a transport and matches responses (PROTOCOL.md section 7)."""
import re
import time

from . import wire
from .transport import TargetDied  # noqa: F401  (re-exported: one place to import errors from)


class ClientError(Exception):
    """Base of the client's errors."""


class TargetSilent(ClientError):
    def __init__(self, ops, seconds):
        self.ops, self.seconds = ops, seconds
        super().__init__("target sent no answer within %.1f s to: %s" % (seconds, ", ".join(ops)))


class ProtocolReject(ClientError):
    def __init__(self, code, line):
        self.code, self.line = code, line
        super().__init__("target rejected the request with %r: %s" % (code, line))


class ProtocolError(ClientError):
    """The target answered something the protocol does not allow."""


class KeywordsUnsupported(ClientError):
    """A keyword argument for a target whose protocol (version 1) has no form for one."""

    def __init__(self, op, proto):
        self.op, self.proto = op, proto
        super().__init__("op %r has a keyword argument, and the target speaks protocol %r, which has none "
                         "(keyword arguments came with version 2)" % (op, proto))


class RuntimeBroken(ClientError):
    """The agent's runtime probe failed (HELLO's `runtime`): the target cannot run the agent, the
    same on every try. str() is HELLO's sentence."""
    final = True


class OpFailed(ClientError):
    def __init__(self, op, result):
        self.op, self.result = op, result
        super().__init__("op %r did not return a value: %r" % (op, result))


class Client:
    """One session with an agent. The first call sends an empty line and drains, for resync_wait
    seconds, whatever answers a partial line left in the agent's buffer; after that every `X -`
    answers the one pending request (the agent gives no seq with `crc` and `long`)."""

    def __init__(self, transport, timeout_scale=1.0, resync_wait=0.2):
        self.transport, self.timeout_scale = transport, timeout_scale
        self.seq = 0
        self.noise = []        # console lines that were not responses
        self.stale = []        # responses to other requests (late answers, junk before resync)
        self.round_trips = self.bytes_out = self.bytes_in = 0
        self.info = None       # the HELLO dict, once hello() ran
        self._synced = False
        self.resync_wait = resync_wait

    def _write(self, data):
        self.transport.write(data)
        self.bytes_out += len(data)

    def _send(self, ops, mode):
        proto = (self.info or {}).get("proto", wire.PROTO)
        for name, args in ops:
            if proto < 2 and any(isinstance(a, wire.Kw) for a in args):
                raise KeywordsUnsupported(name, proto)
        self.seq = self.seq % wire.MAX_SEQ + 1
        line = wire.encode_request(self.seq, ops, mode)
        maxline, maxops = (self.info or {}).get("maxline"), (self.info or {}).get("maxops")
        if (maxline and len(line) + 1 > maxline) or (maxops and len(ops) > maxops):
            raise ValueError("request of %d bytes and %d ops exceeds the target's maxline %s or maxops %s"
                             % (len(line) + 1, len(ops), maxline, maxops))
        if not self._synced:
            self._resync()
        self._write(line.encode("ascii") + b"\n")
        self.round_trips += 1
        return self.seq

    def _resync(self):
        self._write(b"\n")
        self._synced = True
        deadline = time.monotonic() + self.resync_wait * self.timeout_scale
        while True:
            raw = self._readline(deadline)
            if raw is None:
                return
            text = raw.decode("latin-1").rstrip("\r\n")
            (self.stale if text.startswith(("R ", "X ", "+ ")) else self.noise).append(text)

    def _readline(self, deadline):
        raw = self.transport.readline(deadline)
        self.bytes_in += len(raw or b"")
        return raw

    def call(self, ops, mode="S", timeout=5.0):
        """Run ops (a list of (name, [args])) as one request; the Response, or a ClientError."""
        try:
            return self._call(ops, mode, timeout)
        except TargetDied as e:
            if e.ops:
                raise
            died = TargetDied(e.status, e.stderr_tail, [name for name, _ in ops])
            died.final = e.final
            raise died from None

    def _call(self, ops, mode, timeout):
        """One request; its response may come as `+` lines then its `R` line (PROTOCOL.md section
        4): the deadline covers them all, `+` lines of another seq are stale, at most
        wire.MAX_MORE of them."""
        names = [name for name, _ in ops]
        seconds = timeout * self.timeout_scale
        prepare = getattr(self.transport, "prepare", None)
        if prepare:     # a link with work to do before a request (sockconf/qemu.py: forwarding the ports it binds)
            prepare(ops)
        seq, resent = self._send(ops, mode), False
        deadline = time.monotonic() + seconds
        more = []      # the texts of this response's `+` lines so far
        while True:
            raw = self._readline(deadline)
            if raw is None:
                raise TargetSilent(names, seconds)
            text = raw.decode("latin-1").rstrip("\r\n")
            if text.startswith("+ "):
                self._more(text, seq, more)
                continue
            if not text.startswith(("R ", "X ")):
                self.noise.append(text)
                continue
            other = re.match(r"[RX] ([0-9]+) ", text)
            if other and int(other.group(1)) != seq and not more:
                self.stale.append(text)     # (the last line of a stale continued response too)
                continue
            try:
                resp = wire.decode_response(text, more)
            except wire.WireError as e:
                raise ProtocolError("target sent a bad response line (%s): %.300s" % (e, text)) from None
            if more and (resp.seq != seq or resp.reject):
                raise ProtocolError("target sent %d `+` lines of request %d, then: %.300s" % (len(more), seq, text))
            if resp.reject == "crc" and not resent:
                seq, resent = self._send(ops, mode), True
            elif resp.reject:
                raise ProtocolReject(resp.reject, text)
            else:
                self._check_count(resp, ops, mode, text)
                return resp

    def _more(self, text, seq, more):
        """Take a `+` line: its text for the pending response, or a stale one."""
        try:
            got, piece = wire.decode_more(text)
        except wire.WireError as e:
            raise ProtocolError("target sent a bad `+` line (%s): %.200s" % (e, text)) from None
        if got != seq:
            self.stale.append(text)
            return
        maxline = (self.info or {}).get("maxline")
        if maxline and len(text) + 1 != maxline:
            raise ProtocolError("target sent a `+` line of %d bytes; every one is maxline (%d) bytes: %.200s"
                                % (len(text) + 1, maxline, text))
        if len(more) == wire.MAX_MORE:
            raise ProtocolError("target sent more than %d `+` lines for request %d (the bound of PROTOCOL.md "
                                "section 7)" % (wire.MAX_MORE, seq))
        more.append(piece)

    @staticmethod
    def _check_count(resp, ops, mode, text):
        n, rs = len(ops), resp.results
        if mode == "C":
            ok = len(rs) == n
        else:  # S: every op returned, or it stopped at the first that did not
            ok = all(isinstance(r, wire.Ok) for r in rs[:-1]) and (
                len(rs) == n or (len(rs) < n and not isinstance(rs[-1], wire.Ok)))
        if not ok:
            raise ProtocolError("target answered %d results to %d ops in mode %s: %s" % (len(rs), n, mode, text))

    def value(self, name, *args, timeout=5.0):
        """Run one op and return its value; OpFailed if it raised or the agent could not run it."""
        r = self.call([(name, list(args))], timeout=timeout).results[0]
        if not isinstance(r, wire.Ok):
            raise OpFailed(name, r)
        return r.value

    def hello(self):
        """The target's HELLO as a dict; ProtocolError unless it speaks protocol 2 or 1 (1: no
        keyword arguments, KeywordsUnsupported if a request has one); RuntimeBroken when the agent
        says its runtime failed the probe."""
        pairs = self.value("hello")
        if not (isinstance(pairs, list) and all(isinstance(p, tuple) and len(p) == 2 for p in pairs)):
            raise ProtocolError("hello did not return a list of (key, value) pairs: %r" % (pairs,))
        info = dict(pairs)
        if info.get("proto") not in (1, 2):
            raise ProtocolError("target speaks protocol %r, this client speaks 2 and 1" % (info.get("proto"),))
        if info.get("runtime"):     # harness/PROTOCOL.md section 6: the probe failed; nothing else will work
            raise RuntimeBroken(info["runtime"])
        self.info = info
        return info

    def reset(self, timeout=5.0):
        """Close every handle on the target; how many were still open."""
        return self.value("reset", timeout=timeout)

    def resync(self):
        """Send an empty line and drain what the agent still had to say (section 7's resync)."""
        self._synced = False
        self._resync()

    def rebind(self, transport):
        """Carry on over a new transport (a restarted process, a re-entered board): resync and
        HELLO again; the counters go on (and the last HELLO stays, should this one fail)."""
        self.transport, self._synced = transport, False
        return self.hello()

    def const(self, *names):
        """The target's module constants by name (None where the module lacks one)."""
        values = self.value("const", *names)
        if not (isinstance(values, list) and len(values) == len(names)):
            raise ProtocolError("const answered %r to %d names" % (values, len(names)))
        return dict(zip(names, values))
