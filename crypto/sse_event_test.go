package crypto

import (
	"errors"
	"strings"
	"testing"
)

// TestStreamEmptyEventLine: an `event:` line with an empty value (or
// `event` without a colon) is the same as no event line: a non-final
// chunk (docs/protocol.md 5.3). The last event line of an event counts,
// so an empty one after `event: final` unmarks the final chunk, which
// then fails to decrypt, and after `event: nonce` unmarks the nonce.
func TestStreamEmptyEventLine(t *testing.T) {
	ss, sc := newStream(t, SuiteX25519, 64)
	_, ev := sealAll(t, ss, []string{"a", "b"}, finalStop) // nonce, 0, 1, final 2
	withEvent := func(e, line string) string { return strings.Replace(e, "\ndata", "\n"+line+"\ndata", 1) }
	for _, line := range []string{"event:", "event: ", "event"} {
		sse := ev[0] + withEvent(ev[1], line) + ev[2] + ev[3]
		if text, f, err := OpenStream(sc, []byte(sse)); err != nil || string(text) != "ab" || f != finalStop {
			t.Errorf("chunk 0 with %q: %q, %+v, %v", line, text, f, err)
		}
	}
	for name, sse := range map[string]string{
		"final, then empty":       ev[0] + ev[1] + ev[2] + withEvent(ev[3], "event:"),
		"nonce, then empty event": strings.Replace(ev[0], "event: nonce\n", "event: nonce\nevent:\n", 1) + ev[1] + ev[2] + ev[3],
	} {
		if _, _, err := OpenStream(sc, []byte(sse)); !errors.Is(err, ErrStreamCorrupt) {
			t.Errorf("%s: err = %v, want ErrStreamCorrupt", name, err)
		}
	}
}
