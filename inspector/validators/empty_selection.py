"""E140: a selection that is neither a predicate nor a non-empty list of predicates."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E140",
    severity="error",
    title='a selection that is neither a predicate nor a non-empty list of predicates',
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
      vocab: []
""",
    at=(10, 14),
    at_file='rules.yaml',
)
