package ordering

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

func TestScheduleSmooth(t *testing.T) {
	tests := []struct {
		weights []int
		want    []uint16
	}{
		{[]int{5, 1, 1}, []uint16{0, 0, 1, 0, 2, 0, 0}}, // a a b a c a a
		{[]int{1, 1, 1}, []uint16{0, 1, 2}},
		{[]int{2, 1}, []uint16{0, 1, 0}},
		{[]int{1, 2}, []uint16{1, 0, 1}},
		{[]int{3, 3}, []uint16{0, 1, 0, 1, 0, 1}},
		{[]int{4, 2, 1}, []uint16{0, 1, 0, 2, 0, 1, 0}},
		{[]int{7}, []uint16{0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		s, err := newSchedule(tt.weights, len(tt.weights))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.seq, tt.want) {
			t.Errorf("schedule(%v) = %v, want %v", tt.weights, s.seq, tt.want)
		}
	}
}

// TestWeightsExact pins the promise of a weighted set: over sum·k
// consecutive ticks each record is first exactly weight·k times, from any
// starting tick, and the rest of the order is the set in cyclic zone order.
func TestWeightsExact(t *testing.T) {
	for _, weights := range [][]int{{5, 1, 1}, {1, 2, 3, 4}, {10, 1}, {1, 1, 1, 1, 1}, {7, 3, 9, 1, 1, 2}} {
		t.Run(fmt.Sprint(weights), func(t *testing.T) {
			addrs := make([]netip.Addr, len(weights))
			total := 0
			for i, w := range weights {
				addrs[i] = netip.AddrFrom4([4]byte{10, byte(i + 1), 1, 10})
				total += w
			}
			s, err := NewSet(DefaultPolicy(), addrs, true, weights)
			if err != nil {
				t.Fatal(err)
			}
			const k = 3
			dst := make([]int, len(weights))
			for _, start := range []uint64{0, 1, 12345, 1 << 40} {
				first := make([]int, len(weights))
				for tick := start; tick < start+uint64(k*total); tick++ {
					if local := s.OrderAt(dst, netip.MustParseAddr("10.99.0.1"), tick); local != 0 {
						t.Fatalf("local = %d", local)
					}
					first[dst[0]]++
					for j := range dst {
						if dst[j] != (dst[0]+j)%len(dst) {
							t.Fatalf("tick %d: %v is not cyclic zone order", tick, dst)
						}
					}
				}
				for i, w := range weights {
					if first[i] != w*k {
						t.Errorf("start %d: record %d first %d times over %d ticks, want %d", start, i, first[i], k*total, w*k)
					}
				}
			}
		})
	}
}

// TestWeightsTiers pins the weighted order of each tier when the client has
// local records: each tier follows the schedule restricted to it, so over
// k·W consecutive ticks (W the tier's weight) each of its records leads the
// tier exactly weight·k times.
func TestWeightsTiers(t *testing.T) {
	// Two records in 10.2.1.0/24 (weights 3 and 1), three elsewhere.
	addrs := []netip.Addr{
		netip.MustParseAddr("10.1.1.10"),
		netip.MustParseAddr("10.2.1.10"),
		netip.MustParseAddr("10.3.1.10"),
		netip.MustParseAddr("10.2.1.11"),
		netip.MustParseAddr("10.4.1.10"),
	}
	weights := []int{2, 3, 5, 1, 1}
	client := netip.MustParseAddr("10.2.1.77")
	s, err := NewSet(DefaultPolicy(), addrs, true, weights)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]int, len(addrs))
	const k = 4
	localFirst := map[int]int{}
	for tick := range uint64(k * 4) { // local weight 3+1
		if local := s.OrderAt(dst, client, tick); local != 2 {
			t.Fatalf("tick %d: local = %d, want 2", tick, local)
		}
		localFirst[dst[0]]++
	}
	if localFirst[1] != 3*k || localFirst[3] != 1*k {
		t.Errorf("local tier firsts = %v, want 1:%d 3:%d", localFirst, 3*k, k)
	}
	remoteFirst := map[int]int{}
	for tick := range uint64(k * 8) { // remote weight 2+5+1
		s.OrderAt(dst, client, tick)
		remoteFirst[dst[2]]++
		// The remote tier is in cyclic zone order after its first record.
		r := []int{0, 2, 4}
		j := slices.Index(r, dst[2])
		if want := []int{r[j], r[(j+1)%3], r[(j+2)%3]}; !slices.Equal(dst[2:], want) {
			t.Fatalf("tick %d: remote tier %v, want %v", tick, dst[2:], want)
		}
	}
	if remoteFirst[0] != 2*k || remoteFirst[2] != 5*k || remoteFirst[4] != 1*k {
		t.Errorf("remote tier firsts = %v, want 0:%d 2:%d 4:%d", remoteFirst, 2*k, 5*k, k)
	}

	// A client whose network holds every record sees exactly what a client
	// with no local record sees.
	all, err := NewSet(policy(mask(t, "/8")), addrs, true, weights)
	if err != nil {
		t.Fatal(err)
	}
	other := make([]int, len(addrs))
	for tick := range uint64(24) {
		if local := all.OrderAt(dst, client, tick); local != len(addrs) {
			t.Fatalf("local = %d, want all", local)
		}
		s.OrderAt(other, netip.MustParseAddr("192.0.2.1"), tick)
		if !slices.Equal(dst, other) {
			t.Fatalf("tick %d: all local %v, none local %v", tick, dst, other)
		}
	}
}
