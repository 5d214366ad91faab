"""Profiles (targets/profiles/NAME.json) and target files (targets/NAME.json), as data.

A profile says which clauses are normative for a target and what it documents differently:

    {"name": "...", "about": "...",
     "documents": ["micropython-usocket.txt"],        # every clause of these applies
     "clauses": ["uc386:timeouts.etimedout"],          # and these single clauses of others
     "capabilities": ["settimeout"],                   # assumed even if HELLO does not say so
     "lacks": ["AF_INET6"],                            # absent even if HELLO says so
     "deviations": [{"clause": ID, "quote": "...", "doc": "...",
                     "instead": ["timeout"]}],              # optional: what the port does instead
     "timeout_unit": {"unit": "ms", "quote": "...", "doc": "..."},   # optional; default seconds
     "addresses": {"form": "tuple", "quote": "...", "doc": "..."},    # optional; default getaddrinfo
     "service": {"call": "lwip.callback", "quote": "...", "doc": "..."},   # optional
     "bringup": {"calls": [["lwip.reset"], ...], "quote": "...", "doc": "..."}}   # optional

A deviation turns a difference on that clause into DEVIATION, with the quote that documents it:
the check records it and the case goes on, so every other check still decides. Where the quote
says what the port does instead (the class it raises, the type it returns), `instead` lists it,
and only that is excused: anything else is still a FAIL. timeout_unit is
the unit the port's settimeout takes, with the quote that documents it: cases give seconds, and
the target's side sends them in this unit (sockconf/case.py, Native). addresses is how a case's
set-up gets an address, as the port's document shows it (FORMS); the set-up of every case
follows it, so a port is tested through the forms it documents.

service names the function the port's document says the stack needs called (a dotted name): the
agent calls it before each op and while it waits for a request (harness/micropython/agent.py,
main()). bringup is how the port's document brings the network up: calls the agent makes, in
order, before anything else, each a list [dotted name, arguments...] or a list of such lists
(alternatives: the first that returns ends the step); HELLO reports what each did, and the
port's cases check the documented calls against that record. A target file may give its own
"bringup" (a board on another network than the document's example).

A target file names a target so that a CI matrix can name files:

    {"spec": "cmd:./my-agent", "profile": "micropython", "about": "...", "bringup": [...]}
"""
import json
import pathlib

from . import wire
from .root import ROOT

TARGETS = ROOT / "targets"
PROFILES = TARGETS / "profiles"
UNITS = {"s": 1, "ms": 1000}    # settimeout units, per second
# how a case's set-up gets an address (sockconf/case.py, Side.address):
FORMS = {
    # getaddrinfo(host, port, 0, SOCK_STREAM or SOCK_DGRAM)[0][-1]
    "getaddrinfo": "the canonical document's recommended getaddrinfo with the filtering params",
    # getaddrinfo(host, port)[0][-1]
    "getaddrinfo(host, port)": "getaddrinfo with only the host and port",
    # (ip, port), and bind(port) for the wildcard address
    "tuple": "(ip, port) tuples, and bind(port) for any local address",
}
ANY = "0.0.0.0"     # the wildcard address a listener binds
CANONICAL_ADDRESSES = {
    "form": "getaddrinfo", "doc": "micropython-usocket.txt",
    "quote": "s.connect(usocket.getaddrinfo('www.micropython.org', 80, 0, SOCK_STREAM)[0][-1])"}


class ProfileError(Exception):
    """A profile or target file that cannot be used; str() is one sentence."""


def read_json(path, what):
    """The JSON object in the file at path; ProfileError in one sentence naming it as `what`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ProfileError("%s %s cannot be read: %s" % (what, path, e.strerror)) from None
    except ValueError as e:
        raise ProfileError("%s %s is not valid JSON: %s" % (what, path, e)) from None
    if not isinstance(data, dict):
        raise ProfileError("%s %s must hold a JSON object" % (what, path))
    return data


def names():
    return sorted(p.stem for p in PROFILES.glob("*.json"))


def load(name, clauses):
    """The profile NAME (or a path to one), checked against the clause inventory."""
    path = pathlib.Path(name) if name.endswith(".json") else PROFILES / (name + ".json")
    if not path.exists():
        raise ProfileError("--profile=%s: no such profile; there are: %s" % (name, ", ".join(names())))
    p = read_json(path, "profile")
    p.setdefault("name", path.stem)
    for key in ("documents", "clauses", "capabilities", "lacks", "deviations"):
        p.setdefault(key, [])
    docs = {c["doc"] for c in clauses.values()}
    for d in p["documents"]:
        if d not in docs:
            raise ProfileError("profile %s names document %r, which has no clause inventory" % (p["name"], d))
    for cid in p["clauses"] + [d.get("clause") for d in p["deviations"]]:
        if cid not in clauses:
            raise ProfileError("profile %s names clause %r, which is not in vectors/clauses" % (p["name"], cid))
    for d in p["deviations"]:
        if not d.get("quote"):
            raise ProfileError("profile %s: the deviation on %s has no quote documenting it" % (p["name"], d["clause"]))
        if "instead" in d and not (isinstance(d["instead"], list) and d["instead"]
                                   and all(isinstance(x, str) for x in d["instead"])):
            raise ProfileError("profile %s: the deviation on %s: instead must be a list of names (classes raised or "
                               "types returned)" % (p["name"], d["clause"]))
    unit = p.setdefault("timeout_unit", {"unit": "s"})
    if not isinstance(unit, dict) or unit.get("unit") not in UNITS or (unit["unit"] != "s" and not unit.get("quote")):
        raise ProfileError("profile %s: timeout_unit must be {\"unit\": one of %s, \"quote\": the sentence that "
                           "documents it}" % (p["name"], ", ".join(sorted(UNITS))))
    p["per_second"] = UNITS[unit["unit"]]
    addresses = p.setdefault("addresses", CANONICAL_ADDRESSES)
    if not isinstance(addresses, dict) or addresses.get("form") not in FORMS or not addresses.get("quote"):
        raise ProfileError("profile %s: addresses must be {\"form\": one of %s, \"quote\": the sentence or "
                           "example that documents it}" % (p["name"], ", ".join(sorted(FORMS))))
    service = p.get("service")
    if service is not None and not (isinstance(service, dict) and _dotted(service.get("call"))
                                    and service.get("quote") and service.get("doc")):
        raise ProfileError("profile %s: service must be {\"call\": a dotted function name, \"quote\": the sentence "
                           "that documents it, \"doc\": its document}" % p["name"])
    if "bringup" in p:
        b = p["bringup"]
        if not (isinstance(b, dict) and b.get("quote") and b.get("doc")):
            raise ProfileError("profile %s: bringup must be {\"calls\": [...], \"quote\": the sentence that "
                               "documents it, \"doc\": its document}" % p["name"])
        check_calls(b.get("calls"), "profile %s: bringup" % p["name"])
    return p


def _dotted(name):
    return isinstance(name, str) and all(part.isidentifier() for part in name.split("."))


def check_calls(calls, what):
    """A bring-up list: each step [dotted name, arguments...] or a list of such (alternatives), the
    arguments values the wire carries (None, bools, ints, floats, str, bytes, lists)."""
    def call(c):
        if not (isinstance(c, list) and c and _dotted(c[0])):
            raise ProfileError("%s: %r is not [a dotted function name, arguments...]" % (what, c))
        try:
            wire.encode_value(tuple(c))
        except (TypeError, ValueError) as e:
            raise ProfileError("%s: %r has an argument the wire cannot carry: %s" % (what, c, e)) from None
    if not isinstance(calls, list):
        raise ProfileError("%s: calls must be a list" % what)
    for step in calls:
        for c in (step if isinstance(step, list) and step and isinstance(step[0], list) else [step]):
            call(c)


def start_args(profile, tfile=None):
    """What the agent gets at its start from the profile (and target file): {"service": a dotted
    name or None, "bringup": a list of steps (tuples, or lists of tuples: alternatives) or None}."""
    calls = (tfile or {}).get("bringup", (profile.get("bringup") or {}).get("calls"))
    if tfile and "bringup" in tfile:
        check_calls(calls, "target file %s: bringup" % tfile.get("spec"))

    def step(s):
        return [tuple(c) for c in s] if s and isinstance(s[0], list) else tuple(s)
    return {"service": (profile.get("service") or {}).get("call"),
            "bringup": None if calls is None else [step(s) for s in calls]}


def agent_env(start):
    """start_args as the environment of an agent process ($SOCKCONF_SERVICE, $SOCKCONF_BRINGUP)."""
    env = {}
    if start.get("service"):
        env["SOCKCONF_SERVICE"] = start["service"]
    if start.get("bringup") is not None:
        env["SOCKCONF_BRINGUP"] = wire.encode_value(start["bringup"])
    return env


def applies(profile, clauses):
    """A function: clause ID -> whether the profile makes it normative."""
    docs, extra = set(profile["documents"]), set(profile["clauses"])
    return lambda cid: cid in extra or (cid in clauses and clauses[cid]["doc"] in docs)


class Rules:
    """What a profile decides for one side of a case: which clauses are normative (applies),
    which differences it documents (deviation), what the target has (capabilities, from HELLO
    and the profile: `lacks` wins over both), its settimeout unit and its address form."""

    def __init__(self, profile, clauses):
        self.profile, self.name = profile, profile["name"]
        self.applies = applies(profile, clauses)
        self.deviations = {d["clause"]: d for d in profile["deviations"]}
        self.lacks = set(profile["lacks"])
        self.per_second = profile["per_second"]
        self.addresses = profile["addresses"]["form"]

    def gai(self, host, port, kind):
        """A getaddrinfo op for host:port in the port's documented form: getaddrinfo(host, port)
        where that is all its document shows, else with the canonical filtering params (af 0,
        kind: the target's SOCK_* number)."""
        return ("getaddrinfo", [host, port] + ([] if self.addresses == "getaddrinfo(host, port)" else [0, kind]))

    def address(self, host, port, kind):
        """An op whose result holds the address of host:port (ANY: any local address, to bind) in
        the port's documented form (FORMS): getaddrinfo (gai), or a tuple handed back by echo
        (ANY: the port alone, bind(port)). at(k) refers to the address op k made; addr_of takes
        it from that op's value."""
        if self.addresses == "tuple":
            return ("echo", [port if host == ANY else (host, port)])
        return self.gai(host, port, kind)

    def at(self, k):
        """A reference to the address op k (an address() op) made."""
        return wire.Ref(k, 0) if self.addresses == "tuple" else wire.Ref(k, 0, -1)

    def addr_of(self, value):
        """The address in the value an address() op returned."""
        return value[0] if self.addresses == "tuple" else value[0][-1]

    def deviation(self, cid):
        """The profile's documented deviation on clause cid (with its quote), or None."""
        return self.deviations.get(cid)

    def capabilities(self, hello_caps):
        """The capabilities a target with these HELLO caps has under this profile."""
        return (set(hello_caps) | set(self.profile["capabilities"])) - self.lacks


def target_file(spec):
    """The target file a --target value names (NAME under targets/, or a path), or None."""
    path = pathlib.Path(spec) if spec.endswith(".json") else TARGETS / (spec + ".json")
    if not path.is_file():
        return None
    data = read_json(path, "target file")
    if not isinstance(data.get("spec"), str):
        raise ProfileError("target file %s has no \"spec\" string" % path)
    return data
