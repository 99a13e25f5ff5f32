"""E161: a fixture without an `id`, or the same id twice in one layer."""

from . import Check
from .examples import RULES, RULES_AND_FIXTURES

CHECK = Check(
    code="E161",
    severity="error",
    title='a fixture without an `id`, or the same id twice in one layer',
    passing=RULES_AND_FIXTURES,
    failing={
        'rules.yaml': RULES,
        'tests/f.yaml': """\
fixtures:
  - expect: {lineage: qwen}
    config: {"vocab_size": 151936}
    tensors:
      model.embed_tokens.weight: [BF16, [151936, 896]]
""",
    },
    at=(2, 5),
    at_file='tests/f.yaml',
)
