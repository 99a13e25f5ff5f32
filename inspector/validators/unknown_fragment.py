"""E142: `use:` names a fragment that does not exist."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E142",
    severity="error",
    title='`use:` names a fragment that does not exist',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - use: f.vocab
""",
    at=(11, 16),
    at_file='rules.yaml',
)
