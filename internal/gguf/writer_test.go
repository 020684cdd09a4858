package gguf

import (
	"bytes"
	"encoding/hex"
	"math"
	"reflect"
	"strings"
	"testing"
)

// minimalFile is a GGUF file with one uint8 key and one 2-element F32
// tensor, spelled out byte by byte.
var minimalFile = mustHex(strings.Join([]string{
	"47475546", "03000000", // magic, version 3
	"0100000000000000", "0100000000000000", // 1 tensor, 1 key
	"0100000000000000", "61", "00000000", "07", // "a": uint8 7
	"0100000000000000", "74", "01000000", "0200000000000000", // "t": 1 dim [2]
	"00000000", "0000000000000000", // F32, offset 0
	strings.Repeat("00", 25), // header padding 71 -> 96
	"0000803f", "00000040",   // 1.0, 2.0
	strings.Repeat("00", 24), // tensor padding 104 -> 128
}, ""))

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func writeFile(t testing.TB, kv []KV, ts []TensorInfo, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, kv, ts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriterExactBytes(t *testing.T) {
	data := mustHex("0000803f00000040")
	got := writeFile(t, []KV{{"a", Uint8(7)}}, []TensorInfo{{Name: "t", Shape: []uint64{2}, Type: TypeF32}}, data)
	if !bytes.Equal(got, minimalFile) {
		t.Fatalf("got\n%x\nwant\n%x", got, minimalFile)
	}
	f, err := Read(bytes.NewReader(got), int64(len(got)))
	if err != nil {
		t.Fatal(err)
	}
	if f.DataOffset != 96 || len(f.Tensors) != 1 || f.Tensors[0].Offset != 0 || f.KV[0].Value.Raw() != uint8(7) {
		t.Fatalf("read back %+v", f)
	}
}

// allValues holds one key of every value type, arrays of every element
// type, and a nested array.
func allValues(t testing.TB) []KV {
	nested, err := Array([]Value{Int32s([]int32{1, -2}), Strings([]string{"x"})})
	if err != nil {
		t.Fatal(err)
	}
	kv := []KV{
		{"u8", Uint8(255)}, {"i8", Int8(-128)}, {"u16", Uint16(65535)}, {"i16", Int16(-32768)},
		{"u32", Uint32(math.MaxUint32)}, {"i32", Int32(math.MinInt32)}, {"f32", Float32(-1.5)},
		{"bool", Bool(true)}, {"str", String("héllo\x00")}, {"u64", Uint64(math.MaxUint64)},
		{"i64", Int64(math.MinInt64)}, {"f64", Float64(math.Pi)}, {"nested", nested},
		{"general.alignment", Uint32(64)},
	}
	for i, s := range []any{[]uint8{1, 2}, []int8{-1}, []uint16{3}, []int16{-3}, []uint32{4},
		[]int32{-4}, []float32{0.5}, []bool{true, false}, []string{"a", ""}, []uint64{5},
		[]int64{-5}, []float64{2.5}, []string{}} {
		v, err := Array(s)
		if err != nil {
			t.Fatal(err)
		}
		kv = append(kv, KV{Key: "arr" + string(rune('a'+i)), Value: v})
	}
	return kv
}

// TestRoundTripAllTypes: every value type survives write-read-write with
// identical values and identical bytes; alignment 64 is honoured.
func TestRoundTripAllTypes(t *testing.T) {
	kv := allValues(t)
	ts := []TensorInfo{
		{Name: "q", Shape: []uint64{64, 2}, Type: TypeQ4_0},
		{Name: "h", Shape: []uint64{3}, Type: TypeF16},
	}
	data := make([]byte, 2*2*18+6)
	for i := range data {
		data[i] = byte(i)
	}
	b := writeFile(t, kv, ts, data)
	f, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.KV, kv) {
		t.Errorf("KV differ:\n got %+v\nwant %+v", f.KV, kv)
	}
	if f.Alignment != 64 || f.DataOffset%64 != 0 || f.Tensors[1].Offset != 128 {
		t.Errorf("alignment %d, data offset %d, second tensor at %d", f.Alignment, f.DataOffset, f.Tensors[1].Offset)
	}
	if got := int64(len(b)); got != f.DataOffset+128+64 {
		t.Errorf("file is %d bytes, want %d", got, f.DataOffset+192)
	}
	if again := rewrite(t, b); !bytes.Equal(again, b) {
		t.Error("second write differs from the first")
	}
	if s, _ := f.Get("str"); s.Raw() != "héllo\x00" {
		t.Errorf("str = %q", s.Raw())
	}
}

func TestWriterErrors(t *testing.T) {
	f32 := func(name string, n uint64) TensorInfo {
		return TensorInfo{Name: name, Shape: []uint64{n}, Type: TypeF32}
	}
	cases := []struct {
		name string
		kv   []KV
		ts   []TensorInfo
		want string
	}{
		{"dup key", []KV{{"a", Uint8(1)}, {"a", Uint8(2)}}, nil, `gguf: duplicate key "a"`},
		{"dup tensor", nil, []TensorInfo{f32("t", 1), f32("t", 1)}, `gguf: duplicate tensor "t"`},
		{"zero value", []KV{{"a", Value{}}}, nil, `gguf: key "a": empty value`},
		{"alignment type", []KV{{KeyAlignment, Uint64(32)}}, nil, "gguf: key general.alignment: type uint64, want uint32"},
		{"alignment 48", []KV{{KeyAlignment, Uint32(48)}}, nil, "gguf: key general.alignment: 48 is not a power of two"},
		{"block", nil, []TensorInfo{{Name: "q", Shape: []uint64{16}, Type: TypeQ8_0}},
			`gguf: tensor "q": row length 16 is not a multiple of the q8_0 block size 32`},
		{"type", nil, []TensorInfo{{Name: "x", Shape: []uint64{1}, Type: 4}}, `gguf: tensor "x": unknown tensor type 4`},
		{"dims", nil, []TensorInfo{{Name: "x", Shape: []uint64{1, 1, 1, 1, 1}, Type: TypeF32}},
			`gguf: tensor "x": 5 dimensions, at most 4 allowed`},
		{"zero dim", nil, []TensorInfo{{Name: "x", Shape: []uint64{0}, Type: TypeF32}}, `gguf: tensor "x": invalid shape [0]`},
	}
	for _, c := range cases {
		_, err := NewWriter(&bytes.Buffer{}, c.kv, c.ts)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: err = %v, want %s", c.name, err, c.want)
		}
	}
}

func TestWriterDataCount(t *testing.T) {
	ts := []TensorInfo{{Name: "t", Shape: []uint64{2}, Type: TypeF32}}
	w, _ := NewWriter(&bytes.Buffer{}, nil, ts)
	w.Write(make([]byte, 5))
	if err := w.Close(); err == nil || err.Error() != `gguf: tensor "t": 3 bytes of data missing` {
		t.Errorf("short: %v", err)
	}
	w, _ = NewWriter(&bytes.Buffer{}, nil, ts)
	n, err := w.Write(make([]byte, 9))
	if n != 8 || err == nil || err.Error() != "gguf: more tensor data than the tensors hold" {
		t.Errorf("long: n=%d err=%v", n, err)
	}
	if err := w.Close(); err == nil || err.Error() != "gguf: more tensor data than the tensors hold" {
		t.Errorf("Close after overflow = %v", err)
	}
}
