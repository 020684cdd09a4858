// Package engine is the contract between Sotto's HTTP edge and its
// inference engine: the request (messages, sampling, stop strings), the
// sink that receives the completion, the result, the load snapshot and
// the errors the edge maps to HTTP status. It has no cgo: the server, the
// router and their tests compile and run without llama.cpp, and llama's
// Engine implements the server's Engine interface with these types.
//
// Buffers in a Request are views into caller memory (normally locked
// buffers holding the decrypted request); nothing here copies them.
package engine
