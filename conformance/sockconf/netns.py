"""A private network namespace for the run, entered by the test process itself.

After enter(), this process and every process it starts (targets, peers' threads) see only a
loopback device and, with tap=True, the run's own tap device: nothing the run does can reach any
other network. The tap's host side gets HOST_CIDR; the oracle attaches to the tap
(sockconf-ref --tap TAP) as 10.0.2.15 and fec0::15, the same addresses as behind slirp (the tap's
host side is 10.0.2.2 and fec0::2).

Inside it, the suite's DNS peer can take port 53 on loopback, and resolver_argv() wraps a target
command so that it runs in a private mount namespace whose /etc/resolv.conf names that server:
a host-process target that resolves with the system's resolver then asks the suite's DNS peer,
never the machine's.
"""
import ctypes
import os
import shutil
import subprocess
import threading

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
TAP = "sctap0"
HOST = "10.0.2.2"
HOST_CIDR = HOST + "/24"
HOST6 = "fec0::2"       # the tap's IPv6 host side: slirp's IPv6 host alias, so both backends match
HOST6_CIDR = HOST6 + "/64"


class Unavailable(Exception):
    """This machine does not let the run make its own network namespace; str() says why."""


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def enter(tap=True):
    """Move this process into a new network namespace (and, unless root, a user namespace that
    maps the current user to root there), then make the tap device. Unavailable if it cannot."""
    if threading.active_count() > 1:
        raise Unavailable("the process already runs threads; a namespace must be entered before any")
    ip = shutil.which("ip") or ("/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else None)
    if not ip:
        raise Unavailable("no `ip` command (Debian package iproute2)")
    if tap and not os.path.exists("/dev/net/tun"):
        raise Unavailable("no /dev/net/tun on this machine")
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET if uid == 0 else CLONE_NEWNET | CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        raise Unavailable("unshare(%s): %s" % ("CLONE_NEWNET" if uid == 0 else "CLONE_NEWUSER|CLONE_NEWNET",
                                               os.strerror(ctypes.get_errno())))
    if uid != 0:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", "0 %d 1" % uid)
        _write("/proc/self/gid_map", "0 %d 1" % gid)
    steps = [["link", "set", "lo", "up"]]
    if tap:
        # (nodad: the address is usable at once, not tentative for a second; the oracle's fec0::15
        # is the only other one on the link)
        steps += [["tuntap", "add", TAP, "mode", "tap"], ["addr", "add", HOST_CIDR, "dev", TAP],
                  ["-6", "addr", "add", HOST6_CIDR, "dev", TAP, "nodad"], ["link", "set", TAP, "up"]]
    for args in steps:
        r = subprocess.run([ip] + args, capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise Unavailable("ip %s: %s" % (" ".join(args), r.stderr.strip() or "exit %d" % r.returncode))


def resolver_argv(argv, resolv_conf):
    """argv, run in a private mount namespace where resolv_conf (a file naming the suite's DNS
    peer) is bind-mounted over /etc/resolv.conf. Only inside a namespace enter() made; util-linux
    `unshare` and `mount` do the work."""
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    return [unshare, "--mount", "--propagation", "private", "sh", "-c", script, str(resolv_conf)] + list(argv)


def resolver_works(resolv_conf):
    """None if resolver_argv can run a command here, else why not (one line)."""
    try:
        r = subprocess.run(resolver_argv(["true"], resolv_conf), capture_output=True, text=True, timeout=10)
    except OSError as e:
        return "cannot run unshare: %s" % e
    return None if r.returncode == 0 else "a private /etc/resolv.conf cannot be mounted: %s" % (
        r.stderr.strip() or "exit %d" % r.returncode)
