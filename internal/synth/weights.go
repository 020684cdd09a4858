package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"

	"github.com/sottolabs/sotto/internal/gguf"
)

// weightStd is the standard deviation of the random weights: small, as in
// a freshly initialised transformer, so activations stay finite.
const weightStd = 0.02

// Root-mean-square of the integer quants: uniform q-8 over 0..15 for
// Q4_0, uniform int8 for Q8_0 (mean square of the uniform discrete range
// plus the squared mean -1/2).
var (
	rmsQ4 = math.Sqrt(255.0/12 + 0.25)
	rmsQ8 = math.Sqrt(65535.0/12 + 0.25)
)

// chunkBlocks is how many blocks are generated per write.
const chunkBlocks = 4096

// tensorRNG returns the random stream of one tensor. Deriving it from the
// seed and the tensor's name makes each tensor independent of the others'
// shapes and order.
func tensorRNG(seed uint64, name string) *rand.ChaCha8 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h := sha256.New()
	h.Write(b[:])
	h.Write([]byte(name))
	var key [32]byte
	copy(key[:], h.Sum(nil))
	return rand.NewChaCha8(key)
}

// writeTensor streams t's random data to w. 1-D tensors (the norms) are
// F32 ones, so they neither shrink nor amplify activations.
func writeTensor(w io.Writer, t gguf.TensorInfo, seed uint64) error {
	if len(t.Shape) == 1 {
		return writeOnes(w, t.Elements())
	}
	rng := tensorRNG(seed, t.Name)
	bs, ts := t.Type.BlockSize(), t.Type.TypeSize()
	fill := blockFiller(t.Type)
	buf := make([]byte, chunkBlocks*ts)
	for left := t.Elements() / bs; left > 0; {
		n := min(left, chunkBlocks)
		chunk := buf[:n*ts]
		rng.Read(chunk)
		fill(chunk)
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

func writeOnes(w io.Writer, n uint64) error {
	b := make([]byte, 4*n)
	for i := uint64(0); i < n; i++ {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(1))
	}
	_, err := w.Write(b)
	return err
}

// blockFiller returns a function that turns random bytes into valid
// blocks of type t in place.
func blockFiller(t gguf.TensorType) func([]byte) {
	switch t {
	case gguf.TypeQ4_0:
		return scaleFiller(18, weightStd/rmsQ4)
	case gguf.TypeQ8_0:
		return scaleFiller(34, weightStd/rmsQ8)
	case gguf.TypeF16:
		table := halfTable()
		return func(b []byte) {
			for i := 0; i < len(b); i += 2 {
				binary.LittleEndian.PutUint16(b[i:], table[b[i]])
			}
		}
	default: // F32
		table := floatTable()
		return func(b []byte) {
			for i := 0; i < len(b); i += 4 {
				binary.LittleEndian.PutUint32(b[i:], table[b[i]])
			}
		}
	}
}

// scaleFiller keeps the random quants of Q4_0/Q8_0 blocks (fp16 scale d,
// then the quants) and writes d with a random sign, which cancels the
// quants' -1/2 mean across blocks.
func scaleFiller(blockBytes int, d float64) func([]byte) {
	pos, neg := toHalf(float32(d)), toHalf(float32(-d))
	return func(b []byte) {
		for i := 0; i < len(b); i += blockBytes {
			h := pos
			if b[i]&1 == 1 {
				h = neg
			}
			binary.LittleEndian.PutUint16(b[i:], h)
		}
	}
}

// level maps a random byte to one of 256 values symmetric around zero
// with standard deviation ~weightStd.
func level(b byte) float32 {
	return float32((float64(int8(b)) + 0.5) * weightStd / rmsQ8)
}

func halfTable() (t [256]uint16) {
	for i := range t {
		t[i] = toHalf(level(byte(i)))
	}
	return t
}

func floatTable() (t [256]uint32) {
	for i := range t {
		t[i] = math.Float32bits(level(byte(i)))
	}
	return t
}
