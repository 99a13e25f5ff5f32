"""Facts + trait rules -> architecture traits (attention, MoE, positions, norms, ...), each with evidence.

Trait rules are data (`traits:` in rules/traits.yaml) and use the predicates, selections and
conditions of family rules. Per trait the first rule that holds (highest `priority`, then file
order) gives the value; its `details` name facts reported beside it. Per-layer maps
(`layer_kinds:`) and the sub-configs that hold a wrapper's language model (`lm_configs:`) are data
too, so a new family needs no code.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import condition as cond
from . import validators as V
from .engine import Outcomes, RuleOutcome, evaluate
from .errors import Location, did_you_mean
from .facts import Facts, _number, config_get
from .inert import inert, json_safe
from .ruleset import STATUSES, TRAIT_TOP_KEYS, Rule, RuleSet, Selection
from .yamlloc import LocDict, LocList

TRAIT_KEYS = ("id", "trait", "value", "description", "status", "author", "references", "priority", "details",
              "match", "condition")
LAYER_MAP_KEYS = ("config", "measure", "values", "chars", "every", "others", "indices", "base", "alternate",
                  "model_types", "description")
LAYER_KINDS = ("full", "sliding", "chunked", "linear", "mamba", "rope", "nope", "none")
# Facts this module computes (beside facts.py's): rules may read them like any other.
TRAIT_FACTS = ("layer_map", "layers_mapped", "window_ratio", "rope_base", "params_total", "params_active", "params_basis",
               "moe_layers", *(f"share_{k}" for k in LAYER_KINDS if k != "none"))
DECLARED_FACTS = ("model_type", "architectures", "lm_model_type", "lm_architectures", "auto_map", "name_or_path",
                  "lm_name_or_path", "base_model", "repo_id")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class TraitRule:
    rule: Rule  # selections and condition; votes for nothing
    trait: str
    value: str | None  # a fixed value, or None when `value_fact` gives it
    value_fact: str | None
    priority: float
    details: dict[str, str]  # reported name -> fact


@dataclass(frozen=True)
class LayerMap:
    """One spelling of "which layer does what": a per-layer list, a pattern string, an interval, indices."""

    config: str
    loc: Location
    measure: str = "attention"  # attention | rope
    values: dict[str, str] | None = None  # list entries (as strings) -> kind
    chars: dict[str, str] | None = None  # pattern characters -> kind
    every: str | None = None  # with an integer n: every n-th layer is `every`, the rest `others`
    others: str | None = None
    indices: str | None = None  # with a list of layer numbers: those are `indices`, the rest `others`
    base: int = 0  # the first layer's number in `indices`
    alternate: tuple[str, ...] = ()  # with any value present: layers cycle through these kinds
    model_types: tuple[str, ...] = ()  # apply only to these model types (empty: any)


@dataclass
class TraitSet:
    rules: list[TraitRule] = field(default_factory=list)
    layer_maps: list[LayerMap] = field(default_factory=list)
    lm_configs: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # traits in the order they are first written
    ruleset: RuleSet = field(default_factory=RuleSet)  # the trait rules as a rule set, for the engine

    @cached_property
    def by_priority(self) -> list[TraitRule]:
        """The order a trait's rules are tried in: highest priority first, then file order (once loaded)."""
        return [tr for _i, tr in sorted(enumerate(self.rules), key=lambda it: (-it[1].priority, it[0]))]


@dataclass
class Trait:
    value: str
    details: dict[str, Any] = field(default_factory=dict)
    rule: str | None = None
    where: str | None = None  # rule file:line:col
    basis: str = "evidence"  # evidence | declared (the rule read a model_type / architecture claim) | none
    evidence: list[str] = field(default_factory=list)  # each deciding predicate, with what it observed


# ---- loading -----------------------------------------------------------------------------------


def build_traits(b: Any, docs: list[tuple[LocDict, int]]) -> TraitSet:
    """Parse every `traits:`, `layer_kinds:` and `lm_configs:`; problems go to the rule builder's log.
    A trait rule from a later layer (a --rules path) replaces a shipped one of the same id."""
    ts = TraitSet()
    b.fact_names.update(TRAIT_FACTS)
    raw: dict[str, tuple[LocDict, int]] = {}
    for doc, layer in docs:
        if "lm_configs" in doc:
            paths = doc["lm_configs"]
            if isinstance(paths, list) and all(isinstance(p, str) and p for p in paths):
                ts.lm_configs.extend(p for p in paths if p not in ts.lm_configs)
            else:
                b.problem(V.wrong_type.CHECK, "`lm_configs` must list config paths (strings)", doc.where("lm_configs"))
        if "layer_kinds" in doc:
            ts.layer_maps.extend(_layer_maps(b, doc["layer_kinds"], doc.where("layer_kinds")))
        if doc.get("traits") is not None:
            b.collect(doc, "traits", "trait rule", raw, layer, taken=b.raw_rules)
    for it, _layer in raw.values():
        tr = _trait_rule(b, it)
        if tr is not None:
            ts.rules.append(tr)
            if tr.trait not in ts.names:
                ts.names.append(tr.trait)
    ts.ruleset = RuleSet(rules=[tr.rule for tr in ts.rules], facts=b.rs.facts)
    return ts


def _trait_rule(b: Any, it: LocDict) -> TraitRule | None:
    before = len(b.rs.errors)
    rid = it["id"]
    for k in it:
        if k not in TRAIT_KEYS:
            b.unknown(k, TRAIT_KEYS, it.key_locs[k], "trait rule key")
    trait = it.get("trait")
    if not isinstance(trait, str) or not trait:
        b.problem(V.bad_field_value.CHECK, f"trait rule {rid!r} needs `trait` (the trait it decides, a string)", it.where("trait") if "trait" in it else it.loc)
    value, value_fact = it.get("value"), None
    if isinstance(value, LocDict) and set(value) == {"fact"} and isinstance(value["fact"], str):
        value_fact, value = value["fact"], None
        if value_fact not in b.fact_names:
            b.problem(V.unknown_fact.CHECK, f"unknown fact {value_fact!r}{did_you_mean(value_fact, sorted(b.fact_names))}", it.where("value"))
    elif isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        b.problem(V.bad_field_value.CHECK, "`value` must be a string or `{fact: NAME}`", it.where("value") if "value" in it else it.loc)
    else:
        value = str(value)
    priority = it.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int | float):
        b.problem(V.weight_not_a_number.CHECK, f"`priority` must be a number, got {priority!r}", it.where("priority"))
        priority = 0
    status = it.get("status", "experimental")
    if status not in STATUSES:
        b.unknown(status, STATUSES, it.where("status"), "status")
    refs = it.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        b.problem(V.bad_field_value.CHECK, "`references` must be a list of strings", it.where("references"))
        refs = []
    details: dict[str, str] = {}
    raw_details = it.get("details")
    if raw_details is None:
        pass
    elif not isinstance(raw_details, LocDict):
        b.problem(V.wrong_type.CHECK, "`details` must map reported names to fact names", it.where("details"))
    else:
        for name, fact in raw_details.items():
            if not isinstance(fact, str) or fact not in b.fact_names:
                tail = did_you_mean(str(fact), sorted(b.fact_names))
                b.problem(V.unknown_fact.CHECK, f"detail {name!r}: unknown fact {fact!r}{tail}", raw_details.where(name))
            else:
                details[str(name)] = fact
    match = it.get("match")
    selections: dict[str, Selection] = {}
    if not isinstance(match, LocDict) or not match:
        b.problem(V.no_match.CHECK, f"trait rule {rid!r} needs a `match:` mapping of named selections", it.where("match") if "match" in it else it.loc)
    else:
        selections = b.selections_of(match)
    tree, ctext = _condition(b, it, selections)
    if len(b.rs.errors) > before:
        return None
    rule = Rule(id=rid, votes={}, weight=0.0, selections=selections, condition=tree, condition_text=ctext,
                loc=it.where("id"), description=it.get("description", ""), status=status, author=it.get("author", ""),
                family=trait, references=tuple(refs))  # family: the trait, so explain can group its rules
    return TraitRule(rule, trait, value, value_fact, float(priority), details)


def _condition(b: Any, it: LocDict, selections: dict[str, Selection]) -> tuple[object, str]:
    ctext = it.get("condition")
    if ctext is None:
        return (cond.And(tuple(cond.Sel(n) for n in selections)) if selections else None), " and ".join(selections)
    if not isinstance(ctext, str):
        b.problem(V.bad_condition.CHECK, "`condition` must be a string", it.where("condition"))
        return None, ""
    cloc = it.where("condition")
    try:
        tree = cond.parse(ctext)
    except cond.ConditionError as e:
        b.problem(V.bad_condition.CHECK, f"condition: {e}", Location(cloc.file, cloc.line, cloc.col + e.col))
        return None, ctext
    used: set[str] = set()
    for ref in cond.names(tree):
        hit = cond.expand(ref, list(selections))
        if not hit:
            b.problem(V.undefined_selection.CHECK, f"condition names selection {ref!r}, which `match` does not define{did_you_mean(ref, list(selections))}", cloc)
        used.update(hit)
    match = it.get("match")
    for name in selections:
        if name not in used and isinstance(match, LocDict):
            b.problem(V.unused_selection.CHECK, f"selection {name!r} is never used in the condition", match.key_locs[name])
    return tree, ctext


def _kinds(b: Any, m: Any, key: str, loc: Location) -> dict[str, str] | None:
    if not isinstance(m, dict) or not all(v in LAYER_KINDS for v in m.values()):
        b.problem(V.bad_field_value.CHECK, f"`{key}` must map values to layer kinds ({', '.join(LAYER_KINDS)})", loc)
        return None
    return {str(k): v for k, v in m.items()}


def _layer_maps(b: Any, items: Any, loc: Location) -> list[LayerMap]:
    out: list[LayerMap] = []
    if not isinstance(items, LocList):
        b.problem(V.wrong_type.CHECK, "`layer_kinds` must be a list", loc)
        return out
    for i, it in enumerate(items):
        if not isinstance(it, LocDict) or not isinstance(it.get("config"), str):
            b.problem(V.bad_base_model.CHECK, "a layer map needs `config` (the config path it reads)", items.where(i))
            continue
        for k in it:
            if k not in LAYER_MAP_KEYS:
                b.unknown(k, LAYER_MAP_KEYS, it.key_locs[k], "layer map key")
        shapes = [k for k in ("values", "chars", "every", "indices", "alternate") if k in it]
        if len(shapes) != 1:
            b.problem(V.bad_base_model.CHECK, "a layer map gives exactly one of values, chars, every, indices, alternate", it.loc)
            continue
        kw: dict[str, Any] = {"config": it["config"], "loc": it.where("config")}
        measure = it.get("measure", "attention")
        if measure not in ("attention", "rope"):
            b.unknown(measure, ("attention", "rope"), it.where("measure"), "measure")
        kw["measure"] = measure
        for k in ("values", "chars"):
            if k in it:
                kw[k] = _kinds(b, it[k], k, it.where(k))
        for k in ("every", "others", "indices"):
            if k in it:
                if it[k] not in LAYER_KINDS:
                    b.unknown(it[k], LAYER_KINDS, it.where(k), "layer kind")
                kw[k] = it[k]
        if "alternate" in it:
            alt = it["alternate"]
            if not isinstance(alt, list) or not alt or not all(a in LAYER_KINDS for a in alt):
                b.problem(V.bad_field_value.CHECK, f"`alternate` must list layer kinds ({', '.join(LAYER_KINDS)})", it.where("alternate"))
            else:
                kw["alternate"] = tuple(alt)
        if isinstance(it.get("base"), int):
            kw["base"] = it["base"]
        mts = it.get("model_types", [])
        if isinstance(mts, list) and all(isinstance(x, str) for x in mts):
            kw["model_types"] = tuple(mts)
        if (kw.get("every") or kw.get("indices")) and not kw.get("others"):
            b.problem(V.bad_base_model.CHECK, "a layer map with `every` or `indices` needs `others`", it.loc)
            continue
        out.append(LayerMap(**kw))
    return out


def trait_file_schema() -> dict[str, Any]:
    """The JSON Schema of the trait keys of a rule file (merged into `inspector rules schema`)."""
    kind = {"enum": list(LAYER_KINDS)}
    kinds_map = {"type": "object", "additionalProperties": kind}
    rule = {
        "type": "object", "required": ["id", "trait", "value", "match"], "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "minLength": 1}, "trait": {"type": "string", "minLength": 1},
            "value": {"oneOf": [{"type": ["string", "number"]},
                                {"type": "object", "required": ["fact"], "additionalProperties": False, "properties": {"fact": {"type": "string"}}}],
                      "description": "the value the trait takes, or {fact: NAME} for that fact's own value"},
            "description": {"type": "string"}, "status": {"enum": list(STATUSES)}, "author": {"type": "string"},
            "references": {"type": "array", "items": {"type": "string"}},
            "priority": {"type": "number", "description": "higher is tried first; ties go by file order"},
            "details": {"type": "object", "additionalProperties": {"type": "string"}, "description": "reported name -> fact name"},
            "match": {"type": "object", "minProperties": 1, "additionalProperties": {"$ref": "#/$defs/selection"}},
            "condition": {"type": "string"},
        },
    }
    layer_map = {
        "type": "object", "required": ["config"], "additionalProperties": False,
        "properties": {"config": {"type": "string"}, "measure": {"enum": ["attention", "rope"]}, "values": kinds_map,
                       "chars": kinds_map, "every": kind, "others": kind, "indices": kind, "base": {"type": "integer"},
                       "alternate": {"type": "array", "minItems": 1, "items": kind},
                       "model_types": {"type": "array", "items": {"type": "string"}}, "description": {"type": "string"}},
    }
    assert set(rule["properties"]) == set(TRAIT_KEYS) and set(layer_map["properties"]) == set(LAYER_MAP_KEYS)
    out = {"traits": {"type": "array", "items": rule},
           "layer_kinds": {"type": "array", "items": layer_map},
           "lm_configs": {"type": "array", "items": {"type": "string", "minLength": 1}}}
    assert tuple(out) == TRAIT_TOP_KEYS, "schema out of step with ruleset.TRAIT_TOP_KEYS"
    return out


# ---- computing ---------------------------------------------------------------------------------


def _lookup(config: dict, path: str, lm_configs: list[str]) -> tuple[str | None, Any]:
    """The first value at `path`, at the top level or under a wrapper's language-model sub-config."""
    for prefix in ("", *lm_configs):
        full = f"{prefix}.{path}" if prefix else path
        found, v = config_get(config, full)
        if found and v is not None:
            return full, v
    return None, None


def _layer_list(m: LayerMap, v: Any, n: int | None) -> list[str] | None:
    if m.values is not None and isinstance(v, list) and v:
        kinds = [m.values.get(str(x).lower() if isinstance(x, bool) else str(x)) for x in v]
        return None if None in kinds else kinds  # type: ignore[return-value]
    if m.chars is not None and isinstance(v, str) and v:
        kinds = [m.chars.get(c) for c in v]
        return None if None in kinds else kinds  # type: ignore[return-value]
    if not n:
        return None
    if m.every is not None and isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return [m.every if (i + 1) % v == 0 else m.others for i in range(n)]  # type: ignore[misc]
    if m.indices is not None and isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        chosen = {x - m.base for x in v}
        return [m.indices if i in chosen else m.others for i in range(n)]  # type: ignore[misc]
    if m.alternate:
        return [m.alternate[i % len(m.alternate)] for i in range(n)]
    return None


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else (int(v) if isinstance(v, float) and v.is_integer() else None)


def trait_facts(facts: Facts, rules: RuleSet) -> Facts:
    """The facts trait rules read: a wrapper's language-model sub-config fills what the top level
    lacks, and the per-layer shares, RoPE base and parameter counts are derived."""
    ts: TraitSet = rules.traits or TraitSet()
    values, sources = dict(facts.values), dict(facts.sources)
    config = facts.config
    # Only the sub-configs this config has: a path under an absent one is never found.
    lm_configs = [p for p in ts.lm_configs if config_get(config, p)[0]]
    # Without a sub-config, build_facts already looked every path up at the top level.
    for name, paths in rules.facts.items() if lm_configs else ():
        if name in values:
            continue
        for p in paths:
            where, v = _lookup(config, p, lm_configs)
            v = _number(v)
            if where is not None and v is not None:
                values[name], sources[name] = v, f"config:{where}"
                break
    heads, kv, hidden = _int(values.get("num_heads")), _int(values.get("num_kv_heads")), _int(values.get("hidden_size"))
    if heads and kv is None:  # a sub-config filled num_heads: the engine's derived kv count was never made
        values["num_kv_heads"], sources["num_kv_heads"], kv = heads, "derived: = num_heads (no kv-head count in config)", heads
    if heads and kv and heads % kv == 0 and "gqa_group" not in values:
        values["gqa_group"], sources["gqa_group"] = heads // kv, "derived: num_heads / num_kv_heads"
    if heads and hidden and hidden % heads == 0 and "head_dim" not in values:
        values["head_dim"], sources["head_dim"] = hidden // heads, "derived: hidden_size / num_heads"
    window, ctx = _num(values.get("sliding_window")), _num(values.get("max_positions"))
    if window and ctx:
        # Phi-3-128k states a 262144 window over a 131072 context: no window in effect
        values["window_ratio"], sources["window_ratio"] = round(window / ctx, 4), "derived: sliding_window / max_positions"
    n = _int(values.get("num_layers")) or _int(values.get("layer_count"))
    model_type = values.get("lm_model_type") or values.get("model_type")
    for measure in ("attention", "rope"):
        for m in ts.layer_maps:
            if m.measure != measure or (m.model_types and model_type not in m.model_types):
                continue
            where, v = (m.config, True) if m.alternate and config_get(config, m.config)[0] else _lookup(config, m.config, lm_configs)
            if where is None:
                continue
            kinds = _layer_list(m, v, n)
            if not kinds:
                continue
            counted = [k for k in kinds if k != "none"]
            # A map chosen by model type rests on a claim: its source says so (the trait is "declared").
            claim = f", for model_type {model_type}" if m.model_types else ""
            for kind in sorted(set(counted)):
                values[f"share_{kind}"] = round(counted.count(kind) / len(counted), 4)
                sources[f"share_{kind}"] = f"config:{where} ({counted.count(kind)} of {len(counted)} layers{claim})"
            if measure == "attention":
                values["layer_map"], sources["layer_map"] = where, "layer_kinds"
                values["layers_mapped"], sources["layers_mapped"] = len(counted), f"config:{where}"
            break
    theta = _num(values.get("rope_theta"))
    if theta is None and _num(values.get("rope_ratio")) is not None:
        # ChatGLM3-32k / GLM-4 scale the base: 10000 * rope_ratio
        theta, sources["rope_base"] = 10000.0 * values["rope_ratio"], f"10000 x {sources.get('rope_ratio')}"
    elif theta is not None:
        sources["rope_base"] = sources.get("rope_theta", "config")
    if theta is not None:
        values["rope_base"] = int(theta) if theta.is_integer() else theta
    if values.get("quantization") == "none":  # a wrapper may quantize only its language model
        where, method = _lookup(config, "quantization_config.quant_method", lm_configs)
        if where and isinstance(method, str):
            values["quantization"], sources["quantization"] = method.lower(), f"config:{where}"
    _params(values, sources, facts)
    return dataclasses.replace(facts, values=values, sources=sources)


# Routed-expert tensors (not shared experts): per-expert names and fused 3-D expert tensors.
def _is_routed_expert(name: str) -> bool:
    parts = name.split(".")
    return "experts" in parts and "shared_experts" not in parts and "shared_expert" not in parts


def _params(values: dict, sources: dict, facts: Facts) -> None:
    """Total and active parameters, `params_basis` saying how they were had: "headers" (every tensor
    shape read; active = the rest plus experts_per_token / experts of the routed-expert tensors),
    "hub count" (the Hub's safetensors total; active scaled by the config estimate's ratio),
    "config estimate" (from the config's dimensions), or "header estimate" (some headers read)."""
    from .facts import params_of

    snap = facts.snapshot
    experts, per_tok = _int(values.get("num_experts")), _int(values.get("moe_experts_per_token"))
    est = _estimate(values)
    total, exact, _ = params_of(snap, facts.tensors)
    quantized = values.get("quantization") not in (None, "none")  # packed weights: numel is not a count
    every_shape = bool(snap.tensors) and facts.tensors.every_shape
    if total and exact and every_shape and not quantized:
        active, src = total, "tensors: every shape"
        if experts and per_tok and experts > per_tok:
            # Numbers aside, a name's components are its skeleton's: one test a skeleton, not a tensor.
            routed = sum(math.prod(t.shape) for skel, group in facts.tensors.by_skeleton.items() if _is_routed_expert(skel)
                         for t in group)
            active = total - routed + routed * per_tok // experts
            src = "tensors: routed-expert shapes x experts_per_token / experts"
        values.update(params_total=total, params_active=active, params_basis="headers")
        sources.update(params_total="tensors: every shape", params_active=src, params_basis="tensors")
    elif total and exact and snap.hub_params and not quantized:
        active = total * est[1] // est[0] if est and est[0] else total
        values.update(params_total=total, params_active=active, params_basis="hub count")
        sources.update(params_total="hub: safetensors parameter count",
                       params_active="hub count x the config estimate's active share", params_basis="hub")
    elif est is not None:
        values.update(params_total=est[0], params_active=est[1], params_basis="config estimate")
        sources.update(params_total="estimated from config dimensions", params_active="estimated from config dimensions",
                       params_basis="config")
    elif total and not quantized:
        values.update(params_total=total, params_active=total, params_basis="header estimate")
        sources.update(params_total="tensors: read headers, unread shards borrow their shapes", params_active="= total",
                       params_basis="tensors")


def _estimate(v: dict) -> tuple[int, int] | None:
    """Parameters from the config's dimensions (a decoder with gated or plain MLPs, MHA/GQA or MLA,
    dense or MoE layers); embeddings and norms included. An estimate, labelled as one."""
    g = {k: _int(v.get(k)) for k in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "vocab_size",
                                     "intermediate_size", "head_dim", "num_experts", "moe_experts_per_token",
                                     "moe_shared_experts", "moe_first_dense", "moe_expert_size", "kv_lora_rank",
                                     "q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim",
                                     "shared_expert_intermediate_size", "moe_layer_freq")}
    h, n, heads, vocab = g["hidden_size"], g["num_layers"], g["num_heads"], g["vocab_size"]
    if not (h and n and heads and vocab):
        return None
    kv, hd = g["num_kv_heads"] or heads, g["head_dim"] or h // heads
    if g["kv_lora_rank"] and g["qk_rope_head_dim"] and g["qk_nope_head_dim"] and g["v_head_dim"]:
        qk = g["qk_nope_head_dim"] + g["qk_rope_head_dim"]
        q = (h * g["q_lora_rank"] + g["q_lora_rank"] * heads * qk) if g["q_lora_rank"] else h * heads * qk
        attn = q + h * (g["kv_lora_rank"] + g["qk_rope_head_dim"]) + g["kv_lora_rank"] * heads * (g["qk_nope_head_dim"] + g["v_head_dim"]) \
            + heads * g["v_head_dim"] * h
    else:
        attn = 2 * h * heads * hd + 2 * h * kv * hd
    gated = str(v.get("hidden_act", "silu")).lower() in ("silu", "swiglu", "swish", "gelu_pytorch_tanh") or bool(g["num_experts"])
    mats = 3 if gated else 2
    inter = g["intermediate_size"] or 4 * h
    if v.get("use_logn_attn") is not None:  # Qwen-1 counts its two gated halves in intermediate_size
        inter //= 2
    dense_mlp = mats * h * inter
    experts = g["num_experts"] or 0
    total_layers = n * (attn + 2 * h)
    active_layers = total_layers
    if experts > 1:
        size = g["moe_expert_size"] or inter
        first_dense = g["moe_first_dense"] or 0
        freq = g["moe_layer_freq"] or 1
        # The MoE layers: first_dense, first_dense + freq, ... below n (counted, never listed: n is the
        # config's word, and a hostile one is a billion).
        moe_n = -(-(n - first_dense) // freq) if n > first_dense else 0
        shared = (g["moe_shared_experts"] or 0) * mats * h * size
        if not g["moe_shared_experts"] and g["shared_expert_intermediate_size"]:
            shared = mats * h * g["shared_expert_intermediate_size"]
        per_tok = g["moe_experts_per_token"] or 1
        moe_total = experts * mats * h * size + shared + h * experts
        moe_active = per_tok * mats * h * size + shared + h * experts
        total_layers += moe_n * moe_total + (n - moe_n) * dense_mlp
        active_layers += moe_n * moe_active + (n - moe_n) * dense_mlp
    else:
        total_layers += n * dense_mlp
        active_layers = total_layers
    tied = v.get("tied_embeddings") is True
    emb = vocab * h * (1 if tied else 2) + h
    return emb + total_layers, emb + active_layers


def compute_traits(facts: Facts, rules: RuleSet, *, full: bool = True,
                   after: Outcomes | None = None) -> tuple[dict[str, Trait], Outcomes]:
    """Every trait the rule set knows, decided; and the trait rules' outcomes (for --explain; with
    `full=False` a rule that fails keeps no predicate outcomes, the traits are the same). `after`: the
    family rules' evaluation of these facts, whose tensor matches and file checks are reused."""
    ts: TraitSet = rules.traits or TraitSet()
    tf = trait_facts(facts, rules)
    ev = evaluate(tf, ts.ruleset, full=full, after=after)
    by_id = {o.rule.id: o for o in ev.fired}
    out: dict[str, Trait] = {name: Trait(UNKNOWN, basis="none") for name in ts.names}
    for tr in ts.by_priority:
        o = by_id.get(tr.rule.id)
        if o is None or not o.holds or out[tr.trait].rule is not None:
            continue
        value = tr.value
        if tr.value_fact is not None:
            found, fv = tf.get(tr.value_fact)
            if not found:
                continue
            value = inert(fv, 60)  # a repo's string becomes a category: printable and short
        out[tr.trait] = _trait(tr, o, tf, value or UNKNOWN)
    return out, ev


def _trait(tr: TraitRule, o: RuleOutcome, tf: Facts, value: str) -> Trait:
    details: dict[str, Any] = {}
    evidence: list[str] = []
    for name, fact in tr.details.items():
        found, v = tf.get(fact)
        if found and not isinstance(v, dict):
            details[name] = json_safe(v) if isinstance(v, str) else v
    declared = False
    for p in o.deciding():
        pred = p.predicate
        where = ""
        if pred.subject == "fact":
            src = tf.sources.get(pred.key, "")
            declared = declared or pred.key in DECLARED_FACTS or "model_type" in src
            where = f" ({src})" if src else ""
        elif pred.subject == "config":
            declared = declared or pred.key.split(".")[-1] in ("model_type", "architectures")
        evidence.append(f"{pred.subject} {pred.text} -> {p.observed}{where}")
    for name, fact in tr.details.items():
        if name in details and fact in tf.sources and not any(f" {fact} " in f" {e} " for e in evidence):
            evidence.append(f"{name} = {_short(details[name])} ({tf.sources[fact]})")
    return Trait(value, details, tr.rule.id, str(tr.rule.loc), "declared" if declared else "evidence",
                 [json_safe(e) for e in evidence])


def _short(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 60 else s[:57] + "..."


def flat_traits(traits: dict[str, Any]) -> dict[str, Any]:
    """One column per trait and per detail, for tables and counting shares:
    `{"attention": "GQA", "attention.group_size": 4, ..., "params.total": 8030261248}`. Lists become
    comma-joined text; a verdict without traits (schema 1, or a failed target) gives {}."""
    out: dict[str, Any] = {}
    for name, t in (traits or {}).items():
        if not isinstance(t, dict):
            t = dataclasses.asdict(t)
        out[name] = t.get("value", UNKNOWN)
        for k, v in (t.get("details") or {}).items():
            out[f"{name}.{k}"] = ", ".join(map(str, v)) if isinstance(v, list) else v
    return out


def traits_line(traits: dict[str, dict[str, Any]]) -> str:
    """One line for people: `attention GQA (group_size 4) · moe dense · ...`, each value with its first
    detail; unknown traits are left out."""
    parts = []
    shown: set[tuple[str, str]] = set()  # a detail already printed (vocab_size) is not repeated
    for name, t in traits.items():
        value = t.get("value", UNKNOWN) if isinstance(t, dict) else UNKNOWN
        if value == UNKNOWN:
            continue
        d = t.get("details") or {}
        if name == "params" and "total" in d:  # the count says more than its basis
            value = f"{_fmt(d['total'])}" + (f" total, {_fmt(d['active'])} active" if d.get("active") not in (None, d["total"]) else "")
            d = {"basis": d.get("basis")}
        first = next(iter(d.items()), None)
        extra = ""
        if first and first[1] is not None and (first[0], str(first[1])) not in shown:
            shown.add((first[0], str(first[1])))
            extra = f" ({first[0]} {_fmt(first[1])})"
        parts.append(f"{name} {value}{extra}")
    return inert(" · ".join(parts), None)


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1_000_000:
        for unit, size in (("T", 10**12), ("B", 10**9), ("M", 10**6)):
            if v >= size:
                return f"{v / size:.1f}{unit}"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def explain_traits(traits: dict[str, Any], outcomes: Outcomes | None = None, *,
                   rule_ids: set[str] | None = None) -> list[str]:
    """`--explain` lines: per trait its value, the rule that decided it (file:line) and each piece of
    evidence. `traits` may be Trait objects or the verdict's dicts. With the trait rules' evaluation
    (compute_traits' second value), the rules that were tried and failed follow, with the first
    predicate that failed: what a rule author changes. `rule_ids` keeps the traits those rules touch."""
    lines = []
    failed: dict[str, list[RuleOutcome]] = {}
    for o in outcomes.all if outcomes else []:
        if not o.holds and o.rule.family:
            failed.setdefault(o.rule.family, []).append(o)
    for name, t in traits.items():
        t = t if isinstance(t, dict) else dataclasses.asdict(t)
        tried = failed.get(name, [])
        if rule_ids and t.get("rule") not in rule_ids and not any(o.rule.id in rule_ids for o in tried):
            continue
        head = f"trait {name}: {t.get('value', UNKNOWN)}"
        head += f"  <- {t['rule']} ({t.get('where')})" if t.get("rule") else "  (no trait rule held)"
        lines.append(head + ("  [rests on a declared model type]" if t.get("basis") == "declared" else ""))
        lines.extend(f"    {e}" for e in t.get("evidence") or [])
        for o in tried:
            if rule_ids and o.rule.id not in rule_ids and t.get("rule") not in rule_ids:
                continue
            miss = next((p for s in o.selections.values() for p in s.predicates if not p.holds), None)
            why = f": {miss.predicate.subject} {miss.predicate.text} -> observed {miss.observed}" if miss else ""
            lines.append(f"    not {o.rule.id} ({o.rule.loc}){why}")
    return [inert(line, 400) for line in lines]
