package zones

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident counts the pages of b the kernel has mapped (mincore).
func resident(t *testing.T, b []byte) int {
	t.Helper()
	vec := make([]byte, (len(b)+int(pageSize)-1)/int(pageSize))
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestPrefault: prefault maps every page of a large array that has none
// mapped, and keeps what the array holds.
func TestPrefault(t *testing.T) {
	const pages = 64
	page := int(pageSize)
	buf := make([]byte, (pages+1)*page)
	off := (page - int(uintptr(unsafe.Pointer(&buf[0]))%pageSize)) % page
	b := buf[off : off+pages*page : off+pages*page] // page-aligned
	// Drop the pages: private anonymous memory reads as zeros again, as
	// fresh memory does, until it is touched.
	if err := unix.Madvise(b, unix.MADV_DONTNEED); err != nil {
		t.Fatalf("madvise(DONTNEED): %v", err)
	}
	if n := resident(t, b); n != 0 {
		t.Fatalf("%d of %d pages mapped before prefault; want 0", n, pages)
	}
	b[5*page] = 42
	prefault(b)
	if n := resident(t, b); n != pages {
		if err := unix.Madvise(b, unix.MADV_POPULATE_WRITE); err == unix.EINVAL {
			t.Skipf("this kernel has no MADV_POPULATE_WRITE (before 5.14)")
		}
		t.Fatalf("%d of %d pages mapped after prefault; want all", n, pages)
	}
	for i, v := range b {
		want := byte(0)
		if i == 5*page {
			want = 42
		}
		if v != want {
			t.Fatalf("byte %d = %d after prefault; want %d", i, v, want)
		}
	}

	// Below prefaultMin it leaves the pages alone.
	small := b[: prefaultMin/2 : prefaultMin/2]
	if err := unix.Madvise(small, unix.MADV_DONTNEED); err != nil {
		t.Fatalf("madvise(DONTNEED): %v", err)
	}
	prefault(small)
	if n := resident(t, small); n != 0 {
		t.Errorf("%d pages of a %d-byte array mapped; want none below prefaultMin", n, len(small))
	}
}
