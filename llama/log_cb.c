// C side of the llama.cpp/ggml log filter (see log.go). Kept in its own
// file because a cgo preamble of a file with //export may not define
// functions.
#include "ggml.h"
#include "_cgo_export.h"

// Minimum ggml_log_level forwarded to Go; set from Go (SetLogLevel).
int sotto_log_min_level = GGML_LOG_LEVEL_WARN;

// Level of the last message, for GGML_LOG_LEVEL_CONT continuations.
static int sotto_log_last_level = GGML_LOG_LEVEL_NONE;

void sotto_log_cb(enum ggml_log_level level, const char * text, void * user_data) {
	(void) user_data;
	int lvl = (int) level;
	if (lvl == GGML_LOG_LEVEL_CONT) {
		lvl = sotto_log_last_level;
	} else {
		sotto_log_last_level = lvl;
	}
	if (lvl < sotto_log_min_level || lvl == GGML_LOG_LEVEL_NONE || text == NULL) {
		return;
	}
	sottoLlamaLog(lvl, (char *) text);
}
