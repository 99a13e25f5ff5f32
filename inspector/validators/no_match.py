"""E127: a rule without a `match:` mapping of named selections."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E127",
    severity="error",
    title='a rule without a `match:` mapping of named selections',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
""",
    at=(7, 5),
    at_file='rules.yaml',
)
