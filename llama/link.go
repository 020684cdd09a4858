package llama

/*
#include "llama.h"
*/
import "C"

import _ "github.com/ollama/ollama/llama/llama.cpp/src"

func SystemInfo() string { return C.GoString(C.llama_print_system_info()) }
