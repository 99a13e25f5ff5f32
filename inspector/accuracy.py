"""`inspector eval`: the accuracy of the rules on a labelled folder of real repos (the corpus layout).

A labelled folder holds one folder per model (config.json, optional weight_map.json or any files a
model folder has, SOURCE.md) and INDEX.tsv (slug, model_id, family, ..., confidence). Labels are
families (`llama`, `qwen`, `other:mistral`, ...) or kinds (`encoder`, `encoder-decoder`).
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .api import Inspector
from .errors import InspectorError, UsageError
from .formats.plan import parse_index
from .readout import TensorInfo
from .sources.local import read_local
from .verdict import Verdict

KIND_LABELS = {"encoder": "encoder", "encoder-decoder": "encoder-decoder"}
BANDS = ((0.9, 1.01), (0.7, 0.9), (0.5, 0.7), (0.0, 0.5))
TAG_MODES = ("as-is", "stripped", "lying")
# What a repo declares about itself: dropped ("stripped") or replaced by another family's ("lying").
CLAIM_KEYS = ("model_type", "architectures", "_name_or_path", "auto_map")
NESTED = ("text_config", "llm_config", "language_config", "thinker_config", "lm_config", "decoder")


def retag(config: dict | None, mode: str, label_lineage: str | None) -> dict | None:
    """The config as it would read without its claims, or with another family's claims."""
    if mode == "as-is" or not isinstance(config, dict):
        return config
    out = {k: v for k, v in config.items() if k not in CLAIM_KEYS}
    for key in NESTED:
        if isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if k not in CLAIM_KEYS}
    if mode == "lying":
        # A llama-labelled repo claims Qwen2; every other repo claims LLaMA (the common relabelling).
        if label_lineage == "llama":
            out["model_type"], out["architectures"] = "qwen2", ["Qwen2ForCausalLM"]
        else:
            out["model_type"], out["architectures"] = "llama", ["LlamaForCausalLM"]
    return out


@dataclass
class Case:
    slug: str
    model_id: str
    label: str
    confidence: str  # high | medium | low
    lineage: str | None  # expected lineage, None when the label is a kind
    kind: str
    base: str | None  # expected base where the model id names a catalogued base


@dataclass
class Result:
    case: Case
    verdict: Verdict

    @property
    def lineage_ok(self) -> bool | None:
        return None if self.case.lineage is None else self.verdict.lineage == self.case.lineage

    @property
    def kind_ok(self) -> bool:
        return self.verdict.kind == self.case.kind


@dataclass
class AccuracyReport:
    results: list[Result] = field(default_factory=list)
    low_confidence: list[Result] = field(default_factory=list)

    def scored(self) -> list[Result]:
        return [r for r in self.results if r.lineage_ok is not None]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", name.lower())


def load_cases(folder: Path, base_ids: list[str]) -> list[Case]:
    index = folder / "INDEX.tsv"
    rows: list[dict[str, str]] = []
    if index.is_file():
        with index.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    else:
        for src in sorted(folder.glob("*/SOURCE.md")):
            text = src.read_text(encoding="utf-8", errors="replace")
            fam = re.search(r"^- family:\s*(\S+)", text, re.M)
            mid = re.search(r"^- model_id:\s*(.+)$", text, re.M)
            conf = re.search(r"^- confidence:\s*(\S+)", text, re.M)
            if fam:
                rows.append({"slug": src.parent.name, "family": fam.group(1), "model_id": mid.group(1) if mid else "",
                             "confidence": conf.group(1) if conf else "medium"})
    if not rows:
        raise UsageError("no INDEX.tsv and no SOURCE.md with a `- family:` line", where=str(folder))
    by_norm = {_norm(b): b for b in base_ids}
    cases = []
    for row in rows:
        label = row["family"].strip()
        fam = label.split(":", 1)[1] if label.startswith("other:") else label
        kind = KIND_LABELS.get(fam, "decoder")
        lineage = None if fam in KIND_LABELS else fam
        model = (row.get("model_id") or "").split(" ")[0]
        name = model.split("/")[-1]
        cases.append(Case(row["slug"], model, label, (row.get("confidence") or "medium").strip(), lineage, kind,
                          by_norm.get(_norm(name))))
    return cases


def snapshot_of(folder: Path):
    """A model folder as read_local sees it, plus a corpus-style weight_map.json (names only)."""
    snap = read_local(str(folder))
    wm_file = folder / "weight_map.json"
    if not snap.tensors and wm_file.is_file():
        try:
            wm, total = parse_index(wm_file.read_bytes(), str(wm_file))
        except InspectorError:
            return snap
        snap.tensors = {n: TensorInfo(n, file=s) for n, s in wm.items()}
        snap.total_size = total
        snap.weights_format = "safetensors-index"
    return snap


def run(folder: Path, insp: Inspector, tags: str = "as-is") -> AccuracyReport:
    cases = load_cases(folder, [b.id for b in insp.rules.bases])
    report = AccuracyReport()
    for c in cases:
        target = folder / c.slug
        try:
            snap = snapshot_of(target)
            snap.config = retag(snap.config, tags, c.lineage)
            v = insp.judge(snap, full=False)[0]
        except InspectorError as e:
            v = Verdict(target=str(target), status=e.status, error=e.one_line())
        (report.low_confidence if c.confidence == "low" else report.results).append(Result(c, v))
    return report


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}% ({n}/{d})" if d else "n/a"


def summary(report: AccuracyReport) -> dict:
    scored = report.scored()
    lin_ok = sum(1 for r in scored if r.lineage_ok)
    kind_ok = sum(1 for r in report.results if r.kind_ok)
    fams: dict[str, Counter] = defaultdict(Counter)
    for r in scored:
        exp, got = r.case.lineage, r.verdict.lineage
        fams[exp]["tp" if exp == got else "fn"] += 1
        if exp != got:
            fams[got]["fp"] += 1
    per_family = {}
    for fam, c in sorted(fams.items()):
        support = c["tp"] + c["fn"]
        per_family[fam] = {
            "support": support,
            "precision": c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None,
            "recall": c["tp"] / support if support else None,
        }
    wrong = sum(1 for r in scored if not r.lineage_ok and r.verdict.lineage != "unknown")
    # Under relabelling every non-LLaMA repo claims LLaMA: the share the verdict flags as a mismatch.
    relabelled = [r for r in scored if r.case.lineage != "llama" and r.verdict.declared.get("lineage") == "llama"]
    flagged = sum(1 for r in relabelled if r.verdict.mismatch)
    based = [r for r in report.results if r.case.base]
    # Bases no config tells apart (DeepSeek-V3 / V3.1 / V3.2) are named together: any of them is right.
    base_ok = sum(1 for r in based if r.case.base.lower() in {b.lower() for b in [r.verdict.base or "", *r.verdict.base_alternatives]})
    bands = []
    for lo, hi in BANDS:
        inb = [r for r in scored if lo <= r.verdict.confidence < hi]
        bands.append({"band": f"{lo:.1f}-{min(hi, 1.0):.1f}", "n": len(inb), "right": sum(1 for r in inb if r.lineage_ok)})
    return {
        "cases": len(report.results),
        "lineage_accuracy": lin_ok / len(scored) if scored else None,
        "lineage": [lin_ok, len(scored)],
        "named_wrongly": [wrong, len(scored)],
        "relabelled_flagged": [flagged, len(relabelled)],
        "kind_accuracy": kind_ok / len(report.results) if report.results else None,
        "kind": [kind_ok, len(report.results)],
        "base_accuracy": base_ok / len(based) if based else None,
        "base": [base_ok, len(based)],
        "per_family": per_family,
        "bands": bands,
        "low_confidence": {"n": len(report.low_confidence),
                           "lineage_right": sum(1 for r in report.low_confidence if r.lineage_ok)},
    }


def render(report: AccuracyReport) -> str:
    s = summary(report)
    out = [f"cases: {s['cases']} scored (+{s['low_confidence']['n']} low-confidence labels, reported apart)"]
    out.append(f"lineage accuracy: {_pct(*s['lineage'])}")
    out.append(f"named wrongly:    {_pct(*s['named_wrongly'])} (a wrong family rather than unknown)")
    if s["relabelled_flagged"][1]:
        out.append(f"relabelled, flagged: {_pct(*s['relabelled_flagged'])} (non-LLaMA repos claiming LLaMA)")
    out.append(f"kind accuracy:    {_pct(*s['kind'])}")
    out.append(f"exact base:       {_pct(*s['base'])} (where the model id names a catalogued base)")
    out.append("")
    out.append(f"{'family':<14}{'n':>4}  {'precision':>9}  {'recall':>6}")
    for fam, m in s["per_family"].items():
        p = f"{m['precision']:.2f}" if m["precision"] is not None else "-"
        r = f"{m['recall']:.2f}" if m["recall"] is not None else "-"
        out.append(f"{fam:<14}{m['support']:>4}  {p:>9}  {r:>6}")
    out.append("")
    out.append("confidence band   n  right")
    for b in s["bands"]:
        out.append(f"{b['band']:<14}{b['n']:>5}  {_pct(b['right'], b['n'])}")
    scored = report.scored()
    labels = sorted({r.case.lineage for r in scored} | {r.verdict.lineage for r in scored})
    out.append("")
    out.append("confusion (rows: label, columns: detected; only rows with a miss)")
    conf = Counter((r.case.lineage, r.verdict.lineage) for r in scored)
    for lab in labels:
        misses = {d: n for (e, d), n in conf.items() if e == lab and d != lab}
        if misses:
            out.append(f"  {lab:<12} right {conf[(lab, lab)]:>3}  " + ", ".join(f"-> {d} {n}" for d, n in sorted(misses.items())))
    misses = [r for r in report.results if r.lineage_ok is False or not r.kind_ok]
    out.append("")
    out.append(f"misses: {len(misses)}")
    for r in misses:
        v = r.verdict
        ev = "; ".join(f"{e.rule} {e.observed}" for e in v.evidence[:3])
        out.append(f"  {r.case.slug}: label {r.case.label}, got {v.kind}/{v.lineage} (confidence {v.confidence:.2f}) [{ev}]")
    low = [r for r in report.low_confidence if r.lineage_ok is False]
    if low:
        out.append(f"low-confidence labels that disagree (not counted): {', '.join(r.case.slug for r in low)}")
    return "\n".join(out)
