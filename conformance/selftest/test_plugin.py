"""The plugin's options: a wrong one is one clear sentence, a dead target a clear error, never a traceback."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


def run(*args):
    p = subprocess.run([sys.executable, "-m", "pytest", "conformance/cases", "-q", "-p", "no:cacheprovider", *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


@pytest.mark.parametrize("option,sentence", [
    ("--target=bogus", "--target=bogus: unknown target; use ref, ref-tap, harness, cpython, micropython:PATH, "
                      "serial:DEVICE[@BAUD], qemu:CONFIG or cmd:COMMAND"),
    ("--target=cmd:", "--target=cmd: needs a command"),
    ("--target=serial:/nonexistent/tty", "--target=serial:/nonexistent/tty: there is no serial device /nonexistent/tty"),
    ("--timeout-scale=0", "--timeout-scale must be a positive number"),
    ("--profile=bogus", "--profile=bogus: no such profile; there are: "),
    ("--results=/nonexistent/r.json", "--results=/nonexistent/r.json: the directory /nonexistent does not exist"),
])
def test_wrong_option_is_one_sentence(option, sentence):
    status, out = run(option)
    assert status == 4, out          # pytest's usage error
    assert sentence in out and "Traceback" not in out, out


def test_dead_target_is_reported_with_its_status():
    status, out = run("--target=cmd:sh -c 'echo broken >&2; exit 7'", "-x")
    assert status == 1, out
    assert "exited with status 7" in out and "broken" in out, out
