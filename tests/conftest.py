pytest_plugins = ["ailib.testing.pytest_plugin"]
