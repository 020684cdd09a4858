package synth

import (
	"math"
	"testing"
)

func TestToHalf(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.1, 0x2e66},
		{1.0 / 3, 0x3555},
		{65504, 0x7bff},         // largest half
		{65520, 0x7c00},         // rounds to infinity
		{6.1035156e-05, 0x0400}, // smallest normal
		{5.9604645e-08, 0x0001}, // smallest subnormal
		{2.9802322e-08, 0x0000}, // half of it: ties to even (0)
		{1.0009765625, 0x3c01},  // exactly representable
		{1.00048828125, 0x3c00}, // tie between 0x3c00 and 0x3c01: even
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.NaN()), 0x7e00},
	}
	for _, c := range cases {
		if got := toHalf(c.f); got != c.want {
			t.Errorf("toHalf(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}
