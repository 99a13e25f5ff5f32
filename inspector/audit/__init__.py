"""Bulk audits: a run over many repos into the store (`runner`), its Hub listing (`lister`), its parts
in child processes (`parallel`) and its closing summary (`summary`)."""

from __future__ import annotations

import importlib

# Loaded on first use (PEP 562): the CLI reads constants of `parallel` without loading the rules' machinery.
_HOMES = {"CRASH_HOOK": "runner", "Audit": "runner", "Outcome": "runner", "RunStats": "runner",
          "Lister": "lister", "listing_query": "lister", "start_listing": "lister",
          "Summary": "summary", "render_summary": "summary", "summarize": "summary"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
