//go:build !linux

package zones

import "unsafe"

// prefaultRange does nothing here: the pages fault in on first touch.
func prefaultRange(unsafe.Pointer, uintptr) {}
