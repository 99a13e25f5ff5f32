"""What a repo claims about itself: model_type, architectures, the card's base model."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

from .patterns import glob_match
from .ruleset import Claim, RuleSet


@dataclass(frozen=True)
class Declared:
    model_type: str | None
    architectures: tuple[str, ...]
    base_model: str | None
    lineage: str | None
    kind: str | None

    def to_dict(self) -> dict:
        """The verdict's `declared` object: every key, always (a failed target's too)."""
        return {"model_type": self.model_type, "architectures": list(self.architectures),
                "base_model": self.base_model, "lineage": self.lineage, "kind": self.kind}


def nothing_declared() -> dict:
    """`declared` of a target whose config was never read."""
    return Declared(None, (), None, None, None).to_dict()


def _claim(claims: list[Claim], model_type: str | None, archs: tuple[str, ...]) -> str | None:
    if model_type:
        for c in claims:
            if model_type in c.model_types:
                return c.value
    for a in archs:
        for c in claims:
            if any(glob_match(g, a) for g in c.architectures):
                return c.value
    return None


@functools.lru_cache(maxsize=1)
def _table() -> dict:
    """transformers' registry as shipped in data/registry.json (written by tools/gen_registry.py):
    the runtime never needs transformers."""
    text = resources.files("inspector").joinpath("data/registry.json").read_text(encoding="utf-8")
    return json.loads(text)


def _registry() -> dict[str, str]:
    """Architecture class -> kind."""
    return _table()["architectures"]


def _model_type_kind(model_type: str) -> str | None:
    entry = _table()["model_types"].get(model_type)
    return entry.get("kind") if isinstance(entry, dict) else None


def declared_of(config: dict | None, card: dict | None, rules: RuleSet) -> Declared:
    config = config if isinstance(config, dict) else {}
    mt = config.get("model_type") if isinstance(config.get("model_type"), str) else None
    archs_raw = config.get("architectures")
    archs = tuple(a for a in archs_raw if isinstance(a, str)) if isinstance(archs_raw, list) else ()
    base = (card or {}).get("base_model")
    if isinstance(base, list):
        base = next((b for b in base if isinstance(b, str)), None)
    lineage = _claim(rules.declared_lineages, mt, archs)
    kind = None
    if config.get("is_encoder_decoder") is True:
        kind = "encoder-decoder"
    if kind is None:
        kind = _claim(rules.declared_kinds, mt, archs)
    if kind is None and archs:
        reg = _registry()
        kind = next((reg[a] for a in archs if a in reg), None)
    if kind is None and mt:  # no class it knows: what transformers registers the model type for
        kind = _model_type_kind(mt)
    return Declared(mt, archs, base if isinstance(base, str) else None, lineage, kind)
