package proxy

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/internal/testenv"
)

// canary is the text of every test prompt: it must never reach a log
// line or an error.
const canary = "ZQXCANARY-proxy-5d1e"

// fixture is a proxy in front of a clienttest server, logging at debug
// level into log.
type fixture struct {
	url    string
	server *clienttest.Server
	log    *testenv.SyncBuffer
}

func newFixture(t *testing.T, mod func(*Config)) *fixture {
	t.Helper()
	s := clienttest.New(t)
	_, dev, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{BaseURL: s.URL, SigningKey: s.SigningKey(), DeviceKey: dev})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{server: s, log: &testenv.SyncBuffer{}}
	cfg := Config{Client: c, Log: slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&cfg)
	}
	h := httptest.NewServer(New(cfg))
	t.Cleanup(h.Close)
	f.url = h.URL
	return f
}

// post sends body to /v1/chat/completions; hdr are name, value pairs.
func (f *fixture) post(t *testing.T, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), canary) && resp.StatusCode != http.StatusOK {
		t.Errorf("an error echoes the request's content: %s", data)
	}
	return resp, data
}

// userBody is a request with one user message holding the canary.
func userBody(extra string) string {
	return `{"model":"gpt-4o","messages":[{"role":"user","content":"` + canary + `"}]` + extra + `}`
}

// sentInner returns the inner requests the Sotto server opened.
func (f *fixture) sentInner(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range f.server.Received() {
		var m map[string]any
		if err := json.Unmarshal([]byte(r.Inner), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestCompletion: a non-streamed request maps to the inner request
// (roles, text parts, parameters, a cache secret) and its reply to a
// chat.completion with usage.
func TestCompletion(t *testing.T) {
	f := newFixture(t, nil)
	body := `{"model":"gpt-4o","messages":[
		{"role":"developer","content":"be brief"},
		{"role":"user","content":[{"type":"text","text":"` + canary + `"},{"type":"text","text":"second part"}]},
		{"role":"assistant","content":"earlier reply"},
		{"role":"user","content":"next"}],
		"max_tokens":99,"max_completion_tokens":12,"temperature":0.5,"top_p":0.9,"stop":"\n\n","seed":42,
		"n":1,"user":"someone","presence_penalty":0,"tool_choice":"none","stream":false}`
	resp, data := f.post(t, body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	var got completion
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.ID, "chatcmpl-") || got.Object != "chat.completion" || got.Model != DefaultModel || got.Created == 0 ||
		len(got.Choices) != 1 || *got.Choices[0].Message.Content != "Hello, world." || got.Choices[0].Message.Role != "assistant" ||
		*got.Choices[0].FinishReason != "stop" || *got.Usage != (usage{7, 2, 9}) {
		t.Fatalf("completion %s", data)
	}
	inner := f.sentInner(t)
	if len(inner) != 1 {
		t.Fatalf("%d requests sent", len(inner))
	}
	cache := inner[0]["cache"].(map[string]any)
	delete(inner[0], "cache")
	want := `{"max_tokens":12,"messages":[{"content":"be brief","role":"system"},` +
		`{"content":"` + canary + `\nsecond part","role":"user"},{"content":"earlier reply","role":"assistant"},` +
		`{"content":"next","role":"user"}],"seed":42,"shape":"constant","stop":["\n\n"],"temperature":0.5,"top_p":0.9}`
	if b, _ := json.Marshal(inner[0]); string(b) != want {
		t.Fatalf("inner request\n got %s\nwant %s", b, want)
	}
	if s, _ := cache["secret"].(string); len(s) != 22 || cache["ttl"] != float64(600) {
		t.Fatalf("cache member %v", cache)
	}
}

// TestModelsAndHealth: GET /v1/models lists the one model; /health and /
// answer; an unknown path is an OpenAI-shaped 404.
func TestModelsAndHealth(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Model = "stories" })
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, f.url+path, nil)
		resp, data := do(t, req)
		return resp.StatusCode, strings.TrimSpace(string(data))
	}
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/v1/models", 200, `{"object":"list","data":[{"id":"stories","object":"model","created":0,"owned_by":"sotto"}]}`},
		{"/v1/models/stories", 200, `{"id":"stories","object":"model","created":0,"owned_by":"sotto"}`},
		{"/v1/models/gpt-4o", 404, `{"error":{"message":"this proxy serves one model: stories","type":"not_found_error","param":null,"code":"model_not_found"}}`},
		{"/health", 200, `{"status":"ok"}`},
		{"/", 200, `{"status":"ok"}`},
		{"/v1/embeddings", 404, `{"error":{"message":"unknown path or method; this proxy serves POST /v1/chat/completions and GET /v1/models","type":"not_found_error","param":null,"code":"unknown_url"}}`},
	}
	for _, c := range cases {
		if status, body := get(c.path); status != c.status || body != c.body {
			t.Errorf("GET %s: %d %s, want %d %s", c.path, status, body, c.status, c.body)
		}
	}
}

// TestAPIKey: with a key, a request without it or with another is a 401
// authentication_error and reaches no server; /health needs none.
// Without a key, a Host that is not loopback (DNS rebinding) is refused.
func TestAPIKey(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.APIKey = "right-key" })
	for _, auth := range []string{"", "Bearer wrong-key", "Bearer right-key2", "right-key"} {
		resp, data := f.post(t, userBody(""), "Authorization", auth)
		if resp.StatusCode != 401 || !strings.Contains(string(data), `"type":"authentication_error"`) {
			t.Errorf("Authorization %q: %d %s", auth, resp.StatusCode, data)
		}
	}
	if n := f.server.Counts().Chat; n != 0 {
		t.Fatalf("%d requests reached the server without the key", n)
	}
	if resp, data := f.post(t, userBody(""), "Authorization", "Bearer right-key"); resp.StatusCode != 200 {
		t.Fatalf("with the key: %d %s", resp.StatusCode, data)
	}
	req, _ := http.NewRequest(http.MethodGet, f.url+"/health", nil)
	if resp, _ := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("/health without the key: %d", resp.StatusCode)
	}

	open := newFixture(t, nil)
	if resp, data := open.post(t, userBody(""), "Authorization", "Bearer anything"); resp.StatusCode != 200 {
		t.Fatalf("loopback without a key: %d %s", resp.StatusCode, data)
	}
	req, _ = http.NewRequest(http.MethodPost, open.url+"/v1/chat/completions", strings.NewReader(userBody("")))
	req.Header.Set("Content-Type", "application/json")
	req.Host = "attacker.example:11435"
	if resp, data := do(t, req); resp.StatusCode != 403 || !strings.Contains(string(data), `"code":"host_not_allowed"`) {
		t.Fatalf("foreign Host: %d %s", resp.StatusCode, data)
	}
}
