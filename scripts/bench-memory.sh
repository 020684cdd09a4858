#!/usr/bin/env bash
# Resident memory after one request, and the time from start to ready, side by side in one run:
# llama-server with its defaults (mmap), llama-server --no-mmap, and sotto serve, on the same GGUF,
# threads, slots and context (issue 23's memory goal: Sotto <= 0.6x the default, <= 1.0x --no-mmap).
#
#   MODEL=model.gguf LLAMA_SERVER=/path/to/llama-server scripts/bench-memory.sh
#
# The file is read once first, so every server starts with it in the page cache (warm). Each server
# runs alone; ROUNDS rounds (default 2) alternate the three. One request is `sotto bench load
# --concurrency 1 --requests 1 --max-tokens 16` (OpenAI SSE for llama-server, E2EE for Sotto); then
# VmRSS, RssAnon and RssFile are read from /proc/PID/status. Prints a table (MiB, seconds).
# Settings: THREADS (2), SLOTS (8), CONTEXT per slot (512), D work directory.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
S=${SOTTO:-$(pwd)/bin/sotto}; D=${D:-/tmp/memory}; MODEL=$(realpath "${MODEL:?}")
LLAMA_SERVER=${LLAMA_SERVER:?build llama-server at the pinned commit: docs/benchmarks.md}
THREADS=${THREADS:-2}; SLOTS=${SLOTS:-8}; CONTEXT=${CONTEXT:-512}; ROUNDS=${ROUNDS:-2}
rm -rf $D; mkdir -p $D; cd $D
. "$HERE/bench-setup.sh"
cat "$MODEL" >/dev/null
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null' EXIT
kib() { awk -v k="$1:" '$1 == k { printf "%.0f", $2 / 1024 }' /proc/$pid/status; }
measure() { # name, ready URL, load flags, then the command
  local name=$1 ready=$2 flags=$3; shift 3
  local t0; t0=$(date +%s.%N)
  "$@" 2>$name.log & pid=$!
  until curl -sf "$ready" >/dev/null; do sleep 0.05; done
  local up; up=$(echo "$(date +%s.%N) - $t0" | bc)
  $S bench load $flags --concurrency 1 --requests 1 --prompt-words 16 --max-tokens 16 --no-progress --json $name.json
  printf '| %s | %s | %s | %s | %.2f |\n' "$name" "$(kib VmRSS)" "$(kib RssAnon)" "$(kib RssFile)" "$up"
  kill $pid; wait $pid 2>/dev/null || true; pid=
}
echo "| server | VmRSS MiB | RssAnon MiB | RssFile MiB | start to ready s |"
echo "|---|---:|---:|---:|---:|"
ls_flags="-m $MODEL -t $THREADS -np $SLOTS -c $((SLOTS*CONTEXT)) --host 127.0.0.1 --port 9520 --no-webui"
for _ in $(seq $ROUNDS); do
  measure llama-server http://127.0.0.1:9520/health "--openai http://127.0.0.1:9520" $LLAMA_SERVER $ls_flags
  measure llama-server-no-mmap http://127.0.0.1:9520/health "--openai http://127.0.0.1:9520" $LLAMA_SERVER $ls_flags --no-mmap
  measure sotto http://127.0.0.1:9521/health/ready "--server http://127.0.0.1:9521 --pin $PIN --device-key device.key" \
    env ENVIRONMENT=development LOG_LEVEL=warn SOTTO_ALLOW_LIST=$D/allow SOTTO_MODEL=$MODEL SOTTO_KEY_DIR=$D/keys \
    SOTTO_SLOTS=$SLOTS SOTTO_CONTEXT=$CONTEXT SOTTO_THREADS=$THREADS SOTTO_LISTEN=127.0.0.1:9521 $S serve --env-file ''
done
