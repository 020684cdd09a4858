package llama

import (
	"runtime"
	"syscall"
)

// engineNice is the scheduling priority (nice value) of the engine's
// threads: the scheduler goroutine's OS thread, on which llama_decode runs,
// and llama.cpp's thread pool, whose threads are created on it and inherit
// it. A shaped reply stream (docs/protocol.md 5.5) writes a frame on a
// fixed schedule; on a busy host the thread that writes it competes for
// the CPU with the engine, and a frame delayed by the prompt's processing
// would show an observer how long that took (server TestObserver found the
// prompt's length at ROC AUC 0.75 through this alone). At nice 10 the
// kernel gives a woken writer the CPU ahead of the engine. On an otherwise
// idle host it changes nothing; the HTTP threads use little CPU.
const engineNice = 10

// startOnEngineThread runs f on a goroutine locked to a new OS thread of
// lower priority. The thread ends with the goroutine (it stays locked), so
// the priority never leaks to other goroutines. Raising a thread's nice
// value needs no privilege; if the host refuses it anyway (a system-call
// filter), the engine runs at the normal priority.
func startOnEngineThread(f func()) {
	go func() {
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), engineNice)
		f()
	}()
}
