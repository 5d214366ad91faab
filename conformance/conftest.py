"""sockconf's pytest plugin: the `sockconf` option group, the target, the oracle, the host peers,
and the verdict of each case (sockconf/case.py): PASS, FAIL, DEVIATION, UNSUPPORTED, UNRESOLVED.

How the statuses map to pytest outcomes (so CI tells them apart):

| status      | pytest outcome | shown as            | exit status |
|-------------|----------------|---------------------|-------------|
| PASS        | passed         | `.` PASSED          | 0           |
| DEVIATION   | passed         | `D` DEVIATION       | 0           |
| UNSUPPORTED | skipped        | `u` UNSUPPORTED     | 0           |
| FAIL        | failed         | `F` FAILED          | 1           |
| UNRESOLVED  | failed         | `U` UNRESOLVED      | 1           |

The report of a FAIL or UNRESOLVED starts with the status word, then the clause and the reason;
a FAIL shows the oracle's and the target's transcripts side by side.
"""
import functools
import json
import os
import pathlib
import shlex
import sys
import tempfile
import time

import pytest

from sockconf import case as sc_case
from sockconf import clauses as sc_clauses
from sockconf import client as sc_client
from sockconf import netns as sc_netns
from sockconf import peers as sc_peers
from sockconf import profiles as sc_profiles
from sockconf import serial_link as sc_serial
from sockconf import transport as sc_transport
from sockconf.reports import baseline as sc_baseline
from sockconf.reports import results as sc_results

pytest_plugins = ["sockconf.progress"]   # --progress: where a long run is

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = pathlib.Path(os.environ.get("SOCKCONF_DOCS", ROOT.parent / "shared" / "docs"))
HARNESS = ROOT / "harness" / "build" / "sockconf-harness"
PY_AGENT = ROOT / "harness" / "micropython" / "agent.py"
ORACLE = ROOT / "ref" / "build" / "sockconf-ref"
VERSION = "0.1.0"
SESSION = pytest.StashKey()   # the session's target Client, for the summary
NET = pytest.StashKey()       # the run's network: {"tap": bool, "private": bool, "resolver": conf path or None,
                              #   "why": why the namespace or the private resolver could not be had}
SETUP = pytest.StashKey()     # the resolved target and profile (dict)
RESULTS = pytest.StashKey()   # one entry per case, for --results and the summary
COLLECTED = pytest.StashKey() # {"run": [case ids], "deselected": [ids], "narrowed": bool}: what this run covers
BUILT = {   # name: (command, network, default profile); network: "tap" (a namespace of the run's own,
            # with the tap; required), "private" (a namespace with a private resolver, where the
            # machine allows it: for host processes that resolve names the system's way), None
    "ref": ([str(ORACLE)], None, "oracle"),
    "ref-tap": ([str(ORACLE), "--tap", sc_netns.TAP], "tap", "oracle"),
    "harness": ([str(HARNESS)], None, "oracle"),
    "cpython": ([sys.executable, str(PY_AGENT)], "private", "cpython"),
}
TARGETS = "ref, ref-tap, harness, cpython, micropython:PATH, serial:DEVICE[@BAUD] or cmd:COMMAND"
WORDS = {"DEVIATION": ("deviation", "D"), "UNSUPPORTED": ("unsupported", "u"), "UNRESOLVED": ("unresolved", "U")}


def pytest_addoption(parser):
    group = parser.getgroup("sockconf", "sockconf conformance")
    group.addoption("--target", default="ref", metavar="SPEC",
                    help="what to test: ref (the lwIP oracle over slirp, default), ref-tap (the oracle on a "
                         "tap device in a network namespace the run makes), harness (the C harness on the "
                         "host's sockets), cmd:COMMAND, or a target file (NAME under targets/, or a path)")
    group.addoption("--profile", default=None, metavar="NAME",
                    help="the clauses that apply and the documented deviations (targets/profiles/NAME.json); "
                         "default: the target file's, else oracle for ref/ref-tap/harness, else micropython")
    group.addoption("--results", default=None, metavar="FILE.json",
                    help="write every case's status, clauses and details to FILE.json")
    group.addoption("--baseline", default=None, metavar="OLD.json",
                    help="compare this run with an earlier results file: newly failing, fixed and unresolved "
                         "cases and stale deviations; the exit status is 1 only on a regression")
    group.addoption("--timeout-scale", type=float, default=1.0, metavar="X",
                    help="multiply every host-side deadline by X (slow links)")
    group.addoption("--host-net", action="store_true",
                    help="run a host-process target (cmd:) in the machine's own network instead of a private "
                         "namespace with the suite's resolver; cases that resolve names are then UNRESOLVED "
                         "unless the target has the suite-dns capability")


def target_argv(spec):
    """(command, needs netns, default profile) for SPEC, or a UsageError in one sentence. The
    command is an argv list (a process speaking on stdin/stdout), or for a board a function that
    opens its link (sockconf.serial_link.SerialLink) and has `bind`, where the host's peers
    listen for it, and `why`, why it cannot use the suite's resolver."""
    kind, _, rest = spec.partition(":")
    if spec in BUILT:
        argv, netns, profile = BUILT[spec]
        for path in argv:
            if os.sep in path and not os.path.exists(path):
                raise pytest.UsageError("--target=%s: %s is not built; run make build first" % (spec, path))
        return argv, netns, profile
    if kind == "cmd":
        try:
            argv = shlex.split(rest)
        except ValueError as e:
            raise pytest.UsageError("--target=%s: the command cannot be split: %s" % (spec, e)) from None
        if not argv:
            raise pytest.UsageError("--target=cmd: needs a command, e.g. --target='cmd:./my-agent --fast'")
        return argv, "private", "micropython"
    if kind == "micropython":
        if not rest:
            raise pytest.UsageError("--target=micropython: needs the path of a MicroPython unix binary, e.g. "
                                    "--target=micropython:/path/to/micropython")
        if not (os.path.isfile(rest) and os.access(rest, os.X_OK)):
            raise pytest.UsageError("--target=%s: %s is not an executable file" % (spec, rest))
        return [os.path.abspath(rest), str(PY_AGENT)], "private", "micropython"
    if kind == "serial":
        try:
            device, baud, opts = sc_serial.parse_spec(rest)
        except ValueError as e:
            raise pytest.UsageError("--target=%s: %s" % (spec, e)) from None
        if not os.path.exists(device):
            raise pytest.UsageError("--target=%s: there is no serial device %s" % (spec, device))
        try:
            import serial  # noqa: F401
        except ImportError:
            raise pytest.UsageError("--target=%s: the serial target needs pyserial (conformance/requirements.txt)"
                                    % spec) from None
        opener = functools.partial(sc_serial.SerialLink, device, baud, **opts)
        opener.bind = opts.get("host")
        opener.why = "a board resolves names with its own resolver"
        return opener, None, "micropython"
    raise pytest.UsageError("--target=%s: unknown target; use %s" % (spec, TARGETS))


def resolve(config):
    """The target's command and profile from the options (and a target file), or a UsageError."""
    spec = config.getoption("--target")
    try:
        tfile = sc_profiles.target_file(spec)
        real = tfile["spec"] if tfile else spec
        argv, netns, default_profile = target_argv(real)
        clauses = sc_clauses.load()
        name = config.getoption("--profile") or (tfile or {}).get("profile") or default_profile
        profile = sc_profiles.load(name, clauses)
        oracle_profile = sc_profiles.load("oracle", clauses)
    except (sc_profiles.ProfileError, ValueError) as e:
        raise pytest.UsageError(str(e)) from None
    return {"spec": spec, "real": real, "argv": argv, "netns": netns, "clauses": clauses, "profile": profile,
            "applies": sc_profiles.applies(profile, clauses),
            "oracle_applies": sc_profiles.applies(oracle_profile, clauses)}


def pytest_collection_modifyitems(session, config, items):
    """A case none of whose clauses the profile applies (a port-specific statement of a document
    the profile does not name) is not part of this run."""
    applies = config.stash[SETUP]["applies"]
    keep, drop = [], []
    for item in items:
        meta = getattr(getattr(item, "obj", None), "sockconf_case", None)
        (drop if meta and not any(applies(c) for c in meta["clauses"]) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    config.stash[COLLECTED] = {"run": [], "deselected": [i.nodeid for i in drop]}


def pytest_collection_finish(session):
    """The cases this run covers, after every deselection (-k, profile), and whether the run was
    narrowed to part of the suite (-k, -m, or files and test names given)."""
    opt = session.config.option
    collected = session.config.stash[COLLECTED]
    collected["run"] = [
        i.nodeid for i in session.items if getattr(getattr(i, "obj", None), "sockconf_case", None) is not None]
    collected["narrowed"] = bool(opt.keyword or opt.markexpr or any(
        "::" in a or a.endswith(".py") for a in session.config.args))


def pytest_configure(config):
    config.addinivalue_line("markers", "clause(doc, section, quote): the documented sentence a check cites")
    if config.getoption("--timeout-scale") <= 0:
        raise pytest.UsageError("--timeout-scale must be a positive number")
    results = config.getoption("--results")
    if results and not pathlib.Path(results).resolve().parent.is_dir():
        raise pytest.UsageError("--results=%s: the directory %s does not exist" % (results,
                                                                               pathlib.Path(results).parent))
    why = config.getoption("--baseline") and sc_baseline.usage_problem(config.getoption("--baseline"))
    if why:
        raise pytest.UsageError(why)
    setup = config.stash[SETUP] = resolve(config)
    config.stash[RESULTS] = []
    config.stash[COLLECTED] = {"run": [], "deselected": []}
    net = config.stash[NET] = {"tap": False, "private": False, "resolver": None, "why": None}
    kind = setup["netns"]
    if kind == "private" and config.getoption("--host-net"):
        net["why"] = "--host-net: the target runs in the machine's own network"
    elif not kind:
        net["why"] = getattr(setup["argv"], "why", None)
    else:
        try:
            sc_netns.enter(tap=kind == "tap")
            net["tap"], net["private"] = kind == "tap", True
        except sc_netns.Unavailable as e:
            net["why"] = "--target=%s needs a network namespace of its own: %s" % (setup["spec"], e)
    if kind == "private" and net["private"]:
        fd, name = tempfile.mkstemp(prefix="sockconf-resolv.", suffix=".conf")
        os.close(fd)
        conf = pathlib.Path(name)
        conf.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:2\n")
        config.add_cleanup(conf.unlink)
        net["why"] = sc_netns.resolver_works(conf)
        net["resolver"] = None if net["why"] else conf


# ---- the target, the oracle, the peers ----

@pytest.fixture(scope="session")
def target_spec(request):
    """The --target option, as given."""
    return request.config.getoption("--target")


@pytest.fixture(scope="session")
def profile(request):
    """The profile in force (a dict, see sockconf/profiles.py)."""
    return request.config.stash[SETUP]["profile"]


@pytest.fixture(scope="session")
def results_path(request):
    """The --results option (None: no results file)."""
    return request.config.getoption("--results")


@pytest.fixture(scope="session")
def baseline_path(request):
    """The --baseline option (None: no regression gate)."""
    return request.config.getoption("--baseline")


@pytest.fixture(scope="session")
def host_net(request):
    """The --host-net option."""
    return request.config.getoption("--host-net")


@pytest.fixture(scope="session")
def timeout_scale(request):
    """The --timeout-scale option."""
    return request.config.getoption("--timeout-scale")


@pytest.fixture(scope="session")
def peer_bind(request):
    """Where host peers listen: the host address a board on a LAN was given (serial:...,host=ADDR),
    the tap's host address inside the run's own network namespace with its tap, else loopback."""
    bind = getattr(request.config.stash[SETUP]["argv"], "bind", None)
    return bind or (sc_netns.HOST if request.config.stash[NET]["tap"] else sc_peers.LOOPBACK)


def _start(argv, dns, timeout_scale, resolver=None):
    """Start the target (an argv, or a function that opens a board's link) and say HELLO."""
    env = dict(os.environ, SOCKCONF_DNS_PORT=str(dns.port))
    if callable(argv):
        t = argv()
    else:
        t = sc_transport.PipeTransport(sc_netns.resolver_argv(argv, resolver) if resolver else argv, env=env)
    c = sc_client.Client(t, timeout_scale=timeout_scale)
    c.hello()
    dns.zone["peer.sockconf.test"] = c.info.get("host", sc_peers.LOOPBACK)
    return t, c


@pytest.fixture(scope="session")
def dns_peer(request, peer_bind):
    """The suite's DNS server for the target; target processes the suite starts are pointed at
    it ($SOCKCONF_DNS_PORT, or /etc/resolv.conf in a private mount namespace: then it is on
    port 53), so no case ever asks the machine's resolver. peer.sockconf.test is where the
    target reaches the host's peers."""
    port = 53 if request.config.stash[NET]["resolver"] else 0
    with sc_peers.FakeDns(peer_bind, port) as d:
        yield d


@pytest.fixture(scope="session")
def agent(request, dns_peer, timeout_scale):
    """A client session with the target, after HELLO."""
    net = request.config.stash[NET]
    if request.config.stash[SETUP]["netns"] == "tap" and not net["tap"]:
        pytest.skip(net["why"])
    t, c = _start(request.config.stash[SETUP]["argv"], dns_peer, timeout_scale, net["resolver"])
    request.config.stash[SESSION] = c
    yield c
    t.close()


@pytest.fixture(scope="session")
def oracle(request, agent, timeout_scale):
    """The oracle's session, to compare the target with: the target itself when it is the oracle
    (ref, ref-tap), else a fresh `ref` with its own DNS peer."""
    if request.config.stash[SETUP]["real"] in ("ref", "ref-tap"):
        yield agent
        return
    if not ORACLE.exists():
        pytest.skip("the oracle %s is not built; run make build" % ORACLE)
    with sc_peers.FakeDns(sc_peers.LOOPBACK) as dns:
        t, c = _start([str(ORACLE)], dns, timeout_scale)
        c._sockconf_dns = dns
        yield c
        t.close()


def _rtt(client):
    """The link's round trip in seconds: the median of 9 `echo` requests."""
    times = []
    for _ in range(9):
        t0 = time.monotonic()
        client.call([("echo", [])])
        times.append(time.monotonic() - t0)
    return sorted(times)[len(times) // 2]


@pytest.fixture(scope="session")
def link_rtt(agent):
    """The target link's round trip in seconds, measured once at session start."""
    return _rtt(agent)


@pytest.fixture(scope="session")
def oracle_rtt(oracle, agent, link_rtt):
    return link_rtt if oracle is agent else _rtt(oracle)


@pytest.fixture(scope="session")
def listen_host(agent):
    """The address at which host peers reach a port the target listens on (HELLO `listen_host`)."""
    return agent.info.get("listen_host", sc_peers.LOOPBACK)


@pytest.fixture
def side(request, agent, oracle, dns_peer, peer_bind, link_rtt, oracle_rtt, timeout_scale):
    """What a case runs with: the plugin gives the case a Side for the oracle and one for the
    target (see pytest_pyfunc_call); this fixture only gathers what they need."""
    return {"agent": agent, "oracle": oracle, "dns": dns_peer, "bind": peer_bind, "rtt": link_rtt,
            "oracle_rtt": oracle_rtt, "scale": timeout_scale}


@pytest.fixture
def observed(request):
    """observed(text): for self-tests that are not cases: what a target did on an
    implementation-defined point, shown in the summary."""
    def note(text):
        request.node.user_properties.append(("implementation-defined", text))
    return note


# ---- running a case on both, and its verdict ----

def _capabilities(info, profile):
    return (set(info.get("caps", [])) | set(profile["capabilities"])) - set(profile["lacks"])


def _clause_text(setup, cid):
    c = setup["clauses"].get(cid)
    return "%s (%s, %s): \"%s\"" % (cid, c["doc"], c["section"], c["quote"]) if c else cid


def pytest_pyfunc_call(pyfuncitem):
    meta = getattr(pyfuncitem.obj, "sockconf_case", None)
    if meta is None:
        return None
    setup = pyfuncitem.config.stash[SETUP]
    ctx = pyfuncitem.funcargs["side"]
    profile, applies = setup["profile"], setup["applies"]
    first = meta["clauses"][0]
    record = {"id": pyfuncitem.nodeid, "clauses": meta["clauses"], "detail": {}, "observations": {}}
    pyfuncitem.user_properties.append(("sockconf", record))

    def finish(status, reason=None, clause=None):
        record["status"] = status
        if reason:
            record["reason"] = reason
        if clause:
            record["clause"] = clause
        pyfuncitem.config.stash[RESULTS].append(record)

    agent, oracle_client = ctx["agent"], ctx["oracle"]
    params = {k: pyfuncitem.funcargs[k] for k in pyfuncitem._fixtureinfo.argnames if k != "side"}
    body = functools.partial(pyfuncitem.obj, **params)
    caps = _capabilities(agent.info, profile)
    missing = [n for n in meta["needs"] if n not in caps]
    if missing:
        finish("UNSUPPORTED", "the target lacks %s" % ", ".join(missing))
        pytest.skip("UNSUPPORTED: the target lacks %s" % ", ".join(missing))
    net = pyfuncitem.config.stash[NET]
    if meta["dns"] and "suite-dns" not in caps and not net["resolver"]:
        reason = ("the target does not resolve names through the suite's DNS peer (no suite-dns capability), "
                  "and no private resolver could be set up for it (%s)" % net["why"])
        finish("UNRESOLVED", reason)
        pytest.fail("UNRESOLVED: " + reason, pytrace=False)

    def make(name, client, rtt, dns):
        _reset(client)
        return sc_case.Side(name, client, ctx["bind"] if client is agent else sc_peers.LOOPBACK, dns, rtt,
                            applies if client is agent else setup["oracle_applies"], first, ctx["scale"])

    same = oracle_client is agent
    o_side = None
    if not same:
        o_side = make("oracle", oracle_client, ctx["oracle_rtt"], getattr(oracle_client, "_sockconf_dns", None))
        o_status, o_reason, o_clause = sc_case.run_side(body, o_side)
        _reset(oracle_client)
    t_side = make("target", agent, ctx["rtt"], ctx["dns"])
    t_status, t_reason, t_clause = sc_case.run_side(body, t_side)
    _reset(agent)
    record["detail"] = {k: _jsonable(v) for k, v in t_side.details.items()}
    record["observations"] = {k: _jsonable(v[0]) for k, v in t_side.normative.items()}
    record["transcript"] = {"target": t_side.transcript, "oracle": o_side.transcript if o_side else None}

    if not same and o_status == "UNSUPPORTED":
        record["detail"]["oracle"] = "cannot run this case (%s): decided by the target's checks alone" % o_reason
    elif not same and o_status is not None:
        reason = "the oracle itself did not pass this case (%s: %s)" % (o_status, o_reason)
        finish("UNRESOLVED", reason)
        pytest.fail("UNRESOLVED: " + reason + "\n\n" + sc_case.side_by_side(o_side.transcript, t_side.transcript),
                    pytrace=False)
    if t_status == "UNSUPPORTED":
        finish("UNSUPPORTED", t_reason)
        pytest.skip("UNSUPPORTED: " + t_reason)
    if t_status == "UNRESOLVED":
        finish("UNRESOLVED", t_reason)
        pytest.fail("UNRESOLVED: %s\n\ntarget transcript:\n%s" % (t_reason, "\n".join(t_side.transcript)),
                    pytrace=False)
    diffs = []
    if t_status == "FAIL":
        diffs = [("check", None, t_reason, t_clause)]
    elif not same and o_status is None:
        diffs = sc_case.compare(o_side, t_side)
        record["detail"].update({k: _jsonable(v) for k, v in t_side.details.items()})
    if not diffs:
        stale = [d for d in profile["deviations"] if d["clause"] in meta["clauses"]]
        if stale:
            record["detail"]["stale deviation"] = [d["clause"] for d in stale]
        finish("PASS")
        return True
    documented = {d["clause"]: d for d in profile["deviations"]}
    if all(clause in documented for _, _, _, clause in diffs):
        quotes = "; ".join("%s: \"%s\"" % (c, documented[c]["quote"]) for _, _, _, c in diffs)
        finish("DEVIATION", quotes, diffs[0][3])
        record["detail"]["deviation"] = quotes
        return True
    lines = []
    for key, o, t, clause in diffs:
        lines.append("clause  " + _clause_text(setup, clause))
        lines.append("         %s" % (t if key == "check" else "%s: the oracle has %r, the target %r" % (key, o, t)))
    reason = "; ".join(("%s: %s" % (c, t if k == "check" else "%s differs" % k)) for k, _, t, c in diffs)
    finish("FAIL", reason, diffs[0][3])
    both = sc_case.side_by_side(o_side.transcript if o_side else ["(the target is the oracle)"], t_side.transcript)
    pytest.fail("FAIL\n" + "\n".join(lines) + "\n\n" + both, pytrace=False)


def _reset(client):
    """Close every socket the last case left; a dead or silent agent is the next call's news."""
    try:
        client.reset()
    except (sc_client.ClientError, sc_transport.TargetDied):
        pass


def _jsonable(v):
    try:
        json.dumps(v)
        return v
    except TypeError:
        return repr(v)


def pytest_report_teststatus(report, config):
    if report.when != "call":
        return None
    for key, rec in report.user_properties:
        if key == "sockconf" and rec.get("status") in WORDS:
            cat, letter = WORDS[rec["status"]]
            return cat, letter, rec["status"]
    return None


# ---- the results file and the summary ----

def pytest_sessionfinish(session, exitstatus):
    path, base = session.config.getoption("--results"), session.config.getoption("--baseline")
    if not (path or base):
        return
    setup = session.config.stash[SETUP]
    c = session.config.stash.get(SESSION, None)
    info = {k: v for k, v in (c.info if c else {}).items() if k not in ("errno", "ops")}
    data = {
        "suite": {"version": VERSION, "vectors_hash": sc_results.vectors_hash()},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "collected": session.config.stash[COLLECTED],
        "target": dict(info, spec=setup["spec"]),
        "profile": setup["profile"]["name"],
        "cases": [{k: r[k] for k in ("id", "status", "clauses", "detail", "observations", "reason", "clause",
                                     "transcript") if k in r} for r in session.config.stash[RESULTS]],
    }
    if path:
        pathlib.Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if base:
        sc_baseline.session_gate(session, base, data)


def pytest_terminal_summary(terminalreporter, config):
    """One paragraph a maintainer can quote: which target, what it said it is, and the counts."""
    c = config.stash.get(SESSION, None)
    if c is None:
        return
    tr = terminalreporter
    stats = tr.stats
    tr.section("sockconf summary")
    tr.write_line("target   %s: %s %s on %s (protocol %s)" % (config.getoption("--target"), c.info["impl"],
                                                            c.info["version"], c.info["machine"], c.info["proto"]))
    tr.write_line("profile  %s" % config.stash[SETUP]["profile"]["name"])
    cases = config.stash[RESULTS]
    if cases:
        tr.write_line("cases    " + ", ".join("%d %s" % (sum(r["status"] == s for r in cases), s)
                                              for s in sc_case.STATUSES))
    others = ", ".join("%d %s" % (len(stats.get(k, [])), k) for k in ("passed", "failed", "skipped", "error"))
    tr.write_line("tests    %s (cases included)" % others)
    tr.write_line("link     %d round trips, %d bytes out, %d bytes in" % (c.round_trips, c.bytes_out, c.bytes_in))
    for rep in stats.get("passed", []) + stats.get("failed", []) + stats.get("deviation", []):
        for key, value in rep.user_properties:
            if key == "implementation-defined":
                tr.write_line("observed %s: %s" % (rep.nodeid.rpartition("::")[2], value))
            elif key == "sockconf" and value.get("detail"):
                tr.write_line("detail   %s: %s" % (rep.nodeid.rpartition("::")[2], "; ".join(
                    "%s = %s" % (k, v) for k, v in sorted(value["detail"].items()))))
