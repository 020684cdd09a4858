package gguf

import (
	"errors"
	"fmt"
	"math"
)

// value reads one metadata value of type typ.
func (d *decoder) value(typ ValueType, what string, depth int) (Value, error) {
	if typ == ValueArray {
		return d.array(what, depth)
	}
	if typ == ValueString {
		s, err := d.str(what)
		return String(s), err
	}
	if typ.scalarSize() == 0 {
		return Value{}, d.fail(what, fmt.Errorf("unknown value type %d", uint32(typ)))
	}
	return d.scalar(typ, what)
}

func (d *decoder) scalar(typ ValueType, what string) (Value, error) {
	b, err := d.bytes(uint64(typ.scalarSize()), what)
	if err != nil {
		return Value{}, err
	}
	v, err := decodeScalar(typ, b)
	if err != nil {
		return Value{}, d.fail(what, err)
	}
	return v, nil
}

// decodeScalar converts the little-endian bytes of a fixed-size scalar.
func decodeScalar(typ ValueType, b []byte) (Value, error) {
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	switch typ {
	case ValueUint8:
		return Uint8(uint8(u)), nil
	case ValueInt8:
		return Int8(int8(u)), nil
	case ValueUint16:
		return Uint16(uint16(u)), nil
	case ValueInt16:
		return Int16(int16(u)), nil
	case ValueUint32:
		return Uint32(uint32(u)), nil
	case ValueInt32:
		return Int32(int32(u)), nil
	case ValueFloat32:
		return Float32(math.Float32frombits(uint32(u))), nil
	case ValueBool:
		if u > 1 {
			return Value{}, fmt.Errorf("bool byte %d", u)
		}
		return Bool(u == 1), nil
	case ValueUint64:
		return Uint64(u), nil
	case ValueInt64:
		return Int64(int64(u)), nil
	case ValueFloat64:
		return Float64(math.Float64frombits(u)), nil
	}
	return Value{}, fmt.Errorf("unknown value type %d", uint32(typ))
}

func (d *decoder) array(what string, depth int) (Value, error) {
	if depth >= maxNesting {
		return Value{}, d.fail(what, errors.New("arrays nested too deeply"))
	}
	et, err := d.u32(what + " element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if elem.minSize() == 0 {
		return Value{}, d.fail(what, fmt.Errorf("unknown array element type %d", et))
	}
	n, err := d.count(what+" element count", elem.minSize())
	if err != nil {
		return Value{}, err
	}
	switch elem {
	case ValueString:
		return readArray(d, n, elem, func() (string, error) { return d.str(what) })
	case ValueArray:
		return readArray(d, n, elem, func() (Value, error) { return d.array(what, depth+1) })
	}
	return d.scalarArray(elem, n, what)
}

func (d *decoder) scalarArray(elem ValueType, n uint64, what string) (Value, error) {
	switch elem {
	case ValueUint8:
		return scalars[uint8](d, elem, n, what)
	case ValueInt8:
		return scalars[int8](d, elem, n, what)
	case ValueUint16:
		return scalars[uint16](d, elem, n, what)
	case ValueInt16:
		return scalars[int16](d, elem, n, what)
	case ValueUint32:
		return scalars[uint32](d, elem, n, what)
	case ValueInt32:
		return scalars[int32](d, elem, n, what)
	case ValueFloat32:
		return scalars[float32](d, elem, n, what)
	case ValueBool:
		return scalars[bool](d, elem, n, what)
	case ValueUint64:
		return scalars[uint64](d, elem, n, what)
	case ValueInt64:
		return scalars[int64](d, elem, n, what)
	default: // ValueFloat64; value() rejected unknown types
		return scalars[float64](d, elem, n, what)
	}
}

// scalars reads n scalars of type T (the Go type of elem).
func scalars[T any](d *decoder, elem ValueType, n uint64, what string) (Value, error) {
	return readArray(d, n, elem, func() (T, error) {
		v, err := d.scalar(elem, what)
		if err != nil {
			return *new(T), err
		}
		return v.Raw().(T), nil
	})
}

// readArray reads n elements with next. The slice grows with what is
// actually read rather than being sized from the claimed count.
func readArray[T any](d *decoder, n uint64, elem ValueType, next func() (T, error)) (Value, error) {
	s := make([]T, 0, min(n, 1<<16))
	for i := uint64(0); i < n; i++ {
		x, err := next()
		if err != nil {
			return Value{}, err
		}
		s = append(s, x)
	}
	return Value{typ: ValueArray, elem: elem, v: s}, nil
}
