//go:build !linux

package demomodel

import "errors"

// openMemfd: memfd_create is Linux-only; Open falls back to a temporary
// file.
func openMemfd() (*File, error) { return nil, errors.New("demomodel: no memfd on this system") }
