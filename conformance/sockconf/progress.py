"""Where a long run is, for a slow board: tests done of the total, the current test, the time so
far and an estimate of the rest, as one line before a test starts.

    pytest ... --progress               a line before every test
    pytest ... --progress-after=60      without --progress (60 is the default): once the run has
                                        lasted 60 s, a line at most every 60 s; 0: never

    progress 12/57  test_streams.py::test_recv_at_eof_is_empty_every_time  2m05s so far, about 7m48s left

A pytest plugin: the suite's plugin (sockconf/plugin.py) registers it (pytest_plugins =
["sockconf.progress"]), or `-p sockconf.progress`. The lines go to pytest's terminal (stderr
without one) and never into results; a run shorter than --progress-after prints none. The
estimate is the mean time of the tests done so far times the tests left.
"""
import sys
import time

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("sockconf", "sockconf conformance")
    group.addoption("--progress", action="store_true",
                    help="a progress line before every test: done of total, the test, the time so far and "
                         "an estimate of the rest")
    group.addoption("--progress-after", type=float, default=60.0, metavar="SECONDS",
                    help="without --progress: once the run has lasted SECONDS, a progress line at most every "
                         "SECONDS (default 60; 0: never)")


def clock(seconds):
    """45s, 3m12s, 1h02m."""
    s = int(seconds + 0.5)
    if s < 60:
        return "%ds" % s
    if s < 3600:
        return "%dm%02ds" % (s // 60, s % 60)
    return "%dh%02dm" % (s // 3600, s % 3600 // 60)


class Progress:
    """The run's count and clock, and when a line is due."""

    def __init__(self, always, every, now=time.monotonic):
        self.always, self.every, self.now = always, every, now
        self.total = self.done = 0
        self.start = self.last = now()

    def line(self, nodeid):
        """The progress line before NODEID starts, or None when none is due."""
        t = self.now()
        if not (self.always or (self.every > 0 and t - self.last >= self.every)):
            return None
        self.last = t
        elapsed = t - self.start
        left = "no estimate yet"
        if self.done:
            left = "about %s left" % clock(elapsed / self.done * (self.total - self.done))
        path, sep, rest = nodeid.partition("::")
        width = len(str(self.total))
        return "progress %*d/%d  %s  %s so far, %s" % (width, self.done, self.total,
                                                     path.rpartition("/")[2] + sep + rest, clock(elapsed), left)


def pytest_configure(config):
    config.pluginmanager.register(Reporter(config), "sockconf-progress-reporter")


class Reporter:
    """The hooks that count and print, with the run's config."""

    def __init__(self, config):
        self.config = config
        self.progress = Progress(config.getoption("--progress"), config.getoption("--progress-after"))

    def pytest_collection_finish(self, session):
        self.progress.total = len(session.items)

    @pytest.hookimpl(tryfirst=True)     # before the terminal reporter starts the test's own line (-v)
    def pytest_runtest_logstart(self, nodeid, location):
        text = self.progress.line(nodeid)
        if text is None:
            return
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        tw = getattr(tr, "_tw", None)
        if tw is None:
            sys.stderr.write(text + "\n")
            return
        # a line of its own, between pytest's lines: the terminal reporter ends it when it starts
        # the test's line (-v) or the file's line of dots; under -q it ends here
        if tw.width_of_current_line:
            tw.line()
        if tr.showlongtestinfo or tr.showfspath:
            tw.write(text, flush=True)
            tr.currentfspath = -2 if tr.showlongtestinfo else None
        else:
            tw.line(text)

    def pytest_runtest_logfinish(self, nodeid, location):
        self.progress.done += 1
