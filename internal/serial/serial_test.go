package serial

import (
	"math/rand/v2"
	"testing"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b uint32
		want int
	}{
		{1, 1, 0},
		{2, 1, 1},
		{1, 2, -1},
		{0, 0xFFFFFFFF, 1}, // wraps: 0 follows 2^32-1
		{0xFFFFFFFF, 0, -1},
		{1 << 31, 0, 0}, // undefined: differ by 2^31
		{0, 1 << 31, 0},
		{1<<31 - 1, 0, 1},
		{1<<31 + 1, 0, -1},
		{2026120601, 2026120523, 1},
	}
	for _, tt := range tests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestCompareProperties: antisymmetry, and adding any n in [1, 2^31-1] to a
// serial gives a newer one (RFC 1982 §3.1).
func TestCompareProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		a, b := r.Uint32(), r.Uint32()
		if Compare(a, b) != -Compare(b, a) {
			t.Fatalf("Compare(%d, %d) = %d but Compare(%d, %d) = %d", a, b, Compare(a, b), b, a, Compare(b, a))
		}
		n := r.Uint32N(1<<31-1) + 1
		if !Newer(a+n, a) || Newer(a, a+n) {
			t.Fatalf("%d + %d is not newer than %d", a, n, a)
		}
	}
}
