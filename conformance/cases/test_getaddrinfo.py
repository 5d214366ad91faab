"""getaddrinfo against the suite's DNS peer: names resolve there, and failures are negative."""
import pytest

from sockconf.wire import Ok, Raised, Ref

MP = "micropython-usocket.txt"
NEGATIVE = ("To distinguish getaddrinfo() errors, they are represented by negative numbers, whereas standard "
            "system errors are positive numbers (error numbers are accessible using e.args[0] property from an "
            "exception object).")


@pytest.fixture
def suite_dns(agent):
    if "suite-dns" not in agent.info.get("caps", []):
        pytest.skip("this target does not resolve through the suite's DNS peer (no suite-dns capability)")


@pytest.mark.clause(MP, "usocket.getaddrinfo(host, port, af=0, type=0, proto=0, flags=0, /)", NEGATIVE)
@pytest.mark.parametrize("name", ["nonexistent.invalid", "servfail.sockconf.test", "nodata.sockconf.test"])
def test_resolution_failure_is_a_negative_oserror(target, suite_dns, dns_peer, name):
    r = target.call([("getaddrinfo", [name, 80])]).results[0]
    assert isinstance(r, Raised) and r.cls == "OSError", r
    assert isinstance(r.args[0], int) and r.args[0] < 0, r
    assert name in dns_peer.queries, "the target did not ask the suite's DNS peer"


@pytest.mark.clause(MP, "usocket.getaddrinfo(host, port, af=0, type=0, proto=0, flags=0, /)",
                    "Translate the host/port argument into a sequence of 5-tuples that contain all the necessary "
                    "arguments for creating a socket connected to that service.")
def test_a_name_resolves_to_an_address_that_connects(target, suite_dns, consts, peer_host, echo_peer):
    r = target.call([("getaddrinfo", ["peer.sockconf.test", echo_peer.port, 0, consts["SOCK_STREAM"]]),
                     ("socket", []), ("connect", [Ref(1), Ref(0, 0, -1)]),
                     ("sendall", [Ref(1), b"ping"]), ("recv", [Ref(1), 4])]).results
    assert all(isinstance(x, Ok) for x in r), r
    assert r[0].value[0][-1][0] == peer_host
    assert r[-1].value == b"ping"
