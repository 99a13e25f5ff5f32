"""What the Hub says of a repo, from its model_info answer or its listing entry: the fields an audit reads.

Ours, not huggingface_hub's ModelInfo: importing `huggingface_hub.hf_api` for it cost every audit
0.1 s of start-up, and building one (card data, siblings, dates) cost each repo twice, in the lister
and in the child that read it back from the queue.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .repoid import is_sha

# The listing fields kept with each row (the study's time windows, popularity), as the Hub names them.
LISTING_FIELDS = ("downloads", "likes", "createdAt", "lastModified")

_WHEN = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")


class BadInfo(ValueError):
    """A field the inspection needs has a shape no Hub answer has: the caller words it."""


@dataclass(frozen=True, slots=True)
class RepoInfo:
    id: str
    sha: str | None = None
    files: tuple[str, ...] | None = None  # the siblings' names; None: the answer did not list them
    gated: bool | str | None = None  # False, or how access is granted ("auto", "manual")
    private: bool | None = None
    tags: tuple[str, ...] = ()
    card: dict[str, Any] | None = None  # the card's metadata (cardData), its None values left out
    params: dict[str, int] | None = None  # `safetensors`: parameters per dtype, and "total"
    author: str | None = None
    downloads: int | None = None
    likes: int | None = None
    created_at: str | None = None  # ISO 8601 in UTC, "Z"
    last_modified: str | None = None

    @classmethod
    def from_hub(cls, doc: dict[str, Any]) -> RepoInfo:
        """From a model_info answer or a listing entry; BadInfo when `id`, `siblings` or `safetensors`
        is malformed (the fields the inspection trusts). Other odd fields are dropped, not fatal."""
        rid = doc.get("id", doc.get("modelId"))
        if not isinstance(rid, str):
            raise BadInfo("id")
        siblings = doc.get("siblings")
        files = None
        if siblings is not None:
            if not isinstance(siblings, list) or not all(isinstance(s, dict) and "rfilename" in s for s in siblings):
                raise BadInfo("siblings")
            files = tuple(s["rfilename"] for s in siblings if isinstance(s["rfilename"], str))
        card = doc.get("cardData")
        tags = doc.get("tags")
        return cls(
            id=rid,
            sha=doc["sha"] if isinstance(doc.get("sha"), str) else None,
            files=files,
            gated=doc["gated"] if isinstance(doc.get("gated"), (bool, str)) else None,
            private=doc["private"] if isinstance(doc.get("private"), bool) else None,
            tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
            card={k: v for k, v in card.items() if v is not None} if isinstance(card, dict) else None,
            params=_params(doc.get("safetensors")),
            author=doc["author"] if isinstance(doc.get("author"), str) else None,
            downloads=_count(doc.get("downloads")),
            likes=_count(doc.get("likes")),
            created_at=_when(doc.get("createdAt")),
            last_modified=_when(doc.get("lastModified")),
        )

    @property
    def usable_sha(self) -> str | None:
        """The commit sha, when it is one (40 hex digits)."""
        return self.sha if is_sha(self.sha) else None

    def listing_fields(self) -> dict[str, Any]:
        """downloads, likes, createdAt, lastModified (None where the Hub gave none)."""
        return {"downloads": self.downloads, "likes": self.likes, "createdAt": self.created_at,
                "lastModified": self.last_modified}

    def to_json(self) -> str:
        """What --resume needs to read the repo again without a model_info call (no secrets in it)."""
        doc = {"id": self.id, "author": self.author, "sha": self.sha, "gated": self.gated, "private": self.private,
               "tags": list(self.tags), "cardData": self.card,
               "siblings": None if self.files is None else [{"rfilename": f} for f in self.files],
               "safetensors": None if self.params is None else {
                   "parameters": {k: v for k, v in self.params.items() if k != "total"},
                   "total": self.params.get("total")},
               **self.listing_fields()}
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RepoInfo:
        return cls.from_hub(json.loads(text))


def _params(st: Any) -> dict[str, int] | None:
    """`safetensors` as the inspection reads it: integer counts per dtype, and the total."""
    if not st:
        return None
    if not isinstance(st, dict) or "parameters" not in st or "total" not in st:
        raise BadInfo("safetensors")
    per = st["parameters"]
    if not isinstance(per, dict):
        return None
    out = {k: v for k, v in per.items() if _count(v) is not None}
    if _count(st["total"]) is not None:
        out["total"] = st["total"]
    return out or None


def _count(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _when(v: Any) -> str | None:
    """A Hub timestamp as ISO 8601 in UTC ending in Z (fractions to the microsecond), None if it is none."""
    m = _WHEN.fullmatch(v) if isinstance(v, str) else None
    if m is None:
        return None
    base, frac, zone = m.groups()
    try:
        when = datetime.fromisoformat(f"{base}.{(frac or '')[:6]:0<6}{'+00:00' if zone in (None, 'Z') else zone}")
    except ValueError:  # 2024-13-45
        return None
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
