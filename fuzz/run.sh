#!/usr/bin/env bash
# Run every atheris target for a bounded time:  fuzz/run.sh [SECONDS_EACH=150] [TARGET...]
# Targets: header index judge rules binreaders pickle listing ratelimit store hubwire. Corpora live in fuzz/corpus-<target>/ (git-ignored), seeded
# from samples/ and rules/ on first use; crashes, OOMs and timeouts are written to
# fuzz/corpus-findings/<target>/ with the log of the last run. Memory is capped at 2 GB, one input
# at 10 s (60 s for pickle). Exit status 1 when any target left a finding.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
secs="${1:-150}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(header index judge rules binreaders pickle listing ratelimit store hubwire)
py="${PYTHON:-$repo/.venv/bin/python}"
[ -x "$py" ] || py="$(command -v python3)"

seed() {  # seed <target> <dir>: copy real inputs as the starting corpus
    local t="$1" d="$2" pattern
    mkdir -p "$d"
    [ -z "$(ls -A "$d")" ] || return 0
    if [ "$t" = binreaders ]; then  # first byte: 0 torch zip, 1 pickle, 2 GGUF, 3 tokenizer.json, 4 tokenizer_config
        find "$repo/samples" \( -name '*.bin' -o -name '*.gguf' \) | sort | head -12 | while read -r f; do
            case "$f" in *.gguf) m='\002' ;; *) m='\000' ;; esac
            { printf "$m"; head -c 65000 "$f"; } >"$d/$(printf '%s' "$f" | md5sum | cut -c1-16)"
        done || true
        printf '\003{"version": "1.0", "added_tokens": [{"id": 0, "content": "<s>", "special": true}], "model": {"type": "BPE"}}' >"$d/tok"
        printf '\004{"bos_token": "<s>", "added_tokens_decoder": {"0": {"content": "<s>"}}, "chat_template": "{{ x }}"}' >"$d/tokcfg"
        return 0
    fi
    if [ "$t" = hubwire ]; then  # first byte: 0 listing page, 1 RateLimit, 2 Retry-After, 3 Link, 4 target
        printf '\000[{"id": "org/a", "sha": "%040d", "siblings": [{"rfilename": "config.json"}]}, null, "x"]' 0 >"$d/page"
        printf '\001"api";r=999;t=120' >"$d/ratelimit"
        printf '\002Wed, 21 Oct 2099 07:28:00 GMT' >"$d/retry"
        printf '\003<http://127.0.0.1:1/api/models?cursor=2>; rel="next"' >"$d/link"
        printf '\004https://huggingface.co/org/name/tree/refs%%2Fpr%%2F1' >"$d/target"
        return 0
    fi
    case "$t" in
        pickle)  # a program of opcode groups (see fuzz_pickle.py): any bytes will do to start
            printf '\000\001\002\003\004\005\006\007' >"$d/seed"; return 0 ;;
        listing)
            printf '[{"id": "org/m", "sha": "0123456789abcdef0123456789abcdef01234567", "siblings": [{"rfilename": "config.json"}], "tags": ["x"], "gated": false, "cardData": {"base_model": "a/b"}, "safetensors": {"parameters": {"BF16": 10}, "total": 10}}]' >"$d/seed"
            printf '["org/m", null, {"id": "a/b", "siblings": "config.json"}]' >"$d/malformed"; return 0 ;;
        ratelimit)
            printf '"api";r=500;t=300\000120' >"$d/seed"
            { printf '"api";r='; head -c 5000 /dev/zero | tr '\0' 9; printf ';t=1\0001'; } >"$d/long"; return 0 ;;
        store) "$py" "$here/fuzz_store.py" --seed "$d" 2>/dev/null; return 0 ;;
        header) pattern='*.safetensors' ;;
        index) pattern='*.index.json' ;;
        judge) pattern='config.json' ;;
        rules) pattern='*.yaml' ;;
    esac
    find "$repo/samples" "$repo/rules" -name "$pattern" -size -64k | sort | head -60 | while read -r f; do
        cp "$f" "$d/$(printf '%s' "$f" | md5sum | cut -c1-16)"
    done || true
}

status=0
for t in "${targets[@]}"; do
    corpus="$here/corpus-$t"
    out="$here/corpus-findings/$t"
    seed "$t" "$corpus"
    mkdir -p "$out"
    extra=()
    # A pickle program unrolls to 100k opcodes: instrumented, on a busy machine, that takes 10-20 s.
    tmo=10; [ "$t" = pickle ] && tmo=60
    [ -f "$here/$t.dict" ] && extra+=("-dict=$here/$t.dict")
    echo "== $t: ${secs}s, corpus $(ls "$corpus" | wc -l) inputs" >&2
    # SURVEY=1: go on past findings, one input per distinct finding in $out/survey (see README).
    [ "${SURVEY:-0}" = 1 ] && export FUZZ_COLLECT="$out/survey" || unset FUZZ_COLLECT
    "$py" "$here/fuzz_$t.py" "$corpus" -max_total_time="$secs" -rss_limit_mb=2048 -timeout="$tmo" -max_len=65536 \
        -artifact_prefix="$out/" -print_final_stats=1 "${extra[@]}" >"$out/last.log" 2>&1 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|^#[0-9]+ +DONE|ERROR: libFuzzer|^=== Uncaught' "$out/last.log" | awk '!seen[$0]++' >&2 || true
    grep -h '^=== finding' "$out/last.log" >&2 || true
    # One test per kind: `ls a* b*` fails when any one pattern matches nothing, which hid a crash-* file.
    found=0
    for pat in "$out"/crash-* "$out"/oom-* "$out"/timeout-* "$out"/survey/finding-*; do
        [ -e "$pat" ] && found=1
    done
    if [ "$found" = 1 ]; then
        echo "!! $t: findings in $out (reproduce: $py $here/fuzz_$t.py <file>)" >&2
        status=1
    fi
done
exit $status
