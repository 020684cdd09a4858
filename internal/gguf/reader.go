package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the tensor data alignment when general.alignment is
// absent.
const DefaultAlignment = 32

// KeyAlignment is the metadata key that overrides DefaultAlignment.
const KeyAlignment = "general.alignment"

// maxDims is GGML_MAX_DIMS.
const maxDims = 4

// maxNesting bounds arrays of arrays, so a hostile file cannot drive deep
// recursion (llama.cpp itself does not load nested arrays).
const maxNesting = 8

// File is the parsed header of a GGUF file: everything except the tensor
// data.
type File struct {
	Version    uint32
	KV         []KV         // metadata in file order
	Tensors    []TensorInfo // tensor infos in file order
	Alignment  uint64       // data alignment (general.alignment or 32)
	DataOffset int64        // absolute file offset of the tensor data
	Size       int64        // size of the file the header was read from
}

// TensorInfo describes one tensor. Shape is in ggml order: Shape[0] is the
// fastest-varying (row) dimension.
type TensorInfo struct {
	Name   string
	Shape  []uint64
	Type   TensorType
	Offset uint64 // relative to File.DataOffset
}

// Elements returns the number of elements (the product of Shape).
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes returns the size of the tensor's data.
func (t TensorInfo) Bytes() uint64 {
	bs := t.Type.BlockSize()
	if bs == 0 {
		return 0
	}
	return t.Elements() / bs * t.Type.TypeSize()
}

// Open reads the header of the GGUF file at path. The tensor data is not
// read; use File.DataOffset and TensorInfo.Offset to find it.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	return Read(f, st.Size())
}

// Read parses a GGUF header from r, which holds a file of size bytes.
// Every count and length is checked against size before anything is
// allocated, so a malformed or truncated input returns an error wrapping
// ErrNotGGUF, ErrVersion or ErrMalformed, never a panic or a huge
// allocation. Tensor data ranges are checked to lie inside size.
func Read(r io.Reader, size int64) (*File, error) {
	d := &decoder{r: bufio.NewReaderSize(r, 64<<10), size: size}
	f := &File{Size: size, Alignment: DefaultAlignment}
	if err := d.header(f); err != nil {
		return nil, err
	}
	return f, nil
}

func (d *decoder) header(f *File) error {
	magic, err := d.bytes(4, "magic")
	if err != nil {
		return err
	}
	if string(magic) != Magic {
		return ErrNotGGUF
	}
	if f.Version, err = d.u32("version"); err != nil {
		return err
	}
	if f.Version != 2 && f.Version != 3 {
		return fmt.Errorf("%w %d (want 2 or 3; big-endian files are not supported)", ErrVersion, f.Version)
	}
	nTensors, err := d.count("tensor count", 24)
	if err != nil {
		return err
	}
	nKV, err := d.count("metadata count", 13)
	if err != nil {
		return err
	}
	if err := d.metadata(f, nKV); err != nil {
		return err
	}
	if err := d.tensorInfos(f, nTensors); err != nil {
		return err
	}
	return d.dataSection(f)
}

func (d *decoder) metadata(f *File, n uint64) error {
	f.KV = make([]KV, 0, min(n, 1024))
	seen := make(map[string]bool)
	for i := uint64(0); i < n; i++ {
		key, err := d.str("metadata key")
		if err != nil {
			return err
		}
		if seen[key] {
			return d.fail(fmt.Sprintf("key %q", key), errors.New("duplicate key"))
		}
		seen[key] = true
		typ, err := d.u32(fmt.Sprintf("type of key %q", key))
		if err != nil {
			return err
		}
		v, err := d.value(ValueType(typ), fmt.Sprintf("key %q", key), 0)
		if err != nil {
			return err
		}
		if key == KeyAlignment {
			if f.Alignment, err = alignmentOf(v); err != nil {
				return d.fail("key "+KeyAlignment, err)
			}
		}
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}
	return nil
}

// alignmentOf validates general.alignment as gguf.cpp does: a uint32 that
// is a non-zero power of two.
func alignmentOf(v Value) (uint64, error) {
	a, ok := v.Raw().(uint32)
	if !ok {
		return 0, fmt.Errorf("type %s, want uint32", v.Type())
	}
	if a == 0 || a&(a-1) != 0 {
		return 0, fmt.Errorf("%d is not a power of two", a)
	}
	return uint64(a), nil
}

func (d *decoder) tensorInfos(f *File, n uint64) error {
	f.Tensors = make([]TensorInfo, 0, min(n, 4096))
	seen := make(map[string]bool)
	for i := uint64(0); i < n; i++ {
		t, err := d.tensorInfo()
		if err != nil {
			return err
		}
		if seen[t.Name] {
			return d.fail(fmt.Sprintf("tensor %q", t.Name), errors.New("duplicate tensor name"))
		}
		seen[t.Name] = true
		f.Tensors = append(f.Tensors, t)
	}
	return nil
}

func (d *decoder) tensorInfo() (TensorInfo, error) {
	var t TensorInfo
	var err error
	if t.Name, err = d.str("tensor name"); err != nil {
		return t, err
	}
	what := fmt.Sprintf("tensor %q", t.Name)
	nDims, err := d.u32(what + " dimension count")
	if err != nil {
		return t, err
	}
	if nDims > maxDims {
		return t, d.fail(what, fmt.Errorf("%d dimensions, at most %d allowed", nDims, maxDims))
	}
	t.Shape = make([]uint64, nDims)
	for j := range t.Shape {
		if t.Shape[j], err = d.u64(what + " shape"); err != nil {
			return t, err
		}
	}
	typ, err := d.u32(what + " type")
	if err != nil {
		return t, err
	}
	t.Type = TensorType(typ)
	if t.Offset, err = d.u64(what + " offset"); err != nil {
		return t, err
	}
	if err := checkShape(t); err != nil {
		return t, d.fail(what, err)
	}
	return t, nil
}

// checkShape rejects unknown types, element counts that overflow int64
// (ggml's int64 ne[]) and rows that are not a whole number of blocks.
func checkShape(t TensorInfo) error {
	if !t.Type.Valid() {
		return fmt.Errorf("unknown tensor type %d", uint32(t.Type))
	}
	n := uint64(1)
	for _, dim := range t.Shape {
		if dim == 0 || dim > math.MaxInt64/n {
			return fmt.Errorf("invalid shape %v", t.Shape)
		}
		n *= dim
	}
	row := uint64(1) // a 0-dimensional tensor is a scalar, as in gguf.cpp
	if len(t.Shape) > 0 {
		row = t.Shape[0]
	}
	if row%t.Type.BlockSize() != 0 {
		return fmt.Errorf("row length %d is not a multiple of the %s block size %d",
			row, t.Type, t.Type.BlockSize())
	}
	return nil
}

// dataSection places the data after the header's padding and checks that
// tensors are laid out as gguf.cpp requires: in order, each at the
// aligned end of the previous one, all inside the file.
func (d *decoder) dataSection(f *File) error {
	f.DataOffset = int64(alignUp(uint64(d.pos), f.Alignment))
	var next uint64
	for _, t := range f.Tensors {
		if t.Offset != next {
			return d.fail(fmt.Sprintf("tensor %q", t.Name),
				fmt.Errorf("data offset %d, want %d", t.Offset, next))
		}
		end := uint64(f.DataOffset) + t.Offset + t.Bytes()
		if end > uint64(f.Size) || end < t.Offset {
			return d.fail(fmt.Sprintf("tensor %q", t.Name),
				fmt.Errorf("data ends at %d, past the end of the file (%d bytes): %w",
					end, f.Size, io.ErrUnexpectedEOF))
		}
		next = alignUp(t.Offset+t.Bytes(), f.Alignment)
	}
	return nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// decoder reads little-endian GGUF primitives, tracking the offset and
// refusing lengths the rest of the file cannot hold.
type decoder struct {
	r       *bufio.Reader
	pos     int64
	size    int64
	scratch []byte
}

func (d *decoder) fail(what string, err error) error {
	return &FormatError{Offset: d.pos, What: what, Err: err}
}

func (d *decoder) remaining() int64 { return max(d.size-d.pos, 0) }

// bytes reads n bytes that must fit in the rest of the file.
func (d *decoder) bytes(n uint64, what string) ([]byte, error) {
	if n > uint64(d.remaining()) {
		return nil, d.fail(what, fmt.Errorf("needs %d bytes, %d left: %w", n, d.remaining(), io.ErrUnexpectedEOF))
	}
	// The returned bytes are only valid until the next read: callers copy
	// what they keep (str converts to a string).
	if n > uint64(cap(d.scratch)) {
		d.scratch = make([]byte, n)
	}
	b := d.scratch[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, d.fail(what, err)
	}
	d.pos += int64(n)
	return b, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	b, err := d.bytes(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.bytes(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a uint64 count of items of at least minSize bytes each and
// rejects counts the rest of the file cannot hold.
func (d *decoder) count(what string, minSize int64) (uint64, error) {
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if minSize > 0 && n > uint64(d.remaining()/minSize) {
		return 0, d.fail(what, fmt.Errorf("%d items cannot fit in the %d bytes left: %w",
			n, d.remaining(), io.ErrUnexpectedEOF))
	}
	return n, nil
}

func (d *decoder) str(what string) (string, error) {
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	b, err := d.bytes(n, what)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
