"""uselect for the MicroPython-family models: poll() takes the models' socket objects themselves
(they have no fileno), and answers with (object, events) pairs, as MicroPython's poll does.

micropython-usocket.txt: "A more portable and generic solution is to use uselect.poll object.
This allows to wait on multiple objects at the same time (and not just on sockets, but on generic
stream objects which support polling)." and its example: poller = uselect.poll();
poller.register(s, uselect.POLLIN); res = poller.poll(1000)  # time in milliseconds
"""
import errno as _errno
import select as _host

__all__ = ["POLLIN", "POLLOUT", "POLLERR", "POLLHUP", "poll"]

POLLIN, POLLOUT, POLLERR, POLLHUP = _host.POLLIN, _host.POLLOUT, _host.POLLERR, _host.POLLHUP


def _fd(obj):
    """The host descriptor behind a model socket, or any object's fileno()."""
    s = getattr(obj, "_s", None)
    return s.fileno() if s is not None else obj.fileno()


class _Poll:
    def __init__(self):
        self._objs = {}     # id(obj): [obj, eventmask]

    def register(self, obj, eventmask=POLLIN | POLLOUT):
        self._objs[id(obj)] = [obj, eventmask]

    def modify(self, obj, eventmask):
        if id(obj) not in self._objs:
            raise OSError(_errno.ENOENT)     # as MicroPython's poll.modify does for an object never registered
        self._objs[id(obj)][1] = eventmask

    def unregister(self, obj):
        self._objs.pop(id(obj), None)

    def poll(self, timeout=-1):
        """[(obj, events)] of the objects ready within timeout milliseconds (negative: no limit).
        A model socket holding bytes it took from the host earlier is ready to read."""
        p, by_fd, ready = _host.poll(), {}, {}
        for obj, mask in self._objs.values():
            if mask & POLLIN and getattr(obj, "_pending", None):
                ready[id(obj)] = [obj, POLLIN]
            fd = _fd(obj)
            if fd >= 0:
                p.register(fd, mask)
                by_fd[fd] = obj
        events = p.poll(0 if ready else (None if timeout is None or timeout < 0 else timeout))
        for fd, ev in events:
            obj = by_fd[fd]
            ready.setdefault(id(obj), [obj, 0])[1] |= ev
        return [tuple(x) for x in ready.values()]


def poll():
    return _Poll()
