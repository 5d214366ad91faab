"""pycom: Pycom's usocket as pycom-usocket.md describes it, the canonical document
(micropython-usocket.txt, mpbase) filling every silence.

What Pycom's document changes or adds: IPv4 only (its families are AF_INET, AF_LORA, AF_SIGFOX;
no AF_INET6), (ipv4_address, port) tuples, its constant inventory, SO_REUSEADDR on by default,
sendall an alias of send, socket.timeout raised on expiry and socket.error, makefile(mode='rb')
in rb and wb only and on a blocking socket, getaddrinfo(host, port) without filters, read() as
readall(), dnsserver, EINPROGRESS = 119 in its errno table (installed as errno and uerrno), and
the with statement.

Left out: the LoRa and Sigfox names (AF_LORA, AF_SIGFOX, SOL_LORA, SOL_SIGFOX, SO_CONFIRMED, SO_DR,
SO_RX, SO_TX_REPEAT, SO_OOB, SO_BIT): the model is a board without those radios (a WiPy), and the
document gives none of their numbers. do_handshake: it is for a socket "wrapped" by ssl, and the
model has no ssl module.

dnsserver() starts from the system resolver's nameservers (/etc/resolv.conf; '0.0.0.0' where
there is none) and keeps what is set; getaddrinfo asks the system resolver whatever it holds (the
model cannot point it elsewhere).

Broken variants (model_port.py pycom --break RULE), one sentence each:
- sendall-all: sendall sends everything and returns None (the canonical sendall), breaking
  "Alias of `s.send(bytes)`."
- einprogress-115: a non-blocking connect raises the host's EINPROGRESS number, breaking
  "if str(e) == '119': # For non-Blocking sockets 119 is EINPROGRESS"
- timeout-oserror: a timeout raises a plain OSError, breaking "If a non-zero value is given,
  subsequent socket operations will raise a timeout exception if the timeout period value has
  elapsed before the operation has completed."
- no-reuseaddr: sockets do not reuse addresses until asked, breaking
  "`socket.SO_REUSEADDR`: Enable address reusing (Enabled by default)"
"""
import errno as _errno
import socket as _host

from . import mpbase, uselect
from .mpbase import AF_INET, SOCK_DGRAM, SOCK_STREAM, SOCK_RAW, IPPROTO_TCP, IPPROTO_UDP, SOL_SOCKET, SO_REUSEADDR
from .mpbase import Break, inet_ntop, inet_pton  # noqa: F401

# its Constants section (without the LoRa and Sigfox names), and the canonical functions
__all__ = ["AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "IPPROTO_IP", "IPPROTO_ICMP", "IPPROTO_UDP",
           "IPPROTO_TCP", "IPPROTO_IPV6", "IP_ADD_MEMBERSHIP", "IPPROTO_RAW", "SOL_SOCKET", "SO_REUSEADDR",
           "socket", "getaddrinfo", "inet_pton", "inet_ntop", "dnsserver", "error", "timeout"]

# "Socket protocols: `socket.IPPROTO_IP`, `socket.IPPROTO_ICMP`, `socket.IPPROTO_UDP`,
# `socket.IPPROTO_TCP`, `socket.IPPROTO_IPV6`, `socket.IP_ADD_MEMBERSHIP`, `socket.IPPROTO_RAW`"
IPPROTO_IP, IPPROTO_ICMP, IPPROTO_IPV6, IPPROTO_RAW = (_host.IPPROTO_IP, _host.IPPROTO_ICMP, _host.IPPROTO_IPV6,
                                                       _host.IPPROTO_RAW)
IP_ADD_MEMBERSHIP = _host.IP_ADD_MEMBERSHIP

# "if str(e) == '119': # For non-Blocking sockets 119 is EINPROGRESS"
uerrno = mpbase.errno_module("uerrno", EINPROGRESS=119)
MODULES = {"socket": None, "usocket": None, "select": uselect, "uselect": uselect, "errno": uerrno,
           "uerrno": uerrno}

# "`socket.error`, `socket.timeout`"
error = OSError


class timeout(OSError):
    """socket.timeout: what an expired timeout raises."""


class socket(mpbase.socket):
    _ERRNO = uerrno
    # "Family types: `socket.AF_INET`, `socket.AF_LORA`, `socket.AF_SIGFOX`"
    _FAMILIES = (AF_INET,)
    # "The support is limited to binary modes only (`rb` and `wb`)."
    _MODES = ("rb", "wb")

    def _setup(self, s):
        super()._setup(s)
        # "`socket.SO_REUSEADDR`: Enable address reusing (Enabled by default)"
        s.setsockopt(_host.SOL_SOCKET, _host.SO_REUSEADDR, 1)

    def _expired(self):
        # "subsequent socket operations will raise a timeout exception if the timeout period value
        # has elapsed before the operation has completed"
        return timeout(uerrno.ETIMEDOUT)

    # "Alias of `s.send(bytes)`."
    sendall = mpbase.socket.send

    def makefile(self, mode="rb"):
        # "The socket must be in blocking mode; it can have a timeout, but the file object's internal
        # buffer may end up in a inconsistent state if a timeout occurs."
        self._check_open()
        if self._timeout == 0:
            raise OSError(uerrno.EINVAL)
        return super().makefile(mode)

    def readall(self):
        # "Read all data available from the socket until EOF. This function will not return until
        # the socket is closed."
        return self._stream(None)

    # "Sockets are automatically closed when they are garbage-collected, but it is recommended to
    # `close()` them explicitly, or to use a with statement around them."
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def getaddrinfo(host, port):
    # "socket.getaddrinfo(host, port)"
    return mpbase.resolve(host, port, families=socket._FAMILIES, errno_module=uerrno)


def _nameservers():
    found = []
    try:
        with open("/etc/resolv.conf") as f:
            for words in (line.split() for line in f):
                if len(words) >= 2 and words[0] == "nameserver":
                    found.append(words[1])
    except OSError:
        pass
    return (found + ["0.0.0.0", "0.0.0.0"])[:2]


_dns = _nameservers()


def dnsserver(*args):
    # "When no arguments are passed this function returns the configured DNS servers Primary
    # (Index=0) and backup (Index = 1)"
    if not args:
        return tuple(_dns)
    # "to set primary and Backup DNS servers specify the Index and Ip Address."
    index, ip_addr = args
    if index not in (0, 1):
        raise ValueError("dnsIndex must be 0 (primary) or 1 (backup)")
    _host.inet_pton(_host.AF_INET, ip_addr)
    _dns[index] = ip_addr


def _no_reuseaddr(port):
    port.socket._setup = mpbase.socket._setup


def _einprogress_115(port):
    connect = port.socket.connect

    def host_number(self, address):
        try:
            return connect(self, address)
        except OSError as e:
            if e.args[:1] == (uerrno.EINPROGRESS,):
                raise OSError(_errno.EINPROGRESS) from None
            raise
    port.socket.connect = host_number


BREAKS = {
    "sendall-all": Break("Alias of `s.send(bytes)`.", "pycom:sendall.alias", "test_pycom_sendall_is_send",
                         lambda port: setattr(port.socket, "sendall", mpbase.socket.sendall)),
    "einprogress-115": Break("if str(e) == '119': # For non-Blocking sockets 119 is EINPROGRESS",
                             "pycom:connect.einprogress-119", "test_pycom_nonblocking_connect_raises_119",
                             _einprogress_115),
    "timeout-oserror": Break("If a non-zero value is given, subsequent socket operations will raise a timeout "
                             "exception if the timeout period value has elapsed before the operation has completed.",
                             "pycom:settimeout.timeout-exception", "test_pycom_timeout_raises_the_timeout_exception",
                             lambda port: setattr(port.socket, "_expired", mpbase.socket._expired)),
    "no-reuseaddr": Break("`socket.SO_REUSEADDR`: Enable address reusing (Enabled by default)",
                          "pycom:setsockopt.reuseaddr-default", "test_pycom_address_reuse_is_on_by_default",
                          _no_reuseaddr),
}
