package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/crypto/wire"
)

// TestEveryProblemHasAHint: each problem of the protocol's catalogue gets
// its own explanation and advice, never the fallback for a non-Sotto
// answer.
func TestEveryProblemHasAHint(t *testing.T) {
	fallback := problemHint(&client.ProblemError{Status: 502}, device.Key{})
	seen := map[string]string{}
	for _, name := range wire.ProblemNames() {
		kind, _ := wire.LookupProblem(name)
		err := describeChatError(&client.ProblemError{Status: kind.Status, Name: name, Code: "range:top_k"}, device.Key{})
		msg := err.Error()
		h := problemHint(&client.ProblemError{Status: kind.Status, Name: name}, device.Key{})
		if h == fallback || h.happened == "" || h.todo == "" || !strings.Contains(msg, "\n  what happened: ") || !strings.Contains(msg, "\n  what to do: ") {
			t.Errorf("%s: %q", name, msg)
		}
		if other, dup := seen[h.happened]; dup {
			t.Errorf("%s and %s share the explanation %q", name, other, h.happened)
		}
		seen[h.happened] = name
	}
}

// TestHintsExact: the hints a user acts on, word for word.
func TestHintsExact(t *testing.T) {
	dev, err := device.ParseKey("ed25519:" + strings.Repeat("A", 43))
	if err != nil {
		t.Fatal(err)
	}
	chatOpts.dev, chatOpts.server = true, "http://127.0.0.1:8080"
	defer func() { chatOpts.dev, chatOpts.server = false, "" }()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&client.ProblemError{Status: 401, Name: wire.ProblemDevice}, "client: server refused the request: 401 device\n" +
			"  what happened: this device is not enrolled on the server (its key is not on the allow-list)\n" +
			"  what to do: on the server, run:\n    sotto device allow ed25519:" + strings.Repeat("A", 43) + " --allow-list dev/allow-list\n" +
			"  then retry: the server re-reads its allow-list within a second of the change (no restart, no SIGHUP)"},
		{&client.ProblemError{Status: 400, Name: wire.ProblemRequest, Code: crypto.CodeTopK}, "client: server refused the request: 400 request (code range:top_k)\n" +
			"  what happened: the server refused the request's parameters (code range:top_k)\n" +
			"  what to do: bring top_k into the server's range"},
		{&client.ProblemError{Status: 429, Name: wire.ProblemRateLimited, RetryAfter: 7e9}, "client: server refused the request: 429 rate-limited (retry after 7s)\n" +
			"  what happened: this device or address sent too many requests\n  what to do: try again in 7s"},
		{&client.ProblemError{Status: 400, Name: wire.ProblemRequest, Code: crypto.CodeTemperature}, "client: server refused the request: 400 request (code range:temperature)\n" +
			"  what happened: the server refused the request's parameters (code range:temperature)\n" +
			"  what to do: bring --temperature into the server's range"},
		{fmt.Errorf("client: key configuration: %w", keyconfig.ErrUnpinned), "client: key configuration: " + keyconfig.ErrUnpinned.Error() + "\n" +
			"  what happened: the server's key configuration is not signed by the pinned key\n" +
			"  what to do: check --pin (on the server: sotto keys show --pin) and --server"},
	} {
		if got := describeChatError(tc.err, dev).Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
	if err := describeChatError(errors.New("other"), dev); err.Error() != "other" {
		t.Errorf("an unknown error changed: %v", err)
	}
}
