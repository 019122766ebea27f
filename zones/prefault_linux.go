//go:build linux

package zones

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

var pageSize = uintptr(unix.Getpagesize())

// prefaultRange maps the whole pages of n bytes at p, writable, in one
// madvise(MADV_POPULATE_WRITE). Kernels before 5.14 refuse it, and memory
// that cannot be had now fails it; either way the pages fault in on first
// touch as they would have, so the error is of no use.
func prefaultRange(p unsafe.Pointer, n uintptr) {
	page := pageSize
	off := (page - uintptr(p)%page) % page // to the first whole page
	if n <= off {
		return
	}
	if whole := (n - off) &^ (page - 1); whole > 0 {
		_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, off)), whole), unix.MADV_POPULATE_WRITE)
	}
}
