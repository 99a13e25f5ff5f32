#!/usr/bin/env bash
# Run every atheris target for a bounded time: fuzz/run.sh [SECONDS_EACH=150] [TARGET...]
# Corpora live in fuzz/corpus-<target>/ (git-ignored), seeded from samples/ and rules/;
# crashes are written to fuzz/findings/<target>/. Memory is capped at 2 GB per target.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
secs="${1:-150}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(header index judge rules)
py="${PYTHON:-$repo/.venv/bin/python}"
[ -x "$py" ] || py="$(command -v python3)"

seed() {  # seed <target> <dir>
    local t="$1" d="$2"
    mkdir -p "$d"
    [ -n "$(ls -A "$d")" ] && return 0
    case "$t" in
        header) find "$repo/samples" -name '*.safetensors' -size -64k | head -40 | while read -r f; do cp "$f" "$d/$(echo "$f" | md5sum | cut -c1-16)"; done || true ;;
        index) find "$repo/samples" -name '*.index.json' | while read -r f; do cp "$f" "$d/$(echo "$f" | md5sum | cut -c1-16)"; done ;;
        judge) find "$repo/samples" -name 'config.json' | while read -r f; do cp "$f" "$d/$(echo "$f" | md5sum | cut -c1-16)"; done ;;
        rules) for f in "$repo"/rules/*.yaml; do cp "$f" "$d/$(basename "$f")"; done ;;
    esac
}

status=0
for t in "${targets[@]}"; do
    corpus="$here/corpus-$t"
    out="$here/findings/$t"
    seed "$t" "$corpus"
    mkdir -p "$out"
    echo "== $t: ${secs}s" >&2
    # -timeout: one input may not take more than 10 s; -rss_limit_mb: memory bounded.
    if ! "$py" "$here/fuzz_$t.py" "$corpus" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -max_len=65536 -artifact_prefix="$out/" -print_final_stats=1 2>&1 | tee "$out/last.log" | grep -E '^(#[0-9]+ +DONE|stat::|==[0-9]+==|Uncaught|.*Error)' ; then
        :
    fi
    if ls "$out"/crash-* "$out"/oom-* "$out"/timeout-* >/dev/null 2>&1; then
        echo "!! $t: findings in $out" >&2
        status=1
    fi
done
exit $status
