"""The `sockconf` command (pip install ./conformance): the suite, its reports and its benchmarks.

Each command runs the module it names, and its exit status is that module's:

    sockconf run TARGET [--profile NAME] [--results FILE.json] [pytest options or case paths...]
    sockconf matrix | certificate | baseline-diff | junit ...   (python -m sockconf.reports ...)
    sockconf bench [--out FILE.json] [--quick]                  (python -m sockconf.bench)

Every command needs the repository (sockconf/root.py says how it is found)."""
import argparse
import os
import subprocess
import sys

from . import root as sc_root

REPORTS = {"matrix": "several results files as one HTML page and one Markdown table",
           "certificate": "a conformance certificate for one results file (Markdown and JSON)",
           "baseline-diff": "what changed between two results files; non-zero exit only on a regression",
           "junit": "JUnit XML from a results file"}


def _parser():
    ap = argparse.ArgumentParser(prog="sockconf", description=__doc__.splitlines()[0],
                                 epilog="`sockconf COMMAND -h` shows a command's own options.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = sub.add_parser("run", allow_abbrev=False, help="run the conformance cases against TARGET (pytest with the sockconf plugin)",
                         description="Run conformance/cases against TARGET. Options run does not know go to "
                                     "pytest (e.g. -k EXPR, -x, --repeat=N, --timeout-scale=X); paths or "
                                     "node ids given replace the whole of conformance/cases.")
    run.add_argument("target", metavar="TARGET",
                     help="ref, ref-tap, harness, cpython, micropython:PATH, serial:DEVICE, cmd:COMMAND, "
                          "or a target file (NAME under targets/, or a path)")
    run.add_argument("--profile", metavar="NAME", help="targets/profiles/NAME.json, or a path")
    run.add_argument("--results", metavar="FILE.json", help="write every case's status and details to FILE.json")
    for name, what in REPORTS.items():
        sub.add_parser(name, help=what, add_help=False)     # its own parser reads the rest, -h included
    sub.add_parser("bench", help="the benchmarks, as a table with the goals", add_help=False)
    return ap


def _names_cases(arg):
    return not arg.startswith("-") and ("::" in arg or os.path.exists(arg))


def run(args, rest):
    """pytest over conformance/cases (or the paths given), rooted at the repository so that case
    ids read conformance/cases/...; the plugin comes from the installed entry point or the conftest.
    A process of its own, so that pytest imports (and rewrites) the plugin itself."""
    options = ["--target=" + args.target, "--rootdir=" + str(sc_root.ROOT)]
    options += ["--profile=" + args.profile] if args.profile else []
    options += ["--results=" + args.results] if args.results else []
    paths = [] if any(_names_cases(a) for a in rest) else [str(sc_root.ROOT / "conformance" / "cases")]
    return subprocess.call([sys.executable, "-m", "pytest", *paths, *options, *rest])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args, rest = _parser().parse_known_args(argv)
    if sc_root.WHY:
        sys.stderr.write("sockconf: %s\n" % sc_root.WHY)
        return 2
    if args.command == "run":
        return run(args, rest)
    if args.command == "bench":
        from . import bench
        return bench.main(rest)
    from .reports.__main__ import main as reports_main
    return reports_main([args.command] + rest)


if __name__ == "__main__":
    sys.exit(main())
