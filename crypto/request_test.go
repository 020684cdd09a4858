package crypto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func parse(t *testing.T, js string, lim Limits) (Request, error) {
	t.Helper()
	return ParseRequest([]byte(js), lim)
}

func TestParseRequestFull(t *testing.T) {
	js := ` { "messages" : [ {"role":"system","content":"Be \"terse\".\n\t\\ \/ \b\f\r"},
		{"content":"Zo\u00eb \ud83d\udc4b ok","role":"user"},{"role":"assistant","content":""}],
		"max_tokens":256,"temperature":0.8,"top_p":0.95,"top_k":40,"seed":18446744073709551615,
		"stop":["\n\n","END"] } `
	buf := []byte(js)
	req, err := ParseRequest(buf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantMsgs := []Message{
		{RoleSystem, []byte("Be \"terse\".\n\t\\ / \b\f\r")},
		{RoleUser, []byte("Zoë 👋 ok")},
		{RoleAssistant, []byte{}},
	}
	if len(req.Messages) != len(wantMsgs) {
		t.Fatalf("%d messages", len(req.Messages))
	}
	for i, m := range req.Messages {
		if m.Role != wantMsgs[i].Role || !bytes.Equal(m.Content, wantMsgs[i].Content) {
			t.Errorf("message %d = %v %q, want %v %q", i, m.Role, m.Content, wantMsgs[i].Role, wantMsgs[i].Content)
		}
	}
	if !req.HasMaxTokens || req.MaxTokens != 256 || !req.HasTemperature || req.Temperature != float32(0.8) ||
		!req.HasTopP || req.TopP != float32(0.95) || !req.HasTopK || req.TopK != 40 ||
		!req.HasSeed || req.Seed != 1<<64-1 {
		t.Errorf("params = %+v", req)
	}
	if len(req.Stop) != 2 || string(req.Stop[0]) != "\n\n" || string(req.Stop[1]) != "END" {
		t.Errorf("stop = %q", req.Stop)
	}
	// Views point into the caller's buffer: nothing was copied out.
	c := req.Messages[1].Content
	if &c[0] != &buf[bytes.Index(buf, []byte("Zo"))] {
		t.Error("content is not a view into the input")
	}
}

func TestParseRequestMinimal(t *testing.T) {
	req, err := parse(t, `{"messages":[{"role":"user","content":"hi"}]}`, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if req.HasMaxTokens || req.HasTemperature || req.HasTopP || req.HasTopK || req.HasSeed || req.Stop != nil ||
		len(req.Messages) != 1 || string(req.Messages[0].Content) != "hi" {
		t.Fatalf("req = %+v", req)
	}
	req, err = parse(t, `{"stop":[],"temperature":0,"top_p":1,"top_k":0,"seed":0,"max_tokens":8192,"temperature2":1}`, Limits{})
	if code(err) != CodeMember {
		t.Fatalf("err = %v", err)
	}
	req, err = parse(t, `{"stop":[],"temperature":2e0,"top_p":1.0,"top_k":1000,"seed":0,"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, Limits{})
	if err != nil || req.Temperature != 2 || req.TopP != 1 || req.TopK != 1000 || req.MaxTokens != 1 || len(req.Stop) != 0 || req.Stop == nil {
		t.Fatalf("req = %+v, %v", req, err)
	}
}

func code(err error) string {
	var re *RequestError
	if errors.As(err, &re) {
		return re.Code
	}
	return "<" + errString(err) + ">"
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestParseRequestErrors(t *testing.T) {
	msg := `"messages":[{"role":"user","content":"x"}]`
	cases := []struct{ js, code string }{
		{``, CodeJSON},
		{`[]`, CodeJSON},
		{`{`, CodeJSON},
		{`{"messages"}`, CodeJSON},
		{`{` + msg + `,}`, CodeJSON},
		{`{` + msg + `}}`, CodeTrailing},
		{`{` + msg + `} x`, CodeTrailing},
		{`{` + msg + `,` + msg + `}`, CodeDuplicate},
		{`{` + msg + `,"top_k":1,"top_k":1}`, CodeDuplicate},
		{`{"messages":[{"role":"user","role":"user","content":"x"}]}`, CodeDuplicate},
		{`{` + msg + `,"model":"x"}`, CodeMember},
		{`{"messages":[{"role":"user","content":"x","name":"a"}]}`, CodeMember},
		{`{}`, CodeMessages},
		{`{"messages":[]}`, CodeMessages},
		{`{"messages":{}}`, CodeMessages},
		{`{"messages":["x"]}`, CodeMessages},
		{`{"messages":[{"role":"user"}]}`, CodeMessages},
		{`{"messages":[{"content":"x"}]}`, CodeMessages},
		{`{"messages":[{}]}`, CodeMessages},
		{`{"messages":[{"role":"tool","content":"x"}]}`, CodeRole},
		{`{"messages":[{"role":"User","content":"x"}]}`, CodeRole},
		{`{"messages":[{"role":1,"content":"x"}]}`, CodeRole},
		{`{"messages":[{"role":"user","content":null}]}`, CodeContent},
		{`{"messages":[{"role":"user","content":["x"]}]}`, CodeContent},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", CodeUTF8},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}", CodeUTF8},
		{`{"messages":[{"role":"user","content":"\ud800"}]}`, CodeUTF8},
		{`{"messages":[{"role":"user","content":"\udc00\ud800"}]}`, CodeUTF8},
		{`{"messages":[{"role":"user","content":"\ud800\u0041"}]}`, CodeUTF8},
		{`{"messages":[{"role":"user","content":"\u12"}]}`, CodeJSON},
		{`{"messages":[{"role":"user","content":"\x"}]}`, CodeJSON},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"a\nb\"}]}", CodeJSON},
		{`{"messages":[{"role":"user","content":"x}]}`, CodeJSON},
		{`{` + msg + `,"max_tokens":0}`, CodeMaxTokens},
		{`{` + msg + `,"max_tokens":8193}`, CodeMaxTokens},
		{`{` + msg + `,"max_tokens":1.5}`, CodeMaxTokens},
		{`{` + msg + `,"max_tokens":1e2}`, CodeMaxTokens},
		{`{` + msg + `,"max_tokens":-1}`, CodeMaxTokens},
		{`{` + msg + `,"max_tokens":"5"}`, CodeMaxTokens},
		{`{` + msg + `,"max_tokens":01}`, CodeMaxTokens},
		{`{` + msg + `,"top_k":01}`, CodeJSON},
		{`{` + msg + `,"temperature":2.0001}`, CodeTemperature},
		{`{` + msg + `,"temperature":-0.1}`, CodeTemperature},
		{`{` + msg + `,"temperature":1e999}`, CodeTemperature},
		{`{` + msg + `,"temperature":null}`, CodeTemperature},
		{`{` + msg + `,"temperature":.5}`, CodeTemperature},
		{`{` + msg + `,"temperature":1.}`, CodeTemperature},
		{`{` + msg + `,"top_p":1.01}`, CodeTopP},
		{`{` + msg + `,"top_k":1001}`, CodeTopK},
		{`{` + msg + `,"top_k":-0}`, CodeTopK},
		{`{` + msg + `,"seed":18446744073709551616}`, CodeSeed},
		{`{` + msg + `,"seed":-1}`, CodeSeed},
		{`{` + msg + `,"stop":"x"}`, CodeStop},
		{`{` + msg + `,"stop":[""]}`, CodeStop},
		{`{` + msg + `,"stop":[1]}`, CodeStop},
		{`{` + msg + `,"stop":["a","b","c","d","e"]}`, CodeStop},
		{`{` + msg + `,"stop":["` + strings.Repeat("s", 65) + `"]}`, CodeStop},
		{"{" + msg + ",\"stop\":[\"\xc3\"]}", CodeUTF8},
	}
	for _, c := range cases {
		_, err := parse(t, c.js, Limits{})
		if got := code(err); got != c.code {
			t.Errorf("%s: code %s, want %s", c.js, got, c.code)
		}
		if err != nil && err.Error() != "crypto: invalid request: "+c.code {
			t.Errorf("%s: message %q", c.js, err.Error())
		}
	}
}

func TestParseRequestLimits(t *testing.T) {
	m := `{"role":"user","content":"abcd"}`
	many := `{"messages":[` + strings.Repeat(m+",", 64) + m + `]}`
	if _, err := parse(t, many, Limits{}); code(err) != CodeMessages {
		t.Errorf("65 messages: %v", err)
	}
	if req, err := parse(t, many, Limits{MaxMessages: 65}); err != nil || len(req.Messages) != 65 {
		t.Errorf("65 messages with limit 65: %v", err)
	}
	two := `{"messages":[` + m + `,` + m + `]}`
	if _, err := parse(t, two, Limits{MaxContentBytes: 7}); code(err) != CodeContent {
		t.Errorf("content over limit: %v", err)
	}
	if _, err := parse(t, two, Limits{MaxContentBytes: 8}); err != nil {
		t.Errorf("content at limit: %v", err)
	}
	esc := `{"messages":[{"role":"user","content":"\u00e9\u00e9"}]}` // 4 bytes unescaped
	if _, err := parse(t, esc, Limits{MaxContentBytes: 4}); err != nil {
		t.Errorf("limit counts unescaped bytes: %v", err)
	}
	mt := `{"messages":[` + m + `],"max_tokens":100}`
	if _, err := parse(t, mt, Limits{MaxTokens: 99}); code(err) != CodeMaxTokens {
		t.Errorf("max_tokens over cap: %v", err)
	}
	st := `{"messages":[` + m + `],"stop":["abc"]}`
	if _, err := parse(t, st, Limits{MaxStopBytes: 2}); code(err) != CodeStop {
		t.Errorf("stop over length: %v", err)
	}
}

func TestParseFloat(t *testing.T) {
	cases := map[string]float64{
		"0": 0, "-0": 0, "0.8": 0.8, "0.95": 0.95, "1": 1, "2e0": 2, "20e-1": 2, "0.0001e4": 1,
		"123456789012345678901234": 1.2345678901234568e23, "1e400": 0, "1e-400": 0, "0.000000000000000000000000001": 1e-27,
		"1.7976931348623157e308": 1.7976931348623157e308, "3.14159": 3.14159,
	}
	for in, want := range cases {
		got := parseFloat([]byte(in))
		if in == "1e400" {
			if got <= 1e308 {
				t.Errorf("parseFloat(%s) = %v, want +Inf", in, got)
			}
			continue
		}
		if got != want && (want == 0 || (got-want)/want > 1e-15 || (want-got)/want > 1e-15) {
			t.Errorf("parseFloat(%s) = %v, want %v", in, got, want)
		}
	}
}
