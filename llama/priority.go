package llama

import (
	"runtime"
	"sync"
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
//
// While f runs the process has one more P (GOMAXPROCS): the scheduler
// goroutine spends its time in cgo calls (llama_decode), and the Go
// runtime hands a P held by a cgo call to other goroutines only after a
// sysmon tick (up to 10 ms), so without the extra P the stream writers'
// timers would fire later while the engine works.
func startOnEngineThread(f func()) {
	procs.Lock()
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	procs.Unlock()
	go func() {
		defer func() {
			procs.Lock()
			runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0)-1, 1))
			procs.Unlock()
		}()
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), engineNice)
		f()
	}()
}

// procs serializes changes of GOMAXPROCS by engines starting and ending.
var procs sync.Mutex
