"""E131: `extends` loops back to a rule of the chain, or chains more than 16 rules."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E131",
    severity="error",
    title='`extends` loops back to a rule of the chain, or chains more than 16 rules',
    passing=RULES,
    failing=RULES + """\
  - id: t.a
    extends: t.b
  - id: t.b
    extends: t.a
""",
    at=(14, 14),
    at_file='rules.yaml',
)
