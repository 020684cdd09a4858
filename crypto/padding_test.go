package crypto

import (
	"bytes"
	"testing"
)

func TestRequestPadding(t *testing.T) {
	cases := []struct {
		n, padded int
		ok        bool
	}{
		{0, 0, false}, {1, 256, true}, {194, 256, true}, {256, 256, true}, {257, 512, true},
		{1000, 1024, true}, {131072, 131072, true}, {131073, 262144, true},
		{262144, 262144, true}, {262145, 0, false},
	}
	for _, c := range cases {
		p, ok := RequestPaddedLen(c.n)
		if p != c.padded || ok != c.ok {
			t.Errorf("RequestPaddedLen(%d) = %d, %v; want %d, %v", c.n, p, ok, c.padded, c.ok)
		}
		if !c.ok || c.n == 0 {
			continue
		}
		in := bytes.Repeat([]byte{'x'}, c.n)
		out, err := PadRequest([]byte("pre"), in)
		if err != nil || len(out) != 3+c.padded || !bytes.Equal(out[3:3+c.n], in) || stripZeros(out) != 3+c.n {
			t.Errorf("PadRequest(%d bytes): %d bytes, %v", c.n, len(out), err)
		}
		if n, ok := unpadRequest(out[3:]); !ok || n != c.n {
			t.Errorf("unpadRequest(%d) = %d, %v", c.n, n, ok)
		}
	}
	for _, in := range [][]byte{nil, {'{', 0}, make([]byte, 262145)} {
		if _, err := PadRequest(nil, in); err != ErrPadding {
			t.Errorf("PadRequest(%d bytes ending %v): err %v", len(in), in[len(in)-min(len(in), 1):], err)
		}
	}
	refused := map[string][]byte{
		"all zeros":   make([]byte, 256),
		"not pow2":    append([]byte("{}"), make([]byte, 298)...),
		"below 256":   append([]byte("{}"), make([]byte, 126)...),
		"over-padded": append(bytes.Repeat([]byte{'x'}, 256), make([]byte, 768)...),
	}
	for name, p := range refused {
		if _, ok := unpadRequest(p); ok {
			t.Errorf("unpadRequest accepted %s", name)
		}
	}
}

func TestChunkPadding(t *testing.T) {
	cases := [][3]int{{0, 64, 0}, {1, 64, 64}, {64, 64, 64}, {65, 64, 128}, {77, 64, 128}, {5, 1, 5}, {5, 0, 5}, {100, 4096, 4096}}
	for _, c := range cases {
		if got := ChunkPaddedLen(c[0], c[1]); got != c[2] {
			t.Errorf("ChunkPaddedLen(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}
