package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersion: the facts a bug report needs, from the build information;
// the llama.cpp pin is the one third_party/README.md documents.
func TestVersion(t *testing.T) {
	var b strings.Builder
	info := &debug.BuildInfo{
		Main:     debug.Module{Version: "v1.2.3"},
		Deps:     []*debug.Module{{Path: ollamaModule, Version: "v0.17.4"}},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}},
	}
	if err := printVersion(&b, info); err != nil {
		t.Fatal(err)
	}
	want := "sotto      v1.2.3\ncommit     abc123 (modified) 2026-12-01T00:00:00Z\n" +
		"llama.cpp  " + llamaCppCommit + " (via github.com/ollama/ollama v0.17.4)\n" +
		"go         " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := printVersion(&b, &debug.BuildInfo{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "commit     unknown (built without a VCS stamp, e.g. make release)\n") {
		t.Errorf("release build:\n%s", b.String())
	}
	doc, err := os.ReadFile("../../third_party/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), llamaCppCommit) {
		t.Errorf("third_party/README.md does not name the llama.cpp commit %s", llamaCppCommit)
	}
}
