package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/crypto"
)

// events splits an SSE body into its data payloads.
func events(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for ev := range strings.SplitSeq(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %q is not a data line", ev)
		}
		out = append(out, data)
	}
	return out
}

// stripHead removes the id and created members, which change per reply.
func stripHead(t *testing.T, ev string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(ev), &m); err != nil {
		return ev
	}
	if id, _ := m["id"].(string); !strings.HasPrefix(id, "chatcmpl-") && m["error"] == nil {
		t.Errorf("event without an id: %s", ev)
	}
	delete(m, "id")
	delete(m, "created")
	b, _ := json.Marshal(m)
	return string(b)
}

// TestStream: a streamed reply is chat.completion.chunk events: the role,
// each text piece, the finish reason, the usage chunk asked for with
// stream_options.include_usage, then [DONE].
func TestStream(t *testing.T) {
	f := newFixture(t, nil)
	resp, data := f.post(t, userBody(`,"stream":true,"stream_options":{"include_usage":true}`))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	const head = `"model":"sotto","object":"chat.completion.chunk"`
	want := []string{
		`{"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],` + head + `}`,
		`{"choices":[{"delta":{"content":"Hello"},"finish_reason":null,"index":0,"logprobs":null}],` + head + `}`,
		`{"choices":[{"delta":{"content":", world."},"finish_reason":null,"index":0,"logprobs":null}],` + head + `}`,
		`{"choices":[{"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],` + head + `}`,
		`{"choices":[],` + head + `,"usage":{"completion_tokens":2,"prompt_tokens":7,"total_tokens":9}}`,
		`[DONE]`,
	}
	got := events(t, string(data))
	if len(got) != len(want) {
		t.Fatalf("events:\n%s", data)
	}
	for i := range want {
		if g := stripHead(t, got[i]); g != want[i] {
			t.Errorf("event %d\n got %s\nwant %s", i, g, want[i])
		}
	}
	// Without include_usage there is no usage chunk.
	_, data = f.post(t, userBody(`,"stream":true`))
	if got := events(t, string(data)); len(got) != 5 || strings.Contains(string(data), "usage") {
		t.Fatalf("without include_usage:\n%s", data)
	}
}

// TestStreamFailsAfterStart: a generation that fails after text was sent
// ends the stream with an error event (the SDKs raise it), no [DONE].
func TestStreamFailsAfterStart(t *testing.T) {
	f := newFixture(t, nil)
	f.server.SetReply(clienttest.Reply{Deltas: []string{"partial"},
		Final: crypto.Final{Reason: crypto.FinishError, ErrorCode: "context_overflow", PromptTokens: 3, CompletionTokens: 1}})
	_, data := f.post(t, userBody(`,"stream":true`))
	got := events(t, string(data))
	last := got[len(got)-1]
	want := `{"error":{"message":"the Sotto server stopped generating (code context_overflow)","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}`
	if len(got) != 3 || last != want {
		t.Fatalf("events:\n%s", data)
	}
	resp, data := f.post(t, userBody(""))
	if resp.StatusCode != 400 || strings.TrimSpace(string(data)) != want {
		t.Fatalf("non-streamed: %d %s", resp.StatusCode, data)
	}
}

// TestStreamDisconnect: a tool that hangs up mid-reply makes the proxy
// close its stream to the server (which frees the slot there).
func TestStreamDisconnect(t *testing.T) {
	f := newFixture(t, nil)
	f.server.SetReply(clienttest.Reply{Deltas: []string{"first words"}, Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.url+"/v1/chat/completions", strings.NewReader(userBody(`,"stream":true`)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(line, "first words") {
			break
		}
	}
	cancel()
	resp.Body.Close()
	for deadline := time.Now().Add(10 * time.Second); f.server.Counts().Abandoned == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the proxy kept the server's stream open after the tool hung up")
		}
	}
}
