"""E142: `use:` names a fragment that does not exist."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E142",
    severity="error",
    title='`use:` names a fragment that does not exist',
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
        - use: f.vocab
""",
    at=(11, 16),
    at_file='rules.yaml',
)
