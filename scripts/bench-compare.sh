#!/usr/bin/env bash
# Side by side under load: llama-server, sotto serve, and a router in front of a worker, on the
# same GGUF, threads, slots and context, through one load tool (sotto bench load), one rate at a
# time. Prints compare.csv (one row per target and rate) and, per target, the highest rate whose
# good fraction (requests meeting the SLO: TTFT <= 2 s, inter-token p95 <= 200 ms) is >= 90%.
#
#   MODEL=model.gguf LLAMA_SERVER=/path/to/llama-server scripts/bench-compare.sh
#
# LLAMA_SERVER is a llama-server the user built at the commit our engine links (docs/benchmarks.md
# says how); without it, only the two Sotto paths run. Run it on an otherwise idle machine.
# Settings: THREADS (2), SLOTS (8), CONTEXT per slot (512), RATES ("0.5 1 2 4 8"), STEP seconds per
# rate (60), PROMPT words (16 or A-B), TOKENS max tokens (64 or A-B), D work directory, TARGETS
# (default "llama-server sotto router"; "sotto-tuned" adds sotto serve with SOTTO_TUNED, extra
# settings such as "SOTTO_QUEUE_DEPTH=2"; "llama-server-tuned" adds llama-server with LLAMA_TUNED, extra
# flags such as "-b 12 -ub 12").
# llama-server is given Sotto's fallback template for models without one (the messages' contents
# joined by newlines), so both prefill the same tokens (LLAMA_TEMPLATE= empty: llama-server's own choice,
# ChatML for a model without one; LLAMA_TEMPLATE=JINJA: that template).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
S=${SOTTO:-$(pwd)/bin/sotto}; D=${D:-/tmp/compare}; MODEL=$(realpath "${MODEL:?}")
THREADS=${THREADS:-2}; SLOTS=${SLOTS:-8}; CONTEXT=${CONTEXT:-512}
RATES=${RATES:-0.5 1 2 4 8}; STEP=${STEP:-60}; PROMPT=${PROMPT:-16}; TOKENS=${TOKENS:-64}
rm -rf $D; mkdir -p $D; cd $D
. "$HERE/bench-setup.sh"
common="ENVIRONMENT=development LOG_LEVEL=warn SOTTO_ALLOW_LIST=$D/allow MAX_STREAMS_PER_DEVICE=1000 RATE_LIMIT_PER_MINUTE=100000 RATE_LIMIT_BURST=100000 IP_RATE_LIMIT_PER_MINUTE=100000 IP_RATE_LIMIT_BURST=100000"
engine="SOTTO_MODEL=$MODEL SOTTO_KEY_DIR=$D/keys SOTTO_SLOTS=$SLOTS SOTTO_CONTEXT=$CONTEXT SOTTO_THREADS=$THREADS"
pids=()
trap 'kill ${pids[@]} 2>/dev/null' EXIT
# One server at a time: each has the machine to itself while it is measured.
start() { "$@" & pids+=($!); }
wait_ready() { until curl -sf "$1" >/dev/null; do sleep 0.2; done; }
stop() { kill ${pids[@]} 2>/dev/null || true; wait ${pids[@]} 2>/dev/null || true; pids=(); }
sweep() { # name, then the target flags of sotto bench load
  local name=$1; shift
  for r in $RATES; do
    $S bench load "$@" --rate $r --duration ${STEP}s --prompt-words $PROMPT --max-tokens $TOKENS --no-progress \
      --json $name-$r.json --csv $name-$r.csv || true # failed requests are in the report
    tail -n 1 $name-$r.csv | sed "s/^all,[^,]*,/$name,$r,/" >> compare.csv
  done
}
head -n 1 <($S bench load --openai http://127.0.0.1:1 --concurrency 1 --requests 1 --no-progress --json /dev/null --csv /dev/stdout 2>/dev/null) \
  | sed 's/^step,/target,/' > compare.csv
TARGETS=${TARGETS:-llama-server sotto router}
want() { [[ " $TARGETS " == *" $1 "* ]]; }
plain='{% for m in messages %}{% if not loop.first %}{{ "\n" }}{% endif %}{{ m.content }}{% endfor %}'
tmpl=(); [ -n "${LLAMA_TEMPLATE-plain}" ] && tmpl=(--jinja --chat-template "${LLAMA_TEMPLATE:-$plain}")
if [ -n "${LLAMA_SERVER:-}" ] && want llama-server; then
  start "$LLAMA_SERVER" -m $MODEL -t $THREADS -np $SLOTS -c $((SLOTS*CONTEXT)) --host 127.0.0.1 --port 9510 --log-disable \
    "${tmpl[@]}"
  wait_ready http://127.0.0.1:9510/health
  sweep llama-server --openai http://127.0.0.1:9510
  stop
fi
if [ -n "${LLAMA_SERVER:-}" ] && want llama-server-tuned; then
  start "$LLAMA_SERVER" -m $MODEL -t $THREADS -np $SLOTS -c $((SLOTS*CONTEXT)) --host 127.0.0.1 --port 9510 --log-disable \
    "${tmpl[@]}" ${LLAMA_TUNED:-}
  wait_ready http://127.0.0.1:9510/health
  sweep llama-server-tuned --openai http://127.0.0.1:9510
  stop
fi
if want sotto; then
  start env $common $engine SOTTO_LISTEN=127.0.0.1:9511 $S serve --env-file '' 2>single.log
  wait_ready http://127.0.0.1:9511/health/ready
  sweep sotto --server http://127.0.0.1:9511 --pin $PIN --device-key device.key
  stop
fi
if want sotto-tuned; then
  start env $common $engine ${SOTTO_TUNED:-} SOTTO_LISTEN=127.0.0.1:9511 $S serve --env-file '' 2>tuned.log
  wait_ready http://127.0.0.1:9511/health/ready
  sweep sotto-tuned --server http://127.0.0.1:9511 --pin $PIN --device-key device.key
  stop
fi
if want router; then
  start env $common $engine SOTTO_LISTEN=127.0.0.1:9512 SOTTO_TLS_CERT=worker.pem SOTTO_TLS_KEY=worker.key \
    SOTTO_TLS_CLIENT_CA=ca.pem $S serve --env-file '' --role worker 2>worker.log
  start env $common INFERENCE_ENDPOINTS=https://127.0.0.1:9512 SOTTO_TLS_CLIENT_CA=ca.pem SOTTO_TLS_CLIENT_CERT=router.pem \
    SOTTO_TLS_CLIENT_KEY=router.key SOTTO_LISTEN=127.0.0.1:9513 $S serve --env-file '' --role router 2>router.log
  wait_ready http://127.0.0.1:9513/health/ready
  sweep router --server http://127.0.0.1:9513 --pin $PIN --device-key device.key
  stop
fi
echo "# $D/compare.csv; sustainable rate: the highest with good_fraction >= 0.9"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { if ($(col["good_fraction"]) >= 0.9 && $2 + 0 > best[$1]) best[$1] = $2 + 0; seen[$1] = 1 }
  END { for (t in seen) printf "%s %s\n", t, (t in best ? best[t] : "none") }' compare.csv
