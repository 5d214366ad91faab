"""The MicroPython family's socket module as micropython-usocket.txt (the canonical document)
describes it, over CPython's real sockets: the base that the micropython, pycom and uc386 models
build on (zerynth takes only its machinery, _Socket).

Every host socket is non-blocking; the model does its own waiting (_io, _wait), so that the
timeout of a whole operation, the exception it raises and what becomes of bytes already read are
the model's, stated in one place. Host errors are translated once (_error, _oserror) into a plain
OSError carrying the port's errno number, never one of CPython's subclasses.

Choices where the canonical document is silent, each as real MicroPython makes it:
- a timeout raises OSError(ETIMEDOUT); a non-blocking call that would wait, OSError(EAGAIN), and a
  non-blocking connect OSError(EINPROGRESS);
- read/readinto/readline on a non-blocking socket with nothing to read return None;
- an operation that times out after taking some bytes gives them back (the next read or recv
  gets them), so that no received byte is lost; a write that times out after sending some
  returns how many it sent;
- getaddrinfo's sockaddr (the opaque native format) is a tuple, the same one tuple addresses use,
  as MicroPython's lwIP ports make it; recvfrom and accept give addresses in that format;
- readline takes an optional limit (MicroPython's stream readline does; the agent bounds every
  answer with it);
- the socket has no fileno (the document names none): poll is uselect's (models/uselect.py),
  which takes the socket objects themselves.
"""
import collections as _collections
import errno as _errno
import select as _select
import socket as _host
import time as _time
import types as _types

__all__ = ["AF_INET", "AF_INET6", "SOCK_STREAM", "SOCK_DGRAM", "IPPROTO_TCP", "IPPROTO_UDP", "SOL_SOCKET",
           "SO_REUSEADDR", "SO_KEEPALIVE", "SO_BROADCAST", "socket", "getaddrinfo", "inet_pton", "inet_ntop"]

# The host's numbers, as plain ints (CPython's are IntEnum members).
AF_INET = int(_host.AF_INET)
AF_INET6 = int(_host.AF_INET6)
SOCK_STREAM = int(_host.SOCK_STREAM)
SOCK_DGRAM = int(_host.SOCK_DGRAM)
SOCK_RAW = int(_host.SOCK_RAW)
IPPROTO_TCP = _host.IPPROTO_TCP
IPPROTO_UDP = _host.IPPROTO_UDP
SOL_SOCKET = _host.SOL_SOCKET
SO_REUSEADDR = _host.SO_REUSEADDR
SO_KEEPALIVE = _host.SO_KEEPALIVE
SO_BROADCAST = _host.SO_BROADCAST

_POLLIN, _POLLOUT = _select.POLLIN, _select.POLLOUT
_WAKE = _select.POLLERR | _select.POLLHUP
_PIECE = 256            # readline and read-to-EOF: bytes asked of the host at a time
_AUTO = object()        # socket()'s proto when the caller gave none

# A broken variant of a model (model_port.py PORT --break RULE): the sentence it breaks, the clause
# of that sentence, a -k expression selecting cases that cite it, and patch(port module).
Break = _collections.namedtuple("Break", "quote clause cases patch")


def errno_module(name, **numbers):
    """The host's errno table as a module of its own, with the numbers a port's document gives
    (a name given a number another name had takes that number over)."""
    m = _types.ModuleType(name)
    table = {k: v for k, v in vars(_errno).items() if k.startswith("E") and isinstance(v, int)}
    table = {k: v for k, v in table.items() if v not in numbers.values()}
    table.update(numbers)
    for k, v in table.items():
        setattr(m, k, v)
    m.errorcode = {v: k for k, v in table.items() if k in numbers or _errno.errorcode.get(v) == k}
    return m


class _Socket:
    """The machinery every model socket has, and the methods the canonical document shares with
    Zerynth's: close, bind, listen, accept, connect, send, sendall, recv, sendto, recvfrom,
    setsockopt, settimeout."""
    _ERRNO = _errno         # the port's errno table: host errno numbers are renamed through it
    _OPTIONS = {}           # (level, name) a port numbers otherwise: the host's (level, name)
    _FAMILIES = (AF_INET, AF_INET6)

    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=_AUTO, /):
        # "usocket.AF_INET usocket.AF_INET6 Address family types." (a port's _FAMILIES: those it has)
        if af not in self._FAMILIES:
            raise self._error(_errno.EAFNOSUPPORT)
        # "Instead, type argument will select needed protocol automatically:"
        self._setup(self._call(_host.socket, af, type, 0 if proto is _AUTO else proto))

    def _setup(self, s):
        s.setblocking(False)
        self._s = s
        self._timeout = None        # seconds; None: blocking, 0: non-blocking
        self._pending = bytearray()  # bytes taken from the host by an operation that then gave up

    # ---- errors: one translation from the host's ----

    def _error(self, host_number):
        """A plain OSError with the port's number for a host errno number."""
        return OSError(getattr(self._ERRNO, _errno.errorcode.get(host_number, ""), host_number))

    def _oserror(self, e):
        # "MicroPython raises an OSError directly instead."
        n = e.errno if e.errno is not None else (e.args[0] if e.args and isinstance(e.args[0], int) else None)
        return self._error(n) if n is not None else OSError(*e.args)

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except OSError as e:
            raise self._oserror(e) from None

    def _expired(self):
        # "subsequent socket operations will raise an OSError exception if the timeout period value has
        # elapsed before the operation has completed"
        return self._error(_errno.ETIMEDOUT)

    def _would_block(self, e):
        return isinstance(e, OSError) and e.args[:1] == (getattr(self._ERRNO, "EAGAIN"),)

    def _check_open(self):
        # "Once that happens, all future operations on the socket object will fail."
        if self._s.fileno() < 0:
            raise self._error(_errno.EBADF)

    # ---- waiting ----

    def _deadline(self):
        return None if self._timeout is None else _time.monotonic() + self._timeout

    def _wait(self, event, deadline):
        """Whether the host socket got ready for event (or an error) before the deadline."""
        p = _select.poll()
        p.register(self._s, event | _WAKE)
        while True:
            left = None if deadline is None else (deadline - _time.monotonic()) * 1000
            if left is not None and left <= 0:
                return False
            if p.poll(left):
                return True

    def _io(self, fn, event, deadline):
        """fn() on the non-blocking host socket, waiting for event while it would block."""
        while True:
            try:
                return fn()
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                raise self._oserror(e) from None
            if self._timeout == 0:
                # "If zero is given, the socket is put in non-blocking mode."
                raise self._error(_errno.EAGAIN)
            if not self._wait(event, deadline):
                raise self._expired()

    def _take(self, n, deadline, flags=0):
        """One read of at most n bytes: bytes given back earlier first, else one host recv."""
        if self._pending:
            got = bytes(self._pending[:n])
            del self._pending[:n]
            return got
        return self._io(lambda: self._s.recv(n, flags), _POLLIN, deadline)

    def _read(self, size, line=False, flags=0):
        """Up to size bytes (None: until EOF), or to the first newline: on a blocking socket until
        there are that many or EOF, on a non-blocking one what is there (EAGAIN if nothing). On a
        timeout the bytes taken go back, and it raises."""
        deadline, got = self._deadline(), bytearray()
        while size is None or len(got) < size:
            try:
                chunk = self._take(_PIECE if size is None or line else size - len(got), deadline, flags)
            except OSError as e:
                if got and self._timeout == 0 and self._would_block(e):
                    break
                self._pending[:0] = got
                raise
            if not chunk:
                break
            if line and b"\n" in chunk:
                end = chunk.index(b"\n") + 1
                if size is not None:
                    end = min(end, size - len(got))
                self._pending[:0] = chunk[end:]
                got += chunk[:end]
                break
            if size is not None and len(got) + len(chunk) > size:
                self._pending[:0] = chunk[size - len(got):]
                chunk = chunk[:size - len(got)]
            got += chunk
        return bytes(got)

    # ---- addresses ----

    def _addr(self, address):
        """The host address for an address given to the module: a tuple in the document's format."""
        # "IPv4: (ipv4_address, port)"; "IPv6: (ipv6_address, port, flowinfo, scopeid)"
        v6 = self._s.family == AF_INET6
        if not (isinstance(address, tuple) and len(address) == (4 if v6 else 2) and isinstance(address[0], str)
                and isinstance(address[1], int) and not isinstance(address[1], bool)):
            raise TypeError("address must be a tuple %s" % ("(ipv6_address, port, flowinfo, scopeid)" if v6
                                                           else "(ipv4_address, port)"))
        try:
            # "Note the domain names are not accepted as ipv4_address, they should be resolved first
            # using usocket.getaddrinfo()." (and the same for ipv6_address)
            _host.inet_pton(self._s.family, address[0])
        except OSError:
            raise self._error(_errno.EINVAL) from None
        if v6 and address[2] != 0:
            # "flowinfo must be 0."
            raise self._error(_errno.EINVAL)
        return address

    def _address(self, host_address):
        """An address the host gave (recvfrom, accept), in the module's format."""
        return host_address

    # ---- the methods ----

    def close(self):
        self._pending = bytearray()
        self._s.close()

    def bind(self, address):
        self._call(self._s.bind, self._addr(address))

    def listen(self, backlog=None):
        if backlog is None:
            # "If not specified, a default reasonable value is chosen."
            return self._call(self._s.listen)
        # "If backlog is specified, it must be at least 0 (if it’s lower, it will be set to 0);"
        self._call(self._s.listen, max(backlog, 0))

    def accept(self):
        s, address = self._io(self._s.accept, _POLLIN, self._deadline())
        conn = type(self).__new__(type(self))
        conn._setup(s)
        return conn, self._address(address)

    def connect(self, address):
        address, deadline = self._addr(address), self._deadline()
        try:
            return self._s.connect(address)
        except BlockingIOError as e:
            if self._timeout == 0:
                raise self._oserror(e) from None
        except OSError as e:
            raise self._oserror(e) from None
        if not self._wait(_POLLOUT, deadline):
            raise self._expired()
        err = self._s.getsockopt(_host.SOL_SOCKET, _host.SO_ERROR)
        if err:
            raise self._error(err)

    def send(self, bytes):
        return self._io(lambda: self._s.send(bytes), _POLLOUT, self._deadline())

    def sendall(self, bytes):
        # "Unlike send(), this method will try to send all of data, by sending data chunk by chunk
        # consecutively."
        view, deadline = memoryview(bytes), self._deadline()
        while len(view):
            view = view[self._io(lambda: self._s.send(view), _POLLOUT, deadline):]

    def recv(self, bufsize):
        return self._take(bufsize, self._deadline())

    def sendto(self, bytes, address):
        address = self._addr(address)
        return self._io(lambda: self._s.sendto(bytes, address), _POLLOUT, self._deadline())

    def recvfrom(self, bufsize):
        data, address = self._io(lambda: self._s.recvfrom(bufsize), _POLLIN, self._deadline())
        return data, self._address(address)

    def setsockopt(self, level, optname, value):
        level, optname = self._OPTIONS.get((level, optname), (level, optname))
        self._call(self._s.setsockopt, level, optname, value)

    def settimeout(self, value):
        self._check_open()
        if value is not None and value < 0:
            raise ValueError("timeout must be a nonnegative number or None")
        self._timeout = value


class socket(_Socket):
    """usocket.socket: the stream interface and the blocking shorthands on top of _Socket."""

    def setblocking(self, flag):
        self._check_open()
        # "sock.setblocking(True) is equivalent to sock.settimeout(None)"
        # "sock.setblocking(False) is equivalent to sock.settimeout(0)"
        self._timeout = None if flag else 0

    _MODES = ("rb", "wb", "rwb")

    def makefile(self, mode="rb", buffering=0, /):
        # "The support is limited to binary modes only (‘rb’, ‘wb’, and ‘rwb’)."
        if mode not in self._MODES:
            raise ValueError("mode must be one of %s" % ", ".join(self._MODES))
        # "This method is still supported by MicroPython (but is a no-op)": the file object is the
        # socket itself, so "values of buffering parameter is ignored" and "Closing the file object
        # returned by makefile() WILL close the original socket as well."
        return self

    def _stream(self, size, line=False):
        """read's and readline's bytes; None on a non-blocking socket with nothing to read."""
        try:
            return self._read(size, line)
        except OSError as e:
            if self._timeout == 0 and self._would_block(e):
                return None
            raise

    def read(self, size=None):
        # "If size is not given, it reads all data available from the socket until EOF"
        # "This function tries to read as much data as requested (no “short reads”)."
        return self._stream(None if size is None or size < 0 else size)

    def readinto(self, buf, nbytes=None):
        # "If nbytes is specified then read at most that many bytes. Otherwise, read at most len(buf) bytes."
        got = self._stream(len(buf) if nbytes is None else min(nbytes, len(buf)))
        if got is None:
            return None
        buf[:len(got)] = got
        # "Return value: number of bytes read and stored into buf."
        return len(got)

    def readline(self, limit=None):
        # "Read a line, ending in a newline character."
        return self._stream(limit, line=True)

    def write(self, buf):
        # "This function will try to write all data to a socket (no “short writes”)."
        view, deadline, done = memoryview(buf), self._deadline(), 0
        while done < len(view):
            try:
                done += self._io(lambda: self._s.send(view[done:]), _POLLOUT, deadline)
            except OSError as e:
                if done:
                    break       # "returned value will be less than the length of buf"
                if self._timeout == 0 and self._would_block(e):
                    return None
                raise
        # "Return value: number of bytes written."
        return done


def resolve(host, port, af=0, type=0, proto=0, flags=0, families=(AF_INET, AF_INET6), errno_module=_errno):
    """getaddrinfo over the host's resolver, for a port whose sockets take `families`."""
    if af and af not in families:
        raise OSError(_host.EAI_FAMILY)
    try:
        # a str host goes to the resolver as it is (CPython would first apply IDNA, and raise
        # UnicodeError for a name such as 'bad..name')
        infos = _host.getaddrinfo(host.encode() if isinstance(host, str) else host, port,
                                  af or (families[0] if len(families) == 1 else 0), type, proto, flags)
    except _host.gaierror as e:
        # "MicroPython doesn’t have socket.gaierror and raises OSError directly."
        # "To distinguish getaddrinfo() errors, they are represented by negative numbers"
        raise OSError(e.errno if e.errno is not None and e.errno < 0 else _host.EAI_FAIL) from None
    except OSError as e:
        raise OSError(getattr(errno_module, _errno.errorcode.get(e.errno, ""), e.errno)) from None
    # "Translate the host/port argument into a sequence of 5-tuples that contain all the necessary
    # arguments for creating a socket connected to that service.": a stream or a datagram socket
    # (the host's resolver adds SOCK_RAW items with protocol 0, from which no socket can be made)
    return [(int(f), int(t), p, c, a) for f, t, p, c, a in infos if f in families and t in (SOCK_STREAM, SOCK_DGRAM)]


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0, /):
    return resolve(host, port, af, type, proto, flags)


def inet_pton(af, txt_addr):
    return _host.inet_pton(af, txt_addr)


def inet_ntop(af, bin_addr):
    return _host.inet_ntop(af, bin_addr)


def module(port):
    """A module holding exactly the names of port.__all__: what the port's socket module has."""
    m = _types.ModuleType(getattr(port, "NAME", "socket"), port.__doc__)
    for name in port.__all__:
        setattr(m, name, getattr(port, name))
    return m
