#!/usr/bin/env bash
# Router hop: the same worker measured directly (mutual TLS) and through a router, alternating, same run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
S=${SOTTO:-$(pwd)/bin/sotto}; D=${D:-/tmp/hop}; MODEL=$(realpath "${MODEL:?}")
rm -rf $D; mkdir -p $D; cd $D
. "$HERE/bench-setup.sh"
common="ENVIRONMENT=development LOG_LEVEL=warn SOTTO_ALLOW_LIST=$D/allow MAX_STREAMS_PER_DEVICE=16 RATE_LIMIT_PER_MINUTE=100000 RATE_LIMIT_BURST=10000 IP_RATE_LIMIT_PER_MINUTE=100000 IP_RATE_LIMIT_BURST=10000"
env $common SOTTO_MODEL=$MODEL SOTTO_KEY_DIR=$D/keys SOTTO_LISTEN=127.0.0.1:9501 SOTTO_TLS_CERT=worker.pem SOTTO_TLS_KEY=worker.key \
  SOTTO_TLS_CLIENT_CA=ca.pem SOTTO_SLOTS=8 SOTTO_CONTEXT=512 SOTTO_THREADS=2 $S serve --env-file '' --role worker 2>worker.log &
W=$!
env $common SOTTO_MODEL=$MODEL SOTTO_KEY_DIR=$D/keys SOTTO_LISTEN=127.0.0.1:9502 SOTTO_SLOTS=8 SOTTO_CONTEXT=512 \
  SOTTO_THREADS=2 $S serve --env-file '' 2>single.log &
A=$!
sleep 2
env $common INFERENCE_ENDPOINTS=https://127.0.0.1:9501 SOTTO_TLS_CLIENT_CA=ca.pem SOTTO_TLS_CLIENT_CERT=router.pem \
  SOTTO_TLS_CLIENT_KEY=router.key SOTTO_LISTEN=127.0.0.1:9500 $S serve --env-file '' --role router 2>router.log &
R=$!
trap 'kill $W $R $A' EXIT
until curl -sf http://127.0.0.1:9500/health/ready >/dev/null; do sleep 0.2; done
bench() { $S bench chat --pin $PIN --device-key device.key --warmup 2 "$@"; }
for p in ${PARALLEL:-1 8}; do
  for round in 1 2 3; do
    echo "direct p=$p round=$round $(bench --server https://127.0.0.1:9501 --ca-file ca.pem --client-cert router.pem --client-key router.key --parallel $p --requests $((p*${REQ:-4})) --max-tokens ${TOK:-64})"
    echo "single p=$p round=$round $(bench --server http://127.0.0.1:9502 --parallel $p --requests $((p*${REQ:-4})) --max-tokens ${TOK:-64})"
    echo "router p=$p round=$round $(bench --server http://127.0.0.1:9500 --parallel $p --requests $((p*${REQ:-4})) --max-tokens ${TOK:-64})"
  done
done
