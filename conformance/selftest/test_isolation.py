"""Network isolation (issue 7): no socket a run opens points anywhere but loopback, and the
oracle's slirp reaches nothing but the host alias.

The rule (README, project rules): "traffic goes only to loopback (127.0.0.0/8, ::1), to addresses
inside network namespaces the run created itself, or to the slirp-internal 10.0.2.x addresses of
the oracle, which never leave its process. Configure slirp so it cannot reach anything but the
host alias."

Both checks watch the system calls that give a socket an address (socket, bind, connect, sendto,
sendmsg, sendmmsg) with strace, so they see every process of the run: pytest, its peers' threads,
the oracle and the slirp inside it. The 10.0.2.x addresses never reach a system call (they live
in lwIP and slirp, inside the oracle), so on the host side only loopback may appear. AF_UNIX and
AF_NETLINK are allowed: they carry no network traffic (local IPC, the kernel's own interface).
Binding the unspecified address (0.0.0.0, ::) is a violation too: "Peers bind only to loopback"
(issue 7), and a wildcard bind would listen on every network of the machine. Where ptrace is not
allowed the tests skip.
"""
import ipaddress
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from sockconf import client as sc_client
from sockconf import transport as sc_transport
from sockconf.wire import Ok, Raised, Ref

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
ORACLE = ROOT / "ref" / "build" / "sockconf-ref"
STRACE = shutil.which("strace")
CALLS = ("socket", "bind", "connect", "sendto", "sendmsg", "sendmmsg")
# --seccomp-bpf stops the tracee only on these calls (a suite run takes ~2x, not ~4x, under it);
# -s 0 prints no payload, so nothing a case sends can look like an address in the trace.
TRACE_ARGS = ["-f", "--seccomp-bpf", "-qq", "-s", "0", "-e", "trace=" + ",".join(CALLS), "-e", "signal=none"]
LOCAL_FAMILIES = {"AF_UNIX", "AF_NETLINK"}
HOST_ALIAS = "10.0.2.2"
NOT_THE_ALIAS = ["10.0.2.3", "10.0.2.4", "10.0.2.100", "192.0.2.1"]   # slirp's DNS alias, two
# unused 10.0.2.x (slirp, unfiltered, would map those to the host's loopback), TEST-NET-1
HOST_ALIAS6 = "fec0::2"
NOT_THE_ALIAS6 = ["fec0::3", "fec0::4", "fec0::100", "2001:db8::1"]   # slirp's IPv6 DNS alias, two
# unused addresses of its prefix, the documentation prefix


# ---- reading a trace ----

_LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)$")
_SOCKADDR = re.compile(r"\{sa_family=(AF_\w+|0x[0-9a-f]+|\d+)([^{}]*)\}")
_INET = re.compile(r'inet_addr\("([^"]*)"\)')
_INET6 = re.compile(r'inet_pton\(AF_INET6, "([^"]*)"')
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")


def parse(text):
    """Every traced call of CALLS in an strace -f output: dicts {pid, call, family (of socket()),
    addrs: [(family, address or None, port or None)], line}; `<... resumed>` lines only carry
    results and are skipped (strace prints a call's arguments before it blocks)."""
    calls = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m or m.group(2) not in CALLS:
            continue
        pid, call, rest = int(m.group(1)), m.group(2), m.group(3)
        c = {"pid": pid, "call": call, "line": line, "addrs": [], "family": None}
        if call == "socket":
            c["family"] = rest.split(",", 1)[0].strip()
        for fam, body in _SOCKADDR.findall(rest):
            a = _INET.search(body) if fam == "AF_INET" else _INET6.search(body) if fam == "AF_INET6" else None
            p = _PORT.search(body)
            c["addrs"].append((fam, a.group(1) if a else None, int(p.group(1)) if p else None))
        calls.append(c)
    return calls


def _addressless(c):
    """Whether a call that names no sockaddr says so in the trace (NULL), rather than giving one
    strace could not decode (a bare pointer): the latter counts as a violation."""
    rest = _LINE.match(c["line"]).group(3)
    if c["call"] == "sendto":
        return re.search(r",\s*NULL,\s*0\s*(\)|<unfinished)", rest) is not None
    if c["call"] in ("sendmsg", "sendmmsg"):
        return rest.count("msg_name=") == rest.count("msg_name=NULL") and "msg_name=" in rest
    return c["call"] == "socket"


def violations(calls):
    """The calls that point somewhere other than loopback, each with why."""
    bad = []
    for c in calls:
        if c["call"] == "socket":
            if c["family"] not in ("AF_INET", "AF_INET6") and c["family"] not in LOCAL_FAMILIES:
                bad.append("socket family %s: %s" % (c["family"], c["line"]))
            continue
        if not c["addrs"] and not _addressless(c):
            bad.append("an address strace did not decode: %s" % c["line"])
        for fam, addr, _port in c["addrs"]:
            if fam in LOCAL_FAMILIES or (fam == "AF_UNSPEC" and c["call"] == "connect"):
                continue    # local IPC / the kernel; AF_UNSPEC connect dissolves a UDP association
            if fam not in ("AF_INET", "AF_INET6") or addr is None:
                bad.append("address family %s: %s" % (fam, c["line"]))
                continue
            ip = ipaddress.ip_address(addr)
            if ip.version == 6 and ip.ipv4_mapped:
                ip = ip.ipv4_mapped
            if ip.is_loopback:
                continue
            bad.append("%s to %s: %s" % (c["call"], addr, c["line"]))
    return bad


def counts(calls):
    n = {k: 0 for k in CALLS}
    for c in calls:
        n[c["call"]] += 1
    return n


# ---- strace, unshare ----

def _need_strace():
    if not STRACE:
        pytest.skip("strace is not installed (Debian package strace)")
    r = subprocess.run([STRACE, "-qq", "-o", os.devnull, "-e", "trace=none", "true"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip("strace cannot trace here (ptrace not allowed?): %s" % (r.stderr.strip() or r.returncode))


def _ip():
    return shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip") if os.path.exists(p)), None)


def _namespace_prefix():
    """(an argv prefix that runs a command in a fresh network namespace, loopback up and strace
    working there, None), or ([], why the machine does not allow one)."""
    ip, unshare = _ip(), shutil.which("unshare")
    if not (ip and unshare):
        return [], "no %s" % ("`ip` (iproute2)" if not ip else "`unshare` (util-linux)")
    why = ""
    for flags in (["-rn"], ["-n"]):
        r = subprocess.run([unshare] + flags + ["sh", "-c", '"$0" link set lo up && "$1" -qq -o /dev/null true',
                                                ip, STRACE], capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            return [unshare] + flags, None
        why = r.stderr.strip() or "status %d" % r.returncode
    return [], "unshare -rn / -n: %s" % why


# ---- 1: a whole suite run ----

def test_the_trace_check_flags_every_address_off_loopback():
    """The checker the next test relies on: "traffic goes only to loopback (127.0.0.0/8, ::1)";
    every other address, family, or an address strace could not decode, is a violation."""
    ok = """\
100 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 5
100 bind(5, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
101 connect(5, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.5.6.7")}, 16 <unfinished ...>
101 <... connect resumed>) = 0
101 connect(7, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
101 connect(7, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0
101 connect(8, {sa_family=AF_UNIX, sun_path=""...}, 110) = 0
101 sendto(5, ""..., 6, 0, NULL, 0) = 6
101 sendto(5, ""..., 6, 0, NULL, 0 <unfinished ...>
101 sendto(9, ""..., 6, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.1")}, 16) = 6
101 sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=""..., iov_len=5}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 5
101 sendto(3, ""..., 20, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 20
"""
    calls = parse(ok)
    assert len(calls) == 11 and violations(calls) == [], violations(calls)
    assert counts(calls) == {"socket": 1, "bind": 1, "connect": 4, "sendto": 4, "sendmsg": 1, "sendmmsg": 0}
    bad = [
        '7 connect(5, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.2.3")}, 16) = 0',
        '7 connect(5, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("0.0.0.0")}, 16) = 0',
        '7 bind(6, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("0.0.0.0")}, 16) = 0',
        '7 sendto(5, ""..., 6, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("8.8.8.8")}, 16) = 6',
        '7 bind(5, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("192.168.1.4")}, 16) = 0',
        '7 connect(5, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, '
        '"2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
        '7 sendmsg(5, {msg_name={sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("192.0.2.1")}, '
        'msg_namelen=16, msg_iov=[{iov_base=""..., iov_len=1}], msg_iovlen=1}, 0) = 1',
        '7 sendmmsg(5, [{msg_hdr={msg_name=NULL, msg_namelen=0}, msg_len=1}, {msg_hdr={msg_name={sa_family=AF_INET, '
        'sin_port=htons(9), sin_addr=inet_addr("192.0.2.1")}, msg_namelen=16}, msg_len=1}], 2, 0) = 2',
        '7 connect(5, 0x7ffd1234, 16) = -1 EFAULT (Bad address)',
        '7 socket(AF_PACKET, SOCK_RAW, 768) = 5',
        '7 sendto(5, ""..., 6, 0, {sa_family=AF_PACKET, sll_protocol=htons(ETH_P_ALL), sll_ifindex=2}, 20) = 6',
    ]
    for line in bad:
        assert len(violations(parse(line))) == 1, line


def test_a_suite_run_on_the_oracle_opens_sockets_only_on_loopback(tmp_path, observed):
    """"traffic goes only to loopback (127.0.0.0/8, ::1), to addresses inside network namespaces
    the run created itself, or to the slirp-internal 10.0.2.x addresses of the oracle, which never
    leave its process": every case on the oracle, traced with strace -f (pytest, its peers, the
    oracle and its slirp); every AF_INET/AF_INET6 address bound, connected or sent to is
    loopback (the unspecified address only for a bind)."""
    _need_strace()
    if not ORACLE.exists():
        pytest.skip("%s is not built; run make build" % ORACLE)
    trace = tmp_path / "trace"
    t0 = time.monotonic()
    try:
        # (test_oracle.py too: its IPv6 tests reach the host's ::1 through fec0::2 and the host's
        # [::1]:port forwards, which no case needs)
        p = subprocess.run([STRACE] + TRACE_ARGS + ["-o", str(trace), sys.executable, "-m", "pytest",
                            "conformance/cases", "conformance/selftest/test_oracle.py", "--target=ref", "-q",
                            "-p", "no:cacheprovider"],
                           cwd=ROOT, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as e:
        pytest.fail("the traced suite run did not end within %d s" % e.timeout)
    took = time.monotonic() - t0
    out = p.stdout + p.stderr
    calls = parse(trace.read_text(errors="replace"))
    n, bad = counts(calls), violations(calls)
    pids = {c["pid"] for c in calls}
    line = ("traced suite run (%.1f s, %d processes/threads): %s"
            % (took, len(pids), ", ".join("%s %d" % kv for kv in n.items())))
    print(line)
    observed(line)
    assert not bad, "%d calls point off loopback:\n%s" % (len(bad), "\n".join(bad[:20]))
    assert p.returncode == 0 and " passed" in out, "the traced suite run did not pass:\n" + out[-3000:]
    # the trace saw the run: sockets, binds and connects, from more than the pytest process
    # (-f followed the oracle), or this test would pass on an empty trace
    assert n["socket"] > 0 and n["bind"] > 0 and n["connect"] > 0, line
    first = calls[0]["pid"]
    assert any(c["pid"] != first and c["call"] == "connect" for c in calls), \
        "no connect from any process but %d: strace -f did not follow the oracle" % first
    # and it saw IPv6: the oracle's slirp connecting to the host's ::1, and binding its forwards there
    six = {(c["call"], a) for c in calls if c["pid"] != first for f, a, _p in c["addrs"] if f == "AF_INET6"}
    assert ("connect", "::1") in six and ("bind", "::1") in six, sorted(six)


# ---- 2: slirp reaches only the host alias ----

# A TCP listener and a UDP echo on the same port of 127.0.0.1 and of ::1 (inside the namespace,
# where there is one): the host aliases reach them. Every other address is tried on the same port, so even
# one that slirp mapped to the host's loopback (what it does, unfiltered, with 10.0.2.x) would
# connect or be echoed. It writes the port to argv[1] and ends when its parent (strace) has.
LISTENER = r'''
import os, socket, sys, threading, time
ppid = os.getppid()
for _ in range(50):
    t = socket.socket()
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    more = [socket.socket(f, k) for f, k in ((socket.AF_INET, socket.SOCK_DGRAM), (socket.AF_INET6, socket.SOCK_STREAM),
                                            (socket.AF_INET6, socket.SOCK_DGRAM))]
    try:
        for s, a in zip(more, ("127.0.0.1", "::1", "::1")):
            s.bind((a, port))
        break
    except OSError:
        for s in [t] + more:
            s.close()
u, t6, u6 = more
def tcp(t):
    t.listen(8)
    while True:
        t.accept()[0].close()
def udp(u):
    while True:
        d, a = u.recvfrom(2048)
        u.sendto(d, a)
for f, s in ((tcp, t), (udp, u), (tcp, t6), (udp, u6)):
    threading.Thread(target=f, args=(s,), daemon=True).start()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(port))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
deadline = time.monotonic() + 120
while os.getppid() == ppid and time.monotonic() < deadline:
    time.sleep(0.1)
'''
# In the namespace: loopback up, the listener, then strace execs the oracle (so the oracle's
# stdin/stdout are the transport's pipe, and strace is the listener's parent).
SCRIPT = r'''
if [ -n "$ISO_IP" ]; then "$ISO_IP" link set lo up || exit 97; fi
"$ISO_PY" -c "$ISO_LISTENER" "$ISO_DIR/port" </dev/null >/dev/null 2>&1 &
i=0; while [ ! -s "$ISO_DIR/port" ]; do i=$((i+1)); [ $i -lt 200 ] || exit 98; sleep 0.05; done
exec "$ISO_STRACE" "$@"
'''
TIMEOUT = 0.3


def _family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def _tcp(oracle, addr, port):
    r = oracle.call([("getaddrinfo", [addr, port]), ("socket", [_family(addr)]), ("settimeout", [Ref(1), TIMEOUT]),
                     ("connect", [Ref(1), Ref(0, 0, -1)])], mode="C").results
    assert all(isinstance(x, Ok) for x in r[:3]), r
    oracle.reset()
    return r[3]


def _udp(oracle, addr, port):
    """sendto, then recvfrom: the echo, or what sendto (an address lwIP has no route to) or
    recvfrom (no echo came) raised."""
    dgram = socket.SOCK_DGRAM    # the oracle's numbers are glibc's (test_oracle.py: constants)
    r = oracle.call([("getaddrinfo", [addr, port, 0, dgram]), ("socket", [_family(addr), dgram]),
                     ("settimeout", [Ref(1), TIMEOUT]), ("sendto", [Ref(1), b"isolation", Ref(0, 0, -1)]),
                     ("recvfrom", [Ref(1), 64])], mode="C").results
    assert all(isinstance(x, Ok) for x in r[:3]), r
    oracle.reset()
    return r[3] if isinstance(r[3], Raised) else r[4]


def _outcome(r):
    return ("OSError %s" % r.errno if isinstance(r, Raised) and r.cls == "OSError"
            else "raised %s" % r.cls if isinstance(r, Raised) else "succeeded")


def test_slirp_reaches_only_the_host_alias(tmp_path, observed):
    """"Configure slirp so it cannot reach anything but the host alias": from the oracle, TCP
    connects and UDP datagrams to slirp's DNS aliases, to other 10.0.2.x and fec0:: addresses,
    to TEST-NET-1 and to 2001:db8::1 all fail, and the oracle process makes no host-side connect
    or sendto for them; the same to the host aliases (10.0.2.2, fec0::2) reaches a listener on
    the host's 127.0.0.1 and ::1 (so the check can fail). The oracle
    runs in a network namespace of its own where the machine allows it, so even a regression
    could not leak."""
    _need_strace()
    if not ORACLE.exists():
        pytest.skip("%s is not built; run make build" % ORACLE)
    prefix, why = _namespace_prefix()
    trace = tmp_path / "trace"
    env = dict(os.environ, ISO_IP=_ip() if prefix else "", ISO_PY=sys.executable, ISO_LISTENER=LISTENER,
               ISO_DIR=str(tmp_path), ISO_STRACE=STRACE)
    argv = prefix + ["sh", "-c", SCRIPT, "sh"] + TRACE_ARGS + ["-o", str(trace), str(ORACLE)]
    t = sc_transport.PipeTransport(argv, env=env)
    outcomes, tries = {}, {}
    try:
        oracle = sc_client.Client(t)
        oracle.hello()
        port = int((tmp_path / "port").read_text())
        for addr in NOT_THE_ALIAS + NOT_THE_ALIAS6:
            outcomes[addr] = (_outcome(_tcp(oracle, addr, port)), _outcome(_udp(oracle, addr, port)))
        for alias, six in ((HOST_ALIAS, ""), (HOST_ALIAS6, "6")):
            for kind, attempt in (("tcp", _tcp), ("udp", _udp)):
                for n in range(1, 4):     # the positive control, tried again if a segment was lost
                    r = attempt(oracle, alias, port)
                    tries[kind + six] = (n, _outcome(r))
                    if isinstance(r, Ok):
                        break
    finally:
        t.close()
    calls = parse(trace.read_text(errors="replace"))
    to = [(c["call"], a, p) for c in calls if c["call"] in ("connect", "sendto", "sendmsg", "sendmmsg")
          for _f, a, p in c["addrs"]]
    line = ("namespace: %s; non-alias (tcp, udp): %s; host alias (tries, outcome): %s; oracle's host calls: %s"
            % ("unshare " + prefix[1] if prefix else "none (%s)" % why,
               "; ".join("%s %s/%s" % (a, o[0], o[1]) for a, o in outcomes.items()), tries, to))
    print(line)
    observed(line)
    bad = violations(calls)
    assert not bad, "the oracle pointed a host socket off loopback:\n" + "\n".join(bad)
    for addr, (tcp, udp) in outcomes.items():
        assert tcp.startswith("OSError") and udp.startswith("OSError"), \
            "%s was reached from the oracle: tcp %s, udp %s" % (addr, tcp, udp)
    assert all(tries[k][1] == "succeeded" for k in ("tcp", "udp", "tcp6", "udp6")), \
        "a host alias did not reach the listener on 127.0.0.1 or ::1: %s" % tries
    # exactly the positive controls' tries left the oracle: one connect and one datagram each,
    # to the listener on 127.0.0.1 or ::1; nothing for the other addresses, not even mapped to loopback
    assert [x for x in to if x[0] == "connect"] == ([("connect", "127.0.0.1", port)] * tries["tcp"][0] +
                                                    [("connect", "::1", port)] * tries["tcp6"][0]), to
    assert [x for x in to if x[0] != "connect"] == ([("sendto", "127.0.0.1", port)] * tries["udp"][0] +
                                                    [("sendto", "::1", port)] * tries["udp6"][0]), to
    # the second wall (ref/rf_net.c, outbound_addr and outbound_addr6): slirp binds each host
    # socket it opens to 127.0.0.1 or ::1 first, and Linux will not route a loopback source off
    # loopback (EINVAL)
    binds = [a for c in calls if c["call"] == "bind" for _f, a, _p in c["addrs"]]
    assert len(binds) >= sum(n for n, _ in tries.values()) and set(binds) == {"127.0.0.1", "::1"}, binds
