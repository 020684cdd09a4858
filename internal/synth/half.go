package synth

import "math"

// toHalf converts f to IEEE 754 binary16 bits (ggml_fp16_t), rounding to
// nearest even. Values beyond the half range become infinity.
func toHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return sign | 0x7e00
	case exp >= 0x1f: // overflow or infinity
		return sign | 0x7c00
	case exp <= 0: // subnormal half or zero
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		return sign | uint16(roundShift(mant, shift))
	}
	// Rounding may carry into the exponent, which is still correct.
	return sign | uint16(roundShift(uint32(exp)<<23|mant, 13))
}

// roundShift returns v >> s rounded to nearest, ties to even.
func roundShift(v, s uint32) uint32 {
	half := uint32(1) << (s - 1)
	r := v >> s
	rem := v & (1<<s - 1)
	if rem > half || (rem == half && r&1 == 1) {
		r++
	}
	return r
}
