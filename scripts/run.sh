#!/usr/bin/env bash
# make run: serve Sotto on this machine for development, on loopback.
#
# Everything here is `sotto serve`'s own development default (see
# `sotto serve --help`), so after this script has run once, plain
# `bin/sotto serve` serves the same thing:
#   model      $SOTTO_MODEL, else the first ./models/*.gguf, else the demo
#              model embedded in the binary (stories260K: it tells short
#              children's stories; `make model` fetches a real one)
#   listener   http://127.0.0.1:8080 (plain HTTP, loopback)
#   keys       ./dev/keys; device key ./dev/device.key, enrolled in
#              ./dev/allow-list (the server re-reads it when it changes)
# This script only creates them first, so that it can print the pin and
# the device key. Then, in a second terminal: bin/sotto chat --dev
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

if [[ -z "${SOTTO_MODEL:-}" ]] && ! ls models/*.gguf >/dev/null 2>&1; then
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
"$bin" device allow "$("$bin" device show --key "$dev/device.key")" --allow-list "$dev/allow-list" >/dev/null

export ENVIRONMENT="${ENVIRONMENT:-development}"
echo "sotto: serving on http://${SOTTO_LISTEN:-127.0.0.1:8080} (loopback, plain HTTP for development); server PID $$"
echo "sotto: in another terminal: bin/sotto chat --dev"
exec "$bin" serve
