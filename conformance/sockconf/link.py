"""What a target's timing windows are made of, measured once per target at the start of a run:

- rtt: the link's round trip, the median of 9 empty `echo` requests;
- per_byte: what each further byte on the line costs (a 2000-byte echo against an empty one), so
  a long request on a 115200-baud link is not taken for a late timeout;
- tick: how far the target's timeouts land from where they should, the worst of 8 short
  timeouts (10-80 ms) on a socket whose peer never sends: about one tick of a coarse clock
  (uc386 counts 55 ms BIOS ticks), about nothing on a fine one.

Side.window() turns them into the earliest and latest host-side times an operation that gives up
after `seconds` may take.
"""
import time

from . import peers as sc_peers
from . import wire
from .case import in_unit

DEFAULT = {"rtt": 0.0, "per_byte": 0.0, "tick": 0.0}
SAMPLES = (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08)
TICK_MOST = 0.5     # a clock coarser than this is not a clock the docs' timeouts can be tested on


def _timed(client, ops, timeout=5.0):
    t0 = time.monotonic()
    r = client.call(ops, timeout=timeout).results
    return r, time.monotonic() - t0


def rtt(client):
    """The link's round trip in seconds: the median of 9 `echo` requests."""
    return sorted(_timed(client, [("echo", [])])[1] for _ in range(9))[4]


def measure(client, peer_bind, rules, trouble=()):
    """The target's rtt, per_byte and tick (seconds), and `notes`: why a part could not be measured
    (then it is 0). rules: the target's profile (sockconf/profiles.py: its address form and
    settimeout unit). `trouble`: exceptions that mean the link failed (the measurement then stops)."""
    out, notes = dict(DEFAULT), []
    try:
        out["rtt"] = rtt(client)
        before = client.bytes_out + client.bytes_in
        big = sorted(_timed(client, [("echo", [b"\x55" * 2000])])[1] for _ in range(3))[1]
        wire_bytes = (client.bytes_out + client.bytes_in - before) / 3.0
        out["per_byte"] = max(0.0, (big - out["rtt"]) / wire_bytes)
        out["tick"], why = _tick(client, peer_bind, rules, out["rtt"])
        if why:
            notes.append(why)
    except trouble as e:
        notes.append("the link failed while measuring it: %s" % e)
    finally:
        try:
            client.reset()
        except trouble:
            pass
    out["notes"] = notes
    return out


def _tick(client, peer_bind, rules, link_rtt):
    with sc_peers.SilentAcceptor(peer_bind) as peer:
        stream = client.const("SOCK_STREAM")["SOCK_STREAM"]
        host = client.info.get("host", sc_peers.LOOPBACK)
        r = client.call([rules.address(host, peer.port, stream), ("socket", []),
                         ("connect", [wire.Ref(1), rules.at(0)])]).results
        if len(r) < 3 or not all(isinstance(x, wire.Ok) for x in r):
            return 0.0, "could not connect to a silent peer to time the timer: %r" % (r[-1],)
        sock = r[1].value
        errors = []
        for t in SAMPLES:
            res, took = _timed(client, in_unit([("settimeout", [sock, t]), ("recv", [sock, 1])], rules.per_second))
            if len(res) == 2 and isinstance(res[1], wire.Raised):
                errors.append(abs(took - link_rtt - t))
        if not errors:
            return 0.0, "no short timeout expired with an exception: the timer was not measured"
        return min(max(errors), TICK_MOST), None
