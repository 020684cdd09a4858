package llama

/*
#include <stdlib.h>
#include "llama.h"
*/
import "C"

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/sottolabs/sotto/internal/locked"
)

// ModelParams configures LoadModel. The file is always memory-mapped.
type ModelParams struct {
	// MLock asks llama.cpp to mlock the mapped weights (needs a
	// sufficient RLIMIT_MEMLOCK or CAP_IPC_LOCK).
	MLock bool
	// VocabOnly loads only the tokenizer and metadata, no weights: enough
	// for Tokenize, TokenPiece and ApplyChatTemplate, not for an Engine.
	VocabOnly bool
	// Budget is charged for the locked scratch memory ApplyChatTemplate
	// uses; nil means an unlimited budget. (Engines use Config.Budget.)
	Budget *locked.Budget
	// Template, when set, formats chats in place of the file's chat
	// template (for a model whose file has none that suits it, such as
	// the embedded demo model, internal/demomodel). It writes into dst
	// (locked memory) and returns the length; a length over len(dst) is
	// the size needed, and then nothing was written.
	Template func(msgs []Message, addAssistant bool, dst []byte) int
	// keepWeightPages leaves the repacked tensors' pages of the file's
	// mapping resident (tests compare with and without).
	keepWeightPages bool
}

// ModelInfo describes a loaded model. None of it is secret.
type ModelInfo struct {
	Arch          string
	ContextTrain  int
	EmbeddingSize int
	Layers        int
	VocabSize     int
	BOS, EOS      Token
	// ChatTemplate is the GGUF's tokenizer.chat_template ("" if none).
	ChatTemplate string
	SizeBytes    int64
	Params       int64
	Description  string
}

// Model is a loaded GGUF model. It is safe for concurrent use by any
// number of goroutines; Close must be called only once nothing uses the
// model any more (every Engine on it closed, no call in flight).
type Model struct {
	ptr    *C.struct_llama_model
	vocab  *C.struct_llama_vocab
	nVocab int32
	// tmpl is the model's chat template (owned by the model) or nil.
	tmpl *C.char
	// format replaces tmpl when set (ModelParams.Template).
	format    func(msgs []Message, addAssistant bool, dst []byte) int
	vocabOnly bool
	budget    *locked.Budget
	info      ModelInfo
	closed    atomic.Bool
	// pagesDropped is how many bytes of the file's mapping LoadModel
	// released because llama.cpp repacked their tensors (weightpages.go).
	pagesDropped int64
}

// ggufHeaderSize is magic(4) + version(4) + n_tensors(8) + n_kv(8).
const ggufHeaderSize = 24

// maxModelSize bounds what we accept as a sane GGUF file size (1 TiB).
const maxModelSize = 1 << 40

// validateGGUF checks what llama.cpp would otherwise trip over before it
// gets a chance to return an error: the file exists, is regular, has a
// plausible size and starts with the GGUF magic and a known version.
func validateGGUF(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidModel, path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s: not a regular file", ErrInvalidModel, path)
	}
	if fi.Size() < ggufHeaderSize || fi.Size() > maxModelSize {
		return fmt.Errorf("%w: %s: implausible size %d bytes", ErrInvalidModel, path, fi.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidModel, path, err)
	}
	defer f.Close()
	var hdr [8]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidModel, path, err)
	}
	if !bytes.Equal(hdr[:4], []byte("GGUF")) {
		return fmt.Errorf("%w: %s: no GGUF magic", ErrInvalidModel, path)
	}
	if v := binary.LittleEndian.Uint32(hdr[4:]); v < 2 || v > 3 {
		return fmt.Errorf("%w: %s: unsupported GGUF version %d", ErrInvalidModel, path, v)
	}
	return nil
}

// LoadModel validates and loads a GGUF model. A malformed, truncated or
// non-language-model file yields an error wrapping ErrInvalidModel.
func LoadModel(path string, p ModelParams) (*Model, error) {
	if err := validateGGUF(path); err != nil {
		return nil, err
	}
	initBackend()
	mp := C.llama_model_default_params()
	mp.use_mmap = true
	mp.use_mlock = C.bool(p.MLock)
	mp.vocab_only = C.bool(p.VocabOnly)
	mp.n_gpu_layers = 0
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	ptr := C.llama_model_load_from_file(cpath, mp)
	if ptr == nil {
		return nil, fmt.Errorf("%w: %s: refused by llama.cpp", ErrInvalidModel, path)
	}
	m := &Model{ptr: ptr, vocab: C.llama_model_get_vocab(ptr), vocabOnly: p.VocabOnly, budget: p.Budget, format: p.Template}
	if m.budget == nil {
		m.budget = locked.NewBudget(locked.Unlimited)
	}
	m.nVocab = int32(C.llama_vocab_n_tokens(m.vocab))
	if m.nVocab <= 0 {
		C.llama_model_free(ptr)
		return nil, fmt.Errorf("%w: %s: empty vocabulary", ErrInvalidModel, path)
	}
	m.tmpl = C.llama_model_chat_template(ptr, nil)
	m.info = m.readInfo()
	// Repacked tensors are read from their copy only: release the
	// originals' pages (about the model's size for a Q4_0 model). Memory
	// only, so a failure leaves them resident and loading goes on. Locked
	// pages cannot be released.
	if !p.VocabOnly && !p.MLock && !p.keepWeightPages {
		m.pagesDropped, _ = m.dropRepackedPages(path)
	}
	return m, nil
}

func (m *Model) readInfo() ModelInfo {
	info := ModelInfo{
		Arch:          m.metaString("general.architecture"),
		ContextTrain:  int(C.llama_model_n_ctx_train(m.ptr)),
		EmbeddingSize: int(C.llama_model_n_embd(m.ptr)),
		Layers:        int(C.llama_model_n_layer(m.ptr)),
		VocabSize:     int(m.nVocab),
		BOS:           Token(C.llama_vocab_bos(m.vocab)),
		EOS:           Token(C.llama_vocab_eos(m.vocab)),
		SizeBytes:     int64(C.llama_model_size(m.ptr)),
		Params:        int64(C.llama_model_n_params(m.ptr)),
	}
	if m.tmpl != nil {
		info.ChatTemplate = C.GoString(m.tmpl)
	}
	var buf [256]C.char
	if n := C.llama_model_desc(m.ptr, &buf[0], C.size_t(len(buf))); n > 0 {
		info.Description = C.GoString(&buf[0])
	}
	return info
}

// metaString reads a GGUF metadata string ("" when absent).
func (m *Model) metaString(key string) string {
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(ckey))
	var buf [256]C.char
	if C.llama_model_meta_val_str(m.ptr, ckey, &buf[0], C.size_t(len(buf))) < 0 {
		return ""
	}
	return C.GoString(&buf[0])
}

// Info returns the model's metadata.
func (m *Model) Info() ModelInfo { return m.info }

// Close frees the model. Later calls return ErrClosed from every method;
// Close itself is idempotent.
func (m *Model) Close() error {
	if m == nil || !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	C.llama_model_free(m.ptr)
	m.ptr, m.vocab, m.tmpl = nil, nil, nil
	return nil
}

// validToken reports whether t is a token id of this model's vocabulary.
func (m *Model) validToken(t Token) bool { return t >= 0 && int32(t) < m.nVocab }
