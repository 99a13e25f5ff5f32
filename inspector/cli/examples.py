"""Examples shown at the end of every command's --help: one home, checked by tests/test_cli.py
(every command has some, and each one parses)."""

from __future__ import annotations

import click

EXAMPLES: dict[str, list[str]] = {
    "": [
        "inspector inspect Qwen/Qwen2.5-7B-Instruct",
        "inspector audit --author Qwen --limit 200",
        "inspector report audit.sqlite -o report.html",
        "inspector rules test",
    ],
    "inspect": [
        "inspector inspect Qwen/Qwen2.5-7B-Instruct",
        "inspector inspect meta-llama/Llama-3.1-8B --revision main --token hf_xxx",
        "inspector inspect ./models/my-finetune --evidence all",
        "inspector inspect samples/* --json > verdicts.jsonl",
        "inspector inspect - < targets.txt",
        "inspector inspect samples/Qwen__Qwen-7B --explain",
        "inspector inspect ~/models/linked-finetune --follow-symlinks",
    ],
    "audit": [
        "inspector audit --author Qwen --author THUDM --limit 200 --workers 16",
        "inspector audit --from repos.txt --db audit.sqlite --token hf_xxx",
        "inspector audit --from - --db qwen.sqlite < repos.txt",
        "inspector audit --dir samples --follow-symlinks",
        "inspector audit --resume --db audit.sqlite",
    ],
    "audit export": [
        "inspector audit export --db audit.sqlite -o audit.jsonl",
        "inspector audit export --db audit.sqlite --format parquet -o audit.parquet",
        "inspector audit export --db audit.sqlite --json > audit.jsonl",
    ],
    "audit merge": ["inspector audit merge shard1.sqlite shard2.sqlite -o all.sqlite"],
    "report": [
        "inspector report audit.sqlite -o report.html",
        "inspector report audit.sqlite --format md --by author",
        "inspector report audit.sqlite --lineage qwen -o qwen.csv",
        "inspector report audit.sqlite --json > summary.json",
    ],
    "eval": [
        "inspector eval corpus",
        "inspector eval corpus --tags all --check",
        "inspector eval corpus --json",
    ],
    "rules": [
        "inspector rules validate my-rules/",
        "inspector rules test my-rules/ -k yi",
        "inspector rules new mylineage --dir my-rules",
    ],
    "rules validate": ["inspector rules validate", "inspector rules validate my-rules/ --strict",
                       "inspector rules validate --format github my-rules/", "inspector rules validate my-rules/ --json"],
    "rules test": ["inspector rules test", "inspector rules test my-rules/ -k yi -v",
                   "inspector rules test --junitxml report.xml", "inspector rules test --json > results.json"],
    "rules snapshot": ["inspector rules snapshot Qwen/Qwen2-7B -o my-rules/tests/qwen.yaml --expect lineage=qwen"],
    "rules new": ["inspector rules new mylineage --dir my-rules"],
    "rules schema": ["inspector rules schema > rules.schema.json"],
    "rules reference": ["inspector rules reference --write rules/README.md", "inspector rules reference --code W302"],
}


def commands(group: click.Group, prefix: str = ""):
    """(path, command) for `group` and every command under it, `""` for the root."""
    yield prefix, group
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}".strip()
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path)
        else:
            yield path, cmd


def add_examples(root: click.Group) -> None:
    for path, cmd in commands(root):
        lines = EXAMPLES.get(path)
        if lines:
            # \b keeps click from re-wrapping the lines into one paragraph.
            cmd.epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
