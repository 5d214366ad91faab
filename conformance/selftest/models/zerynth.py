"""zerynth: Zerynth's socket module as zerynth-socket.txt describes it. Zerynth runs its own VM
("an almost complete BSD socket interface"), not MicroPython: the model has what its document
names and lacks what it does not. It takes mpbase's machinery (_Socket: waiting, errors,
close, bind, listen, accept, connect, setsockopt) and nothing of the MicroPython stream interface.

What it has, and why:
- constants: AF_INET, AF_INET6, AF_CAN, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOL_SOCKET, SO_RCVTIMEO,
  SO_REUSEADDR ("The following constants are defined:"), and IPPROTO_TCP, the default of proto in
  socket()'s signature;
- ip_to_tuple; the socket class, its methods fileno, connect, close, recv, recv_into, recvfrom,
  recvfrom_into, send, sendall, sendto, settimeout (milliseconds), bind, listen (maxlog=2),
  accept; and setsockopt, which the SOL_SOCKET and SO_* constants exist for ("For socket
  options").
- the four IPv4 address forms, a port of zero where none is given, bind(port) on any local address.
  AF_INET6 and AF_CAN sockets can be made ("For socket families"), but the document gives no
  address form but IPv4's, so they take no address (EAFNOSUPPORT).

What it lacks, as its document names none of them: getaddrinfo, inet_pton, inet_ntop,
setblocking (settimeout(0) is its non-blocking mode), makefile, read, readinto, readline,
write, readall, socket.error, a timeout class of the module's own, and any select or poll (the
document names none: the select module installed is empty), and a usocket module (it is
installed as socket only).

Exceptions: socket() raises IOError when creation goes wrong (a class of Zerynth's VM, named so:
in CPython IOError is OSError itself); an expired timeout raises TimeoutError, the VM's timeout
exception; every other failure is the canonical OSError.

Where the document asks something of the user, the model holds the user to it: a UDP socket
that was never bound refuses input and output (OSError(EINVAL)): "A udp socket needs to be
bound before any input/output operation." recv on a stream socket waits for bufsize bytes, a
FIN (then it gives what came) or an error; on a datagram socket it gives one datagram. An
operation that times out or fails after taking some bytes gives them back for the next recv.

Broken variants (model_port.py zerynth --break RULE), one sentence each:
- recv-bytes: recv returns bytes, breaking "Returns a bytearray containing the received bytes."
- recv-short: recv returns the bytes there are, breaking
  "It blocks until bufsize bytes are received or an error occurs."
- timeout-seconds: settimeout takes seconds, breaking "The timeout argument can be a nonnegative
  integer number expressing milliseconds, or None."
- sendall-count: sendall returns the count it sent, breaking "None is returned on success."
"""
import errno as _errno
import select as _select
import socket as _host
import types as _types

from . import mpbase
from .mpbase import AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOL_SOCKET, SO_REUSEADDR, IPPROTO_TCP
from .mpbase import Break

__all__ = ["AF_INET", "AF_INET6", "AF_CAN", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOL_SOCKET", "SO_RCVTIMEO",
           "SO_REUSEADDR", "IPPROTO_TCP", "socket", "ip_to_tuple"]
NAME = "socket"

# "For socket families: AF_INET, AF_INET6, AF_CAN"
AF_CAN = int(_host.AF_CAN)
# "For socket options: SOL_SOCKET, SO_RCVTIMEO, SO_REUSEADDR"
SO_RCVTIMEO = _host.SO_RCVTIMEO

MODULES = {"socket": None, "select": _types.ModuleType("select", "Zerynth's document names no select module.")}
_POLLIN, _POLLOUT = _select.POLLIN, _select.POLLOUT


class _IOError(OSError):
    """__builtins__.IOError of Zerynth's VM."""


_IOError.__name__ = _IOError.__qualname__ = "IOError"


def _port_number(v):
    return isinstance(v, int) and not isinstance(v, bool)


class socket(mpbase._Socket):
    _FAMILIES = (AF_INET, AF_INET6, AF_CAN)

    def __init__(self, family=AF_INET, type=SOCK_STREAM, proto=IPPROTO_TCP, fileno=None):
        try:
            # "For socket families: AF_INET, AF_INET6, AF_CAN"
            if family not in self._FAMILIES:
                raise OSError(_errno.EAFNOSUPPORT)
            # "socket(family=AF_INET, type=SOCK_STREAM, proto=IPPROTO_TCP, fileno=None)": the default
            # names TCP; a socket of another type gets its own protocol, as in the document's UDP use
            s = _host.socket(family, type, 0 if proto == IPPROTO_TCP and type != SOCK_STREAM else proto, fileno)
        except OSError as e:
            # "Raise __builtins__.IOError exceptions if socket creation goes wrong."
            raise _IOError(*self._oserror(e).args) from None
        self._setup(s)

    def _setup(self, s):
        super()._setup(s)
        self._bound = False

    def _expired(self):
        # "subsequent socket operations will raise a timeout exception if the timeout period value has
        # elapsed before the operation has completed"
        return TimeoutError(_errno.ETIMEDOUT)

    def _check_bound(self):
        # "A udp socket needs to be bound before any input/output operation."
        if self._s.type == SOCK_DGRAM and not self._bound:
            raise self._error(_errno.EINVAL)

    def _addr(self, address):
        # "IPv4 addresses can be passed to functions and methods in the following forms:"
        if self._s.family != AF_INET:
            raise self._error(_errno.EAFNOSUPPORT)
        t = address if isinstance(address, tuple) else ()
        if isinstance(address, str):
            ip, port = address, 0               # "string, e.g. “192.168.1.10”"
        elif len(t) == 4 and all(map(_port_number, t)):
            ip, port = ".".join(map(str, t)), 0  # "tuple, e.g. (192,168,1,10)"
        elif len(t) == 2 and isinstance(t[0], str) and _port_number(t[1]):
            ip, port = t                        # "tuple of ip and port, e.g. (“192.168.1.10”,8080)"
        elif len(t) == 5 and all(map(_port_number, t)):
            ip, port = ".".join(map(str, t[:4])), t[4]  # "tuple of ip and port, e.g. (192,168,1,10,8080)"
        else:
            raise TypeError("not an IPv4 address in one of the documented forms: %r" % (address,))
        # "if a port is required but not given, it is set to zero." (above); and an IPv4 address is
        # numeric in every form
        try:
            _host.inet_pton(_host.AF_INET, ip)
        except OSError:
            raise self._error(_errno.EINVAL) from None
        return ip, port

    def fileno(self):
        # "Return an integer identifying the underlying socket number."
        return self._s.fileno()

    def bind(self, address):
        # "an integer representing a port number. In this case ip is set to the local one"
        super().bind(("0.0.0.0", address) if _port_number(address) else address)
        self._bound = True

    def listen(self, maxlog=2):
        # "listen(maxlog=2)"
        super().listen(maxlog)

    def recv(self, bufsize, flags=0):
        self._check_bound()
        if self._s.type == SOCK_STREAM:
            # "It blocks until bufsize bytes are received or an error occurs."
            got = self._read(bufsize, flags=flags)
        else:
            got = self._take(bufsize, self._deadline(), flags)
        # "Returns a bytearray containing the received bytes."
        return bytearray(got)

    def recv_into(self, buffer, bufsize=-1, flags=0):
        # "Reads at most bufsize bytes from the underlying socket into buffer."
        got = self.recv(len(buffer) if bufsize < 0 else min(bufsize, len(buffer)), flags)
        buffer[:len(got)] = got
        # "Returns the number of received bytes."
        return len(got)

    def recvfrom(self, bufsize, flags=0):
        self._check_bound()
        # "It blocks until a datagram is received."
        data, address = self._io(lambda: self._s.recvfrom(bufsize, flags), _POLLIN, self._deadline())
        # "Returns a tuple (data, address) where data is a bytearray containing the received bytes"
        return bytearray(data), address

    def recvfrom_into(self, buffer, bufsize=-1, flags=0):
        # "If bufsize is not given or is less than 0, bufsize is set to len(buffer)."
        data, address = self.recvfrom(len(buffer) if bufsize < 0 else min(bufsize, len(buffer)), flags)
        buffer[:len(data)] = data
        # "Returns a tuple (rd, address) where rd is the number of bytes received"
        return len(data), address

    def send(self, buffer, flags=0):
        self._check_bound()
        # "Returns the number of bytes sent."
        return self._io(lambda: self._s.send(buffer, flags), _POLLOUT, self._deadline())

    def sendall(self, buffer, flags=0):
        if isinstance(buffer, str):
            buffer = buffer.encode()            # sock.sendall("Hello World!")
        self._check_bound()
        # "this method continues to send data from bytes until either all data has been sent or an
        # error occurs. None is returned on success."
        view, deadline = memoryview(buffer), self._deadline()
        while len(view):
            view = view[self._io(lambda: self._s.send(view, flags), _POLLOUT, deadline):]

    def sendto(self, buffer, address, flags=0):
        self._check_bound()
        address = self._addr(address)
        # "Return the number of bytes sent"
        return self._io(lambda: self._s.sendto(buffer, flags, address), _POLLOUT, self._deadline())

    def settimeout(self, timeout):
        # "The timeout argument can be a nonnegative integer number expressing milliseconds, or None."
        if timeout is not None and not _port_number(timeout):
            raise TypeError("timeout must be an integer number of milliseconds or None")
        super().settimeout(None if timeout is None else timeout / 1000)


def ip_to_tuple(ip):
    # "Return a tuple of four integers from a ip address of the form “x.y.z.w”."
    return tuple(_host.inet_pton(_host.AF_INET, ip))


def _recv_short(port):
    def recv(self, bufsize, flags=0):
        self._check_bound()
        return bytearray(self._take(bufsize, self._deadline(), flags))
    port.socket.recv = recv


def _sendall_count(port):
    sendall = port.socket.sendall

    def counted(self, buffer, flags=0):
        sendall(self, buffer, flags)
        return len(buffer)
    port.socket.sendall = counted


BREAKS = {
    "recv-bytes": Break("Returns a bytearray containing the received bytes.", "zerynth:recv.bytearray",
                        "test_zerynth_recv_returns_a_bytearray",
                        lambda port: setattr(port.socket, "recv", lambda self, n, flags=0: bytes(
                            socket.recv(self, n, flags)))),
    "recv-short": Break("It blocks until bufsize bytes are received or an error occurs.", "zerynth:recv.waits",
                        "test_zerynth_recv_waits_for_bufsize_bytes", _recv_short),
    "timeout-seconds": Break("The timeout argument can be a nonnegative integer number expressing milliseconds, "
                             "or None.", "zerynth:settimeout.ms", "test_zerynth_settimeout_takes_milliseconds",
                             lambda port: setattr(port.socket, "settimeout", mpbase._Socket.settimeout)),
    "sendall-count": Break("None is returned on success.", "zerynth:sendall.none", "test_zerynth_sendall_returns_none",
                           _sendall_count),
}
