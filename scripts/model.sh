#!/usr/bin/env bash
# make model: download the recommended small instruct model into ./models/.
#
# The file is pinned by URL (a fixed Hugging Face revision) and by sha256:
# a download whose hash differs is deleted, never used. The hash is the one
# Hugging Face serves as the file's LFS ETag and that independent public
# projects pin for the same file (see docs/models.md).
#
# Environment: MODELS_DIR (default ./models).
set -euo pipefail
cd "$(dirname "$0")/.."

# Qwen2.5-0.5B-Instruct, Q4_K_M, Apache-2.0 (Qwen/Qwen2.5-0.5B-Instruct-GGUF).
name=qwen2.5-0.5b-instruct-q4_k_m.gguf
revision=9217f5db79a29953eb74d5343926648285ec7e67
url="https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/$revision/$name"
sha256=74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db
size=491400032

dir="${MODELS_DIR:-models}"
dest="$dir/$name"
part="$dest.part"

die() {
	echo "make model: $*" >&2
	exit 1
}

sha_of() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

command -v curl >/dev/null || die "curl is required"

if [[ -f "$dest" ]]; then
	if [[ "$(sha_of "$dest")" == "$sha256" ]]; then
		echo "make model: $dest is already here (sha256 verified)"
		exit 0
	fi
	die "$dest exists but its sha256 is not the pinned one; move it away and run make model again"
fi

mkdir -p "$dir"
echo "make model: downloading $name ($((size / 1000000)) MB) from huggingface.co"
rc=0
have=$(wc -c <"$part" 2>/dev/null || echo 0)
# --continue-at - resumes an interrupted download of $part; a complete
# $part (an earlier run stopped before verifying) goes straight to the check.
if ((have < size)); then
	curl --fail --location --progress-bar --connect-timeout 15 --retry 2 \
		--continue-at - --output "$part" "$url" || rc=$?
fi
case $rc in
0) ;;
5 | 6 | 7 | 28 | 35)
	die "cannot reach huggingface.co (curl exit $rc): this machine looks offline.
  Download $url
  elsewhere, check its sha256 is $sha256,
  and copy it to $dest (or point SOTTO_MODEL at it). Without a model,
  make run serves a synthesized demo model whose replies are noise." ;;
*)
	die "download failed (curl exit $rc); $part is kept, run make model again to resume" ;;
esac

got=$(sha_of "$part")
if [[ "$got" != "$sha256" ]]; then
	rm -f "$part"
	die "sha256 mismatch for $name: got $got, want $sha256; the download was deleted"
fi
mv "$part" "$dest"
echo "make model: $dest ready (sha256 verified). make run will serve it."
