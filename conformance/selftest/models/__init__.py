"""Doc-faithful models of the seed ports' socket modules, over CPython's real sockets.

One module per port (micropython, pycom, uc386, zerynth), each built from what its document says:
mpbase is the MicroPython family's base (the canonical document), uselect its poll. A port module
has `__all__` (the names its socket module has), MODULES (the modules to install: None is the port's
socket module itself) and BREAKS (broken variants: mpbase.Break). conformance/selftest/model_port.py
installs one and runs harness/micropython/agent.py over it.
"""
PORTS = ("micropython", "pycom", "uc386", "zerynth")
