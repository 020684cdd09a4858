#!/usr/bin/env bash
# make reproducible: build the release twice from copies of the tracked
# files in two directories of different names and depths, each with its own
# empty Go build cache unless REPRO_SHARED_CACHE=1, and compare the
# SHA-256 of the two binaries. Exit status 1 when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/sotto-repro.XXXXXX)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

build_in() { # build_in DIR: copy the tree to DIR, make release there, print the hash
	local dir=$1
	mkdir -p "$dir"
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$dir"
	local cache=()
	if [[ "${REPRO_SHARED_CACHE:-}" != 1 ]]; then
		cache=(GOCACHE="$dir/.gocache")
	fi
	env "${cache[@]}" make -s -C "$dir" release RELEASE_DIR=out >/dev/null
	sha256sum "$dir"/out/sotto-linux-* | cut -d' ' -f1
}

start=$(date +%s)
a=$(build_in "$work/a")
b=$(build_in "$work/second/build/tree")
echo "first:  $a"
echo "second: $b"
echo "($(($(date +%s) - start)) s for both builds)"
if [[ "$a" != "$b" ]]; then
	echo "reproducible: the two builds differ" >&2
	exit 1
fi
echo "reproducible: identical"
