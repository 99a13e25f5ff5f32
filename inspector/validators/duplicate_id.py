"""E201: the same rule, fragment or base id twice in one layer (the shipped rules, or your paths)."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E201",
    severity="error",
    title='the same rule, fragment or base id twice in one layer (the shipped rules, or your paths)',
    passing=RULES,
    failing=RULES + """\
  - id: t.vocab
    lineage: llama
    match: {v: {fact: vocab_size, in: [32000]}}
""",
    at=(13, 9),
    at_file='rules.yaml',
)
