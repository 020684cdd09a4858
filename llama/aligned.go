package llama

import (
	"fmt"
	"unsafe"

	"github.com/sottolabs/sotto/internal/locked"
)

// lockedAlign is the alignment of the locked buffers the engine lays C
// structures and arrays into.
const lockedAlign = 16

// allocAligned allocates a locked buffer of at least n bytes whose Bytes()
// start is lockedAlign-aligned. memguard places a buffer's data flush
// against the guard page that follows it, so the start is aligned exactly
// when the size is a multiple of the alignment; the check guards that
// assumption about memguard.
func allocAligned(budget *locked.Budget, n int) (*locked.Buffer, error) {
	size := (max(n, 1) + lockedAlign - 1) / lockedAlign * lockedAlign
	buf, err := budget.Alloc(size)
	if err != nil {
		return nil, err
	}
	if uintptr(unsafe.Pointer(&buf.Bytes()[0]))%lockedAlign != 0 {
		buf.Destroy()
		return nil, fmt.Errorf("llama: locked buffer not %d-byte aligned", lockedAlign)
	}
	return buf, nil
}
