// Package modelpull downloads the pinned models of a small catalogue:
// resumable (HTTP Range), with progress on a terminal or as plain lines,
// and verified against the pinned sha256 before the file is given its
// final name. A download whose hash differs is deleted, never used.
// `sotto model pull` and `make model` drive it.
package modelpull

import (
	"fmt"
	"strings"
)

// Entry is one pinned model file.
type Entry struct {
	Name    string // the name users type: sotto model pull NAME
	File    string // the file name written into the models directory
	URL     string // at a fixed revision, never a moving branch
	Size    int64
	SHA256  string // lowercase hex
	Licence string
	About   string
}

// Catalogue lists the models `sotto model pull` knows, the default first.
//
// Qwen2.5-0.5B-Instruct Q4_K_M: the hash could not be checked against the
// file on the machine this was written on (offline); it is the value
// independent public projects pin for this file at this revision (the
// Hugging Face LFS ETag), with the same size. See docs/models.md.
var Catalogue = []Entry{
	{
		Name:    "qwen2.5-0.5b",
		File:    "qwen2.5-0.5b-instruct-q4_k_m.gguf",
		URL:     "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/9217f5db79a29953eb74d5343926648285ec7e67/qwen2.5-0.5b-instruct-q4_k_m.gguf",
		Size:    491400032,
		SHA256:  "74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db",
		Licence: "Apache-2.0",
		About:   "Qwen2.5 0.5B Instruct, Q4_K_M: a small multilingual chat model with a ChatML template",
	},
}

// Lookup returns the catalogue entry called name.
func Lookup(name string) (Entry, error) {
	for _, e := range Catalogue {
		if e.Name == name {
			return e, nil
		}
	}
	names := make([]string, len(Catalogue))
	for i, e := range Catalogue {
		names[i] = e.Name
	}
	return Entry{}, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(names, ", "))
}
