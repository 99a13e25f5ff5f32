"""E143: fragments that nest too deeply (or loop)."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E143",
    severity="error",
    title='fragments that nest too deeply (or loop)',
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
        - use: f.loop
fragments:
  - id: f.loop
    predicates:
      - use: f.loop
""",
    at=(15, 14),
    at_file='rules.yaml',
)
