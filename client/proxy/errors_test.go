package proxy

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/server/problem"
)

// TestRefusals: what Sotto cannot do is refused before anything is sent,
// with the OpenAI error shape and status, naming the field, never its
// content (do checks that no error body holds the canary).
func TestRefusals(t *testing.T) {
	f := newFixture(t, nil)
	msg := `"messages":[{"role":"user","content":"` + canary + `"}]`
	cases := []struct{ body, status, param, code string }{
		{`{` + msg + `,"tools":[{"type":"function","function":{"name":"f"}}]}`, "400", "tools", "unsupported_parameter"},
		{`{` + msg + `,"tool_choice":"auto"}`, "400", "tool_choice", "unsupported_parameter"},
		{`{` + msg + `,"n":2}`, "400", "n", "unsupported_parameter"},
		{`{` + msg + `,"logprobs":true}`, "400", "logprobs", "unsupported_parameter"},
		{`{` + msg + `,"response_format":{"type":"json_object"}}`, "400", "response_format", "unsupported_parameter"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:` + canary + `"}}]}]}`,
			"400", "messages[0].content", "unsupported_parameter"},
		{`{"messages":[{"role":"tool","content":"` + canary + `","tool_call_id":"x"}]}`, "400", "messages[0].role", "unsupported_parameter"},
		{`{"messages":[{"role":"wizard","content":"` + canary + `"}]}`, "400", "messages[0].role", "invalid_value"},
		{`{"messages":[]}`, "400", "messages", "invalid_value"},
		{`{` + msg + `,"seed":-1}`, "400", "seed", "invalid_value"},
		{`{` + msg + `,"max_tokens":0}`, "400", "max_tokens", "invalid_value"},
		{`{` + msg + `,"max_tokens":"` + canary + `"}`, "400", "max_tokens", "invalid_type"},
		{`{` + msg + `,` + canary + `}`, "400", "", "invalid_json"},
		{`{"messages":[{"role":"user","content":"` + canary + "\xff" + `"}]}`, "400", "", "invalid_encoding"},
	}
	for _, c := range cases {
		resp, data := f.post(t, c.body)
		param := `"param":null`
		if c.param != "" {
			param = `"param":"` + c.param + `"`
		}
		if s := resp.Status[:3]; s != c.status || !strings.Contains(string(data), `"type":"invalid_request_error",`+param+`,"code":"`+c.code+`"`) {
			t.Errorf("%s:\n %s %s", c.body, resp.Status, data)
		}
	}
	resp, data := f.post(t, userBody(""), "Content-Type", "text/plain")
	if resp.StatusCode != 415 || !strings.Contains(string(data), `"code":"invalid_content_type"`) {
		t.Errorf("text/plain: %d %s", resp.StatusCode, data)
	}
	if n := f.server.Counts().Chat; n != 0 {
		t.Fatalf("%d refused requests reached the server", n)
	}
}

// TestProblems: the server's refusals arrive as the statuses the OpenAI
// SDKs type (429 with retry-after, 400 naming the parameter, 403, 503),
// streamed or not.
func TestProblems(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		p                  problem.Problem
		status             int
		retryAfter, detail string
	}{
		{problem.RateLimitedAfter(7 * time.Second), 429, "7", `"type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"`},
		{problem.OverloadedAfter(3 * time.Second), 503, "3", `"type":"server_error","param":null,"code":"overloaded"`},
		{problem.InvalidRequest(crypto.CodeTemperature), 400, "", `"type":"invalid_request_error","param":"temperature","code":"invalid_value"`},
		{problem.InvalidRequest(crypto.CodeContextMaxTokens), 400, "", `"param":"messages","code":"context_length_exceeded"`},
		{problem.New(problem.Device), 403, "", `"type":"permission_error","param":null,"code":"device_not_enrolled"`},
		{problem.New(problem.Internal), 500, "", `"type":"server_error","param":null,"code":"sotto_internal"`},
	}
	for _, stream := range []string{"", `,"stream":true`} {
		for _, c := range cases {
			f.server.QueueProblems(c.p)
			resp, data := f.post(t, userBody(stream))
			if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retryAfter ||
				!strings.Contains(string(data), c.detail) || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s%s: %d retry-after %q: %s", c.p.Name, stream, resp.StatusCode, resp.Header.Get("Retry-After"), data)
			}
		}
	}
}

// TestServerDown: a Sotto server that does not answer is a 502 the SDKs
// raise as an InternalServerError (and retry).
func TestServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	pub, dev, _ := ed25519.GenerateKey(rand.Reader)
	c, err := client.New(client.Config{BaseURL: url, SigningKey: pub, DeviceKey: dev})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(New(Config{Client: c}))
	defer h.Close()
	f := &fixture{url: h.URL}
	resp, data := f.post(t, userBody(`,"stream":true`))
	if resp.StatusCode != 502 || !strings.Contains(string(data), `"type":"server_error","param":null,"code":"sotto_server_unreachable"`) {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
}

// TestConversationSecrets: turn 2 of a conversation, resent whole by the
// tool, carries turn 1's cache secret; another conversation another one.
func TestConversationSecrets(t *testing.T) {
	f := newFixture(t, nil)
	turn1 := `{"messages":[{"role":"system","content":"sys"},{"role":"user","content":"` + canary + `"}]}`
	turn2 := `{"messages":[{"role":"system","content":"sys"},{"role":"user","content":"` + canary + `"},` +
		`{"role":"assistant","content":"Hello, world."},{"role":"user","content":"more"}],"stream":true}`
	other := `{"messages":[{"role":"system","content":"sys"},{"role":"user","content":"another"}]}`
	for _, b := range []string{turn1, turn2, other} {
		if resp, data := f.post(t, b); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, data)
		}
	}
	var secrets []string
	for _, in := range f.sentInner(t) {
		secrets = append(secrets, in["cache"].(map[string]any)["secret"].(string))
	}
	if secrets[0] != secrets[1] || secrets[2] == secrets[0] {
		t.Fatalf("secrets %q: want turn 2 = turn 1 != the other conversation", secrets)
	}
}

// TestLogHoldsNoText: at debug level, the proxy's log names every request
// but holds none of the prompt or reply text, for successes, refusals and
// server problems alike.
func TestLogHoldsNoText(t *testing.T) {
	f := newFixture(t, nil)
	replyCanary := "ZQXREPLY-proxy-9c2b"
	f.server.SetReply(clienttest.Reply{Deltas: []string{replyCanary, " more"},
		Final: crypto.Final{Reason: crypto.FinishStop, PromptTokens: 5, CompletionTokens: 2}})
	bodies := []string{userBody(""), userBody(`,"stream":true`), userBody(`,"n":3`), `{"messages":[{"role":"` + canary + `","content":"x"}]}`}
	for _, b := range bodies {
		f.post(t, b)
	}
	f.server.QueueProblems(problem.InvalidRequest(crypto.CodeContent))
	f.post(t, userBody(""))
	req, _ := http.NewRequest(http.MethodGet, f.url+"/v1/"+canary, nil)
	do(t, req)
	f.server.SetReply(clienttest.Reply{Deltas: []string{replyCanary}, Final: crypto.Final{Reason: crypto.FinishError, ErrorCode: "overloaded"}})
	f.post(t, userBody(`,"stream":true`))

	log := f.log.String()
	if n := strings.Count(log, "proxy: request"); n != len(bodies)+3 {
		t.Fatalf("%d request lines, want %d:\n%s", n, len(bodies)+3, log)
	}
	for _, s := range []string{canary, replyCanary, "ZQX"} {
		if strings.Contains(log, s) {
			t.Fatalf("the log holds request or reply text %q:\n%s", s, log)
		}
	}
	if !strings.Contains(log, "level=INFO msg=\"proxy: request\" method=POST path=/v1/chat/completions status=200") ||
		!strings.Contains(log, "path=other status=404") || !strings.Contains(log, "code=unsupported_parameter") ||
		!strings.Contains(log, `level=DEBUG msg="proxy: chat" messages=1 continued=true stream=true finish=stop prompt_tokens=5 completion_tokens=2 error=<nil>`) {
		t.Fatalf("log lines lack what they should name:\n%s", log)
	}
}

// TestServerWithoutCache: a server that predates the conversation cache
// refuses its member; the proxy resends the request without it, once.
func TestServerWithoutCache(t *testing.T) {
	f := newFixture(t, nil)
	f.server.QueueProblems(problem.InvalidRequest(crypto.CodeMember))
	if resp, data := f.post(t, userBody("")); resp.StatusCode != 200 || !strings.Contains(string(data), `"content":"Hello, world."`) {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	inner := f.sentInner(t)
	if n := f.server.Counts().Chat; n != 2 || len(inner) != 1 || inner[0]["cache"] != nil {
		t.Fatalf("%d requests, opened %v: want the refused one, then one without the cache member", n, inner)
	}
}

// TestClientRecoveries: what the Go client recovers from (a rotated key,
// a skewed clock, proof of work) never reaches the tool.
func TestClientRecoveries(t *testing.T) {
	f := newFixture(t, nil)
	if resp, data := f.post(t, userBody("")); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	for name, change := range map[string]func(){
		"rotated key":   f.server.Rotate,
		"skewed clock":  func() { f.server.SetClockOffset(10 * time.Minute) },
		"proof of work": func() { f.server.RequirePoW(8) },
	} {
		change()
		if resp, data := f.post(t, userBody(`,"stream":true`)); resp.StatusCode != 200 || !strings.HasSuffix(string(data), "data: [DONE]\n\n") {
			t.Errorf("after a %s: %d %s", name, resp.StatusCode, data)
		}
	}
}
