package gguf

import (
	"fmt"
	"math"
)

// ValueType is the type tag of a metadata value (enum gguf_type).
type ValueType uint32

// Metadata value types, numbered as in the file format.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32",
	"float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the type's name as the GGUF specification spells it.
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("value_type(%d)", uint32(t))
}

// scalarSize is the encoded size of a fixed-size scalar (0 for string,
// array and unknown types).
func (t ValueType) scalarSize() int {
	switch t {
	case ValueUint8, ValueInt8, ValueBool:
		return 1
	case ValueUint16, ValueInt16:
		return 2
	case ValueUint32, ValueInt32, ValueFloat32:
		return 4
	case ValueUint64, ValueInt64, ValueFloat64:
		return 8
	}
	return 0
}

// minSize is the fewest bytes one encoded value of type t occupies; the
// reader uses it to reject element counts the rest of the file cannot hold.
func (t ValueType) minSize() int64 {
	switch t {
	case ValueString:
		return 8 // length
	case ValueArray:
		return 12 // element type + count
	}
	return int64(t.scalarSize())
}

// Value is one metadata value. Its Go representation (Raw) is the exact
// type of the file: uint8, int8, uint16, int16, uint32, int32, float32,
// bool, string, uint64, int64, float64 for scalars; for arrays a slice of
// those ([]uint8 ... []float64), or []Value for arrays of arrays. Keeping
// the exact type is what makes read-then-write byte-exact.
type Value struct {
	typ  ValueType
	elem ValueType // element type when typ == ValueArray
	v    any
}

// Scalar constructors.
func Uint8(v uint8) Value     { return Value{typ: ValueUint8, v: v} }
func Int8(v int8) Value       { return Value{typ: ValueInt8, v: v} }
func Uint16(v uint16) Value   { return Value{typ: ValueUint16, v: v} }
func Int16(v int16) Value     { return Value{typ: ValueInt16, v: v} }
func Uint32(v uint32) Value   { return Value{typ: ValueUint32, v: v} }
func Int32(v int32) Value     { return Value{typ: ValueInt32, v: v} }
func Float32(v float32) Value { return Value{typ: ValueFloat32, v: v} }
func Bool(v bool) Value       { return Value{typ: ValueBool, v: v} }
func String(v string) Value   { return Value{typ: ValueString, v: v} }
func Uint64(v uint64) Value   { return Value{typ: ValueUint64, v: v} }
func Int64(v int64) Value     { return Value{typ: ValueInt64, v: v} }
func Float64(v float64) Value { return Value{typ: ValueFloat64, v: v} }

// Array constructors for the element types tokenizers use.
func Strings(v []string) Value   { return Value{typ: ValueArray, elem: ValueString, v: v} }
func Float32s(v []float32) Value { return Value{typ: ValueArray, elem: ValueFloat32, v: v} }
func Int32s(v []int32) Value     { return Value{typ: ValueArray, elem: ValueInt32, v: v} }
func Uint32s(v []uint32) Value   { return Value{typ: ValueArray, elem: ValueUint32, v: v} }

// Array builds an array value from a typed slice ([]uint8 ... []float64,
// []string, []bool) or from []Value whose elements are all arrays.
func Array(slice any) (Value, error) {
	var elem ValueType
	switch s := slice.(type) {
	case []uint8:
		elem = ValueUint8
	case []int8:
		elem = ValueInt8
	case []uint16:
		elem = ValueUint16
	case []int16:
		elem = ValueInt16
	case []uint32:
		elem = ValueUint32
	case []int32:
		elem = ValueInt32
	case []float32:
		elem = ValueFloat32
	case []bool:
		elem = ValueBool
	case []string:
		elem = ValueString
	case []uint64:
		elem = ValueUint64
	case []int64:
		elem = ValueInt64
	case []float64:
		elem = ValueFloat64
	case []Value:
		for i, v := range s {
			if v.typ != ValueArray {
				return Value{}, fmt.Errorf("gguf: array element %d is a %s, want array", i, v.typ)
			}
		}
		elem = ValueArray
	default:
		return Value{}, fmt.Errorf("gguf: cannot make an array of %T", slice)
	}
	return Value{typ: ValueArray, elem: elem, v: slice}, nil
}

// Type returns the value's type tag.
func (v Value) Type() ValueType { return v.typ }

// ElemType returns the element type of an array (meaningless otherwise).
func (v Value) ElemType() ValueType { return v.elem }

// Raw returns the Go value (see Value for the representation).
func (v Value) Raw() any { return v.v }

// Uint returns an integer value as uint64; ok is false for other types and
// for negative signed values.
func (v Value) Uint() (uint64, bool) {
	switch x := v.v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	}
	if i, ok := v.Int(); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

// Int returns an integer value as int64; ok is false for other types and
// for uint64 values above math.MaxInt64.
func (v Value) Int() (int64, bool) {
	switch x := v.v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8, uint16, uint32:
		u, _ := v.Uint()
		return int64(u), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// Float returns a float32 or float64 value as float64.
func (v Value) Float() (float64, bool) {
	switch x := v.v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Str returns a string value.
func (v Value) Str() (string, bool) { s, ok := v.v.(string); return s, ok }

// Bool returns a bool value.
func (v Value) Bool() (b, ok bool) { b, ok = v.v.(bool); return b, ok }

// Strings returns an array of strings.
func (v Value) Strings() ([]string, bool) { s, ok := v.v.([]string); return s, ok }

// Len returns the number of elements of an array (0 for scalars).
func (v Value) Len() int {
	switch s := v.v.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case []uint16:
		return len(s)
	case []int16:
		return len(s)
	case []uint32:
		return len(s)
	case []int32:
		return len(s)
	case []float32:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	case []uint64:
		return len(s)
	case []int64:
		return len(s)
	case []float64:
		return len(s)
	case []Value:
		return len(s)
	}
	return 0
}

// KV is one metadata key/value pair.
type KV struct {
	Key   string
	Value Value
}
