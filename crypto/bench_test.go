package crypto

import (
	"bytes"
	"testing"
)

// Benchmarks for docs/benchmarks.md (crypto section):
//
//	go test ./crypto -run '^$' -bench . -benchmem

func BenchmarkOpen(b *testing.B) {
	for _, s := range allSuites {
		b.Run(s.String(), func(b *testing.B) {
			body, _, seed := sealTest(b, s, innerHello)
			bud := budget(b)
			b.ReportAllocs()
			for b.Loop() {
				h, err := ParseHeader(body)
				if err != nil {
					b.Fatal(err)
				}
				o, err := Open(h, body, seed, bud)
				if err != nil {
					b.Fatal(err)
				}
				o.Destroy()
			}
		})
	}
}

// BenchmarkPrivateKey is the per-request cost of rebuilding circl's key
// from the locked seed (part of BenchmarkOpen).
func BenchmarkPrivateKey(b *testing.B) {
	for _, s := range allSuites {
		b.Run(s.String(), func(b *testing.B) {
			_, seed := testKey(b, s)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := privateKey(s, seed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, s := range allSuites {
		b.Run(s.String(), func(b *testing.B) {
			pub, _ := testKey(b, s)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Seal(s, 1, pub, innerHello, 1, [16]byte{}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResponseKeySchedule is the per-response key schedule (HKDF
// extract and two expands, AEAD setup).
func BenchmarkResponseKeySchedule(b *testing.B) {
	enc, rn, secret := make([]byte, 32), make([]byte, 32), make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := responseKeys(enc, rn, secret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewStreamSealer adds the response nonce and the locked scratch
// buffer (mmap, mlock) to the key schedule.
func BenchmarkNewStreamSealer(b *testing.B) {
	body, _, seed := sealTest(b, SuiteX25519, innerHello)
	o := openTest(b, body, seed)
	defer o.Destroy()
	bud := budget(b)
	b.ReportAllocs()
	for b.Loop() {
		ss, err := NewStreamSealer(o, &countReader{}, 64, bud)
		if err != nil {
			b.Fatal(err)
		}
		ss.Close()
	}
}

func BenchmarkSealDelta(b *testing.B) {
	ss, _ := newStream(b, SuiteX25519, 64)
	dst := make([]byte, 0, 4096)
	text := []byte(" token")
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		dst, _ = ss.SealDelta(dst[:0], text)
	}
}

// BenchmarkOpenChunk feeds one delta event to a client's opener and reads
// the chunk.
func BenchmarkOpenChunk(b *testing.B) {
	ss, sc := newStream(b, SuiteX25519, 64)
	sse := ss.NonceEvent(nil)
	var events [][]byte
	for range 1024 {
		n := len(sse)
		sse, _ = ss.SealDelta(sse, []byte(" token"))
		events = append(events, sse[n:])
	}
	b.ReportAllocs()
	var o *StreamOpener
	i := 0
	for b.Loop() {
		if i%len(events) == 0 {
			o = NewStreamOpener(sc)
			_ = o.Feed(ss.NonceEvent(nil))
			i = 0
		}
		_ = o.Feed(events[i])
		if c, err := o.Next(); err != nil || !bytes.Equal(c.Delta, []byte(" token")) {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkParseRequest(b *testing.B) {
	js := []byte(`{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello to Zo\u00eb \ud83d\udc4b"}],"max_tokens":256,"temperature":0.8,"top_p":0.95,"top_k":40,"seed":1,"stop":["\n\n"]}`)
	buf := make([]byte, len(js))
	b.ReportAllocs()
	b.SetBytes(int64(len(js)))
	for b.Loop() {
		copy(buf, js)
		if _, err := ParseRequest(buf, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
