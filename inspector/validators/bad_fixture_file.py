"""E160: a fixture file or fixture of the wrong shape (not a `fixtures:` list, a field of the wrong type)."""

from . import Check
from .examples import RULES, RULES_AND_FIXTURES

CHECK = Check(
    code="E160",
    severity="error",
    title='a fixture file or fixture of the wrong shape (not a `fixtures:` list, a field of the wrong type)',
    passing=RULES_AND_FIXTURES,
    failing={
        'rules.yaml': RULES,
        'tests/f.yaml': """\
fixtures: {f.qwen: 1}
""",
    },
    at=(1, 11),
    at_file='tests/f.yaml',
)
