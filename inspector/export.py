"""An audit database -> a file that loads: JSON Lines (the inspection contract per repo), CSV (the one
flat schema `inspector report --format csv` writes too), Parquet (nested values as struct, list and
map columns, with flat `declared_lineage` / `declared_kind` beside them)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import UsageError
from .inert import json_safe_deep
from .store import Store

FORMATS = ("jsonl", "csv", "parquet")
# Keys whose values are maps (the keys are data: dtype names, field names), not records.
MAP_KEYS = {"dtypes": "int64", "confidences": "float64", "margins": "float64"}


def records(store: Store) -> Iterator[dict[str, Any]]:
    """A record per repo (its latest row): the inspection's JSON contract, every key present."""
    for row in store.rows():
        yield json_safe_deep(row.record())


def export(store: Store, fmt: str, out: IO[str] | str | Path) -> int:
    if fmt not in FORMATS:
        raise UsageError(f"`fmt` must be one of {', '.join(FORMATS)}", names={"fmt": "`fmt`"})
    if fmt == "parquet":
        if not isinstance(out, (str, Path)):
            raise UsageError("parquet export needs -o FILE")
        return write_parquet(store, Path(out))
    with contextlib.ExitStack() as stack:
        fh = stack.enter_context(open(out, "w", newline="", encoding="utf-8")) if isinstance(out, (str, Path)) else out
        if fmt == "csv":
            from .report import write_csv

            return write_csv(store.rows(), fh)
        n = 0
        for v in records(store):
            # ASCII: U+0085, U+2028 and U+2029 from a repo would split the line for many readers.
            fh.write(json.dumps(v) + "\n")
            n += 1
        return n


def _column(name: str, values: list[Any]):
    import pyarrow as pa

    if name in MAP_KEYS:
        typ = pa.map_(pa.string(), getattr(pa, MAP_KEYS[name])())
        return pa.array([list(v.items()) if isinstance(v, dict) else None for v in values], type=typ)
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        arr = None
    if arr is None or _has_empty_struct(arr.type):
        # Mixed types across rows (hostile or foreign verdicts), or a struct with no field (Parquet
        # cannot store one): the column keeps its values as JSON text.
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values], type=pa.string())
    return arr


def _has_empty_struct(t) -> bool:
    import pyarrow as pa

    if pa.types.is_struct(t):
        return t.num_fields == 0 or any(_has_empty_struct(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _has_empty_struct(t.value_type)
    return False


def write_parquet(store: Store, out: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("parquet export needs pyarrow: pip install 'hf-repo-inspector[parquet]'") from None
    recs = list(records(store))
    keys: list[str] = []
    for v in recs:
        keys.extend(k for k in v if k not in keys)
    cols = {k: _column(k, [v.get(k) for v in recs]) for k in keys}
    declared = [v.get("declared") if isinstance(v.get("declared"), dict) else {} for v in recs]
    for k in ("lineage", "kind"):
        cols[f"declared_{k}"] = pa.array([d.get(k) if isinstance(d.get(k), str) else None for d in declared],
                                         type=pa.string())
    pq.write_table(pa.table(cols) if cols else pa.table({"target": pa.array([], pa.string())}), str(out))
    return len(recs)
