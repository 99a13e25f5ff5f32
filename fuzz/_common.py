"""Shared setup of the atheris targets: instrument `inspector`, and the only exceptions allowed.

FUZZ_COLLECT=DIR switches to survey mode: instead of stopping at the first finding, each distinct
one (exception type and innermost `inspector` frame) is written to DIR once and fuzzing goes on.
"""

from __future__ import annotations

import hashlib
import os
import sys
import traceback
from pathlib import Path

import atheris

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

with atheris.instrument_imports(include=["inspector"]):
    import inspector.api  # noqa: F401
    import inspector.cli  # noqa: F401
    import inspector.cli.audit  # noqa: F401
    import inspector.formats.gguf  # noqa: F401
    import inspector.formats.plan  # noqa: F401
    import inspector.formats.safetensors_header  # noqa: F401
    import inspector.formats.tokenizer  # noqa: F401
    import inspector.formats.torchzip  # noqa: F401
    import inspector.jsonread  # noqa: F401
    import inspector.listing  # noqa: F401
    import inspector.ruleset  # noqa: F401
    import inspector.sources.hub  # noqa: F401
    import inspector.sources.local  # noqa: F401
    import inspector.store  # noqa: F401
    import inspector.transport.http  # noqa: F401
    import inspector.yamlloc  # noqa: F401

from inspector.errors import InspectorError  # noqa: E402

_seen: set[str] = set()


def _signature(e: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "/inspector/" in f.filename] or traceback.extract_tb(e.__traceback__)
    last = frames[-1] if frames else None
    return f"{type(e).__name__} at {Path(last.filename).name}:{last.lineno}" if last else type(e).__name__


def run(test_one_input) -> None:
    """atheris.Setup + Fuzz; our typed errors are expected, anything else is a finding."""
    collect = os.environ.get("FUZZ_COLLECT")

    def checked(data: bytes) -> None:
        try:
            test_one_input(data)
        except InspectorError as e:
            if "\n" in str(e):
                raise AssertionError(f"multi-line error: {str(e)[:200]!r}") from None

    def surveyed(data: bytes) -> None:
        try:
            checked(data)
        except Exception as e:
            sig = _signature(e)
            if sig not in _seen:
                _seen.add(sig)
                out = Path(collect) / f"finding-{hashlib.sha1(sig.encode()).hexdigest()[:12]}"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                print(f"\n=== finding {len(_seen)}: {sig}: {str(e)[:200]} -> {out}", file=sys.stderr, flush=True)

    atheris.Setup(sys.argv, surveyed if collect else checked)
    atheris.Fuzz()
