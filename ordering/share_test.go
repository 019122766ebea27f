package ordering

import (
	"math"
	"net/netip"
	"testing"
)

// TestFirstShares checks the shares FirstShares states against the order
// itself: over a full cycle of ticks, a client with no local record sees
// each record first exactly as often as its share says.
func TestFirstShares(t *testing.T) {
	addrs := []netip.Addr{
		netip.MustParseAddr("10.1.1.10"),
		netip.MustParseAddr("10.2.1.10"),
		netip.MustParseAddr("10.3.1.10"),
	}
	w2000 := DefaultPolicy()
	w2000.Mode = Windows2000
	noRR := DefaultPolicy()
	noRR.RoundRobin = false
	for _, tc := range []struct {
		name    string
		p       Policy
		rotate  bool
		weights []int
		want    []float64
	}{
		{"windows2003 round robin", DefaultPolicy(), true, nil, []float64{1. / 3, 1. / 3, 1. / 3}},
		{"weighted", DefaultPolicy(), true, []int{5, 1, 2}, []float64{5. / 8, 1. / 8, 2. / 8}},
		{"windows2000 netmask ordering", w2000, true, nil, []float64{1, 0, 0}},
		{"round robin off", noRR, true, nil, []float64{1, 0, 0}},
		{"no_round_robin_types", DefaultPolicy(), false, nil, []float64{1, 0, 0}},
		{"weights without rotation", noRR, true, []int{1, 2, 3}, []float64{1, 0, 0}},
		{"mode none", Policy{Mode: None}, true, nil, []float64{1, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSet(tc.p, addrs, tc.rotate, tc.weights)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float64, s.Len())
			s.FirstShares(got)
			sum := 0.0
			for i := range got {
				sum += got[i]
				if math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Errorf("share of record %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Errorf("shares sum to %v", sum)
			}
			// What the order does over a whole cycle, from a client
			// in none of the records' networks.
			cycle := 3 * 8
			firsts := make([]int, s.Len())
			dst := make([]int, s.Len())
			client := netip.MustParseAddr("10.9.9.9")
			for tick := range uint64(cycle) {
				s.OrderAt(dst, client, tick)
				firsts[dst[0]]++
			}
			for i, n := range firsts {
				if got := float64(n) / float64(cycle); math.Abs(got-tc.want[i]) > 1e-12 {
					t.Errorf("record %d first in %d of %d ticks (%v), share says %v", i, n, cycle, got, tc.want[i])
				}
			}
		})
	}
}
