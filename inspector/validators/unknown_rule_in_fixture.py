"""E165: a fixture expecting an outcome of a rule that does not exist."""

from . import Check
from .examples import RULES, RULES_AND_FIXTURES

CHECK = Check(
    code="E165",
    severity="error",
    title='a fixture expecting an outcome of a rule that does not exist',
    passing=RULES_AND_FIXTURES,
    failing={
        'rules.yaml': RULES,
        'tests/f.yaml': """\
fixtures:
  - id: f.qwen
    expect: {lineage: qwen}
    config: {"vocab_size": 151936}
    rules: {t.vocb: match}
    tensors:
      model.embed_tokens.weight: [BF16, [151936, 896]]
""",
    },
    at=(5, 13),
    at_file='tests/f.yaml',
)
