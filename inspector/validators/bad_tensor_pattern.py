"""E147: a tensor pattern that does not compile (empty component, unknown placeholder, too long)."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E147",
    severity="error",
    title='a tensor pattern that does not compile (empty component, unknown placeholder, too long)',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - tensor: layers..q_proj
""",
    at=(11, 19),
    at_file='rules.yaml',
)
