"""E129: a `condition` naming a selection that `match` does not define."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E129",
    severity="error",
    title='a `condition` naming a selection that `match` does not define',
    passing=RULES,
    failing=RULES + """\
    condition: vocab or vocabs
""",
    at=(13, 16),
    at_file='rules.yaml',
)
