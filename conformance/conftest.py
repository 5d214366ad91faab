"""sockconf's pytest plugin: the `sockconf` option group, the target and the host peers."""
import os
import pathlib
import shlex
import time

import pytest

from sockconf import client as sc_client
from sockconf import netns as sc_netns
from sockconf import peers as sc_peers
from sockconf import transport as sc_transport

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = pathlib.Path(os.environ.get("SOCKCONF_DOCS", ROOT.parent / "shared" / "docs"))
HARNESS = ROOT / "harness" / "build" / "sockconf-harness"
ORACLE = ROOT / "ref" / "build" / "sockconf-ref"
SESSION = pytest.StashKey()   # the session's Client, for the summary
NETNS = pytest.StashKey()     # None: in the run's own network namespace; else why not
BUILT = {   # target name: (command, whether it needs the run's network namespace with its tap)
    "ref": ([str(ORACLE)], False),
    "ref-tap": ([str(ORACLE), "--tap", sc_netns.TAP], True),
    "harness": ([str(HARNESS)], False),
}
LATER = {
    "cpython": "the cpython target arrives with the Python-ports issue",
    "micropython": "the micropython target arrives with the Python-ports issue",
    "serial": "the serial target arrives with the Python-ports issue",
}


def pytest_addoption(parser):
    group = parser.getgroup("sockconf", "sockconf conformance")
    group.addoption("--target", default="ref", metavar="SPEC",
                    help="what to test: ref (the lwIP oracle over slirp, default), ref-tap (the oracle on a "
                         "tap device in a network namespace the run makes), harness (the C harness on the "
                         "host's sockets) or cmd:COMMAND")
    group.addoption("--timeout-scale", type=float, default=1.0, metavar="X",
                    help="multiply every host-side deadline by X (slow links)")


def target_argv(spec):
    """The command that serves the protocol for SPEC, or a UsageError in one sentence."""
    kind, _, rest = spec.partition(":")
    if spec in BUILT:
        argv = BUILT[spec][0]
        if not os.path.exists(argv[0]):
            raise pytest.UsageError("--target=%s: %s is not built; run make build first" % (spec, argv[0]))
        return argv
    if kind == "cmd":
        argv = shlex.split(rest)
        if not argv:
            raise pytest.UsageError("--target=cmd: needs a command, e.g. --target='cmd:./my-agent --fast'")
        return argv
    if kind in LATER:
        raise pytest.UsageError("--target=%s is not available yet: %s; use ref, harness or cmd:COMMAND"
                                % (spec, LATER[kind]))
    raise pytest.UsageError("--target=%s: unknown target; use ref, ref-tap, harness or cmd:COMMAND" % spec)


def pytest_configure(config):
    config.addinivalue_line("markers", "clause(doc, section, quote): the documented sentence a case checks")
    if config.getoption("--timeout-scale") <= 0:
        raise pytest.UsageError("--timeout-scale must be a positive number")
    spec = config.getoption("--target")
    target_argv(spec)
    if BUILT.get(spec, (None, False))[1]:
        try:
            sc_netns.enter()
            config.stash[NETNS] = None
        except sc_netns.Unavailable as e:
            config.stash[NETNS] = "--target=%s needs a network namespace of its own: %s" % (spec, e)


@pytest.fixture(scope="session")
def peer_bind(request):
    """Where host peers listen: the tap's host address inside the run's own network namespace,
    else loopback."""
    return sc_netns.HOST if request.config.stash.get(NETNS, "no") is None else sc_peers.LOOPBACK


@pytest.fixture(scope="session")
def target_spec(request):
    """The --target option."""
    return request.config.getoption("--target")


@pytest.fixture(scope="session")
def timeout_scale(request):
    """The --timeout-scale option."""
    return request.config.getoption("--timeout-scale")


@pytest.fixture(scope="session")
def dns_peer(peer_bind):
    """The suite's DNS server; target processes the suite starts are pointed at it
    ($SOCKCONF_DNS_PORT), so no case ever asks the machine's resolver."""
    with sc_peers.FakeDns(peer_bind) as d:
        yield d


@pytest.fixture(scope="session")
def link(request, target_spec, dns_peer):
    """The transport to the target process."""
    why_not = request.config.stash.get(NETNS, None)
    if why_not:
        pytest.skip(why_not)
    env = dict(os.environ, SOCKCONF_DNS_PORT=str(dns_peer.port))
    t = sc_transport.PipeTransport(target_argv(target_spec), env=env)
    yield t
    t.close()


@pytest.fixture(scope="session")
def agent(request, link, timeout_scale):
    """A client session with the target, after HELLO."""
    c = sc_client.Client(link, timeout_scale=timeout_scale)
    c.hello()
    request.config.stash[SESSION] = c
    return c


@pytest.fixture(scope="session")
def link_rtt(agent):
    """The link's round trip in seconds: the median of 9 `echo` requests, measured once."""
    times = []
    for _ in range(9):
        t0 = time.monotonic()
        agent.call([("echo", [])])
        times.append(time.monotonic() - t0)
    return sorted(times)[len(times) // 2]


@pytest.fixture
def target(agent):
    """The target for one case; every socket the case opened is closed after it (RESET)."""
    agent.reset()
    yield agent
    agent.reset()


@pytest.fixture(scope="session")
def consts(agent):
    """The target's own numbers for the constants cases use."""
    return agent.const("AF_INET", "AF_INET6", "SOCK_STREAM", "SOCK_DGRAM", "SOL_SOCKET", "SO_REUSEADDR")


@pytest.fixture(scope="session")
def peer_host(agent, dns_peer):
    """The address at which the target reaches peers on the host's loopback (HELLO `host`);
    the DNS peer gives it as peer.sockconf.test."""
    host = agent.info.get("host", sc_peers.LOOPBACK)
    dns_peer.zone["peer.sockconf.test"] = host
    return host


@pytest.fixture(scope="session")
def listen_host(agent):
    """The address at which host peers reach a port the target listens on (HELLO `listen_host`)."""
    return agent.info.get("listen_host", sc_peers.LOOPBACK)


@pytest.fixture
def source_peer(peer_bind):
    """A factory: a TCP server that sends the given bytes, then FIN (or RST)."""
    made = []

    def make(data, rst=False):
        made.append(sc_peers.Source(data, rst, peer_bind))
        return made[-1]
    yield make
    for p in made:
        p.close()


@pytest.fixture
def sink_peer(peer_bind):
    """A TCP server that never reads while the case runs."""
    with sc_peers.Sink(peer_bind) as p:
        yield p


@pytest.fixture
def echo_peer(peer_bind):
    """A TCP echo server."""
    with sc_peers.TcpEcho(peer_bind) as p:
        yield p


@pytest.fixture
def silent_peer(peer_bind):
    """A TCP server that accepts and never answers."""
    with sc_peers.SilentAcceptor(peer_bind) as p:
        yield p


@pytest.fixture
def observed(request):
    """observed(text): record what the target did on a point the docs leave to the implementation
    (e.g. the size of a short write). Shown in the summary and kept in the case's properties;
    never a failure by itself."""
    def note(text):
        request.node.user_properties.append(("implementation-defined", text))
    return note


def pytest_terminal_summary(terminalreporter, config):
    """One paragraph a maintainer can quote: which target, what it said it is, and the counts."""
    c = config.stash.get(SESSION, None)
    if c is None:
        return
    stats = terminalreporter.stats
    counts = ", ".join("%d %s" % (len(stats.get(k, [])), k) for k in ("passed", "failed", "skipped", "error"))
    tr = terminalreporter
    tr.section("sockconf summary")
    tr.write_line("target   %s: %s %s on %s (protocol %s)" % (config.getoption("--target"), c.info["impl"],
                                                            c.info["version"], c.info["machine"], c.info["proto"]))
    tr.write_line("tests    %s" % counts)
    tr.write_line("link     %d round trips, %d bytes out, %d bytes in" % (c.round_trips, c.bytes_out, c.bytes_in))
    for rep in stats.get("passed", []) + stats.get("failed", []):
        for key, text in rep.user_properties:
            if key == "implementation-defined":
                tr.write_line("observed %s: %s" % (rep.nodeid.rpartition("::")[2], text))
