package load

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// fakeOpenAI streams "Hi" "there" as OpenAI chunks with usage; the nth
// request (1-based) gets the status in refuse, and a truncated stream
// when truncate is set.
func fakeOpenAI(t *testing.T, refuse map[int]int, truncate bool) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	var cachePrompts atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1))
		var req oaRequest
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || !req.Stream || req.MaxTokens != 5 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if req.CachePrompt {
			cachePrompts.Add(1)
		}
		if st := refuse[i]; st != 0 {
			w.WriteHeader(st)
			fmt.Fprintf(w, `{"error":{"message":"m","type":"server_error","code":"overloaded"}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n")
		fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n")
		if truncate {
			return
		}
		fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\" there\"},\"finish_reason\":\"length\"}]}\n\n")
		fmt.Fprint(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(s.Close)
	return s, &cachePrompts
}

// TestOpenAI: the same driver reads OpenAI SSE: text chunks, usage, the
// error code of a refusal, a stream cut before [DONE], and cache_prompt
// following Workload.Cache.
func TestOpenAI(t *testing.T) {
	s, cached := fakeOpenAI(t, map[int]int{2: 503, 3: 400}, false)
	rep, err := Run(t.Context(), Config{Target: OpenAI{BaseURL: s.URL, HTTP: s.Client()}, Concurrency: 1, Count: 4,
		Workload: Workload{MaxTokens: Fixed(5), Turns: 2, Cache: true}})
	if err != nil {
		t.Fatal(err)
	}
	// Requests: conversation 0 turn 1 ok (1), turn 2 refused (2, ends it);
	// conversation 1 a 400 (3); conversations 2 and 3 two turns each.
	sm := rep.Summary
	if sm.Requests != 7 || sm.OK != 5 || sm.Refusals["overloaded"] != 1 || sm.Errors["overloaded"] != 1 ||
		sm.PromptTokens != 45 || sm.CompletionTokens != 10 || sm.Chunks != 10 || cached.Load() != 7 {
		t.Fatalf("summary %+v, cache_prompt %d", sm, cached.Load())
	}
	cut, _ := fakeOpenAI(t, nil, true)
	rep, err = Run(t.Context(), Config{Target: OpenAI{BaseURL: cut.URL, HTTP: cut.Client()}, Concurrency: 1, Count: 2,
		Workload: Workload{MaxTokens: Fixed(5)}})
	if err != nil || rep.Summary.Errors["stream-truncated"] != 2 {
		t.Fatalf("%v %+v", err, rep.Summary)
	}
}
