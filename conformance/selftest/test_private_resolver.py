"""A host-process target that resolves names the system's way (glibc, /etc/resolv.conf) asks the
suite's DNS peer, never the machine's, when the run can make its own namespaces."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

SCRIPT = r'''
import os, subprocess, sys, tempfile
sys.path.insert(0, sys.argv[1])
from sockconf import netns, peers
try:
    netns.enter(tap=False)
except netns.Unavailable as e:
    print("UNAVAILABLE", e); sys.exit(0)
dns = peers.FakeDns(peers.LOOPBACK, 53)
dns.zone["peer.sockconf.test"] = "127.0.0.9"
fd, conf = tempfile.mkstemp(); os.write(fd, b"nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"); os.close(fd)
why = netns.resolver_works(conf)
if why:
    print("UNAVAILABLE", why); sys.exit(0)
probe = ("import socket\n"
         "print(socket.getaddrinfo('peer.sockconf.test', 80, 0, socket.SOCK_STREAM)[0][-1])\n"
         "try:\n    socket.getaddrinfo('nonexistent.invalid', 80)\nexcept socket.gaierror as e:\n    print(e.args[0])\n")
out = subprocess.run(netns.resolver_argv([sys.executable, "-c", probe], conf), capture_output=True, text=True,
                     timeout=30)
print(out.stdout.strip().replace("\n", " | "), "|", sorted(set(dns.queries)), out.stderr.strip()[-200:])
'''


def test_glibc_in_the_private_namespace_asks_the_suite_dns():
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT)], capture_output=True, text=True, timeout=60)
    out = p.stdout.strip()
    if out.startswith("UNAVAILABLE"):
        pytest.skip("this machine does not allow a private network and mount namespace: " + out)
    assert p.returncode == 0, p.stderr
    assert out.startswith("('127.0.0.9', 80) | -2 |"), out
    assert "nonexistent.invalid" in out and "peer.sockconf.test" in out, out
