"""What a repo claims about itself: model_type, architectures, the card's base model."""

from __future__ import annotations

import ast
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from .patterns import glob_match
from .ruleset import Claim, RuleSet


@dataclass(frozen=True)
class Declared:
    model_type: str | None
    architectures: tuple[str, ...]
    base_model: str | None
    lineage: str | None
    kind: str | None


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


_REGISTRY_TABLES = (
    ("MODEL_FOR_MASKED_LM_MAPPING_NAMES", "encoder"),
    ("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES", "encoder-decoder"),
    ("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", "decoder"),
)


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, str]:
    """Architecture class -> kind from transformers' auto mappings, read statically.

    transformers 5 refuses to import its modeling tables without PyTorch, and importing it costs
    seconds; the tables are plain literals in modeling_auto.py, so they are parsed, not imported.
    """
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.origin:
        return {}
    source = Path(spec.origin).parent / "models" / "auto" / "modeling_auto.py"
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    wanted = dict(_REGISTRY_TABLES)
    out: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            continue
        kind = wanted.get(node.targets[0].id)
        if kind is None or not isinstance(node.value, ast.Call) or not node.value.args:
            continue
        try:
            pairs = ast.literal_eval(node.value.args[0])
        except ValueError:
            continue
        for _model_type, arch in pairs:
            for name in arch if isinstance(arch, tuple | list) else (arch,):
                out.setdefault(name, kind)
    return out


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
    return Declared(mt, archs, base if isinstance(base, str) else None, lineage, kind)
