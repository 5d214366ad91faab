"""getaddrinfo against the suite's DNS peer: names resolve there, and failures are negative."""
import pytest

from sockconf.case import case
from sockconf.wire import Ref


def _negative_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v < 0


def _negative(side, name):
    r = side.call([("getaddrinfo", [name, 80])], timeout=15)[0]
    side.raised(r, clause="mp:gai.oserror")
    negative = side.same("args[0] is a negative number", bool(r.args) and _negative_int(r.args[0]), "mp:gai.negative")
    side.check(negative, "getaddrinfo(%r) raised %r, not a negative number in args[0]" % (name, r.args))
    side.check(name in side.dns.queries, "the target did not ask the suite's DNS peer for %r" % name)
    side.detail("args", r.args)


@pytest.mark.parametrize("name", ["nonexistent.invalid", "servfail.sockconf.test", "nodata.sockconf.test"])
@case("mp:gai.negative", "mp:gai.oserror", dns=True)
def test_resolution_failure_is_a_negative_oserror(side, name):
    _negative(side, name)


@case("mp:gai.negative", "mp:gai.oserror", dns=True, slow=2.0)
def test_a_dns_server_that_never_answers_is_a_negative_oserror(side):
    """The DNS peer does not answer silent.*: the resolver gives up (the oracle: two tries of 1 s)."""
    _negative(side, "silent.sockconf.test")


@case("mp:gai.translate", "mp:gai.stream-guaranteed", dns=True)
def test_a_name_resolves_to_an_address_that_connects(side):
    peer = side.echo()
    r = side.call([side.gai("peer.sockconf.test", peer), ("socket", []), ("connect", [Ref(1), Ref(0, 0, -1)]),
                   ("sendall", [Ref(1), b"ping"]), ("settimeout", [Ref(1), 5.0]), ("recv", [Ref(1), 4])],
                  timeout=10)
    infos = side.ok(r[0])
    side.check("peer.sockconf.test" in side.dns.queries, "the target did not ask the suite's DNS peer")
    addr = infos[0][-1]
    if isinstance(addr, tuple):     # the native address is opaque; where it is a tuple, it is readable
        side.check(addr[0] == side.host, "peer.sockconf.test resolved to %r, the DNS peer says %r"
                   % (addr, side.host))
    side.detail("address", repr(addr))
    side.check(side.ok(r[-1]) == b"ping", "the connection through the resolved address did not echo")
