"""E162: a fixture tensor that is not `[DTYPE, [shape]]` or null, or a range that expands too far."""

from . import Check
from .examples import RULES, RULES_AND_FIXTURES

CHECK = Check(
    code="E162",
    severity="error",
    title='a fixture tensor that is not `[DTYPE, [shape]]` or null, or a range that expands too far',
    passing=RULES_AND_FIXTURES,
    failing={
        'rules.yaml': RULES,
        'tests/f.yaml': """\
fixtures:
  - id: f.qwen
    expect: {lineage: qwen}
    config: {"vocab_size": 151936}
    tensors:
      model.embed_tokens.weight: 5
""",
    },
    at=(6, 34),
    at_file='tests/f.yaml',
)
