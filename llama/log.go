package llama

/*
#include "llama.h"
extern int sotto_log_min_level;
void sotto_log_cb(enum ggml_log_level level, const char * text, void * user_data);
static void sotto_install_log(void) { llama_log_set(sotto_log_cb, NULL); }
*/
import "C"

import (
	"context"
	"log/slog"
	"strings"
)

// The filter replaces the callback ollama's ggml package installs in its
// init (which prints everything to stderr). Package initialisation order
// guarantees our init runs after it.
func init() {
	C.sotto_install_log()
}

// SetLogLevel sets the lowest slog level at which llama.cpp and ggml
// messages are forwarded to slog.Default(). The default is slog.LevelWarn:
// debug and info chatter (tensor lists, timings) is dropped in C before it
// reaches Go. llama.cpp messages are metadata (file layout, sizes,
// warnings); this package validates inputs before every C call so that the
// few llama.cpp messages that could print an input value (for example an
// invalid token id) are never triggered.
//
// SetLogLevel is meant to be called once at start-up, before models load.
func SetLogLevel(l slog.Level) {
	switch {
	case l <= slog.LevelDebug:
		C.sotto_log_min_level = C.GGML_LOG_LEVEL_DEBUG
	case l <= slog.LevelInfo:
		C.sotto_log_min_level = C.GGML_LOG_LEVEL_INFO
	case l <= slog.LevelWarn:
		C.sotto_log_min_level = C.GGML_LOG_LEVEL_WARN
	default:
		C.sotto_log_min_level = C.GGML_LOG_LEVEL_ERROR
	}
}

//export sottoLlamaLog
func sottoLlamaLog(level C.int, text *C.char) {
	lvl := slog.LevelError
	switch level {
	case C.GGML_LOG_LEVEL_DEBUG:
		lvl = slog.LevelDebug
	case C.GGML_LOG_LEVEL_INFO:
		lvl = slog.LevelInfo
	case C.GGML_LOG_LEVEL_WARN:
		lvl = slog.LevelWarn
	}
	logger := slog.Default()
	if !logger.Enabled(context.Background(), lvl) {
		return
	}
	msg := strings.TrimSpace(C.GoString(text))
	if msg == "" {
		return
	}
	if lvl == slog.LevelWarn && falseAlarm(msg) {
		lvl = slog.LevelDebug
		if !logger.Enabled(context.Background(), lvl) {
			return
		}
	}
	logger.Log(context.Background(), lvl, msg, "component", "llama.cpp")
}

// falseAlarms start llama.cpp warnings that do not apply to this engine:
// every sequence's context is capped to the training context (Config),
// so the unified KV cache's total exceeding it is no overflow; a model
// needs no separator or padding token to chat; and an EOS missing from
// the end-of-generation tokens is added to them by llama.cpp itself.
// They are logged at debug, not as warnings an operator must chase.
var falseAlarms = []string{
	"llama_context: n_ctx_seq (",
	"load: bad special token: 'tokenizer.ggml.seperator_token_id'",
	"load: bad special token: 'tokenizer.ggml.padding_token_id'",
	"load: special_eos_id is not in special_eog_ids",
}

func falseAlarm(msg string) bool {
	for _, p := range falseAlarms {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
