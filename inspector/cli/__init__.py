"""The command line (`inspector = inspector.cli:main`). The root group and its commands live in
cli/root.py; it is loaded on first use so that importing a command module never runs the root."""


def __getattr__(name: str):
    if name == "main":
        from .root import main

        return main
    raise AttributeError(name)
