"""E130: `extends` names a rule that does not exist."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E130",
    severity="error",
    title='`extends` names a rule that does not exist',
    passing=RULES,
    failing=RULES + """\
  - id: t.child
    extends: t.vocb
""",
    at=(14, 14),
    at_file='rules.yaml',
)
