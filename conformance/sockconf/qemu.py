"""The qemu target: an emulated board, `qemu:CONFIG`, CONFIG a JSON file that says how to boot it:

    {"about": "...",
     "command": ["qemu-system-arm", "-machine", "mps2-an385", "-nographic", "-kernel", "$SOCKCONF_FIRMWARE"],
     "console": "pty",              # or "stdio": where QEMU puts the board's serial console
     "repl": "raw",                 # or "paste": a MicroPython without a raw REPL (sockconf/paste.py)
     "network": {"netdev": "net0", "guest": "10.0.2.15"},    # or null: a board without a network
     "disk": {"drive": "file={disk},format=raw,if=ide,index=1", "dir": "D:/"},   # optional
     "setup": "FILE.py",            # optional: run before the agent (a path beside CONFIG)
     "console_noise": {"pattern": "REGEX", "why": "..."},   # optional, console "stdio" only
     "ends": ["A:\\>"],              # optional: more signs that MicroPython ended (repl "paste")
     "interrupt": false,            # optional: Ctrl-C may not be sent (repl "paste"; default true)
     "boot_seconds": 30, "timeout": 10}

`$NAME` in the command is the environment variable NAME (the maintainer's firmware or boot
image, built outside this repository); one that is not set is a sentence saying which to set.
The suite adds to the command: the console (`-serial pty`, or `-serial stdio` relayed to a pty of
the suite's own), a monitor on a Unix socket (`-monitor unix:...`), and for a network QEMU's user
network under the netdev's id (`-netdev user,...`: the guest is 10.0.2.15, the host 10.0.2.2, as
the oracle's slirp has it). With a disk, the suite writes a FAT image holding the agent's file
(mtools) and names it as {disk} in the drive option; the agent is imported from it (`dir`, as
the guest names that drive). console_noise is what a port prints on its console besides its
output (uc386's driver writes markers such as `[ep:0064]` into it): the relay of a "stdio" console
drops what the pattern matches, and the config says why; a marker of that bracketed shape split
between two reads is matched whole (PREFIX: a tail that may begin one waits for the next read). ends are what the console shows when MicroPython itself ended (a DOS prompt), besides a
traceback or the REPL's prompt: the agent's end, reported with what came before. interrupt false
is a console where Ctrl-C must not be sent (uc386: DOS's break handling ends MicroPython).

Then the board is a serial target on that console (sockconf/serial_link.py: raw REPL, or paste
mode with the agent imported from its file). Every port the guest binds is forwarded from the
host before the bind runs (the monitor's hostfwd_add, TCP and UDP, 127.0.0.1:PORT to the guest's
PORT, so that listen_host is 127.0.0.1), and the forwards are removed at RESET. QEMU's user
network reaches the host's loopback as 10.0.2.2; the run keeps it from reaching anything else:
the test process is in a network namespace of its own (only loopback there), or where the
machine cannot make one, QEMU's `restrict=on` cuts the guest off from every outside address
(then the guest reaches no peer either, and the cases that need one cannot pass: a certifying
run needs a machine that lets the run make its namespace).
"""
import functools
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from . import paste, profiles
from .client import ClientError
from .root import ROOT
from .serial_link import BoardDown, SerialLink

HOST, GUEST, LOOPBACK = "10.0.2.2", "10.0.2.15", "127.0.0.1"
KEYS = {"about", "command", "console", "repl", "network", "disk", "setup", "boot_seconds", "timeout", "baud",
        "console_noise", "ends", "interrupt"}
PTY_WAIT = 10.0     # seconds for QEMU to name its pty
PREFIX = re.compile(rb"\[[A-Za-z0-9_]{0,16}(?::[^\]\s]{0,48})?")    # what may begin a console marker


class ConfigError(ValueError):
    """A qemu CONFIG that cannot be used; str() is one sentence."""


class ForwardError(ClientError):
    """QEMU did not set up a forward a request needs; str() is what its monitor said."""


def _expand(word, where):
    def var(m):
        value = os.environ.get(m.group(1))
        if not value:
            raise ConfigError("%s: set %s (the command names $%s)" % (where, m.group(1), m.group(1)))
        return value
    return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", var, word)


def load(path):
    """The CONFIG at path, checked, its command's $NAMEs expanded; ConfigError in one sentence."""
    path = pathlib.Path(path)
    if not path.is_absolute() and not path.exists() and (ROOT / path).exists():
        path = ROOT / path      # a target file's spec names CONFIG from the repository's root
    try:
        cfg = profiles.read_json(path, "qemu CONFIG")
    except profiles.ProfileError as e:
        raise ConfigError(str(e)) from None
    unknown = sorted(set(cfg) - KEYS)
    if unknown:
        raise ConfigError("qemu:%s: unknown key %r; the keys are %s" % (path, unknown[0], ", ".join(sorted(KEYS))))
    cmd = cfg.get("command")
    if not (isinstance(cmd, list) and cmd and all(isinstance(w, str) for w in cmd)):
        raise ConfigError("qemu:%s: command must be a list of words (the emulator, then its options)" % path)
    cfg["command"] = [_expand(w, "qemu:%s" % path) for w in cmd]
    if not shutil.which(cfg["command"][0]):
        raise ConfigError("qemu:%s: %s is not installed" % (path, cfg["command"][0]))
    if cfg.setdefault("console", "pty") not in ("pty", "stdio"):
        raise ConfigError("qemu:%s: console is \"pty\" or \"stdio\", not %r" % (path, cfg["console"]))
    if cfg.setdefault("repl", "raw") not in ("raw", "paste"):
        raise ConfigError("qemu:%s: repl is \"raw\" or \"paste\", not %r" % (path, cfg["repl"]))
    net = cfg.setdefault("network", None)
    if net is not None and not (isinstance(net, dict) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", str(net.get("netdev")))):
        raise ConfigError("qemu:%s: network is null or {\"netdev\": the id the command's NIC names}" % path)
    disk = cfg.setdefault("disk", None)
    if disk is not None:
        if not (isinstance(disk, dict) and "{disk}" in str(disk.get("drive")) and isinstance(disk.get("dir"), str)):
            raise ConfigError("qemu:%s: disk is {\"drive\": a -drive option naming {disk}, \"dir\": where the guest "
                              "reads that drive}" % path)
        if cfg["repl"] != "paste":
            raise ConfigError("qemu:%s: a disk carries the agent's file for repl \"paste\"" % path)
    noise = cfg.setdefault("console_noise", None)
    if noise is not None:
        try:
            ok = isinstance(noise, dict) and noise.get("why") and re.compile(noise["pattern"].encode())
        except (re.error, AttributeError, KeyError):
            ok = False
        if not ok or cfg["console"] != "stdio":
            raise ConfigError("qemu:%s: console_noise is {\"pattern\": a regular expression, \"why\": ...}, for "
                              "console \"stdio\"" % path)
    ends = cfg.setdefault("ends", [])
    if not (isinstance(ends, list) and all(isinstance(e, str) and e for e in ends)) or (ends and cfg["repl"] != "paste"):
        raise ConfigError("qemu:%s: ends is a list of what the console shows when MicroPython ended, for repl "
                          "\"paste\"" % path)
    if not isinstance(cfg.setdefault("interrupt", True), bool) or (not cfg["interrupt"] and cfg["repl"] != "paste"):
        raise ConfigError("qemu:%s: interrupt is true or false (false: repl \"paste\" sends no Ctrl-C)" % path)
    if cfg.get("setup"):
        cfg["setup"] = str((path.parent / cfg["setup"]).resolve())
        if not os.path.isfile(cfg["setup"]):
            raise ConfigError("qemu:%s: there is no setup script %s" % (path, cfg["setup"]))
    for key, default in (("boot_seconds", 30), ("timeout", 10), ("baud", 115200)):
        v = cfg.setdefault(key, default)
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
            raise ConfigError("qemu:%s: %s must be a positive number" % (path, key))
    cfg["path"] = str(path)
    return cfg


def fat_image(out, files):
    """A 1.44 MB FAT12 image at `out` holding files ({name: bytes}), made with mtools."""
    for tool in ("mformat", "mcopy"):
        if not shutil.which(tool):
            raise ConfigError("the disk needs mtools (%s; Debian package mtools)" % tool)
    subprocess.run(["mformat", "-i", str(out), "-C", "-f", "1440", "::"], check=True, capture_output=True, timeout=30)
    with tempfile.TemporaryDirectory() as d:
        for name, data in files.items():
            p = pathlib.Path(d) / name
            p.write_bytes(data)
            subprocess.run(["mcopy", "-i", str(out), str(p), "::" + name.upper()], check=True, capture_output=True,
                           timeout=30)


class Monitor:
    """QEMU's human monitor on a Unix socket: each command, its answer."""

    def __init__(self, path, deadline):
        self.sock = socket.socket(socket.AF_UNIX)
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(10)
        self._until_prompt()

    def _until_prompt(self):
        data = b""
        while not data.endswith(b"(qemu) "):
            got = self.sock.recv(4096)
            if not got:
                raise OSError("QEMU's monitor closed")
            data += got
        return data.decode("utf-8", "replace")

    def command(self, text):
        self.sock.sendall(text.encode() + b"\n")
        # the monitor echoes the command line (with terminal escapes); its answer follows
        said = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", self._until_prompt()[:-len("(qemu) ")]).replace("\r", "")
        return said.rpartition(text)[2].strip()

    def close(self):
        self.sock.close()


def _die_with_parent():
    """In QEMU's process before exec: SIGTERM when the process that started it ends, however it ends
    (Linux's PR_SET_PDEATHSIG), so that no emulator outlives a run that crashed."""
    import ctypes
    import signal
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)   # PR_SET_PDEATHSIG = 1


def _relay(proc, master, noise=None):
    """console "stdio": QEMU's stdout to the pty's master, without what `noise` (a compiled bytes
    pattern) matches, and the master's input to QEMU's stdin."""
    def out():
        held = b""      # a match may be split between two reads: a tail that may begin one waits
        while True:
            data = os.read(proc.stdout.fileno(), 4096)
            if not data:
                return
            data = held + data
            if noise is not None:
                data = noise.sub(b"", data)
                k = data.rfind(b"[")
                held, data = (data[k:], data[:k]) if k >= 0 and PREFIX.fullmatch(data[k:]) else (b"", data)
            if data:
                os.write(master, data)

    def into():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            try:
                proc.stdin.write(data)
                proc.stdin.flush()
            except (OSError, ValueError):
                return
    for f in (out, into):
        threading.Thread(target=f, daemon=True).start()


class QemuLink(SerialLink):
    """QEMU booted as CONFIG says, then the serial target on its console; prepare() forwards the
    ports a request binds before it is sent (`forwarded`: the host reaches the guest's ports
    through QEMU, so the host's connect is accepted by slirp first; case.Side.try_dial)."""

    def __init__(self, config, private=True, host=None, **kw):
        cfg = self.cfg = load(config) if not isinstance(config, dict) else config
        self.dir = tempfile.mkdtemp(prefix="sockconf-qemu-")
        self.proc, self.monitor, self.forwards, self.master = None, None, set(), None
        self.net = cfg["network"]
        self.forwarded = bool(self.net)
        try:
            path = self._boot(private)
            files = cfg["disk"]["dir"] if cfg["disk"] else ""
            opts = {"repl": cfg["repl"], **({"files": files, "ends": cfg["ends"], "interrupt": cfg["interrupt"]}
                                            if cfg["repl"] == "paste" else {})}
            super().__init__(path, cfg["baud"], host=host or (HOST if self.net else None),
                             listen_host=LOOPBACK if self.net else None, timeout=cfg["timeout"],
                             setup=cfg.get("setup"), **opts, **kw)
        except BaseException:
            self._halt()
            raise

    def _boot(self, private):
        cfg = self.cfg
        cmd = list(cfg["command"])
        mon = os.path.join(self.dir, "monitor")
        cmd += ["-monitor", "unix:%s,server=on,wait=off" % mon]
        if self.net:
            cmd += ["-netdev", "user,id=%s,net=10.0.2.0/24,host=%s,ipv6=off%s" % (
                self.net["netdev"], HOST, "" if private else ",restrict=on")]
        if cfg["disk"]:
            disk = os.path.join(self.dir, "agent.img")
            text = paste.source().encode("utf-8")
            fat_image(disk, {paste.file_name(text.decode("utf-8")) + ".py": text})
            cmd += ["-drive", cfg["disk"]["drive"].replace("{disk}", disk)]
        stdio = cfg["console"] == "stdio"
        cmd += ["-serial", "stdio" if stdio else "pty"]
        deadline = time.monotonic() + PTY_WAIT
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdio else subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE if stdio else subprocess.STDOUT,
                                         preexec_fn=_die_with_parent)
        except OSError as e:
            raise BoardDown("cannot run %s: %s" % (cmd[0], e), final=True) from None
        if stdio:
            self.master, slave = os.openpty()
            import tty
            tty.setraw(slave)
            path = os.ttyname(slave)
            self._slave = slave
            noise = cfg["console_noise"]
            _relay(self.proc, self.master, re.compile(noise["pattern"].encode()) if noise else None)
        else:
            os.set_blocking(self.proc.stdout.fileno(), False)
            said = b""
            while not re.search(rb"/dev/pts/\d+", said) and time.monotonic() < deadline and self.proc.poll() is None:
                said += self.proc.stdout.read() or b""
                time.sleep(0.05)
            m = re.search(rb"/dev/pts/\d+", said)
            if not m:
                raise BoardDown("%s named no pty within %.0f s; it said %r" % (cmd[0], PTY_WAIT, said[-300:]),
                                final=True)
            path = m.group(0).decode()
        try:
            self.monitor = Monitor(mon, time.monotonic() + PTY_WAIT)
        except OSError as e:
            raise BoardDown("QEMU's monitor did not answer: %s" % e, final=True) from None
        self._booted(path)
        return path

    def _booted(self, path):
        """Wait, up to boot_seconds, for the console to go quiet after the board started talking
        (a DOS boot, a firmware's banner): the serial target's own quiet wait is shorter."""
        import serial
        end = time.monotonic() + self.cfg["boot_seconds"]
        with serial.Serial(path, self.cfg["baud"], timeout=0.1, exclusive=False) as port:
            heard, last = False, time.monotonic()
            while time.monotonic() < end:
                if port.read(4096):
                    heard, last = True, time.monotonic()
                elif heard and time.monotonic() - last > 1.0:
                    return
                if self.proc.poll() is not None:
                    raise BoardDown("QEMU ended while the board booted (status %d)" % self.proc.returncode, final=True)
        # silent or still talking: the serial target's enter() decides (Ctrl-C, the prompt)

    # ---- ports the guest binds ----

    @staticmethod
    def bound_ports(ops):
        """The port numbers the bind ops of a request give (a tuple address, or a reference to the
        getaddrinfo or echo op that makes it), 0 left out."""
        from . import wire
        out = []
        for name, args in ops:
            if name != "bind" or len(args) < 2:
                continue
            a = args[1]
            if isinstance(a, wire.Ref) and 0 <= a.k < len(ops):
                n, src = ops[a.k]
                if n == "getaddrinfo" and len(src) >= 2:
                    a = src[1]
                elif n == "echo" and src:
                    a = src[0]
            if isinstance(a, tuple) and len(a) >= 2:
                a = a[1]
            if isinstance(a, int) and not isinstance(a, bool) and 0 < a < 65536:
                out.append(a)
        return out

    def prepare(self, ops):
        """Before a request goes: forward each port it binds (hostfwd_add, TCP and UDP); at RESET,
        remove every forward."""
        if not self.net or self.monitor is None:
            return
        if any(name == "reset" for name, _ in ops):
            for proto, port in sorted(self.forwards):
                self._command("hostfwd_remove %s %s:%s:%d" % (self.net["netdev"], proto, LOOPBACK, port))
            self.forwards.clear()
        for port in self.bound_ports(ops):
            for proto in ("tcp", "udp"):
                if (proto, port) in self.forwards:
                    continue
                said = self._command("hostfwd_add %s %s:%s:%d-%s:%d" % (
                    self.net["netdev"], proto, LOOPBACK, port, self.net.get("guest", GUEST), port))
                if said:    # QEMU says nothing when the forward is set up
                    raise ForwardError("QEMU could not forward %s port %d to the guest: %s" % (proto, port, said))
                self.forwards.add((proto, port))

    def _command(self, text):
        try:
            return self.monitor.command(text)
        except OSError as e:
            raise ForwardError("QEMU's monitor did not answer %r: %s" % (text, e)) from None

    def close(self):
        try:
            super().close()
        finally:
            self._halt()

    def _halt(self):
        if self.monitor is not None:
            try:
                self.monitor.command("quit")
            except OSError:
                pass
            self.monitor.close()
            self.monitor = None
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            for f in (self.proc.stdout, self.proc.stdin, self.proc.stderr):
                if f:
                    f.close()
            self.proc = None
        for fd in (self.master, getattr(self, "_slave", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self._slave = None
        shutil.rmtree(self.dir, ignore_errors=True)


def opener(spec_rest):
    """For the plugin: a function that boots the board and opens its link (QemuLink), with `bind`
    (where the host's peers listen: loopback, which the guest reaches as 10.0.2.2), `why` (the
    guest resolves names its own way) and `dns_port`."""
    cfg = load(spec_rest)
    op = functools.partial(QemuLink, cfg)
    op.bind = LOOPBACK
    op.why = "an emulated board resolves names with its own resolver (its bring-up may point it at 10.0.2.2, where " \
             "the suite's DNS peer answers, but the agent cannot say it does)"
    op.dns_port = 53 if cfg["network"] else 0
    op.qemu = cfg
    return op
