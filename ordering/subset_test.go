package ordering

import (
	"net/netip"
	"slices"
	"testing"
)

// TestSubset: the subset of a set orders as a set made of those records
// with the same policy would, for every client and tick; the original is
// untouched.
func TestSubset(t *testing.T) {
	addrs := []netip.Addr{
		netip.MustParseAddr("10.1.1.10"), netip.MustParseAddr("10.2.1.10"),
		netip.MustParseAddr("10.3.1.10"), netip.MustParseAddr("10.2.1.11"),
	}
	clients := []netip.Addr{netip.MustParseAddr("10.2.1.77"), netip.MustParseAddr("10.9.9.9"), netip.MustParseAddr("10.1.1.5")}
	cases := []struct {
		name    string
		pol     Policy
		weights []int
		keep    []int
	}{
		{"windows2003", DefaultPolicy(), nil, []int{0, 2, 3}},
		{"windows2003 weighted", DefaultPolicy(), []int{3, 1, 1, 2}, []int{0, 1, 3}},
		{"remote fixed", Policy{Mode: Windows2003, RoundRobin: true, NetmaskOrdering: true, RemoteOrder: RemoteFixed}, nil, []int{1, 2}},
		{"windows2000", Policy{Mode: Windows2000, RoundRobin: true, NetmaskOrdering: true}, nil, []int{0, 3}},
		{"no netmask", Policy{Mode: Windows2003, RoundRobin: true}, nil, []int{2, 3}},
		{"one left", DefaultPolicy(), []int{1, 2, 3, 4}, []int{2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSet(tc.pol, addrs, true, tc.weights)
			if err != nil {
				t.Fatal(err)
			}
			var sub []netip.Addr
			var w []int
			for _, k := range tc.keep {
				sub = append(sub, addrs[k])
				if tc.weights != nil {
					w = append(w, tc.weights[k])
				}
			}
			want, err := NewSet(tc.pol, sub, true, w)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Subset(tc.keep)
			if got.ClientDependent() != want.ClientDependent() || got.Len() != want.Len() {
				t.Fatalf("subset: client dependent %v, len %d; want %v, %d", got.ClientDependent(), got.Len(), want.ClientDependent(), want.Len())
			}
			for _, c := range clients {
				for tick := range uint64(24) {
					g, wnt := make([]int, got.Len()), make([]int, want.Len())
					lg, lw := got.OrderAt(g, c, tick), want.OrderAt(wnt, c, tick)
					if !slices.Equal(g, wnt) || lg != lw {
						t.Fatalf("client %s tick %d: subset orders %v (local %d), a set of those records %v (local %d)", c, tick, g, lg, wnt, lw)
					}
				}
			}
			full := make([]int, s.Len())
			s.OrderAt(full, clients[1], 0)
			if s.Len() != len(addrs) {
				t.Fatalf("original changed: len %d", s.Len())
			}
		})
	}
}
