"""inspector: tell what a Hugging Face model repository really is, with evidence."""

from __future__ import annotations

__version__ = "0.1.0"
# The name on the package index (`pip install hf-repo-inspector`); import name and command: inspector.
DISTRIBUTION = "hf-repo-inspector"

__all__ = ["Inspector", "Verdict", "inspect", "__version__"]


def __getattr__(name: str):
    # Lazy, so `import inspector` stays cheap for the CLI and for tools that only want the version.
    if name in ("inspect", "Inspector"):
        from . import api

        return getattr(api, name)
    if name == "Verdict":
        from .verdict import Verdict

        return Verdict
    raise AttributeError(name)
