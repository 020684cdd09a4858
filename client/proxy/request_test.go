package proxy

import (
	"bytes"
	"testing"
)

// FuzzDecodeRequest: any body is a request the client accepts or an
// OpenAI-shaped error with a 4xx status that does not quote the body;
// never a panic.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"messages":[{"role":"user","content":"hi"}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}],"stop":"x"}`,
		`{"messages":[{"role":"assistant","content":null,"tool_calls":[]}],"seed":-1,"n":null}`,
		`{"messages":[],"max_tokens":1.5}`, `[`, `null`, `{"stop":[1]}`, "{\"messages\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := decodeRequest(bytes.NewReader(body))
		if e == nil {
			_, e = req.toClient()
		}
		if e == nil {
			return
		}
		if e.status < 400 || e.status > 499 || e.Message == "" || e.Type == "" || e.Code == "" {
			t.Fatalf("error %+v", e)
		}
		if len(body) >= 8 && bytes.Contains([]byte(e.Message), body) {
			t.Fatalf("the error quotes the body: %q", e.Message)
		}
	})
}
