package crypto

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

// vecEdge is a stream built by hand around the edges of protocol
// sections 5.2 and 5.3 (issue 14, points 5 and 6): SSE ids, what may
// follow the final chunk, and chunk JSON strictness. Outcome is ok,
// corrupt or truncated; an ok stream opens to ReplyText and FinalJSON.
type vecEdge struct {
	Name      string `json:"name"`
	SSE       string `json:"sse"`
	Outcome   string `json:"outcome"`
	ReplyText string `json:"reply_text,omitempty"`
	FinalJSON string `json:"final_json,omitempty"`
}

// edgeSealer seals hand-written chunk plaintexts with a response's keys.
type edgeSealer struct {
	t  *testing.T
	ss *StreamSealer
}

// chunk returns the data line's value for plaintext js as chunk i.
func (e edgeSealer) chunk(i uint64, js string, final bool) string {
	padded := append([]byte(js), make([]byte, ChunkPaddedLen(len(js), e.ss.quantum)-len(js))...)
	var aad []byte
	if final {
		aad = aadFinalBytes
	}
	n := chunkNonce(&e.ss.nonce, i)
	return b64(e.ss.aead.Seal(nil, n[:], padded, aad))
}

const edgeFinal = `{"finish_reason":"stop","usage":{"prompt_tokens":2,"completion_tokens":1}}`

// genEdgeStreams builds the edge cases from the response keys of o (the
// same response_nonce as the case's response) and checks each outcome
// with OpenStream, whole and fed one byte at a time.
func genEdgeStreams(t *testing.T, spec caseSpec, o *Opened, sc *SenderContext) []vecEdge {
	rn := vecSeed(spec.name+" response_nonce", ResponseNonceSize)
	ss, err := NewStreamSealer(o, fixedReader(rn), spec.quantum, budget(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	e := edgeSealer{t, ss}
	nonce := "event: nonce\ndata: " + b64(rn) + "\n\n"
	delta := func(js string) string { return "data: " + e.chunk(0, js, false) + "\n\n" }
	final := func(js string) string { return "event: final\ndata: " + e.chunk(1, js, true) + "\n\n" }
	hi, fin := delta(`{"delta":"Hi"}`), final(edgeFinal)
	ok := func(name, sse, reply, fj string) vecEdge { return vecEdge{name, sse, "ok", reply, fj} }
	bad := func(name, sse string) vecEdge { return vecEdge{Name: name, SSE: sse, Outcome: "corrupt"} }
	long := strings.Repeat("x", 5000)
	maxUsage := `{"finish_reason":"length","usage":{"prompt_tokens":2147483647,"completion_tokens":2147483647}}`
	cases := []vecEdge{
		ok("ids-absent", nonce+hi+fin, "Hi", edgeFinal),
		ok("ids-present", nonce+"id: 0\n"+hi+"id: 1\n"+fin, "Hi", edgeFinal),
		ok("id-last-of-several-counts", nonce+"id: 7\nid: 0\n"+hi+fin, "Hi", edgeFinal),
		ok("event-message", nonce+"event: message\n"+hi+fin, "Hi", edgeFinal),
		ok("unknown-fields-ignored", nonce+"retry: 10\nfoo: bar\n"+hi+fin, "Hi", edgeFinal),
		ok("after-final-comment-retry-unknown-field", nonce+hi+fin+": ka\n\nretry: 5000\nfoo: bar\n\n: partial comment", "Hi", edgeFinal),
		ok("json-whitespace-and-member-order", nonce+delta(" \t{ \"delta\" :\n\"Hi\" }\r\n")+
			final(` { "usage" : { "completion_tokens" : 1 , "prompt_tokens" : 2 } , "finish_reason" : "stop" } `), "Hi", edgeFinal),
		ok("delta-any-json-escape", nonce+delta(`{"delta":"\u0048\u0069\/\ud83d\ude00"}`)+fin, "Hi/\U0001F600", edgeFinal),
		ok("delta-over-4096-bytes", nonce+delta(`{"delta":"`+long+`"}`)+fin, long, edgeFinal),
		ok("usage-2^31-1", nonce+hi+final(maxUsage), "Hi", maxUsage),
		bad("id-empty", nonce+"id:\n"+hi+fin),
		bad("id-with-nul", nonce+"id: 0\x00\n"+hi+fin),
		bad("id-leading-zero", nonce+"id: 00\n"+hi+fin),
		bad("id-last-of-several-wrong", nonce+"id: 0\nid: 7\n"+hi+fin),
		bad("nonce-with-id", "id: 0\n"+nonce+hi+fin),
		bad("two-data-lines", nonce+"data: x\n"+hi+fin),
		bad("unknown-event-type", nonce+"event: delta\n"+hi+fin),
		bad("after-final-data", nonce+hi+fin+"data: x\n\n"),
		bad("after-final-id-only", nonce+hi+fin+"id: 2\n\n"),
		bad("after-final-partial-field-line", nonce+hi+fin+"retry: 5"),
		bad("delta-empty", nonce+delta(`{"delta":""}`)+fin),
		bad("delta-trailing-bytes", nonce+delta(`{"delta":"Hi"}x`)+fin),
		bad("delta-unknown-member", nonce+delta(`{"delta":"Hi","n":1}`)+fin),
		bad("final-unknown-reason", nonce+hi+final(`{"finish_reason":"done","usage":{"prompt_tokens":2,"completion_tokens":1}}`)),
		bad("final-usage-over-2^31-1", nonce+hi+final(`{"finish_reason":"stop","usage":{"prompt_tokens":2147483648,"completion_tokens":1}}`)),
		bad("final-usage-not-integer", nonce+hi+final(`{"finish_reason":"stop","usage":{"prompt_tokens":2.0,"completion_tokens":1}}`)),
		bad("final-usage-leading-zero", nonce+hi+final(`{"finish_reason":"stop","usage":{"prompt_tokens":02,"completion_tokens":1}}`)),
		bad("final-unknown-member", nonce+hi+final(`{"finish_reason":"stop","usage":{"prompt_tokens":2,"completion_tokens":1},"model":"m"}`)),
		bad("final-duplicate-member", nonce+hi+final(`{"finish_reason":"stop","finish_reason":"stop","usage":{"prompt_tokens":2,"completion_tokens":1}}`)),
		bad("final-no-usage", nonce+hi+final(`{"finish_reason":"stop"}`)),
		bad("final-error-member-with-stop", nonce+hi+final(`{"finish_reason":"stop","usage":{"prompt_tokens":2,"completion_tokens":1},"error":{"code":"x"}}`)),
		bad("final-error-without-member", nonce+hi+final(`{"finish_reason":"error","usage":{"prompt_tokens":2,"completion_tokens":1}}`)),
		bad("final-error-code-uppercase", nonce+hi+final(`{"finish_reason":"error","usage":{"prompt_tokens":2,"completion_tokens":1},"error":{"code":"X"}}`)),
		bad("final-without-event-final", nonce+hi+"data: "+e.chunk(1, edgeFinal, true)+"\n\n"),
		bad("delta-as-event-final", nonce+"event: final\ndata: "+e.chunk(0, `{"delta":"Hi"}`, false)+"\n\n"+fin),
	}
	for _, c := range cases {
		checkEdgeStream(t, sc, c)
	}
	return cases
}

// checkEdgeStream opens c whole and byte by byte and compares the outcome.
func checkEdgeStream(t *testing.T, sc *SenderContext, c vecEdge) {
	t.Helper()
	text, f, err := OpenStream(sc, []byte(c.SSE))
	got := "ok"
	if err != nil {
		got = errClass(err)
	}
	if got != c.Outcome || (got == "ok" && (string(text) != c.ReplyText || finalJSON(f) != c.FinalJSON)) {
		t.Fatalf("edge stream %s: %s %q %+v (%v), want %s", c.Name, got, text, f, err, c.Outcome)
	}
	var byByte []byte
	err = ReadStream(sc, iotest.OneByteReader(strings.NewReader(c.SSE)), func(ch Chunk) error {
		byByte = append(byByte, ch.Delta...)
		return nil
	})
	if got2 := map[bool]string{true: "ok", false: errClass(err)}[err == nil]; got2 != c.Outcome ||
		(err == nil && !bytes.Equal(byByte, text)) {
		t.Fatalf("edge stream %s fed byte by byte: %s (%v), want %s", c.Name, got2, err, c.Outcome)
	}
}
