#!/usr/bin/env bash
# Traffic shape (issue 19): the same server with SOTTO_STREAM_SHAPE off and constant, alternating,
# ROUNDS rounds, each `sotto bench chat` at every "parallel max_tokens" pair of RUNS.
# stories260K (embedded):   scripts/bench-shape.sh
# TinyLlama-shaped model:   MODEL=/tmp/tl.gguf THREADS=2 CONTEXT=256 REQ=8 RUNS="1 32;4 32" FRAMES="50 100" scripts/bench-shape.sh
set -euo pipefail
S=${SOTTO:-$(pwd)/bin/sotto}; D=${D:-/tmp/shape}
MODEL=${MODEL:+$(realpath "$MODEL")}; THREADS=${THREADS:-1}; CONTEXT=${CONTEXT:-512}
REQ=${REQ:-32}; RUNS=${RUNS:-"1 24;1 128;4 128;16 128"}; FRAMES=${FRAMES:-50}; ROUNDS=${ROUNDS:-2}
rm -rf $D; mkdir -p $D; cd $D
$S keys init --dir keys >/dev/null
PIN=$($S keys show --dir keys --pin); DEV=$($S device init --out device.key); $S device allow $DEV --allow-list allow >/dev/null
run() { # shape frame_ms
  env ENVIRONMENT=development LOG_LEVEL=warn ${MODEL:+SOTTO_MODEL=$MODEL} SOTTO_THREADS=$THREADS SOTTO_SLOTS=4 \
    SOTTO_CONTEXT=$CONTEXT SOTTO_KEY_DIR=$D/keys SOTTO_ALLOW_LIST=$D/allow SOTTO_LISTEN=127.0.0.1:9511 \
    RATE_LIMIT_PER_MINUTE=100000 RATE_LIMIT_BURST=10000 IP_RATE_LIMIT_PER_MINUTE=100000 IP_RATE_LIMIT_BURST=10000 \
    MAX_STREAMS_PER_DEVICE=64 SOTTO_STREAM_SHAPE=$1 SOTTO_STREAM_FRAME_MS=$2 $S serve --env-file '' 2>serve.log &
  local pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:9511/health/ready >/dev/null && break; sleep 0.1; done
  IFS=';'; for pm in $RUNS; do
    IFS=' ' read -r p n <<<"$pm"
    printf '%s frame=%s parallel=%s max_tokens=%s ' "$1" "$2" "$p" "$n"
    $S bench chat --server http://127.0.0.1:9511 --pin "$PIN" --device-key device.key \
      --parallel "$p" --requests "$REQ" --prompt-words 16 --max-tokens "$n"
  done; unset IFS
  kill $pid; wait $pid 2>/dev/null || true
}
for _ in $(seq $ROUNDS); do
  run off 50
  for f in $FRAMES; do run constant $f; done
done
