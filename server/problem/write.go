package problem

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/sottolabs/sotto/crypto/wire"
)

// ContentType is the media type of problem documents.
const ContentType = wire.MediaTypeProblem

// reserved members are written from the Problem's own fields, never from
// Extra, so Extra cannot change what a problem says it is.
var reserved = map[string]bool{"type": true, "title": true, "status": true, "detail": true, "instance": true}

// Write sends p as the complete response: status line, headers
// (Content-Type, Content-Length, Cache-Control: no-store, nosniff,
// Retry-After when p.RetryAfter > 0, Sotto-PoW-Challenge for a pow problem)
// and the JSON document. Members appear as type, title, status, then Extra
// in key order, so the bytes are deterministic. If an Extra member is not
// valid JSON, Write sends the internal problem instead of a broken
// document. Write must be called before anything else is written to w.
func Write(w http.ResponseWriter, p Problem) {
	p = normalize(p)
	body, err := encode(p)
	if err != nil {
		p = New(Internal)
		body, _ = encode(p) // cannot fail: no Extra members
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(retrySeconds(p.RetryAfter), 10))
	}
	if c, ok := challenge(p); ok {
		h.Set(PoWChallengeHeader, c)
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(body) // a failed write means the client left; nothing to do
}

// normalize fills Status and Title from the name's table entry and maps
// an unknown or empty name to internal.
func normalize(p Problem) Problem {
	k, ok := wire.LookupProblem(p.Name)
	if !ok {
		ik := internalKind()
		p.Name, p.Status, p.Title, p.Extra = Internal, ik.Status, ik.Title, nil
		return p
	}
	if p.Status == 0 {
		p.Status = k.Status
	}
	if p.Title == "" {
		p.Title = k.Title
	}
	return p
}

// retrySeconds rounds d up to whole seconds: a client that waits the
// advertised time must not arrive early.
func retrySeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// encode renders the document with a fixed member order.
func encode(p Problem) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	writeJSONString(&b, wire.ProblemType(p.Name))
	b.WriteString(`,"title":`)
	writeJSONString(&b, p.Title)
	b.WriteString(`,"status":`)
	b.WriteString(strconv.Itoa(p.Status))
	keys := make([]string, 0, len(p.Extra))
	for k := range p.Extra {
		if !reserved[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteByte(',')
		writeJSONString(&b, k)
		b.WriteByte(':')
		if err := json.Compact(&b, p.Extra[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // strings always encode
	b.Write(enc)
}

// challenge returns the pow problem's challenge member as a string.
func challenge(p Problem) (string, bool) {
	if p.Name != PoW {
		return "", false
	}
	var c string
	if err := json.Unmarshal(p.Extra["challenge"], &c); err != nil || c == "" {
		return "", false
	}
	return c, true
}
