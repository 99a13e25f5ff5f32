"""W303: a regex with a nested quantifier such as `(a+)+`: linear on RE2, catastrophic on backtracking engines."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="W303",
    severity="warning",
    title='a regex with a nested quantifier such as `(a+)+`: linear on RE2, catastrophic on backtracking engines',
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
          matches: '(q+)+wen'
""",
    at=(12, 20),
    at_file='rules.yaml',
)
