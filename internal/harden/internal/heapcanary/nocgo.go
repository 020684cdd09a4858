//go:build !cgo

package heapcanary

// Supported reports whether the helper works in this build.
const Supported = false

// ChurnAndScan needs cgo; without it, it returns -1.
func ChurnAndScan(int) int { return -1 }
