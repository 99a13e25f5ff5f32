"""E120: a list or mapping expected where something else stands."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E120",
    severity="error",
    title='a list or mapping expected where something else stands',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules: {t.vocab: qwen}
""",
    at=(6, 8),
    at_file='rules.yaml',
)
