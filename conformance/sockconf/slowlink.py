"""A simulated serial link: a pty whose bytes move at a baud rate, in front of an agent process.

    python -m sockconf.slowlink BAUD COMMAND... --pty

prints `pty: PATH` on stderr (as the C harness does with --pty, so PtyTransport can start it),
runs COMMAND on pipes, and relays both ways at BAUD/10 bytes a second (8N1: ten bits a byte),
each direction on its own clock, as a UART would.
"""
import os
import select
import subprocess
import sys
import threading
import time
import tty


def relay(src, dst, rate, stop):
    """Copy src to dst, never faster than `rate` bytes a second (a byte leaves when its time
    slot comes)."""
    free_at = time.monotonic()
    while not stop.is_set():
        if not select.select([src], [], [], 0.2)[0]:
            continue
        try:
            data = os.read(src, 4096)
        except OSError:
            data = b""
        if not data:
            stop.set()
            return
        for k in range(0, len(data), 64):
            chunk = data[k:k + 64]
            free_at = max(free_at, time.monotonic()) + len(chunk) / rate
            delay = free_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            view = memoryview(chunk)
            while view:
                view = view[os.write(dst, view):]


def main(argv):
    args = [a for a in argv if a != "--pty"]
    if len(args) < 2 or not args[0].isdigit():
        sys.exit("usage: python -m sockconf.slowlink BAUD COMMAND... --pty")
    rate = int(args[0]) / 10.0
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    child = subprocess.Popen(args[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    sys.stderr.write("pty: %s\n" % os.ttyname(slave))
    sys.stderr.flush()
    stop = threading.Event()
    up = threading.Thread(target=relay, args=(master, child.stdin.fileno(), rate, stop), daemon=True)
    down = threading.Thread(target=relay, args=(child.stdout.fileno(), master, rate, stop), daemon=True)
    up.start()
    down.start()
    while not stop.is_set() and child.poll() is None:
        time.sleep(0.1)
    child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
