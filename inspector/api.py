"""source -> facts -> rules -> verdict, for one target or many."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from .declared import declared_of
from .engine import Evaluation, evaluate
from .errors import InspectorError
from .facts import Facts, build_facts
from .ruleset import RuleSet, load_ruleset
from .snapshot import Snapshot
from .sources.plan import HEADERS_MODES
from .traits import compute_traits
from .verdict import Verdict, decide


def is_local(target: str) -> bool:
    try:
        exists = Path(target).exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL: not a path here
        exists = False
    return exists or target.startswith((".", "/", "~")) or "\\" in target or target.endswith((".safetensors", ".gguf", ".bin"))


class Inspector:
    """Holds the rules and the Hub client, so a batch loads and connects once."""

    def __init__(self, rules: RuleSet | None = None, *, extra_rules: list[Path] | None = None,
                 headers: str = "default", client=None, with_tokenizer: bool = False) -> None:
        if headers not in HEADERS_MODES:
            from .errors import UsageError

            raise UsageError(f"--headers must be one of {', '.join(HEADERS_MODES)}")
        self.rules = rules or load_ruleset(extra_rules)
        self.headers = headers
        self.with_tokenizer = with_tokenizer  # read tokenizer files too (costs requests on the Hub)
        self._client = client

    @property
    def client(self):
        if self._client is None:
            from .sources.http import HubClient  # huggingface_hub is imported only for Hub targets

            self._client = HubClient()
        return self._client

    def snapshot(self, target: str, *, info=None) -> Snapshot:
        if is_local(target):
            from .sources.local import read_local

            return read_local(target, headers=self.headers, with_tokenizer=self.with_tokenizer)
        from .sources.hub import read_hub

        return read_hub(target, self.client, headers=self.headers, info=info, with_tokenizer=self.with_tokenizer)

    def judge(self, snap: Snapshot, only: set[str] | None = None, *, full: bool = True) -> tuple[Verdict, Facts, Evaluation]:
        """`full=False` skips the outcomes of rules that do not fire (only --explain shows those)."""
        facts = build_facts(snap, self.rules.facts)
        evaluation = evaluate(facts, self.rules, only, full=full)
        declared = declared_of(snap.config, snap.card, self.rules)
        verdict = decide(snap, facts, evaluation, declared, self.rules.bases, self.rules.base_weight)
        verdict.traits = {name: asdict(t) for name, t in compute_traits(facts, self.rules, full=full)[0].items()}
        return verdict, facts, evaluation

    def examine(self, target: str, *, info=None, full: bool = True) -> tuple[Verdict, Evaluation | None]:
        """The verdict and every rule's outcome (None when the target failed). Never raises for a
        bad target: the verdict carries a typed status and a one-line error."""
        try:
            verdict, _facts, evaluation = self.judge(self.snapshot(target, info=info), full=full)
            return verdict, evaluation
        except InspectorError as e:
            return Verdict(target=target, status=e.status, error=e.one_line()), None
        except Exception as e:  # a bug must cost one target, not the batch
            error = f"{target}: internal error: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
            return Verdict(target=target, status="invalid", error=error), None

    def inspect(self, target: str, *, info=None) -> Verdict:
        """The verdict for one target; never raises for a bad target (see `examine`)."""
        return self.examine(target, info=info, full=False)[0]


def inspect(target: str, *, rules: list[str | Path] | None = None, headers: str = "default",
            with_tokenizer: bool = False) -> Verdict:
    """Inspect one repo (`org/name[@rev]`), model folder or .safetensors file."""
    return Inspector(extra_rules=[Path(r) for r in rules or []], headers=headers, with_tokenizer=with_tokenizer).inspect(target)
