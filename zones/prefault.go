package zones

import "unsafe"

// prefaultMin is the smallest backing array prefault maps ahead: below it
// the page faults saved do not pay for the system call.
const prefaultMin = 64 << 10

// prefault maps the pages of s's backing array (its capacity) before they
// are written. Compiling a million names fills some 500 MB of fresh memory,
// and each first write to one of its 4 KiB pages is a page fault: under a
// hypervisor, where every trap into the kernel is dear, those faults were a
// quarter of the load. One call per large array maps its pages without a
// trap each. The large arrays are the slabs' chunks, some 80% of what a
// large load fills, and a zone file's text; the rest (the name map, strings,
// the collector's own) still faults in page by page.
func prefault[T any](s []T) {
	var z T
	if n := unsafe.Sizeof(z) * uintptr(cap(s)); n >= prefaultMin {
		prefaultRange(unsafe.Pointer(unsafe.SliceData(s)), n)
	}
}
