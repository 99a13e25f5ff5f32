"""E128: a `condition` that does not parse (the column points into it)."""

from . import Check
from .examples import RULES

CHECK = Check(
    code="E128",
    severity="error",
    title='a `condition` that does not parse (the column points into it)',
    passing=RULES,
    failing=RULES + """\
    condition: vocab and (
""",
    at=(13, 26),
    at_file='rules.yaml',
)
