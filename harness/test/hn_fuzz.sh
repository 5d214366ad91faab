#!/usr/bin/env bash
# hn_fuzz.sh: a bounded libFuzzer session of harness/test/hn_fuzz.c; prints executions, coverage
# and crashes, and fails if there is a crash.
# Usage: hn_fuzz.sh FUZZER RUNS DIR [JOBS [fresh]]
#   DIR holds seeds/ and hn_fuzz.dict (hn_fuzz_seeds.py). RUNS executions in all, in JOBS
#   processes at once (default 1). Inputs that add coverage are kept, minimised, in DIR/corpus/
#   from one session to the next; `fresh` starts from the seeds alone and keeps nothing.
#   Crashes go to DIR/crash-*.
set -u
if [ $# -lt 3 ]; then
    sed -n 's/^# Usage: /usage: /p' "$0"
    exit 2
fi
fuzzer=$(realpath "$1")
runs=$2
dir=$3
jobs=${4:-1}
cd "$dir" || exit 2
rm -rf fuzz-*.log crash-* leak-* timeout-* oom-* corpus.fresh corpus.min
corpus=corpus
if [ "${5:-}" = fresh ]; then
    corpus=corpus.fresh
fi
mkdir -p "$corpus"
start=$(date +%s)
# -jobs: each job is a child process logging to fuzz-N.log; -runs counts per job
"$fuzzer" -jobs="$jobs" -workers="$jobs" -runs=$(((runs + jobs - 1) / jobs)) -max_len=4200 -timeout=10 \
    -dict=hn_fuzz.dict -artifact_prefix=./ -print_final_stats=1 "$corpus" seeds >/dev/null 2>&1
secs=$(($(date +%s) - start))
execs=$(awk '/^stat::number_of_executed_units:/ { n += $2 } END { print n + 0 }' fuzz-*.log)
cov=$(awk '/(DONE|pulse|NEW|REDUCE) +cov:/ { for (i = 1; i < NF; i++) { if ($i == "cov:" && $(i+1) > c) c = $(i+1); if ($i == "ft:" && $(i+1) > f) f = $(i+1) } } END { print "cov " c + 0 ", ft " f + 0 }' fuzz-*.log)
crashes=$(ls crash-* leak-* timeout-* oom-* 2>/dev/null | wc -l)
if [ "$crashes" -eq 0 ] && [ "$corpus" = corpus ]; then
    # keep the corpus small: only inputs that add coverage
    mkdir corpus.min && "$fuzzer" -merge=1 corpus.min corpus >/dev/null 2>&1 && rm -rf corpus && mv corpus.min corpus
fi
kept=$(ls "$corpus" 2>/dev/null | wc -l)
rm -rf corpus.fresh corpus.min
echo "fuzz: $execs executions in ${secs}s ($((execs / (secs > 0 ? secs : 1)))/s, $jobs jobs), $cov, corpus $kept inputs, $crashes crashes"
if [ "$crashes" -gt 0 ]; then
    grep -h -E '^hn_fuzz\.c:[0-9]+: |^SUMMARY|ERROR: ' fuzz-*.log | head -n 20
    ls "$PWD"/crash-* "$PWD"/leak-* "$PWD"/timeout-* "$PWD"/oom-* 2>/dev/null
    echo "fuzz: reproduce with $fuzzer FILE; minimise with $fuzzer -minimize_crash=1 -runs=100000 FILE"
    exit 1
fi
