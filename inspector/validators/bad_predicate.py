"""E141: a predicate that is not a mapping, or a `use:` with other keys."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E141",
    severity="error",
    title='a predicate that is not a mapping, or a `use:` with other keys',
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
        - vocab_size
""",
    at=(11, 11),
    at_file='rules.yaml',
)
