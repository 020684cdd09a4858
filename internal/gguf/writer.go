package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Writer streams a GGUF v3 file: NewWriter writes the header (metadata and
// tensor infos), then the caller writes every tensor's data, in order,
// with Write; the Writer inserts the alignment padding between tensors.
// Close flushes and checks that exactly the announced bytes were written.
// Nothing is buffered beyond a small write buffer, so models of any size
// can be written.
type Writer struct {
	bw      *bufio.Writer
	tensors []TensorInfo
	align   uint64
	cur     int    // tensor receiving data
	left    uint64 // bytes still owed to tensors[cur]
	err     error
}

// NewWriter writes the header for kv and tensors to w. Tensor offsets are
// computed (the Offset fields of tensors are ignored); the alignment is
// general.alignment from kv when present, else DefaultAlignment.
func NewWriter(w io.Writer, kv []KV, tensors []TensorInfo) (*Writer, error) {
	gw := &Writer{bw: bufio.NewWriterSize(w, 1<<20), align: DefaultAlignment}
	if err := gw.layout(kv, tensors); err != nil {
		return nil, err
	}
	e := encoder{w: gw.bw}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kv)))
	for _, p := range kv {
		e.str(p.Key)
		e.u32(uint32(p.Value.typ))
		e.value(p.Value)
	}
	for _, t := range gw.tensors {
		e.tensorInfo(t)
	}
	if len(tensors) > 0 {
		e.pad(e.n, gw.align)
	}
	if e.err != nil {
		return nil, fmt.Errorf("gguf: writing header: %w", e.err)
	}
	gw.start(0)
	return gw, nil
}

// layout validates the metadata and tensors and assigns data offsets.
func (gw *Writer) layout(kv []KV, tensors []TensorInfo) error {
	keys := make(map[string]bool)
	for _, p := range kv {
		if keys[p.Key] {
			return fmt.Errorf("gguf: duplicate key %q", p.Key)
		}
		keys[p.Key] = true
		if err := checkValue(p.Value, 0); err != nil {
			return fmt.Errorf("gguf: key %q: %w", p.Key, err)
		}
		if p.Key == KeyAlignment {
			a, err := alignmentOf(p.Value)
			if err != nil {
				return fmt.Errorf("gguf: key %s: %w", KeyAlignment, err)
			}
			gw.align = a
		}
	}
	names := make(map[string]bool)
	var off uint64
	for _, t := range tensors {
		if names[t.Name] {
			return fmt.Errorf("gguf: duplicate tensor %q", t.Name)
		}
		names[t.Name] = true
		if len(t.Shape) > maxDims {
			return fmt.Errorf("gguf: tensor %q: %d dimensions, at most %d allowed", t.Name, len(t.Shape), maxDims)
		}
		if err := checkShape(t); err != nil {
			return fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
		}
		t.Shape = append([]uint64(nil), t.Shape...)
		t.Offset = off
		gw.tensors = append(gw.tensors, t)
		off = alignUp(off+t.Bytes(), gw.align)
	}
	return nil
}

// checkValue rejects values the encoder cannot write (e.g. a zero Value).
func checkValue(v Value, depth int) error {
	if v.typ == ValueArray {
		if depth >= maxNesting {
			return errors.New("arrays nested too deeply")
		}
		if _, err := Array(v.v); err != nil {
			return err
		}
		if vs, ok := v.v.([]Value); ok {
			for _, x := range vs {
				if err := checkValue(x, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if v.v == nil {
		return errors.New("empty value")
	}
	return nil
}

// Tensors returns the tensor infos with their data offsets.
func (gw *Writer) Tensors() []TensorInfo { return gw.tensors }

// start moves to tensor i. Tensors are never empty (checkShape).
func (gw *Writer) start(i int) {
	gw.cur = i
	gw.left = 0
	if i < len(gw.tensors) {
		gw.left = gw.tensors[i].Bytes()
	}
}

// Write appends tensor data. p may span tensor boundaries; padding is
// inserted at each boundary. Writing more than the tensors hold fails.
func (gw *Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 && gw.err == nil {
		if gw.cur >= len(gw.tensors) {
			gw.err = errors.New("gguf: more tensor data than the tensors hold")
			break
		}
		k := min(uint64(len(p)), gw.left)
		if _, err := gw.bw.Write(p[:k]); err != nil {
			gw.err = fmt.Errorf("gguf: %w", err)
			break
		}
		n += int(k)
		p = p[k:]
		gw.left -= k
		if gw.left == 0 {
			gw.finishTensor()
		}
	}
	return n, gw.err
}

// finishTensor pads the current tensor's data and moves to the next.
func (gw *Writer) finishTensor() {
	t := gw.tensors[gw.cur]
	e := encoder{w: gw.bw}
	e.pad(t.Offset+t.Bytes(), gw.align)
	if e.err != nil {
		gw.err = fmt.Errorf("gguf: %w", e.err)
	}
	gw.start(gw.cur + 1)
}

// Close flushes the output. It fails if some tensor data is missing; it
// does not close the underlying writer.
func (gw *Writer) Close() error {
	if gw.err != nil {
		return gw.err
	}
	if gw.cur < len(gw.tensors) {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data missing", gw.tensors[gw.cur].Name, gw.left)
	}
	if err := gw.bw.Flush(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

// encoder writes little-endian GGUF primitives, remembering the first
// error and the number of bytes written.
type encoder struct {
	w   io.Writer
	n   uint64
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	var k int
	k, e.err = e.w.Write(b)
	e.n += uint64(k)
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.raw(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.raw(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

var zeros [256]byte

// pad writes zeros from position n up to the next multiple of align.
func (e *encoder) pad(n, align uint64) {
	for k := alignUp(n, align) - n; k > 0; {
		c := min(k, uint64(len(zeros)))
		e.raw(zeros[:c])
		k -= c
	}
}

func (e *encoder) tensorInfo(t TensorInfo) {
	e.str(t.Name)
	e.u32(uint32(len(t.Shape)))
	for _, d := range t.Shape {
		e.u64(d)
	}
	e.u32(uint32(t.Type))
	e.u64(t.Offset)
}

// value writes v's payload (its type tag is written by the caller).
func (e *encoder) value(v Value) {
	switch {
	case v.typ == ValueArray:
		e.u32(uint32(v.elem))
		e.u64(uint64(v.Len()))
		e.elements(v)
	case v.typ == ValueString:
		e.str(v.v.(string))
	default:
		e.scalar(v.v)
	}
}

// elements writes the elements of a non-nested array.
func (e *encoder) elements(v Value) {
	switch s := v.v.(type) {
	case []string:
		for _, x := range s {
			e.str(x)
		}
	case []Value:
		for _, a := range s {
			e.value(a)
		}
	case []uint8:
		e.raw(s)
	default:
		e.fixed(s)
	}
}

// fixed writes a slice of fixed-size scalars.
func (e *encoder) fixed(s any) {
	if e.err == nil {
		e.err = binary.Write(e.w, binary.LittleEndian, s)
		e.n += uint64(binary.Size(s))
	}
}

func (e *encoder) scalar(x any) {
	switch x := x.(type) {
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		e.raw([]byte{b})
	case float32:
		e.u32(math.Float32bits(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		e.fixed(x)
	}
}
