package ordering

import (
	"net/netip"
	"testing"
)

// benchSet is a windows2003 set of n records 10.k.1.10 (k = 1..n, wrapping in
// the second octet) and a client local to the second record.
func benchSet(tb testing.TB, n int, weights []int) (*Set, netip.Addr) {
	tb.Helper()
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, byte(i + 1), byte((i + 1) >> 8), 10})
	}
	s, err := NewSet(DefaultPolicy(), addrs, true, weights)
	if err != nil {
		tb.Fatal(err)
	}
	return s, netip.MustParseAddr("10.2.0.77")
}

// benchSites is a table of n IPv4 /24s (one site each) and a few IPv6 /48s,
// and clients inside them and outside.
func benchSites(tb testing.TB, n int) (*Sites, []netip.Addr) {
	tb.Helper()
	subnets := make([][]netip.Prefix, n)
	var clients []netip.Addr
	for i := range subnets {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		subnets[i] = []netip.Prefix{p}
		if i%10 == 0 {
			v6 := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 48)
			subnets[i] = append(subnets[i], v6)
			clients = append(clients, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 15: 9}))
		}
		clients = append(clients, netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 77}))
	}
	clients = append(clients, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:10.0.1.77"))
	sites, err := NewSites(subnets)
	if err != nil {
		tb.Fatal(err)
	}
	return sites, clients
}

// TestNoAllocs pins the hot path's promise: a site lookup and the ordering of
// an answer allocate nothing, whatever the policy.
func TestNoAllocs(t *testing.T) {
	sites, clients := benchSites(t, 1000)
	var sets []*Set
	for _, w := range [][]int{nil, {3, 1, 2, 5, 1, 1, 1, 2, 3, 4}} {
		s, _ := benchSet(t, 10, w)
		sets = append(sets, s)
	}
	aaaa, err := NewSet(policy(ipv6Prefix(48)), []netip.Addr{
		netip.MustParseAddr("2001:db8:0:1::10"),
		netip.MustParseAddr("2001:db8:0:2::10"),
		netip.MustParseAddr("10.0.1.10"),
	}, true, []int{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	sets = append(sets, aaaa)
	s100, _ := benchSet(t, 100, nil)
	sets = append(sets, s100)
	dst := make([]int, 100)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		c := clients[i%len(clients)]
		i++
		site, _ := sites.Lookup(c)
		s := sets[site%len(sets)]
		s.Order(dst[:s.Len()], c)
		s.Order(dst[:s.Len()], netip.MustParseAddr("10.2.0.1"))
	})
	if allocs != 0 {
		t.Fatalf("site lookup + Order: %v allocations per run, want 0", allocs)
	}
}

func benchmarkOrder(b *testing.B, n int) {
	s, client := benchSet(b, n, nil)
	dst := make([]int, n)
	b.ReportAllocs()
	for b.Loop() {
		s.Order(dst, client)
	}
}

func BenchmarkOrder3(b *testing.B)   { benchmarkOrder(b, 3) }
func BenchmarkOrder10(b *testing.B)  { benchmarkOrder(b, 10) }
func BenchmarkOrder100(b *testing.B) { benchmarkOrder(b, 100) }

// BenchmarkOrder3Parallel measures the shared counter under contention.
func BenchmarkOrder3Parallel(b *testing.B) {
	s, client := benchSet(b, 3, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]int, 3)
		for pb.Next() {
			s.Order(dst, client)
		}
	})
}

func BenchmarkOrderWeighted(b *testing.B) {
	weights := []int{5, 1, 1, 2, 3, 1, 4, 1, 1, 2}
	s, client := benchSet(b, len(weights), weights)
	remote := netip.MustParseAddr("192.0.2.1")
	dst := make([]int, len(weights))
	b.Run("local", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Order(dst, client)
		}
	})
	b.Run("remote-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Order(dst, remote)
		}
	})
}

func BenchmarkSitesLookup(b *testing.B) {
	sites, clients := benchSites(b, 1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sites.Lookup(clients[i%len(clients)])
		i++
	}
}
