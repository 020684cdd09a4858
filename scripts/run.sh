#!/usr/bin/env bash
# make run: serve Sotto on this machine for development, on loopback.
#
# Model: $SOTTO_MODEL, else the first ./models/*.gguf, else the demo model
# embedded in the binary (stories260K: it tells short children's stories;
# `make model` fetches a real one). Keys, a device key and its allow-list
# live in ./dev (0700).
# Then, in a second terminal: bin/sotto chat --dev
set -euo pipefail
cd "$(dirname "$0")/.."

bin=bin/sotto
dev=dev
mkdir -p "$dev"
chmod 700 "$dev"

banner() {
	printf '\n\033[1;33m%s\033[0m\n' "################################################################################"
	printf '\033[1;33m# %s\033[0m\n' "$@"
	printf '\033[1;33m%s\033[0m\n\n' "################################################################################"
}

model="${SOTTO_MODEL:-}"
if [[ -z "$model" ]]; then
	model=$(ls models/*.gguf 2>/dev/null | head -n 1 || true)
fi
if [[ -z "$model" ]]; then
	banner "NO MODEL CONFIGURED: serving the DEMO model embedded in bin/sotto (stories260K," \
		"260K parameters): it tells short children's stories and follows no instructions." \
		"For a real model: make model   (or SOTTO_MODEL=/path/model.gguf make run)"
fi

if [[ ! -d "$dev/keys" ]]; then
	"$bin" keys init --dir "$dev/keys"
fi
if [[ ! -f "$dev/device.key" ]]; then
	"$bin" device init --out "$dev/device.key" >"$dev/device.pub"
fi
touch "$dev/allow-list"
chmod 600 "$dev/allow-list"
if ! grep -qxF "$(cat "$dev/device.pub")" "$dev/allow-list"; then
	"$bin" device allow "$(cat "$dev/device.pub")" --allow-list "$dev/allow-list"
fi

export ENVIRONMENT="${ENVIRONMENT:-development}"
export SOTTO_MODEL="$model" # empty: the embedded demo model
export SOTTO_KEY_DIR="$dev/keys"
export SOTTO_DEVICE_POLICY=allowlist
export SOTTO_ALLOW_LIST="$dev/allow-list"
export SOTTO_LISTEN="${SOTTO_LISTEN:-127.0.0.1:8080}"
echo "sotto: serving ${model:-the embedded demo model} on http://$SOTTO_LISTEN (loopback, plain HTTP for development)"
echo "sotto: in another terminal: bin/sotto chat --dev"
exec "$bin" serve
