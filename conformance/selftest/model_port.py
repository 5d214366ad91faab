"""Run harness/micropython/agent.py over a model port's socket module (conformance/selftest/models).

    python model_port.py PORT [--break RULE]

installs the model of PORT (micropython, pycom, uc386, zerynth) as `socket` and `usocket` in
sys.modules, with the other modules the port needs (its errno, its select), then serves the wire
protocol on stdin/stdout. With --break RULE, one documented rule of the model is broken (the
rules and the sentences they break: the port module's docstring and BREAKS). So a model is a
target:

    python -m pytest conformance/cases --profile=pycom \\
        --target='cmd:.venv/bin/python conformance/selftest/model_port.py pycom'
"""
import argparse
import importlib
import os
import socket  # noqa: F401 (the host's socket module, imported before the model takes its name)
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT_DIR = os.path.join(HERE, "..", "..", "harness", "micropython")


def install(port_name, rule=None):
    """Import the model of port_name, break rule if given, and put its modules in sys.modules."""
    sys.path.insert(0, HERE)
    from models import PORTS, mpbase
    if port_name not in PORTS:
        raise SystemExit("model_port.py: no model %r; there are: %s" % (port_name, ", ".join(PORTS)))
    port = importlib.import_module("models." + port_name)
    if rule is not None:
        if rule not in port.BREAKS:
            raise SystemExit("model_port.py: %s has no rule %r; it has: %s" % (port_name, rule, ", ".join(port.BREAKS)))
        port.BREAKS[rule].patch(port)
    mod = mpbase.module(port)
    for name, m in port.MODULES.items():
        sys.modules[name] = mod if m is None else m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port")
    ap.add_argument("--break", dest="rule", metavar="RULE")
    args = ap.parse_args()
    install(args.port, args.rule)
    sys.path.insert(0, AGENT_DIR)
    import agent
    agent.main()


if __name__ == "__main__":
    main()
