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
import re
import shlex
import socket
import sys
import tempfile
import time

import pytest

from sockconf import root as sc_root

if sc_root.WHY:     # before the modules below: they read the repository's files as they load
    raise pytest.UsageError(sc_root.WHY)

from sockconf import case as sc_case
from sockconf import clauses as sc_clauses
from sockconf import client as sc_client
from sockconf import netns as sc_netns
from sockconf import qemu as sc_qemu
from sockconf import peers as sc_peers
from sockconf import link as sc_link
from sockconf import profiles as sc_profiles
from sockconf import recovery as sc_recovery
from sockconf import serial_link as sc_serial
from sockconf import transport as sc_transport
from sockconf.reports import baseline as sc_baseline
from sockconf.reports import results as sc_results

pytest_plugins = ["sockconf.progress"]   # --progress: where a long run is

ROOT = sc_root.ROOT
DOCS = pathlib.Path(os.environ.get("SOCKCONF_DOCS", ROOT.parent / "shared" / "docs"))
HARNESS = ROOT / "ref" / "build" / "sockconf-harness"
PY_AGENT = ROOT / "harness" / "micropython" / "agent.py"
ORACLE = ROOT / "ref" / "build" / "sockconf-ref"
VERSION = "0.1.0"
SESSION = pytest.StashKey()   # the session's target Client, for the summary
NET = pytest.StashKey()       # the run's network: {"tap": bool, "private": bool, "resolver": conf path or None,
                              #   "why": why the namespace or the private resolver could not be had}
SETUP = pytest.StashKey()     # the resolved target and profile (dict)
RESULTS = pytest.StashKey()   # one entry per case, for --results and the summary
KEEPERS = pytest.StashKey()   # {"target": Keeper, "oracle": Keeper}: restarts and recoveries, for results
LINKS = pytest.StashKey()     # {"target": link figures, "oracle": ...} (sockconf/link.py)
COLLECTED = pytest.StashKey() # {"run": [case ids], "deselected": [ids], "narrowed": bool}: what this run covers
BUILT = {   # name: (command, network, default profile); network: "tap" (a namespace of the run's own,
            # with the tap; required), "private" (a namespace with a private resolver, where the
            # machine allows it: for host processes that resolve names the system's way),
            # "isolated" (a namespace, where the machine allows it, for host processes that
            # resolve through the suite's DNS peer themselves), None (the oracle: slirp's own)
    "ref": ([str(ORACLE)], None, "oracle"),
    "ref-tap": ([str(ORACLE), "--tap", sc_netns.TAP], "tap", "oracle"),
    "harness": ([str(HARNESS)], "isolated", "oracle"),
    "cpython": ([sys.executable, str(PY_AGENT)], "private", "cpython"),
}
TARGETS = "ref, ref-tap, harness, cpython, micropython:PATH, serial:DEVICE[@BAUD], qemu:CONFIG or cmd:COMMAND"
WORDS = {"DEVIATION": ("deviation", "D"), "UNSUPPORTED": ("unsupported", "u"), "UNRESOLVED": ("unresolved", "U")}


def pytest_addoption(parser):
    group = parser.getgroup("sockconf", "sockconf conformance")
    group.addoption("--target", default="ref", metavar="SPEC",
                    help="what to test: ref (the lwIP oracle over slirp, default), ref-tap (the oracle on a "
                         "tap device in a network namespace the run makes), harness (the C harness on the "
                         "host's sockets), cpython, micropython:PATH, serial:DEVICE, qemu:CONFIG (an emulated board), "
                         "cmd:COMMAND, or a target file (NAME under targets/, or a path)")
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
    group.addoption("--repeat", type=int, default=1, metavar="N",
                    help="run the whole suite N times over (every case once per round) and report every case "
                         "whose status changed between rounds")
    group.addoption("--host-net", action="store_true",
                    help="run a host-process target (harness, cmd:) in the machine's own network instead of a private "
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
        if "://" not in device and not os.path.exists(device):
            raise pytest.UsageError("--target=%s: there is no serial device %s" % (spec, device))
        if opts.get("host"):
            try:
                with socket.socket(socket.AF_INET6 if ":" in opts["host"] else socket.AF_INET) as s:
                    s.bind((opts["host"], 0))
            except (OSError, OverflowError) as e:
                raise pytest.UsageError("--target=%s: host=%s is not an address of this machine, where the host's "
                                        "peers listen for the board (%s)" % (spec, opts["host"], e)) from None
        if opts.get("setup") and not os.path.isfile(opts["setup"]):
            raise pytest.UsageError("--target=%s: there is no setup script %s" % (spec, opts["setup"]))
        try:
            import serial  # noqa: F401
            import mpremote  # noqa: F401
        except ImportError as e:
            raise pytest.UsageError("--target=%s: the serial target needs pyserial and mpremote "
                                    "(conformance/requirements.txt): %s" % (spec, e)) from None
        opener = functools.partial(sc_serial.SerialLink, device, baud, **opts)
        opener.bind = opts.get("host")
        opener.why = None if opts.get("dns") else "a board resolves names with its own resolver (dns=suite points it " \
                                                  "at the suite's DNS peer)"
        opener.dns_port = 53 if opts.get("dns") else 0
        return opener, None, "micropython"
    if kind == "qemu":
        try:
            return sc_qemu.opener(rest), "isolated", "micropython"
        except sc_qemu.ConfigError as e:
            raise pytest.UsageError("--target=%s: %s" % (spec, e)) from None
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
        start = sc_profiles.start_args(profile, tfile)
    except (sc_profiles.ProfileError, ValueError) as e:
        raise pytest.UsageError(str(e)) from None
    rules = sc_profiles.Rules(profile, clauses)
    return {"spec": spec, "real": real, "argv": argv, "netns": netns, "clauses": clauses, "profile": profile,
            "rules": rules, "oracle_rules": sc_profiles.Rules(oracle_profile, clauses), "start": start}


def pytest_generate_tests(metafunc):
    """--repeat=N: every case once per round, as the parameter sockconf_round (ids run1..runN)."""
    n = metafunc.config.getoption("--repeat")
    if n > 1 and getattr(metafunc.function, "sockconf_case", None) is not None:
        metafunc.fixturenames.append("sockconf_round")
        metafunc.parametrize("sockconf_round", range(1, n + 1), indirect=True,
                             ids=["run%d" % k for k in range(1, n + 1)])


@pytest.fixture
def sockconf_round(request):
    """Which round of a --repeat run this is (1 without --repeat)."""
    return getattr(request, "param", 1)


def _round(item):
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("sockconf_round", 1) if callspec else 1


def _base_id(nodeid):
    """A case's id without its --repeat round (`[run3]`, `[run3-bytes]`, `[bytes-run3]`)."""
    head, bracket, params = nodeid.partition("[")
    if not bracket:
        return nodeid
    kept = [p for p in params.rstrip("]").split("-") if not re.fullmatch(r"run\d+", p)]
    return head + ("[%s]" % "-".join(kept) if kept else "")


def flips(records):
    """{case id: its statuses round by round} for every case whose status was not always the same."""
    seen = {}
    for r in records:
        seen.setdefault(_base_id(r["id"]), []).append(r["status"])
    return {k: v for k, v in seen.items() if len(set(v)) > 1}


def pytest_collection_modifyitems(session, config, items):
    """A case none of whose clauses the profile applies (a port-specific statement of a document
    the profile does not name) is not part of this run. With --repeat, the suite runs round by
    round: every case of round 1, then of round 2, ..."""
    items.sort(key=_round)      # stable: the file order within a round
    applies = config.stash[SETUP]["rules"].applies
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
    if config.getoption("--repeat") < 1:
        raise pytest.UsageError("--repeat must be 1 or more")
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
    config.stash[KEEPERS] = {}
    config.stash[LINKS] = {}
    config.stash[COLLECTED] = {"run": [], "deselected": []}
    net = config.stash[NET] = {"tap": False, "private": False, "resolver": None, "why": None}
    kind = setup["netns"]
    if kind in ("private", "isolated") and config.getoption("--host-net"):
        net["why"] = "--host-net: the target runs in the machine's own network"
    elif not kind:
        if getattr(setup["argv"], "dns_port", 0):
            _suite_dns_port(setup)
    else:
        try:
            sc_netns.enter(tap=kind == "tap")
            net["tap"], net["private"] = kind == "tap", True
        except sc_netns.Unavailable as e:
            net["why"] = "--target=%s needs a network namespace of its own: %s" % (setup["spec"], e)
    net["why"] = net["why"] or getattr(setup["argv"], "why", None)     # a board's own: why it cannot use the suite's DNS
    if getattr(setup["argv"], "qemu", None) is not None:
        # without a namespace of the run's own, QEMU's user network is cut off from every outside address
        setup["argv"].keywords["private"] = net["private"]
    if kind == "private" and net["private"]:
        fd, name = tempfile.mkstemp(prefix="sockconf-resolv.", suffix=".conf")
        os.close(fd)
        conf = pathlib.Path(name)
        conf.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:2\n")
        config.add_cleanup(conf.unlink)
        net["why"] = sc_netns.resolver_works(conf)
        net["resolver"] = None if net["why"] else conf


def _suite_dns_port(setup):
    """serial:...,dns=suite: the suite's DNS peer must listen on port 53 of the host address the
    board reaches; where this process may not bind it, the board keeps its own resolver and
    every case that resolves names is UNRESOLVED with the sentence saying what is missing."""
    opener = setup["argv"]
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind((opener.bind, 53))
        return
    except OSError as e:
        why = ("dns=suite: the suite's DNS peer cannot listen on port 53 of %s (%s); it needs root or the "
               "CAP_NET_BIND_SERVICE capability" % (opener.bind, e.strerror or e))
    finally:
        probe.close()
    keywords = dict(opener.keywords, dns=None)
    plain = setup["argv"] = functools.partial(opener.func, *opener.args, **keywords)
    plain.bind, plain.why, plain.dns_port = opener.bind, why, 0


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


def _start(argv, dns, timeout_scale, resolver=None, client=None, start=None):
    """Start the target (an argv, or a function that opens a board's link) and say HELLO; a new
    Client, or `client` carried on over the new link (a restart). start: what the agent gets at
    its start from the profile (sockconf/profiles.py, start_args: its service hook and bring-up),
    in its environment, or as the link's arguments."""
    start = start or {}
    env = dict(os.environ, SOCKCONF_DNS_PORT=str(dns.port), **sc_profiles.agent_env(start))
    if callable(argv):
        t = argv(**{k: v for k, v in start.items() if v is not None})
    else:
        t = sc_transport.PipeTransport(sc_netns.resolver_argv(argv, resolver) if resolver else argv, env=env)
    try:
        if client is None:
            client = sc_client.Client(t, timeout_scale=timeout_scale)
            client.hello()
        else:
            client.rebind(t)
    except BaseException:
        t.close()
        raise
    dns.zone["peer.sockconf.test"] = client.info.get("host", sc_peers.LOOPBACK)
    return client


@pytest.fixture(scope="session")
def dns_peer(request, peer_bind):
    """The suite's DNS server for the target; target processes the suite starts are pointed at
    it ($SOCKCONF_DNS_PORT, or /etc/resolv.conf in a private mount namespace: then it is on
    port 53), so no case ever asks the machine's resolver. peer.sockconf.test is where the
    target reaches the host's peers."""
    net, argv = request.config.stash[NET], request.config.stash[SETUP]["argv"]
    port = 53 if net["resolver"] else getattr(argv, "dns_port", 0)     # dns=suite: a board's resolver asks port 53
    with sc_peers.FakeDns(peer_bind, port) as d:
        yield d


@pytest.fixture(scope="session")
def keeper(request, dns_peer, timeout_scale):
    """The target's session through the run (sockconf/recovery.py): started once, checked between
    cases, recovered or given up when it hangs or dies. A target that cannot start is given up
    from the first case on; each case is then UNRESOLVED with the reason."""
    net = request.config.stash[NET]
    if request.config.stash[SETUP]["netns"] == "tap" and not net["tap"]:
        pytest.skip(net["why"])
    k = sc_recovery.Keeper("target", functools.partial(
        _start, request.config.stash[SETUP]["argv"], dns_peer, timeout_scale, net["resolver"],
        start=request.config.stash[SETUP]["start"]))
    request.config.stash[KEEPERS]["target"] = k
    if k.client:
        request.config.stash[SESSION] = k.client
    yield k
    k.close()


@pytest.fixture(scope="session")
def oracle_keeper(request, keeper, timeout_scale):
    """The oracle's session, to compare the target with: the target's own when it is the oracle
    (ref, ref-tap), else a fresh `ref` with its own DNS peer."""
    if request.config.stash[SETUP]["real"] in ("ref", "ref-tap"):
        yield keeper
        return
    if not ORACLE.exists():
        pytest.skip("the oracle %s is not built; run make build" % ORACLE)
    with sc_peers.FakeDns(sc_peers.LOOPBACK) as dns:
        k = sc_recovery.Keeper("oracle", functools.partial(_start, [str(ORACLE)], dns, timeout_scale))
        if k.client:
            k.client._sockconf_dns = dns
        request.config.stash[KEEPERS]["oracle"] = k
        yield k
        k.close()


@pytest.fixture(scope="session")
def agent(keeper):
    """A client session with the target, after HELLO (for self-tests; cases get theirs from the keeper)."""
    if keeper.gone:
        pytest.fail(keeper.gone, pytrace=False)
    if keeper.lacks:
        pytest.skip(keeper.lacks)
    return keeper.client


@pytest.fixture(scope="session")
def oracle(oracle_keeper):
    """The oracle's client session (for self-tests)."""
    if oracle_keeper.gone:
        pytest.fail(oracle_keeper.gone, pytrace=False)
    return oracle_keeper.client


def _measured(request, k, bind, rules):
    """A keeper's link figures (sockconf/link.py), measured once; zeros for a target given up."""
    if k.link is None:
        k.link = dict(sc_link.DEFAULT, notes=[k.gone or k.lacks]) if k.gone or k.lacks else \
            sc_link.measure(k.client, bind, rules, sc_recovery.TROUBLE)
        request.config.stash[LINKS][k.name] = k.link
    return k.link


@pytest.fixture(scope="session")
def link(request, keeper, peer_bind):
    """The target link's round trip, per-byte cost and timer tick, measured once at session start."""
    return _measured(request, keeper, peer_bind, request.config.stash[SETUP]["rules"])


@pytest.fixture(scope="session")
def oracle_link(request, oracle_keeper, keeper, link):
    return link if oracle_keeper is keeper else _measured(request, oracle_keeper, sc_peers.LOOPBACK,
                                                          request.config.stash[SETUP]["oracle_rules"])


@pytest.fixture(scope="session")
def listen_host(agent):
    """The address at which host peers reach a port the target listens on (HELLO `listen_host`)."""
    return agent.info.get("listen_host", sc_peers.LOOPBACK)


@pytest.fixture
def side(request, keeper, oracle_keeper, dns_peer, peer_bind, link, oracle_link, timeout_scale):
    """What a case runs with: the plugin gives the case a Side for the oracle and one for the
    target (see pytest_pyfunc_call); this fixture only gathers what they need."""
    return {"keeper": keeper, "oracle_keeper": oracle_keeper, "dns": dns_peer, "bind": peer_bind, "link": link,
            "oracle_link": oracle_link, "scale": timeout_scale}


@pytest.fixture
def observed(request):
    """observed(text): for self-tests that are not cases: what a target did on an
    implementation-defined point, shown in the summary."""
    def note(text):
        request.node.user_properties.append(("implementation-defined", text))
    return note


# ---- running a case on both, and its verdict ----

def _clause_text(setup, cid):
    c = setup["clauses"].get(cid)
    return "%s (%s, %s): \"%s\"" % (cid, c["doc"], c["section"], c["quote"]) if c else cid


def pytest_pyfunc_call(pyfuncitem):
    meta = getattr(pyfuncitem.obj, "sockconf_case", None)
    if meta is None:
        return None
    setup = pyfuncitem.config.stash[SETUP]
    ctx = pyfuncitem.funcargs["side"]
    profile, rules = setup["profile"], setup["rules"]
    first = meta["clauses"][0]
    nodeid = pyfuncitem.nodeid
    record = {"id": nodeid, "clauses": meta["clauses"], "detail": {}, "observations": {}}
    pyfuncitem.user_properties.append(("sockconf", record))

    def finish(status, reason=None, clause=None):
        record["status"] = status
        if reason:
            record["reason"] = reason
        if clause:
            record["clause"] = clause
        pyfuncitem.config.stash[RESULTS].append(record)

    def unresolved(reason, more=""):
        finish("UNRESOLVED", reason)
        pytest.fail("UNRESOLVED: " + reason + more, pytrace=False)

    keeper, o_keeper = ctx["keeper"], ctx["oracle_keeper"]
    for k in (keeper, o_keeper):
        if k.gone:
            unresolved("the %s was given up %s" % (k.name, k.gone))
    agent = keeper.client
    params = {k: pyfuncitem.funcargs[k] for k in pyfuncitem._fixtureinfo.argnames if k not in ("side", "sockconf_round")}
    body = functools.partial(pyfuncitem.obj, **params)
    # UNSUPPORTED before the case runs: the target lacks what every case needs (keeper.lacks: a
    # board without a socket module), or a capability this case needs
    caps = set() if keeper.lacks else rules.capabilities(agent.info.get("caps", []))
    missing = [n for n in meta["needs"] if n not in caps]
    lacking = keeper.lacks or (missing and "the target lacks %s" % ", ".join(missing))
    if lacking:
        finish("UNSUPPORTED", lacking)
        pytest.skip("UNSUPPORTED: " + lacking)
    net = pyfuncitem.config.stash[NET]
    if meta["dns"] and "suite-dns" not in caps and not net["resolver"]:
        unresolved("the target does not resolve names through the suite's DNS peer (no suite-dns capability), "
                   "and no private resolver could be set up for it (%s)" % net["why"])

    def run(k, bind, dns, link, side_rules):
        """One side's run, between two health checks of its agent: (Side, status, reason, clause,
        sockets RESET closed). Trouble with the agent after the case makes the side UNRESOLVED."""
        try:
            before = k.ready(nodeid)
        except sc_recovery.GivenUp as e:
            unresolved("the %s was given up %s" % (k.name, e))
        if before:
            record.setdefault("recovery", []).append("%s, before the case: %s" % (k.name, before))
        sd = sc_case.Side(k.name, k.client, bind, dns, link, side_rules, first, ctx["scale"])
        transport = k.client.transport
        mark = transport.stderr_mark() if hasattr(transport, "stderr_mark") else None
        status, reason, clause = sc_case.run_side(body, sd)
        said = transport.stderr_since(mark) if mark is not None else ""
        if said:
            sd.details["stderr of the %s during the case" % k.name] = said
        left, after = k.settle(nodeid)
        if after:
            record.setdefault("recovery", []).append("%s: %s" % (k.name, after))
            status, clause = "UNRESOLVED", None
            reason = "%s; then the %s needed recovery: %s" % (reason or "the case ran", k.name, after)
        return sd, status, reason, clause, left

    same = o_keeper is keeper
    o_side = None
    if not same:
        o_side, o_status, o_reason, o_clause, _ = run(
            o_keeper, sc_peers.LOOPBACK, getattr(o_keeper.client, "_sockconf_dns", None), ctx["oracle_link"],
            setup["oracle_rules"])
    t_side, t_status, t_reason, t_clause, left = run(keeper, ctx["bind"], ctx["dns"], ctx["link"], rules)
    if left is not None:
        record["left_open"] = left
    record["detail"] = {k: _jsonable(v) for k, v in t_side.details.items()}
    record["observations"] = {k: _jsonable(v[0]) for k, v in t_side.normative.items()}
    record["transcript"] = {"target": t_side.transcript, "oracle": o_side.transcript if o_side else None}

    if not same and o_status == "UNSUPPORTED":
        record["detail"]["oracle"] = "cannot run this case (%s): decided by the target's checks alone" % o_reason
    elif not same and o_status is not None:
        unresolved("the oracle itself did not pass this case (%s: %s)" % (o_status, o_reason),
                   "\n\n" + sc_case.side_by_side(o_side.transcript, t_side.transcript))
    if t_status == "UNSUPPORTED":
        finish("UNSUPPORTED", t_reason)
        pytest.skip("UNSUPPORTED: " + t_reason)
    if t_status == "UNRESOLVED":
        unresolved(t_reason, "\n\ntarget transcript:\n%s" % "\n".join(t_side.transcript))
    # the worst of everything the case saw: a failed check (it ended the case), an undocumented
    # difference from the oracle, then the documented deviations (checks and differences)
    fails = [("check", None, t_reason, t_clause)] if t_status == "FAIL" else []
    if not same and o_status is None:
        diffs = sc_case.compare(o_side, t_side)
        record["detail"].update({k: _jsonable(v) for k, v in t_side.details.items()})
    else:
        diffs = []
    fails += [d for d in diffs if not rules.deviation(d[3])]
    deviations = list(t_side.deviations) + [(c, "%s: the oracle has %r, the target %r" % (key, o, t))
                                            for key, o, t, c in diffs if rules.deviation(c)]
    if deviations:
        record["deviations"] = [{"clause": c, "what": what} for c, what in deviations]
        record["detail"]["deviation"] = "; ".join(sorted({"%s: \"%s\"" % (c, rules.deviation(c)["quote"])
                                                          for c, _ in deviations}))
    if not fails and not deviations:
        stale = [d for d in profile["deviations"] if d["clause"] in meta["clauses"]]
        if stale:
            record["detail"]["stale deviation"] = [d["clause"] for d in stale]
        finish("PASS")
        return True
    if not fails:
        finish("DEVIATION", record["detail"]["deviation"], deviations[0][0])
        return True
    lines = []
    for key, o, t, clause in fails:
        lines.append("clause  " + _clause_text(setup, clause))
        lines.append("         %s" % (t if key == "check" else "%s: the oracle has %r, the target %r" % (key, o, t)))
    for clause, what in deviations:
        lines.append("documented deviation  %s: %s" % (clause, what))
    reason = "; ".join(("%s: %s" % (c, t if k == "check" else "%s differs" % k)) for k, _, t, c in fails)
    finish("FAIL", reason, fails[0][3])
    both = sc_case.side_by_side(o_side.transcript if o_side else ["(the target is the oracle)"], t_side.transcript)
    pytest.fail("FAIL\n" + "\n".join(lines) + "\n\n" + both, pytrace=False)


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
                                     "deviations", "left_open", "recovery", "transcript") if k in r}
                  for r in session.config.stash[RESULTS]],
        "link": session.config.stash[LINKS],
        # what crossed the link to the target, every request of the run (benchmarks read it)
        "traffic": {"round_trips": c.round_trips, "bytes_out": c.bytes_out, "bytes_in": c.bytes_in} if c else None,
        "recoveries": [e for k in session.config.stash[KEEPERS].values() for e in k.events],
        "given_up": {n: k.gone for n, k in session.config.stash[KEEPERS].items() if k.gone},
    }
    if session.config.getoption("--repeat") > 1:
        data["repeat"] = {"rounds": session.config.getoption("--repeat"),
                          "flips": flips(session.config.stash[RESULTS])}
    if path:
        pathlib.Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if base:
        sc_baseline.session_gate(session, base, data)


def pytest_terminal_summary(terminalreporter, config):
    """One paragraph a maintainer can quote: which target, what it said it is, and the counts."""
    c = config.stash.get(SESSION, None)
    keepers = config.stash.get(KEEPERS, {})
    tr = terminalreporter
    stats = tr.stats
    if c is None:
        k = keepers.get("target")
        if k is not None and (k.gone or k.lacks):
            tr.section("sockconf summary")
            tr.write_line("target   %s: %s" % (config.getoption("--target"), k.gone or k.lacks))
            cases = config.stash[RESULTS]
            if cases:
                tr.write_line("cases    " + ", ".join("%d %s" % (sum(r["status"] == s for r in cases), s)
                                                      for s in sc_case.STATUSES))
        return
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
    for name, f in sorted(config.stash[LINKS].items()):
        tr.write_line("timing   %s: round trip %.2f ms, %.1f us per byte, timer tick %.1f ms%s" % (
            name, f["rtt"] * 1e3, f["per_byte"] * 1e6, f["tick"] * 1e3,
            "".join(" (%s)" % n for n in f.get("notes", []))))
    open_left = [r["left_open"] for r in cases if r.get("left_open")]
    if cases:
        tr.write_line("sockets  %d of %d cases left %d sockets open for RESET to close" % (
            len(open_left), len(cases), sum(open_left)))
    for name, k in sorted(keepers.items()):
        if k.events or k.gone:
            tr.write_line("recovery %s: %d climbs, %d restarts%s" % (
                name, len(k.events), k.restarts, "; given up %s" % k.gone if k.gone else ""))
    if config.getoption("--repeat") > 1:
        flipped = flips(cases)
        tr.write_line("repeat   %d rounds: %s" % (config.getoption("--repeat"), "no case changed status"
                                                    if not flipped else "%d cases changed status" % len(flipped)))
        for nodeid, statuses in sorted(flipped.items()):
            tr.write_line("flip     %s: %s" % (nodeid, " ".join(statuses)))
    for rep in stats.get("passed", []) + stats.get("failed", []) + stats.get("deviation", []):
        for key, value in rep.user_properties:
            if key == "implementation-defined":
                tr.write_line("observed %s: %s" % (rep.nodeid.rpartition("::")[2], value))
            elif key == "sockconf" and value.get("detail"):
                tr.write_line("detail   %s: %s" % (rep.nodeid.rpartition("::")[2], "; ".join(
                    "%s = %s" % (k, v) for k, v in sorted(value["detail"].items()))))
