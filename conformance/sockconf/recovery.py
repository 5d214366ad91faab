"""Keeping a target usable through a run, so that a target that hangs or dies costs the case it
happened in and never the run.

A Keeper owns one agent session (a process or a board). Between cases it checks the agent with
RESET (which also says how many sockets the case left open). When the agent does not answer, or
has died, it climbs the recovery ladder:

1. resynchronise: an empty line, drain, then `echo`;
2. RESET: close everything the agent holds;
3. restart: a new process, or for a board a new link (interrupt, soft reset, upload, start);
4. give up: after two failed restarts, or when the target needed recovery in GIVE_UP_AFTER cases
   in a row; every later case is then UNRESOLVED at once, with the reason.

A start that fails the same way on every try (TargetDied.final: an ImportError, SyntaxError or
MemoryError as the agent loads; RuntimeBroken: the agent's runtime probe failed, and HELLO says
which operation) is reported once and not retried. A target that lacks what every
case needs (TargetLacks: a board without a socket module) is not given up: `lacks` says why, and
every case is UNSUPPORTED with it.

Each climb is an event in the results file: the case, what went wrong, the rungs tried.
"""
import time

from .client import ClientError, RuntimeBroken
from .transport import TargetDied, TargetLacks

TROUBLE = (ClientError, TargetDied, OSError, ValueError)   # what a call or a start can end in
GIVE_UP_AFTER = 8       # cases in a row that needed recovery
RESTARTS = 2            # attempts per climb


class GivenUp(Exception):
    """The target was given up earlier in the run."""


class Keeper:
    """One target's session through the run: Keeper(name, start), where start(client) starts the
    agent and says HELLO, returning a Client (a new one when client is None, else the same one
    rebound to a new transport)."""

    def __init__(self, name, start, check_timeout=2.0):
        self.name, self._start, self.check_timeout = name, start, check_timeout
        self.client, self.gone, self.lacks = None, None, None
        self.events = []        # one dict per climb of the ladder
        self.link = None        # the link's measured figures (sockconf/link.py), once the run measured them
        self.restarts = 0
        self._streak = 0
        tries = []
        for _ in range(1 + RESTARTS):
            try:
                self.client = start(None)
                break
            except TargetLacks as e:
                self.lacks = str(e)
                break
            except RuntimeBroken as e:
                self.gone = "at the start: its runtime failed the agent's probe: %s" % e
                break
            except TROUBLE as e:
                tries.append(_say(e))
                if getattr(e, "final", False):
                    self.gone = "at the start: it did not start: %s" % tries[-1]
                    break
        else:
            self.gone = "at the start: it did not start: %s" % "; then ".join(tries)

    def ready(self, case):
        """Before a side's run: the agent answers RESET, after a climb if need be. Returns None, or
        what the climb did; GivenUp when the target is (now) given up."""
        if self.gone:
            raise GivenUp(self.gone)
        try:
            self.client.reset(timeout=self.check_timeout)
            return None
        except TROUBLE as e:
            note = self.recover(case, "before the case: %s" % _say(e), died=isinstance(e, TargetDied))
        if self.gone:
            raise GivenUp(self.gone)
        return note

    def settle(self, case):
        """After a side's run: (how many sockets RESET closed, None), or (None, what the climb did)
        when the agent did not answer."""
        if self.gone:
            return None, "the %s was given up %s" % (self.name, self.gone)
        try:
            n = self.client.reset(timeout=self.check_timeout)
            self._streak = 0
            return n, None
        except TROUBLE as e:
            self._streak += 1
            note = self.recover(case, "after the case: %s" % _say(e), died=isinstance(e, TargetDied))
            if not self.gone and self._streak >= GIVE_UP_AFTER:
                self.gone = "after %d cases in a row needed recovery, the last %s" % (self._streak, case)
                note += "; given up: " + self.gone
            return None, note

    def recover(self, case, trouble, died=False):
        """Climb the ladder; a sentence saying what it took."""
        rungs = []
        event = {"case": case, "target": self.name, "trouble": trouble, "rungs": rungs, "at": time.time()}
        self.events.append(event)
        if not died:
            try:
                self.client.resync()
                self.client.call([("echo", [])], timeout=1.0)
                rungs.append("resync: the agent answers")
            except TROUBLE as e:
                rungs.append("resync: %s" % _say(e))
                died = isinstance(e, TargetDied)
        if not died:
            try:
                n = self.client.reset(timeout=self.check_timeout)
                rungs.append("RESET: %s handles closed" % n)
                event["outcome"] = "recovered by %s" % ("resync and RESET" if "answers" in rungs[0] else "RESET")
                return "%s; %s" % (trouble, event["outcome"])
            except TROUBLE as e:
                rungs.append("RESET: %s" % _say(e))
        for _ in range(RESTARTS):
            try:
                self.client.transport.close()
            except TROUBLE:
                pass
            try:
                t0 = time.monotonic()
                self._start(self.client)
                self.restarts += 1
                rungs.append("restart: HELLO after %.0f ms" % ((time.monotonic() - t0) * 1e3))
                event["outcome"] = "recovered by a restart"
                return "%s; %s" % (trouble, event["outcome"])
            except TROUBLE + (TargetLacks,) as e:
                rungs.append("restart: %s" % _say(e))
                if getattr(e, "final", False) or isinstance(e, TargetLacks):
                    break
        self.gone = "after %s: %s; %s" % (case, trouble, "; ".join(rungs))
        event["outcome"] = "given up"
        return "%s; the %s was given up (%s)" % (trouble, self.name, "; ".join(rungs))

    def close(self):
        if self.client is not None:
            try:
                self.client.transport.close()
            except TROUBLE:
                pass


def _say(e):
    return "%s: %s" % (type(e).__name__, e)
