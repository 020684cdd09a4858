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
# Settings: THREADS (2), SLOTS (8), CONTEXT per slot (512), D work directory. FULL=1 then fills every
# slot (SLOTS concurrent requests of CONTEXT-64 tokens) and adds VmRSS after that: the KV cache's and
# compute buffer's pages become resident as they are used, so this is the figure under full load.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
S=${SOTTO:-$(pwd)/bin/sotto}; D=${D:-/tmp/memory}; MODEL=$(realpath "${MODEL:?}")
LLAMA_SERVER=${LLAMA_SERVER:?build llama-server at the pinned commit: docs/benchmarks.md}
THREADS=${THREADS:-2}; SLOTS=${SLOTS:-8}; CONTEXT=${CONTEXT:-512}; ROUNDS=${ROUNDS:-2}; FULL=${FULL:-0}
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
  local row; row=$(printf '| %s | %s | %s | %s | %.2f |' "$name" "$(kib VmRSS)" "$(kib RssAnon)" "$(kib RssFile)" "$up")
  if [ "$FULL" = 1 ]; then
    $S bench load $flags --concurrency $SLOTS --requests $SLOTS --prompt-words 16 --max-tokens $((CONTEXT-64)) \
      --no-progress --json $name-full.json
    row="$row $(kib VmRSS) |"
  fi
  echo "$row"
  kill $pid; wait $pid 2>/dev/null || true; pid=
}
if [ "$FULL" = 1 ]; then
  echo "| server | VmRSS MiB | RssAnon MiB | RssFile MiB | start to ready s | VmRSS, every slot full, MiB |"
  echo "|---|---:|---:|---:|---:|---:|"
else
  echo "| server | VmRSS MiB | RssAnon MiB | RssFile MiB | start to ready s |"
  echo "|---|---:|---:|---:|---:|"
fi
ls_flags="-m $MODEL -t $THREADS -np $SLOTS -c $((SLOTS*CONTEXT)) --host 127.0.0.1 --port 9520 --no-webui"
for _ in $(seq $ROUNDS); do
  measure llama-server http://127.0.0.1:9520/health "--openai http://127.0.0.1:9520" $LLAMA_SERVER $ls_flags
  measure llama-server-no-mmap http://127.0.0.1:9520/health "--openai http://127.0.0.1:9520" $LLAMA_SERVER $ls_flags --no-mmap
  measure sotto http://127.0.0.1:9521/health/ready "--server http://127.0.0.1:9521 --pin $PIN --device-key device.key" \
    env ENVIRONMENT=development LOG_LEVEL=warn MAX_STREAMS_PER_DEVICE=1000 RATE_LIMIT_PER_MINUTE=100000 RATE_LIMIT_BURST=100000 \
    SOTTO_ALLOW_LIST=$D/allow SOTTO_MODEL=$MODEL SOTTO_KEY_DIR=$D/keys \
    SOTTO_SLOTS=$SLOTS SOTTO_CONTEXT=$CONTEXT SOTTO_THREADS=$THREADS SOTTO_LISTEN=127.0.0.1:9521 $S serve --env-file ''
done
