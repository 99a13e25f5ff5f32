"""source -> facts -> rules -> verdict, for one target or many."""

from __future__ import annotations

from pathlib import Path

from .declared import declared_of
from .engine import Outcomes, evaluate
from .errors import InspectorError, InvalidData, SettingsError, TargetNotFound, UsageError
from .facts import Facts, build_facts
from .formats.plan import HEADERS_MODES
from .readout import Snapshot
from .ruleset import RuleSet, load_ruleset
from .traits import compute_traits
from .transport.endpoint import check_env
from .verdict import Verdict, as_plain, verdict_for


def is_local(target: str) -> bool:
    """A path, not a Hub id: it exists, or it looks like a path (`./x`, `/x`, `~/x`, a weights file, more
    than one `/`), or its first folder exists here (`samples/nosuch`: a mistyped path is never looked up
    on the Hub)."""
    if "://" in target:  # a pasted Hub URL
        return False
    try:
        exists = Path(target).exists()
        first = target.split("/", 1)[0]
        local_parent = "/" in target and first not in ("", ".", "..") and Path(first).is_dir()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL: not a path here
        exists = local_parent = False
    return (exists or local_parent or target.startswith((".", "/", "~")) or "\\" in target or target.partition("@")[0].count("/") > 1
            or target.endswith((".safetensors", ".gguf", ".bin")))


class Inspector:
    """Holds the rules and the Hub client, so a batch loads and connects once."""

    def __init__(self, rules: RuleSet | None = None, *, extra_rules: list[Path] | None = None,
                 headers: str = "default", client=None, with_tokenizer: bool = False,
                 token: str | bool | None = None, raise_errors: bool = False, follow_symlinks: bool = False) -> None:
        """`token`: a Hub token (default: HF_TOKEN or the saved login, as huggingface_hub does);
        `raise_errors`: raise the typed error of a failed target (TargetNotFound, GatedTarget,
        NetworkError, InvalidData, UsageError) instead of returning a verdict with its status;
        `follow_symlinks`: in local folders, follow symlinks that leave the folder."""
        if headers not in HEADERS_MODES:
            raise UsageError(f"headers={headers!r}: must be one of {', '.join(map(repr, HEADERS_MODES))}")
        self.rules = rules or load_ruleset(extra_rules)
        self.headers = headers
        self.with_tokenizer = with_tokenizer  # read tokenizer files too (costs requests on the Hub)
        self.token = token
        self.raise_errors = raise_errors
        self.follow_symlinks = follow_symlinks
        self._client = client

    @property
    def client(self):
        if self._client is None:
            check_env()  # before huggingface_hub, which parses HF_ENDPOINT at import
            from .transport.http import HubClient  # huggingface_hub is imported only for Hub targets

            self._client = HubClient(token=self.token)
        return self._client

    def snapshot(self, target: str, *, info=None, revision: str | None = None) -> Snapshot:
        if is_local(target):
            if revision:
                raise UsageError("a revision applies to Hub repos, not to a local path", where=target)
            from .sources.local import read_local

            if not Path(target).exists() and "/" in target and Path(target.split("/", 1)[0]).is_dir():
                first = target.split("/", 1)[0]
                raise TargetNotFound(f"no such file or folder (a local path, since ./{first} is a folder here: "
                                     "not looked up on the Hub)", where=target)
            return read_local(target, headers=self.headers, with_tokenizer=self.with_tokenizer,
                              follow_symlinks=self.follow_symlinks)
        client = self.client  # first: it checks HF_ENDPOINT before huggingface_hub is imported
        from .sources.hub import read_hub

        if revision:
            if "@" in target:
                raise UsageError(f"two revisions: {target.partition('@')[2]!r} in the target and {revision!r}",
                                 where=target)
            target = f"{target}@{revision}"
        return read_hub(target, client, headers=self.headers, info=info, with_tokenizer=self.with_tokenizer)

    def judge(self, snap: Snapshot, only: set[str] | None = None, *, full: bool = True) -> tuple[Verdict, Facts, Outcomes]:
        """`full=False` skips the outcomes of rules that do not fire (only --explain shows those)."""
        facts = build_facts(snap, self.rules.facts)
        outcomes = evaluate(facts, self.rules, only, full=full)
        declared = declared_of(snap.config, snap.card, self.rules)
        verdict = verdict_for(snap, facts, outcomes, declared, self.rules.bases, self.rules.base_weight)
        verdict.traits = {name: as_plain(t) for name, t in compute_traits(facts, self.rules, full=full, after=outcomes)[0].items()}
        return verdict, facts, outcomes

    def examine(self, target: str, *, info=None, full: bool = True,
                revision: str | None = None) -> tuple[Verdict, Outcomes | None]:
        """The verdict and every rule's outcome (None when the target failed). A bad target gives a
        verdict with a typed status and a one-line error, or, with `raise_errors`, its typed error."""
        try:
            verdict, _facts, outcomes = self.judge(self.snapshot(target, info=info, revision=revision), full=full)
        except SettingsError:
            raise  # the account's token, not this target: one error for the whole batch
        except InspectorError as e:
            if self.raise_errors:
                raise
            return self._failed(target, e.status, e.one_line()), None
        except Exception as e:  # a bug must cost one target, not the batch
            if self.raise_errors:
                raise
            error = f"{target}: internal error: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
            return self._failed(target, "invalid", error), None
        if self.raise_errors and not verdict.ok:  # a config or header read but refused
            raise InvalidData(verdict.error or "invalid", where=None if (verdict.error or "").startswith(target) else target)
        return verdict, outcomes

    @staticmethod
    def _failed(target: str, status: str, error: str) -> Verdict:
        """A failed target's verdict, in the contract's full shape (it says where it was looked for)."""
        return Verdict(target=target, status=status, error=error, source="local" if is_local(target) else "hub")

    def inspect(self, target: str, *, info=None, revision: str | None = None) -> Verdict:
        """The verdict for one target (see `examine` for a bad target)."""
        return self.examine(target, info=info, full=False, revision=revision)[0]


def inspect(target: str, *, revision: str | None = None, token: str | bool | None = None,
            rules: list[str | Path] | None = None, headers: str = "default", with_tokenizer: bool = False,
            raise_errors: bool = False) -> Verdict:
    """Inspect one repo (`org/name[@rev]`), model folder or .safetensors file.

    `revision` (a branch, tag or commit) and `token` work as in huggingface_hub; with `raise_errors`
    a failed target raises its typed error (see inspector.errors) instead of returning a verdict
    whose `status` says what failed. `str(verdict)` is the text the command line prints."""
    insp = Inspector(extra_rules=[Path(r) for r in rules or []], headers=headers, with_tokenizer=with_tokenizer,
                     token=token, raise_errors=raise_errors)
    return insp.inspect(target, revision=revision)
