"""MicroPython's own firmware under QEMU, for the self-tests and the bench: SOCKCONF_FIRMWARE names
MicroPython's qemu port firmware for MPS2-AN385 (a Cortex-M3 board QEMU emulates; the maintainer
builds it from MicroPython's source, outside this repository), booted with its UART
on a pty and, if asked, a ROM filesystem at the board's ROMFS partition.

That firmware has no socket module and no writable filesystem: STUB, an empty socket module,
stands in so that the agent loads and answers. heap() measures what each form of the agent
(sockconf/upload.py) keeps and whether it runs in a given free heap; heap_needed() bisects.
"""
import os
import re
import shutil
import subprocess
import time

ENV = "SOCKCONF_FIRMWARE"
QEMU = "qemu-system-arm"
BOOT = 10.0                 # seconds for QEMU to name its pty
ROMFS_AT = "0x21000000"     # the MPS2-AN385 board's ROMFS partition (its memory map)
FORMS = ("source", "ram", "rom")    # source chunks, the .mpy sent to RAM, the .mpy found in /rom
# An empty socket module: the agent loads, and HELLO lists no socket method.
STUB = "import sys\nclass socket:\n    class socket:\n        pass\nsys.modules['socket'] = socket\ndel socket\n"


class FirmwareError(Exception):
    """QEMU did not bring the firmware up; str() says what it said."""


def why_not():
    """Why the firmware cannot run here, in one sentence; None if it can."""
    fw = os.environ.get(ENV)
    if not fw:
        return ("set %s=<firmware.elf> (MicroPython's qemu port firmware for the MPS2-AN385 board) to run the "
                "serial target against real firmware" % ENV)
    if not os.path.isfile(fw):
        return "%s=%s is not a file" % (ENV, fw)
    if not shutil.which(QEMU):
        return "%s is not installed (apt-get install qemu-system-arm)" % QEMU
    return None


class Qemu:
    """The firmware under qemu-system-arm, its UART on a pty (.path); `rom`: a ROMFS image loaded at
    the board's ROMFS partition (mounted at /rom)."""

    def __init__(self, elf=None, rom=None):
        load = ["-device", "loader,file=%s,addr=%s,force-raw=on" % (rom, ROMFS_AT)] if rom else []
        self.proc = subprocess.Popen([QEMU, "-machine", "mps2-an385", "-nographic", "-monitor", "null",
                                      "-semihosting", "-serial", "pty", *load, "-kernel", elf or os.environ[ENV]],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.set_blocking(self.proc.stdout.fileno(), False)
        said, deadline = b"", time.monotonic() + BOOT
        while not re.search(rb"/dev/pts/\d+", said) and time.monotonic() < deadline and self.proc.poll() is None:
            said += self.proc.stdout.read() or b""
            time.sleep(0.05)
        m = re.search(rb"/dev/pts/\d+", said)
        if not m:
            self.close()
            raise FirmwareError("%s named no pty within %.0f s; it said %r" % (QEMU, BOOT, said[-200:]))
        self.path = m.group(0).decode()

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _port_transport(port):
    """The agent's protocol straight over an open port (after the raw REPL started main())."""
    from .transport import Transport

    class PortTransport(Transport):
        def _read_some(self, timeout):
            port.timeout = min(max(timeout, 0.01), 0.2)
            return port.read(max(1, port.in_waiting))

        def write(self, data):
            port.write(data)

    return PortTransport()


def heap(path, form, free=None):
    """On a fresh interpreter of the board on `path` (STUB in sys.modules): the agent loaded in
    `form` (FORMS), with `free` bytes of heap left free first if given (the rest taken by one
    bytearray); started, asked HELLO and an echo of 100 bytes; the board left at its friendly
    prompt. (gc.mem_free() before, after the load or None, what went wrong or '')."""
    import serial
    from . import serial_link, upload
    from .client import Client
    with serial.Serial(path, 115200, timeout=10) as port:   # QEMU on a busy machine can stall
        repl = serial_link.RawRepl(port)
        repl.enter()

        def run(code):
            out, err = repl.exec(code)
            if err:
                raise serial_link.BoardError(err.decode("utf-8", "replace").strip().splitlines()[-1])
            return out

        count = "import gc\ngc.collect()\nprint(gc.mem_free())\n"
        repl.soft_reset()
        run(STUB)
        if free:
            run("import gc\ngc.collect()\n_ballast = bytearray(gc.mem_free() - %d)\n" % free)
        before, after, trouble = int(run(count)), None, ""
        try:
            if form == "source":
                upload.load_source(run)
            else:
                loaded = upload.load_mpy(run, store="ram" if form == "ram" else "file",
                                         board_error=serial_link.BoardError)
                if loaded.where != form:
                    raise upload.UploadError("the .mpy came from %s, not %s" % (loaded.where, form))
            after = int(run(count))
            repl.exec_start("main()\n")
            c = Client(_port_transport(port), resync_wait=0)
            if c.hello()["impl"] != "micropython" or c.call([("echo", [b"x" * 100])]).results[0].value != (b"x" * 100,):
                trouble = "the agent answered HELLO or the echo wrongly"
        except Exception as e:      # noqa: BLE001  (what went wrong is the answer)
            trouble = str(e) or type(e).__name__
        port.timeout = 10
        port.write(b"\n\x04\n")     # ends the agent, if it runs: back at the raw REPL
        repl.drain()
        repl.leave()
    return before, after, trouble


def heap_needed(path, form, lo=4096, hi=131072, step=256):
    """The least free heap (bytes, within `step`) in which the agent loads in `form` and answers,
    by bisection over what heap() leaves free; None if `hi` does not do."""
    if heap(path, form, hi)[2]:
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if heap(path, form, mid)[2] else (lo, mid)
    return hi


def figures():
    """{firmware_heap_kept_<form>_bytes, firmware_heap_needed_<form>_bytes} for each of FORMS, and
    why not (None if measured)."""
    why = why_not()
    if why:
        return {}, why
    import tempfile
    import serial
    from . import serial_link, upload
    out = {}
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "romfs.img")
        with open(img, "wb") as f:
            f.write(upload.romfs_image(6))
        try:
            with Qemu() as plain, Qemu(rom=img) as rom:
                for form in FORMS:
                    path = (rom if form == "rom" else plain).path
                    before, after, trouble = heap(path, form)
                    if trouble:
                        return out, "the firmware's %s form: %s" % (form, trouble)
                    out["firmware_heap_kept_%s_bytes" % form] = before - after
                    out["firmware_heap_needed_%s_bytes" % form] = heap_needed(path, form)
        except (FirmwareError, serial_link.BoardError, serial.SerialException, OSError) as e:
            return out, "the firmware stopped answering (%s: %s); its figures so far are kept" % (type(e).__name__, e)
    return out, None
