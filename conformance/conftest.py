"""The suite's pytest plugin is sockconf/plugin.py (installed, it is the `sockconf` pytest11 entry point)."""
pytest_plugins = ["sockconf.plugin"]
