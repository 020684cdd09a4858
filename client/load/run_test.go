package load

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/server/problem"
)

func sottoTarget(t *testing.T, s *clienttest.Server) Sotto {
	t.Helper()
	_, dev, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{BaseURL: s.URL, SigningKey: s.SigningKey(), DeviceKey: dev})
	if err != nil {
		t.Fatal(err)
	}
	return Sotto{Client: c}
}

// TestRunClosedLoop: every request of a closed loop is sent, verified and
// counted; refusals are counted by problem name; the reports agree.
func TestRunClosedLoop(t *testing.T) {
	s := clienttest.New(t, crypto.SuiteX25519)
	s.QueueProblems(problem.OverloadedAfter(time.Second), problem.RateLimitedAfter(time.Second))
	rep, err := Run(t.Context(), Config{Target: sottoTarget(t, s), Concurrency: 3, Count: 10,
		Workload: Workload{PromptWords: Dist{4, 9}, MaxTokens: Fixed(5)}})
	if err != nil {
		t.Fatal(err)
	}
	sm := rep.Summary
	if sm.Requests != 10 || sm.OK != 8 || sm.Refused != 2 || sm.Failed != 0 ||
		sm.Refusals["overloaded"] != 1 || sm.Refusals["rate-limited"] != 1 {
		t.Fatalf("summary %+v", sm)
	}
	// The canned reply: two chunks, 7 prompt and 2 completion tokens.
	if sm.Chunks != 16 || sm.PromptTokens != 56 || sm.CompletionTokens != 16 || sm.Good != 8 {
		t.Fatalf("counts %+v", sm)
	}
	if sm.TTFTMs.P50 <= 0 || sm.E2EMs.P99 < sm.TTFTMs.P99 || sm.RequestsPerS <= 0 || sm.ClientCPUSeconds <= 0 {
		t.Fatalf("timings %+v", sm)
	}
	for _, r := range s.Received() {
		var in struct {
			Messages  []client.Message `json:"messages"`
			MaxTokens int              `json:"max_tokens"`
		}
		if err := json.Unmarshal([]byte(r.Inner), &in); err != nil {
			t.Fatal(err)
		}
		n := len(strings.Fields(in.Messages[0].Content))
		if len(in.Messages) != 1 || in.MaxTokens != 5 || n < 4 || n > 9 {
			t.Fatalf("request %d messages, max_tokens %d, %d words", len(in.Messages), in.MaxTokens, n)
		}
	}
	var js, cs bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Summary.OK != 8 || back.Mode != "closed" {
		t.Fatalf("JSON %v: %s", err, js.Bytes())
	}
	if err := rep.WriteCSV(&cs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil || len(rows) != 2 || len(rows[1]) != len(csvHeader) || rows[1][0] != "all" || rows[1][3] != "8" ||
		rows[1][6] != "overloaded=1;rate-limited=1" {
		t.Fatalf("CSV %v: %q", err, rows)
	}
}

// TestRunOpenLoopCountAndHang: an open loop starts Count conversations; a
// server that stops mid-stream costs each request its RequestTimeout, no
// more, and is reported as a timeout after the text it sent.
func TestRunOpenLoopCountAndHang(t *testing.T) {
	s := clienttest.New(t, crypto.SuiteX25519)
	s.SetReply(clienttest.Reply{Deltas: []string{"a", "b"}, Hang: true})
	rep, err := Run(t.Context(), Config{Target: sottoTarget(t, s), Rate: 200, Count: 6, Seed: 3,
		RequestTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if sm := rep.Summary; sm.Requests != 6 || sm.Failed != 6 || sm.Errors["timeout"] != 6 || rep.Mode != "open" {
		t.Fatalf("summary %+v", sm)
	}
	for _, x := range rep.Samples {
		if x.Chunks != 2 || x.E2E < 300*time.Millisecond {
			t.Fatalf("sample %+v", x)
		}
	}
}

// TestRunMultiTurnCache: a conversation's turns carry its history, and
// with Cache one cache secret across the turns, a new one per
// conversation; without Cache none.
func TestRunMultiTurnCache(t *testing.T) {
	for _, cache := range []bool{false, true} {
		s := clienttest.New(t, crypto.SuiteX25519)
		rep, err := Run(t.Context(), Config{Target: sottoTarget(t, s), Concurrency: 2, Count: 2,
			Workload: Workload{Turns: 3, Cache: cache}})
		if err != nil || rep.Summary.OK != 6 {
			t.Fatalf("cache %v: %v %+v", cache, err, rep.Summary)
		}
		secrets := map[string]int{}
		for _, r := range s.Received() {
			var in struct {
				Messages []client.Message `json:"messages"`
				Cache    *struct{ Secret string }
			}
			if err := json.Unmarshal([]byte(r.Inner), &in); err != nil {
				t.Fatal(err)
			}
			if n := len(in.Messages); n != 1 && n != 3 && n != 5 {
				t.Fatalf("%d messages", n)
			}
			if len(in.Messages) > 1 && in.Messages[1].Content != "Hello, world." {
				t.Fatal("history lacks the reply")
			}
			if (in.Cache != nil) != cache {
				t.Fatalf("cache %v, member %v", cache, in.Cache)
			}
			if in.Cache != nil {
				secrets[in.Cache.Secret]++
			}
		}
		if cache && (len(secrets) != 2 || secrets[sortedFirst(secrets)] != 3) {
			t.Fatalf("secrets per conversation: %v", secrets)
		}
	}
}

func sortedFirst(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}

// TestRunDuration: a closed loop bounded only by a duration ends, and a
// cancelled context stops an open loop of an hour at once.
func TestRunDuration(t *testing.T) {
	s := clienttest.New(t, crypto.SuiteX25519)
	rep, err := Run(t.Context(), Config{Target: sottoTarget(t, s), Concurrency: 2, Duration: 200 * time.Millisecond})
	if err != nil || rep.Summary.OK == 0 || rep.Summary.Failed != 0 {
		t.Fatalf("%v %+v", err, rep.Summary)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rep, err = Run(ctx, Config{Target: sottoTarget(t, s), Rate: 10, Duration: time.Hour})
	if err != nil || rep.Summary.Requests != 0 {
		t.Fatalf("cancelled run: %v %+v", err, rep.Summary)
	}
}

// TestConfigRefused: every unrunnable configuration is an ErrConfig.
func TestConfigRefused(t *testing.T) {
	tg := Sotto{}
	for name, c := range map[string]Config{
		"no target":    {Concurrency: 1, Count: 1},
		"no mode":      {Target: tg, Count: 1},
		"two modes":    {Target: tg, Concurrency: 1, Rate: 1, Count: 1},
		"no bound":     {Target: tg, Rate: 1},
		"negative":     {Target: tg, Concurrency: 1, Count: -1},
		"bad workload": {Target: tg, Concurrency: 1, Count: 1, Workload: Workload{MaxTokens: Dist{3, 2}}},
	} {
		if _, err := Run(t.Context(), c); err == nil || (name != "bad workload" && !errorsIs(err, ErrConfig)) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
