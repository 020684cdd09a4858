#!/usr/bin/env bash
# make sdk-ts (and make test): the TypeScript SDK and the browser chat in
# sdk/ts: npm ci (package-lock.json), then npm test (the protocol vectors,
# end to end against bin/sotto serve, the chat page in Debian's chromium).
# Outside CI a missing Node.js (>= 20, package nodejs) skips with a
# message; under CI=true it fails. A missing chromium is judged by the
# browser test itself (skip outside CI, fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/../sdk/ts"

missing() {
	if [[ "${CI:-}" == "true" ]]; then
		echo "sdk-ts: $1" >&2
		exit 1
	fi
	echo "sdk-ts: SKIP: $1"
	exit 0
}

# An executable node and npm on PATH (bash's type -P also names a file
# that is not executable when it finds nothing better).
have() { local p; p=$(type -P "$1") && [[ -x $p ]]; }
have node && have npm || missing "node and npm not found: install the Debian package nodejs (Node.js 20 or later)"
major=$(node -p 'process.versions.node.split(".")[0]')
((major >= 20)) || missing "Node.js $(node --version) is too old: the SDK needs 20 or later (package nodejs)"
[[ -x /usr/bin/chromium || -n "${SOTTO_CHROMIUM:-}" ]] || echo "sdk-ts: chromium not found (Debian package chromium): the browser test will skip"

npm ci --no-audit --no-fund --loglevel=error
npm test
