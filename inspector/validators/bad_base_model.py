"""E123: a base model without `id`, `lineage` or a non-empty `fingerprint`."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E123",
    severity="error",
    title='a base model without `id`, `lineage` or a non-empty `fingerprint`',
    passing=RULES,
    failing=RULES + """\
bases:
  - id: org/base
    lineage: qwen
""",
    at=(14, 5),
    at_file='rules.yaml',
)
