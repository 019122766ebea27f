// Package serial compares zone serial numbers with RFC 1982 serial number
// arithmetic (SERIAL_BITS = 32), as RFC 1034 §4.3.5 and RFC 1995 require of
// a secondary deciding whether its primary has a newer zone.
package serial

// Compare returns -1 when a is before b, +1 when a is after b, and 0 when
// they are equal or their order is undefined (they differ by exactly 2^31,
// where RFC 1982 §3.2 leaves the comparison undefined; a secondary treats
// that as "not newer" and does not transfer).
func Compare(a, b uint32) int {
	switch d := a - b; {
	case d == 0 || d == 1<<31:
		return 0
	case d < 1<<31:
		return 1
	default:
		return -1
	}
}

// Newer reports whether a is after b.
func Newer(a, b uint32) bool { return Compare(a, b) > 0 }
