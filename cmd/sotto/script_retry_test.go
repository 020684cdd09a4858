package main

import (
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// retryCmd is the script command `retry PROGRAM ARGS...`: it runs the
// program until it succeeds (stdout and stderr are then its last run's),
// for an outcome a running server reaches on its own (an allow-list
// re-read after a change). It fails after 60 s; nothing depends on how
// fast the outcome comes.
func retryCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: retry PROGRAM ARGS...")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := ts.Exec(args[0], args[1:]...)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%v still failing after 60 s: %v", args, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
