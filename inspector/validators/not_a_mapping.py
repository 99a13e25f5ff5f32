"""E110: a rule file whose top level is not a mapping."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E110",
    severity="error",
    title='a rule file whose top level is not a mapping',
    passing=RULES,
    failing="""\
- rules
- facts
""",
    at=(1, 1),
    at_file='rules.yaml',
)
