"""E149: a `fact` or `config` predicate without an operator."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E149",
    severity="error",
    title='a `fact` or `config` predicate without an operator',
    passing=RULES,
    failing="""\
facts:
  vocab_size: [vocab_size]
  hidden_size: [hidden_size]
  num_layers: [num_hidden_layers]
  num_heads: [num_attention_heads]
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - fact: vocab_size
""",
    at=(11, 11),
    at_file='rules.yaml',
)
