"""Where the sockconf repository is. The package reads the repository's files (harness/ops.def,
vectors/, targets/, the cases, the built harness and oracle), whether it runs from conformance/ or
installed (pip install ./conformance): $SOCKCONF_ROOT, else the repository that holds this file,
else the current directory or one above it, whichever has vectors/ and harness/.

ROOT is always a path (where the repository would be); WHY is None, or why there is none, in one
sentence for the plugin's UsageError and the command's error line."""
import os
import pathlib

ENV = "SOCKCONF_ROOT"
_HERE = pathlib.Path(__file__).resolve().parents[2]


def _is_repo(path):
    return (path / "vectors").is_dir() and (path / "harness").is_dir()


def find(environ=None, cwd=None):
    """(the repository's path, None), or (where it would be, why there is none)."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV):
        path = pathlib.Path(environ[ENV]).resolve()
        if _is_repo(path):
            return path, None
        return path, "%s=%s is not a sockconf repository (it has no vectors/ and harness/)" % (ENV, environ[ENV])
    cwd = pathlib.Path.cwd() if cwd is None else pathlib.Path(cwd).resolve()
    for path in (_HERE, cwd, *cwd.parents):
        if _is_repo(path):
            return path, None
    return _HERE, ("no sockconf repository here (the suite needs its vectors/, harness/, targets/ and builds): "
                   "run from inside a clone, or set %s to one" % ENV)


ROOT, WHY = find()
