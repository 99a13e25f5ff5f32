"""E145: a subject that names nothing (not a non-empty string)."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E145",
    severity="error",
    title='a subject that names nothing (not a non-empty string)',
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
        - fact: ''
          in: [151936]
""",
    at=(11, 17),
    at_file='rules.yaml',
)
