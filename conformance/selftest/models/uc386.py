"""uc386: uc386's socket module as uc386-socket.txt describes it (MicroPython on 386 DOS over
lwIP), the canonical document (micropython-usocket.txt, mpbase) filling every silence.

What uc386's document changes or adds: IPv4 only ("Address families: socket.AF_INET (IPv4 only on
this port)."; the module still defines AF_INET6, as an lwIP port built without IPv6 may, and
refuses AF_INET6 sockets, addresses and conversions), TCP_NODELAY = 0x40 (lwIP's TF_NODELAY, which
setsockopt passes to the host as its TCP_NODELAY), getaddrinfo(host, port) giving (ip, port)
sockaddrs, recv_into(buf, n=-1), fileno, socket(family=AF_INET, type=SOCK_STREAM, proto=0).
Its OSError(ETIMEDOUT) on expiry and b'' at every recv after a clean FIN are the canonical
model's already (mpbase's choices).

getaddrinfo(host, port) is read as a signature, like Pycom's "socket.getaddrinfo(host, port)":
it is the heading of the function. The method table ("Method | Purpose") is read as a summary of
use, so where it shows less than the canonical signature (".listen(backlog)", ".makefile('rwb')")
the canonical one holds.

The stack and its set-up (lwip, uc386_net): "The lwIP timers + packet queue need lwip.callback()
calls. The high-level helpers (asyncio streams, the SSH module) call it automatically; raw socket
code in a tight loop without sleeps may need to call it manually." So what arrives is delivered
to a socket when lwip.callback() runs: a non-blocking read or accept, and poll(0), see only what
the last callback delivered (else: EAGAIN, None, nothing ready), while a call that waits (a
blocking or timed read, a poll with a timeout) runs the stack as it waits. The set-up is the
document's: lwip.reset(), uc386_net.eth_init(detect), uc386_net.eth_set_static(ip, mask, gw) and
its nameserver form eth_set_static('myip', 'mask', 'gw', 'dns'), eth_set_dhcp(). They record
what they were given (uc386_net.config); the sockets are the host's either way.

Broken variants (model_port.py uc386 --break RULE), one sentence each:
- nodelay-posix: TCP_NODELAY is 1, breaking "TCP_NODELAY constant in upstream MicroPython matches
  lwIP’s internal TF_NODELAY = 0x40, not the POSIXTCP_NODELAY = 1."
- eof-once: recv after the first b'' at EOF raises OSError(ENOTCONN), breaking
  "socket.recv()returnsb''on clean peer FIN, like POSIX."
- timeout-eagain: an expired timeout raises OSError(EAGAIN), breaking
  "s.settimeout(0.1) # 100 ms; raises OSError(ETIMEDOUT) on expiry"
- gai-bytes: getaddrinfo's sockaddr is the raw struct sockaddr (as MicroPython's unix port has
  it), breaking "addr = addr_info[0][-1] # ('93.184.216.34', 80)"
- static-no-dns: eth_set_static takes the address, mask and gateway only (as the build issue 16
  tried), breaking "DNS resolution goes through lwIP — set a nameserver via
  uc386_net.eth_set_static('myip', 'mask', 'gw', 'dns') if your DHCP didn’t."
"""
import errno as _errno
import select as _sel
import socket as _host
import types as _types
import weakref as _weakref

from . import mpbase, uselect
from .mpbase import AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, IPPROTO_TCP, IPPROTO_UDP, SOL_SOCKET  # noqa: F401
from .mpbase import SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, Break  # noqa: F401

__all__ = list(mpbase.__all__) + ["TCP_NODELAY"]
_LIVE = _weakref.WeakSet()      # the open sockets, which lwip.callback() delivers to


def _callback():
    # "The lwIP timers + packet queue need lwip.callback()calls."
    for s in list(_LIVE):
        try:
            s._delivered = s._s.fileno() >= 0 and bool(_sel.select([s._s], [], [], 0)[0])
        except (OSError, ValueError):
            s._delivered = False


def _reset():
    # "lwip.reset()"
    config.clear()


config = {}     # what uc386_net was given


def _eth_init(detect):
    # "uc386_net.eth_init(False) # detect packet driver"
    config["eth_init"] = detect


def _eth_set_static(ip, mask, gw, dns=None):
    # "uc386_net.eth_set_static('10.0.2.15', '255.255.255.0', '10.0.2.2')"; "set a nameserver via
    # uc386_net.eth_set_static('myip', 'mask', 'gw', 'dns')"
    for x in (ip, mask, gw) + (() if dns is None else (dns,)):
        if not isinstance(x, str):
            raise TypeError("can't convert %s to str" % type(x).__name__)
    config["static"] = (ip, mask, gw, dns)


def _eth_set_dhcp():
    # "# … or eth_set_dhcp() and wait for lease"
    config["dhcp"] = True


lwip = _types.ModuleType("lwip", "uc386's lwIP stack: callback() runs its timers and packet queue")
lwip.callback, lwip.reset = _callback, _reset
uc386_net = _types.ModuleType("uc386_net", "uc386's interface configuration")
uc386_net.eth_init, uc386_net.eth_set_static, uc386_net.eth_set_dhcp = _eth_init, _eth_set_static, _eth_set_dhcp
uc386_net.config = config


class _Poll:
    """uselect's poll, with the stack's delivery: poll(0) sees a socket readable only once the
    stack delivered to it; a poll that waits runs the stack."""

    def __init__(self):
        self._p = uselect.poll()

    def __getattr__(self, name):
        return getattr(self._p, name)

    def poll(self, timeout=-1):
        ready = self._p.poll(timeout)
        if timeout != 0:
            _callback()
            return ready
        out = []
        for obj, ev in ready:
            if ev & uselect.POLLIN and getattr(obj, "_delivered", True) is False and not obj._pending:
                ev &= ~uselect.POLLIN
            if ev:
                out.append((obj, ev))
        return out


select = _types.ModuleType("uselect", uselect.__doc__)
for _name in uselect.__all__:
    setattr(select, _name, getattr(uselect, _name))
select.poll = _Poll
MODULES = {"socket": None, "usocket": None, "select": select, "uselect": select, "lwip": lwip,
           "uc386_net": uc386_net}

# "TCP_NODELAY constant in upstream MicroPython matches lwIP’s internal TF_NODELAY = 0x40, not the
# POSIXTCP_NODELAY = 1."
TCP_NODELAY = 0x40


class socket(mpbase.socket):
    # "Address families: socket.AF_INET (IPv4 only on this port)."
    _FAMILIES = (AF_INET,)
    # "If you need to set it, use0x40."
    _OPTIONS = {(IPPROTO_TCP, TCP_NODELAY): (_host.IPPROTO_TCP, _host.TCP_NODELAY)}

    # "socket.socket(family=AF_INET, type=SOCK_STREAM, proto=0)"
    def __init__(self, family=AF_INET, type=SOCK_STREAM, proto=0):
        super().__init__(family, type, proto)

    def _setup(self, s):
        super()._setup(s)
        self._delivered = False     # what arrived is not seen without waiting until lwip.callback()
        _LIVE.add(self)

    def _io(self, fn, event, deadline):
        # "raw socket code in a tight loop without sleeps may need to call it manually": without
        # waiting, only what the last lwip.callback() delivered is there
        if event == mpbase._POLLIN and self._timeout == 0 and not self._delivered and self._s.fileno() >= 0:
            raise self._error(_errno.EAGAIN)
        try:
            return super()._io(fn, event, deadline)
        except OSError as e:
            if event == mpbase._POLLIN and self._would_block(e):
                self._delivered = False
            raise

    def recv_into(self, buf, n=-1):
        # ".recv_into(buf, n=-1) | read into pre-allocated buffer |"
        got = self.recv(len(buf) if n < 0 else min(n, len(buf)))
        buf[:len(got)] = got
        return len(got)

    def fileno(self):
        # ".fileno() | underlying fd (for select) |"
        return self._s.fileno()


def getaddrinfo(host, port):
    # "getaddrinfo(host, port)"; "addr = addr_info[0][-1] # ('93.184.216.34', 80)"
    return mpbase.resolve(host, port, families=socket._FAMILIES)


def inet_pton(af, txt_addr):
    # "Address families: socket.AF_INET (IPv4 only on this port)."
    if af != AF_INET:
        raise OSError(_errno.EAFNOSUPPORT)
    return mpbase.inet_pton(af, txt_addr)


def inet_ntop(af, bin_addr):
    # "Address families: socket.AF_INET (IPv4 only on this port)."
    if af != AF_INET:
        raise OSError(_errno.EAFNOSUPPORT)
    return mpbase.inet_ntop(af, bin_addr)


def _eof_once(port):
    recv = port.socket.recv

    def once(self, bufsize):
        if getattr(self, "_at_eof", False):
            raise OSError(_errno.ENOTCONN)
        got = recv(self, bufsize)
        self._at_eof = self._s.type == SOCK_STREAM and got == b"" and bufsize > 0
        return got
    port.socket.recv = once


def _gai_bytes(port):
    def raw(host, port_number):
        out = []
        for f, t, p, c, (ip, n) in mpbase.resolve(host, port_number, families=(AF_INET,)):
            out.append((f, t, p, c, bytes([2, 0]) + n.to_bytes(2, "big") + _host.inet_aton(ip) + bytes(8)))
        return out
    port.getaddrinfo = raw


BREAKS = {
    "nodelay-posix": Break("TCP_NODELAY constant in upstream MicroPython matches lwIP’s internal TF_NODELAY = 0x40, "
                           "not the POSIXTCP_NODELAY = 1.", "uc386:quirks.tcp-nodelay",
                           "test_uc386_tcp_nodelay_is_lwips_tf_nodelay",
                           lambda port: setattr(port, "TCP_NODELAY", _host.TCP_NODELAY)),
    "eof-once": Break("socket.recv()returnsb''on clean peer FIN, like POSIX.", "uc386:quirks.recv-fin",
                      "test_recv_at_eof_is_empty_every_time", _eof_once),
    "timeout-eagain": Break("s.settimeout(0.1) # 100 ms; raises OSError(ETIMEDOUT) on expiry",
                            "uc386:timeouts.etimedout", "test_recv_timeout_is_etimedout_after_the_timeout",
                            lambda port: setattr(port.socket, "_expired", lambda self: OSError(_errno.EAGAIN))),
    "static-no-dns": Break("DNS resolution goes through lwIP — set a nameserver via "
                           "uc386_net.eth_set_static('myip', 'mask', 'gw', 'dns') if your DHCP didn’t.", "uc386:gai.dns",
                           "test_uc386_nameserver_is_set_with_eth_set_static",
                           lambda port: setattr(port.uc386_net, "eth_set_static",
                                                lambda ip, mask, gw: _eth_set_static(ip, mask, gw))),
    "gai-bytes": Break("addr = addr_info[0][-1] # ('93.184.216.34', 80)", "uc386:gai.sockaddr-tuple",
                       "test_uc386_sockaddr_is_an_ip_port_tuple", _gai_bytes),
}
