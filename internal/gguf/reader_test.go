package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func read(b []byte) (*File, error) { return Read(bytes.NewReader(b), int64(len(b))) }

// patch returns a copy of minimalFile with b written at off.
func patch(off int, b ...byte) []byte {
	c := append([]byte(nil), minimalFile...)
	copy(c[off:], b)
	return c
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// Offsets in minimalFile.
const (
	offVersion   = 4
	offNTensors  = 8
	offNKV       = 16
	offKeyLen    = 24
	offKeyType   = 33
	offTensorLen = 38
	offNDims     = 47
	offDim       = 51
	offTType     = 59
	offTOffset   = 63
)

func TestReadMalformed(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "gguf: malformed file at offset 0 (magic): needs 4 bytes, 0 left: unexpected EOF"},
		{"magic", patch(0, 'G', 'G', 'M', 'L'), "gguf: not a GGUF file (bad magic)"},
		{"version 1", patch(offVersion, 1), "gguf: unsupported version 1 (want 2 or 3; big-endian files are not supported)"},
		{"big endian", patch(offVersion, 0, 0, 0, 3), "gguf: unsupported version 50331648 (want 2 or 3; big-endian files are not supported)"},
		{"tensor count", patch(offNTensors, le64(1<<62)...),
			"gguf: malformed file at offset 16 (tensor count): 4611686018427387904 items cannot fit in the 112 bytes left: unexpected EOF"},
		{"kv count", patch(offNKV, le64(math64)...),
			"gguf: malformed file at offset 24 (metadata count): 18446744073709551615 items cannot fit in the 104 bytes left: unexpected EOF"},
		{"key length", patch(offKeyLen, le64(1<<40)...),
			"gguf: malformed file at offset 32 (metadata key): needs 1099511627776 bytes, 96 left: unexpected EOF"},
		{"value type", patch(offKeyType, 13), `gguf: malformed file at offset 37 (key "a"): unknown value type 13`},
		{"bool", patch(offKeyType, 7, 0, 0, 0, 2), `gguf: malformed file at offset 38 (key "a"): bool byte 2`},
		{"dims", patch(offNDims, 5), `gguf: malformed file at offset 51 (tensor "t"): 5 dimensions, at most 4 allowed`},
		{"tensor type", patch(offTType, 31), `gguf: malformed file at offset 71 (tensor "t"): unknown tensor type 31`},
		{"shape overflow", patch(offDim, le64(1<<63)...), `gguf: malformed file at offset 71 (tensor "t"): invalid shape [9223372036854775808]`},
		{"offset", patch(offTOffset, 32), `gguf: malformed file at offset 71 (tensor "t"): data offset 32, want 0`},
		{"data past end", patch(offDim, le64(9)...),
			`gguf: malformed file at offset 71 (tensor "t"): data ends at 132, past the end of the file (128 bytes): unexpected EOF`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := read(c.in)
			if err == nil || err.Error() != c.want {
				t.Fatalf("err = %v\nwant   %s", err, c.want)
			}
			if f != nil {
				t.Error("non-nil File with an error")
			}
		})
	}
}

const math64 = ^uint64(0)

func TestReadErrorKinds(t *testing.T) {
	if _, err := read(patch(0, 'x')); !errors.Is(err, ErrNotGGUF) {
		t.Errorf("bad magic: %v", err)
	}
	if _, err := read(patch(offVersion, 9)); !errors.Is(err, ErrVersion) {
		t.Errorf("version: %v", err)
	}
	_, err := read(patch(offKeyType, 13))
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != 37 || !errors.Is(err, ErrMalformed) {
		t.Errorf("format error: %#v", err)
	}
}

// TestReadTruncated: every prefix of a valid file that cuts the header or
// the tensor data is rejected as truncated.
func TestReadTruncated(t *testing.T) {
	b := writeFile(t, allValues(t), []TensorInfo{{Name: "t", Shape: []uint64{32}, Type: TypeQ8_0}}, make([]byte, 34))
	f, err := read(b)
	if err != nil {
		t.Fatal(err)
	}
	// Beyond dataEnd only the final padding is missing, which is allowed.
	dataEnd := int(f.DataOffset) + 34
	for n := 0; n < dataEnd; n++ {
		_, err := read(b[:n])
		if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix %d: err = %v", n, err)
		}
	}
}

// TestReadVersion2: v2 has the same layout as v3.
func TestReadVersion2(t *testing.T) {
	f, err := read(patch(offVersion, 2))
	if err != nil || f.Version != 2 {
		t.Fatalf("v2: %v %+v", err, f)
	}
}

// TestReadNestingLimit: deeply nested arrays are refused, not recursed.
func TestReadNestingLimit(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(Magic)
	b.Write(le32(3))
	b.Write(le64(0))
	b.Write(le64(1))
	b.Write(le64(1))
	b.WriteString("k")
	b.Write(le32(uint32(ValueArray)))
	for i := 0; i < 20; i++ {
		b.Write(le32(uint32(ValueArray)))
		b.Write(le64(1))
	}
	_, err := read(b.Bytes())
	if err == nil || !strings.HasSuffix(err.Error(), `(key "k"): arrays nested too deeply`) {
		t.Fatalf("err = %v", err)
	}
}

func TestTensorTypes(t *testing.T) {
	for name, want := range map[string][2]uint64{"q4_0": {32, 18}, "Q8_0": {32, 34}, "f16": {1, 2},
		"q6_K": {256, 210}, "iq4_xs": {256, 136}, "mxfp4": {32, 17}, "bf16": {1, 2}} {
		typ, err := ParseTensorType(name)
		if err != nil || typ.BlockSize() != want[0] || typ.TypeSize() != want[1] {
			t.Errorf("%s: %v %d/%d", name, err, typ.BlockSize(), typ.TypeSize())
		}
	}
	if _, err := ParseTensorType("q4_2"); err == nil || err.Error() != `gguf: unknown tensor type "q4_2"` {
		t.Errorf("q4_2: %v", err)
	}
	if s := TensorType(31).String(); s != "type(31)" {
		t.Errorf("String(31) = %s", s)
	}
}
