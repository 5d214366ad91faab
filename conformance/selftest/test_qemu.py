# The qemu target (sockconf/qemu.py): its CONFIG's errors as sentences, the ports a request binds,
# and, with MicroPython's own qemu port firmware (SOCKCONF_FIRMWARE, built by the maintainer from
# MicroPython's source outside this repository), the target end to end: booted, reached through
# the raw REPL on a pty or on QEMU's stdio, forwards added through the monitor before a bind and
# removed at RESET, every case UNSUPPORTED with the reason on a firmware without a socket module.
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from sockconf import firmware, qemu, wire
from sockconf.client import Client

from selftest.test_serial_link import ROOT

pytest.importorskip("serial", reason="the qemu target needs pyserial (conformance/requirements.txt)")


def _config(tmp_path, **cfg):
    path = tmp_path / "board.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.parametrize("cfg,sentence", [
    ({"command": ["sh"], "colour": 1}, "unknown key 'colour'"),
    ({"command": "sh -c true"}, "command must be a list of words"),
    ({"command": ["sh", "$SOCKCONF_NO_SUCH_VARIABLE"]}, "set SOCKCONF_NO_SUCH_VARIABLE (the command names "
                                                        "$SOCKCONF_NO_SUCH_VARIABLE)"),
    ({"command": ["sockconf-no-such-emulator"]}, "sockconf-no-such-emulator is not installed"),
    ({"command": ["sh"], "console": "vga"}, "console is \"pty\" or \"stdio\", not 'vga'"),
    ({"command": ["sh"], "repl": "raw", "disk": {"drive": "file={disk}", "dir": "D:/"}},
     "a disk carries the agent's file for repl \"paste\""),
    ({"command": ["sh"], "network": {"netdev": "bad id"}}, "network is null or"),
    ({"command": ["sh"], "boot_seconds": 0}, "boot_seconds must be a positive number"),
])
def test_a_config_that_cannot_be_used_is_one_sentence(tmp_path, cfg, sentence):
    path = _config(tmp_path, **cfg)
    with pytest.raises(qemu.ConfigError) as e:
        qemu.load(path)
    assert sentence in str(e.value) and str(e.value).startswith("qemu:%s: " % path)
    p = subprocess.run([sys.executable, "-m", "pytest", "conformance/cases/test_basics.py", "-q", "-p",
                        "no:cacheprovider", "--target=qemu:%s" % path], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 4 and sentence in p.stdout + p.stderr and "Traceback" not in p.stdout + p.stderr


def test_the_ports_a_request_binds():
    """A tuple address, a reference to a getaddrinfo op's result or to an echo's tuple (the profile's
    address forms); port 0 and other ops are left out."""
    ops = [("getaddrinfo", ["0.0.0.0", 5001]), ("socket", []), ("bind", [wire.Ref(1), wire.Ref(0, 0, -1)]),
           ("echo", [("0.0.0.0", 5002)]), ("bind", [wire.Ref(1), wire.Ref(3, 0)]), ("echo", [5003]),
           ("bind", [wire.Ref(1), wire.Ref(5, 0)]), ("bind", [wire.Ref(1), ("0.0.0.0", 5004)]),
           ("bind", [wire.Ref(1), ("0.0.0.0", 0)]), ("connect", [wire.Ref(1), ("10.0.2.2", 5005)])]
    assert qemu.QemuLink.bound_ports(ops) == [5001, 5002, 5003, 5004]


def _firmware():
    why = firmware.why_not()
    if why:
        pytest.skip(why)
    return os.environ[firmware.ENV]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_micropython_qemu_port_is_unsupported_in_every_case(tmp_path):
    """targets/micropython-qemu.json end to end: QEMU boots the firmware, the suite reaches its raw
    REPL on QEMU's pty, finds no socket module, and every case is UNSUPPORTED with that sentence."""
    _firmware()
    results = tmp_path / "r.json"
    p = subprocess.run([sys.executable, "-m", "pytest", "conformance/cases/test_basics.py", "-q", "-p",
                        "no:cacheprovider", "--target=micropython-qemu", "--results=%s" % results], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    cases = json.loads(results.read_text())["cases"]
    assert cases and {c["status"] for c in cases} == {"UNSUPPORTED"}, p.stdout[-2000:]
    assert all("has neither a socket nor a usocket module" in c["reason"] for c in cases)


@pytest.mark.parametrize("console", ["pty", "stdio"])
def test_forwards_come_before_the_bind_and_go_at_reset(tmp_path, console):
    """The firmware with a NIC on QEMU's user network and an empty socket module (firmware.STUB, set
    up before the agent): HELLO over the console (QEMU's pty, or its stdio relayed to a pty of the
    suite's), then each port a request binds is forwarded (TCP and UDP, from 127.0.0.1) before
    the request goes, a forward QEMU refuses is one sentence, and RESET removes them all."""
    _firmware()
    setup = tmp_path / "stub.py"
    setup.write_text(firmware.STUB)
    cfg = qemu.load(ROOT / "targets" / "qemu" / "micropython-mps2-an385.json")
    cfg.update(network={"netdev": "net0"}, console=console, setup=str(setup))
    cfg["command"] = cfg["command"] + ["-net", "nic,netdev=net0"]
    link = qemu.QemuLink(cfg, private=False)
    try:
        assert "restrict=on" in " ".join(link.proc.args)   # no namespace of the run's own: cut off
        c = Client(link)
        assert c.hello()["impl"] == "micropython" and c.info["listen_host"] == "127.0.0.1"
        a, b = _free_port(), _free_port()
        link.prepare([("echo", [a]), ("socket", []), ("bind", [wire.Ref(1), wire.Ref(0, 0)]),
                      ("bind", [wire.Ref(1), ("0.0.0.0", b)])])
        table = link.monitor.command("info usernet")
        for port in (a, b):
            for proto in ("TCP", "UDP"):
                assert any(line.split()[:1] == ["%s[HOST_FORWARD]" % proto] and " %d " % port in line
                           for line in table.splitlines()), table
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with pytest.raises(qemu.ForwardError, match="QEMU could not forward tcp port %d to the guest: " % port):
                link.prepare([("socket", []), ("bind", [wire.Ref(0), ("0.0.0.0", port)])])
        link.prepare([("reset", [])])
        assert "HOST_FORWARD" not in link.monitor.command("info usernet")
        assert c.value("echo", 5) == (5,)
    finally:
        link.close()
    assert link.proc is None


def test_mtools_write_the_agents_disk(tmp_path):
    """A disk carries the agent's file (its 8.3 name): the FAT image mtools makes holds exactly it."""
    if not (shutil.which("mformat") and shutil.which("mdir")):
        pytest.skip("no mtools on this machine (Debian package mtools)")
    from sockconf import paste
    text = paste.source().encode()
    name = paste.file_name(text.decode()) + ".py"
    img = tmp_path / "agent.img"
    qemu.fat_image(img, {name: text})
    listing = subprocess.run(["mdir", "-b", "-i", str(img), "::"], capture_output=True, text=True, check=True).stdout
    assert listing.split() == ["::/" + name.upper()]
    got = subprocess.run(["mtype", "-i", str(img), "::" + name.upper()], capture_output=True, check=True).stdout
    assert got == text


def test_a_refusal_through_the_forward_is_a_refusal():
    """Through QEMU's forward the host's connect succeeds even where the guest refuses: slirp
    accepts first, then closes the connection when the guest resets it. case.Side.try_dial takes
    such a connection, closed without a byte, for the refusal it stands for, and says so; one that
    stays open is a connection. (Two loopback listeners stand in for slirp's forward: one that
    closes what it accepts, one that keeps it.)"""
    import threading
    import types
    from sockconf import case

    def listener(keep):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        held = []

        def run():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                (held.append(c) if keep else c.close())
        threading.Thread(target=run, daemon=True).start()
        return srv, held

    class Stub:
        listen_host = "127.0.0.1"
        link = {"rtt": 0.001}
        client = types.SimpleNamespace(transport=types.SimpleNamespace(forwarded=True))

        def __init__(self):
            self.details, self._peers, self.calls = {}, [], []

        def call(self, ops):
            self.calls.append(ops)

        dial = case.Side.dial
        try_dial = case.Side.try_dial

    refusing, _ = listener(False)
    keeping, held = listener(True)
    try:
        side = Stub()
        got = side.try_dial(refusing.getsockname()[1])
        assert isinstance(got, ConnectionRefusedError) and "the guest refused it" in \
            side.details["port %d through the forward" % refusing.getsockname()[1]]
        assert side.calls == [[("echo", [])]]   # the guest's stack had a request to run on
        got = side.try_dial(keeping.getsockname()[1])
        assert isinstance(got, socket.socket) and not side.details.get("port %d through the forward"
                                                                        % keeping.getsockname()[1])
        Stub.client = types.SimpleNamespace(transport=types.SimpleNamespace())
        assert isinstance(Stub().try_dial(refusing.getsockname()[1]), socket.socket)   # no forward: as it is
    finally:
        for s in [refusing, keeping] + held + side._peers:
            s.close()


def test_uc386_under_qemu_decides_its_cases(tmp_path):
    """With SOCKCONF_UC386_IMAGE (a FreeDOS floppy image with NE2000.COM and uc386's MP.EXE, which
    the maintainer assembles outside this repository; targets/qemu/uc386-freedos.json): the suite
    boots it, reaches MicroPython through paste mode without Ctrl-C, imports the agent from the
    floppy it writes, brings the network up as the document does, and decides the cases of the
    set-up and of a TCP and a UDP exchange through QEMU's user network: none UNRESOLVED."""
    if not os.environ.get("SOCKCONF_UC386_IMAGE"):
        pytest.skip("set SOCKCONF_UC386_IMAGE=<FreeDOS floppy image with NE2000.COM and uc386's MP.EXE> to run uc386 "
                    "under qemu-system-i386")
    if not shutil.which("qemu-system-i386"):
        pytest.skip("qemu-system-i386 is not installed (apt-get install qemu-system-x86)")
    results = tmp_path / "r.json"
    select = ("test_uc386_network_comes_up_as_documented or test_uc386_nameserver_is_set_with_eth_set_static or "
              "test_uc386_tcp_nodelay_is_lwips_tf_nodelay or test_recv_returns_at_most_bufsize or "
              "test_sendto_reaches_the_peer_and_recvfrom_gives_data_and_sender")
    p = subprocess.run([sys.executable, "-m", "pytest", "conformance/cases", "-q", "-p", "no:cacheprovider",
                        "--target=uc386-qemu", "-k", select, "--results=%s" % results], cwd=ROOT,
                       capture_output=True, text=True, timeout=900)
    cases = json.loads(results.read_text())["cases"]
    assert len(cases) >= 3 and all(c["status"] in ("PASS", "FAIL", "DEVIATION") for c in cases), p.stdout[-3000:]
    assert {c["id"].rpartition("::")[2]: c["status"] for c in cases}["test_uc386_network_comes_up_as_documented"] \
        == "PASS"
