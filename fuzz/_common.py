"""Shared setup of the atheris targets: instrument `inspector`, and the only exceptions allowed."""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

with atheris.instrument_imports(include=["inspector"]):
    import inspector.api  # noqa: F401
    import inspector.ruleset  # noqa: F401
    import inspector.safetensors_header  # noqa: F401
    import inspector.sources.local  # noqa: F401
    import inspector.sources.plan  # noqa: F401
    import inspector.yamlloc  # noqa: F401

from inspector.errors import InspectorError  # noqa: E402


def run(test_one_input) -> None:
    """atheris.Setup + Fuzz; our typed errors are expected, anything else is a finding."""

    def guarded(data: bytes) -> None:
        try:
            test_one_input(data)
        except InspectorError as e:
            if "\n" in str(e):
                raise AssertionError(f"multi-line error: {str(e)[:200]!r}") from None

    atheris.Setup(sys.argv, guarded)
    atheris.Fuzz()
