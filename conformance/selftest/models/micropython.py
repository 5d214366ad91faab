"""micropython: MicroPython's usocket as the canonical document (micropython-usocket.txt) alone
describes it: mpbase's module as it is, uselect's poll, the host's errno table.

Where the document leaves a feature to the port, this port has it: tuple addresses, settimeout,
AF_INET6 with (ipv6_address, port, flowinfo, scopeid) tuples, IPPROTO_TCP and IPPROTO_UDP, and
SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST at SOL_SOCKET.

Broken variants (model_port.py micropython --break RULE), one sentence each:
- timeout-subclass: a timeout raises CPython's socket.timeout (TimeoutError), breaking
  "MicroPython raises an OSError directly instead."
- short-read: read(size) returns after the first piece that comes, breaking
  "This function tries to read as much data as requested (no “short reads”)."
- no-clamp: listen() with a negative backlog raises OSError(EINVAL), breaking
  "If backlog is specified, it must be at least 0 (if it’s lower, it will be set to 0);"
- error-attr: the module has `error` (OSError, as CPython's), breaking
  "MicroPython does NOT have this exception."
"""
import errno as _errno

from . import mpbase, uselect
from .mpbase import *  # noqa: F401,F403 (mpbase.__all__: the canonical module's names)
from .mpbase import Break

__all__ = list(mpbase.__all__)


class socket(mpbase.socket):
    """The canonical socket, as a class of this port's own (a broken variant patches it)."""

# the modules model_port.py installs (None: this port's socket module)
MODULES = {"socket": None, "usocket": None, "select": uselect, "uselect": uselect}


def _short_read(port):
    def read(self, size=None):
        return self._stream(None) if size is None else self._take(size, self._deadline())
    port.socket.read = read


def _no_clamp(port):
    listen = port.socket.listen

    def strict(self, backlog=None):
        if backlog is not None and backlog < 0:
            raise OSError(_errno.EINVAL)
        return listen(self, backlog)
    port.socket.listen = strict


def _error_attr(port):
    port.error = OSError
    port.__all__.append("error")


BREAKS = {
    "timeout-subclass": Break("MicroPython raises an OSError directly instead.", "mp:settimeout.oserror",
                              "test_recv_timeout_raises_oserror",
                              lambda port: setattr(port.socket, "_expired", lambda self: TimeoutError("timed out"))),
    "short-read": Break("This function tries to read as much data as requested (no “short reads”).",
                        "mp:read.no-short", "test_read_size_waits_for_every_segment", _short_read),
    "no-clamp": Break("If backlog is specified, it must be at least 0 (if it’s lower, it will be set to 0);",
                      "mp:listen.clamp", "test_negative_backlog_is_taken", _no_clamp),
    "error-attr": Break("MicroPython does NOT have this exception.", "mp:error.absent",
                        "test_socket_failures_are_oserror_and_there_is_no_error_class", _error_attr),
}
