"""The one home of Hub repo ids and revisions: what a user may type, what a list file may hold.

Accepted: `org/name`, `name` (the Hub's old ids without a namespace: `gpt2`, `bert-base-uncased`),
either with `@revision`, and a pasted `https://huggingface.co/org/name[/tree/revision]` (also `hf.co`
and the configured endpoint's host). Refused: anything that could leave a path or a URL (`..`, `--`,
separators), revisions outside the Hub's characters, and a "sha" that is not exactly 40 lowercase hex
digits (`re.match` with `$` would let a trailing newline through: every check here is a fullmatch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .errors import UsageError

_PART = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}"
_NAME = re.compile(rf"(?:{_PART}/)?[A-Za-z0-9_.\-]{{1,96}}", re.ASCII)
_REVISION = re.compile(r"[A-Za-z0-9_.\-/]{1,200}", re.ASCII)
SHA = re.compile(r"[0-9a-f]{40}", re.ASCII)
HUB_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})


def is_sha(text: object) -> bool:
    """Exactly 40 lowercase hex digits: nothing before, nothing after (no newline either)."""
    return isinstance(text, str) and SHA.fullmatch(text) is not None


def valid_repo_id(repo: str) -> bool:
    return (_NAME.fullmatch(repo) is not None and ".." not in repo and "--" not in repo
            and not repo.endswith((".", "-")) and not repo.split("/")[-1].startswith((".", "-")))


def valid_revision(rev: str) -> bool:
    return (_REVISION.fullmatch(rev) is not None and ".." not in rev and "//" not in rev
            and not rev.startswith("/") and not rev.endswith("/"))


@dataclass(frozen=True)
class RepoRef:
    """A Hub model repo and the revision asked for (None: the default branch)."""

    repo_id: str
    revision: str | None = None

    @property
    def sha(self) -> str | None:
        return self.revision if is_sha(self.revision) else None

    @property
    def target(self) -> str:
        return f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id

    def __str__(self) -> str:
        return self.target

    @classmethod
    def parse(cls, text: str, *, endpoint: str | None = None) -> RepoRef:
        """Read a target as typed or pasted; UsageError (one line, naming it) when it is none."""
        where = text[:200]
        raw = text  # not stripped: `org/x@<sha>\n` is refused, not read as the sha (list files strip their lines)
        if "://" in raw:
            raw = _from_url(raw, where, endpoint)
        repo, sep, rev = raw.partition("@")
        if not valid_repo_id(repo):
            raise UsageError("not a Hub repo id (expected org/name or name) nor an existing path", where=where)
        if sep and not valid_revision(rev):
            raise UsageError("not a valid revision", where=where)
        return cls(repo, rev or None)


def _from_url(url: str, where: str, endpoint: str | None) -> str:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise UsageError("not a Hub URL", where=where) from None
    hosts = set(HUB_HOSTS)
    if endpoint:
        hosts.add((urlsplit(endpoint).hostname or "").lower())
    if parts.scheme not in ("http", "https") or host not in hosts:
        raise UsageError("not a Hub model URL (expected https://huggingface.co/org/name)", where=where)
    segs = [s for s in parts.path.split("/") if s]
    if segs and segs[0] in ("datasets", "spaces"):
        raise UsageError("a dataset or Space, not a model repo", where=where)
    if segs and segs[0] == "models":
        segs = segs[1:]
    # org/name, name, then optional /tree/<rev> (or /blob|/resolve/<rev>/<file>: the file is dropped)
    n = 2 if len(segs) >= 2 and segs[1] not in ("tree", "blob", "resolve") else 1
    repo, rest = "/".join(segs[:n]), segs[n:]
    if not rest:
        return repo
    if rest[0] in ("tree", "blob", "resolve") and len(rest) >= 2:
        return f"{repo}@{unquote(rest[1])}"
    raise UsageError("not a Hub model URL (expected https://huggingface.co/org/name[/tree/revision])", where=where)


def split(text: str) -> tuple[str, str, str | None]:
    """(repo, sha or "", other revision or None) of a list entry; an entry that is no valid id is
    kept as typed, to end as its own `invalid` row rather than stop the whole list."""
    try:
        ref = RepoRef.parse(text)
    except UsageError:
        repo, _, rev = text.strip().partition("@")
        return repo, "", rev or None
    return ref.repo_id, ref.sha or "", None if ref.sha else ref.revision
