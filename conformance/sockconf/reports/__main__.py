"""python -m sockconf.reports {junit|matrix|certificate|baseline-diff} ...: one entry point for every report."""
import sys

from . import baseline as rp_baseline
from . import certificate as rp_certificate
from . import junit as rp_junit
from . import matrix as rp_matrix

COMMANDS = {"junit": rp_junit.main, "matrix": rp_matrix.main, "certificate": rp_certificate.main,
            "baseline-diff": rp_baseline.main}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write("usage: python -m sockconf.reports {%s} ...  (-h after the command for its options)\n"
                         % "|".join(COMMANDS))
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
