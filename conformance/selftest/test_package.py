"""conformance/ as a package: installed (not editable) into a venv of its own, it gives the
`sockconf` command and the plugin's pytest11 entry point, runs a case from the repository, and
outside one says in one sentence that it needs one. The venv borrows this interpreter's packages
(pytest, setuptools) through a .pth line, and the package is built from a copy of conformance/,
so the test needs no network and leaves nothing in the working tree."""
import pathlib
import shutil
import subprocess
import sys
import sysconfig

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
ORACLE = ROOT / "ref" / "build" / "sockconf-ref"
CASE = "test_inet_pton_example"
COMMANDS = ("run", "matrix", "certificate", "baseline-diff", "junit", "bench")


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """(the venv's bin/, its site-packages) with the package installed from a copy of conformance/."""
    d = tmp_path_factory.mktemp("package")
    src = d / "src"
    shutil.copytree(ROOT / "conformance" / "sockconf", src / "sockconf", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "conformance" / "pyproject.toml", src)
    env = d / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=60)
    bin_ = env / "bin"
    site = pathlib.Path(subprocess.run([bin_ / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                       check=True, capture_output=True, text=True).stdout.strip())
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    p = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_ / "python"), "install", "-q",
                        "--disable-pip-version-check", "--no-deps", "--no-build-isolation", "--no-index", str(src)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return bin_, site


def sh(argv, cwd=ROOT, env=None):
    p = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def test_the_command_lists_its_subcommands(venv):
    bin_, _ = venv
    assert (bin_ / "sockconf").is_file()
    status, out = sh([bin_ / "sockconf", "--help"])
    assert status == 0, out
    assert all(("\n    %s " % c) in out or ("\n    %s\n" % c) in out for c in COMMANDS), out


def test_the_entry_point_loads_the_installed_plugin(venv):
    bin_, site = venv
    status, out = sh([bin_ / "python", "-c", "import importlib.metadata as m; "
                      "ep, = [e for e in m.entry_points(group='pytest11') if e.value == 'sockconf.plugin']; "
                      "print(ep.name, ep.load().__file__)"])
    assert status == 0, out
    assert out.split() == ["sockconf.plugin", str(site / "sockconf" / "plugin.py")], out


@pytest.mark.skipif(not ORACLE.exists(), reason="the oracle is not built; run make build")
def test_run_passes_a_case_with_the_plugin_registered_once(venv, tmp_path):
    """From the repository, where conftest.py names the same plugin as the entry point; then from
    elsewhere with $SOCKCONF_ROOT; the exit status is pytest's."""
    bin_, site = venv
    status, out = sh([bin_ / "sockconf", "run", "ref", "-k", CASE, "-p", "no:cacheprovider", "--trace-config"])
    assert status == 0, out
    assert "cases    1 PASS, 0 FAIL" in out and "already registered" not in out, out
    assert "PLUGIN registered: <module 'sockconf.plugin' from '%s'>" % (site / "sockconf" / "plugin.py") in out, out
    status, out = sh([bin_ / "sockconf", "run", "ref", "-k", CASE, "-p", "no:cacheprovider"], cwd=tmp_path,
                     env={"PATH": "/usr/bin:/bin", "SOCKCONF_ROOT": str(ROOT)})
    assert status == 0 and "1 passed" in out, out
    status, out = sh([bin_ / "sockconf", "run", "ref", "-k", "no_such_case", "-p", "no:cacheprovider"])
    assert status == 5, out         # pytest's "no tests ran"


def test_without_a_repository_one_sentence(venv, tmp_path):
    bin_, _ = venv
    env = {"PATH": "/usr/bin:/bin"}
    for argv, status_wanted, prefix in (([bin_ / "sockconf", "run", "ref"], 2, "sockconf: "),
                                         ([bin_ / "python", "-m", "pytest", "-p", "no:cacheprovider"], 4, "ERROR: ")):
        status, out = sh(argv, cwd=tmp_path, env=env)
        assert status == status_wanted, out
        assert out.strip().startswith(prefix + "no sockconf repository here") and "Traceback" not in out, out
    status, out = sh([bin_ / "sockconf", "matrix", "--out", tmp_path, "x.json"], cwd=tmp_path,
                     env=dict(env, SOCKCONF_ROOT=str(tmp_path)))
    assert status == 2 and "SOCKCONF_ROOT=%s is not a sockconf repository" % tmp_path in out, out
