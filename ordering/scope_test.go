package ordering

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// The scope tests work inside one small network, where every address and
// every prefix can be enumerated: a scope is right when every address in it
// gets the same result (sound) and the prefix one bit shorter holds one that
// does not (minimal).

// base4 is the /24 the exhaustive IPv4 checks live in; base6 its IPv6 twin,
// whose last byte varies.
var (
	base4 = netip.MustParseAddr("10.77.3.0")
	base6 = netip.MustParseAddr("2001:db8::100")
)

// inBase returns address i (0..255) of base's last byte.
func inBase(base netip.Addr, i int) netip.Addr {
	b := base.As16()
	b[15] = byte(i)
	if base.Is4() {
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return netip.AddrFrom16(b)
}

// checkScope requires that same(a, b) holds for every b in a/bits and, when
// bits is more than the base's prefix length, fails for some b in
// a/(bits-1). The caller's world is constant outside the base network.
func checkScope(t *testing.T, what string, base netip.Addr, a netip.Addr, bits int, same func(a, b netip.Addr) bool) {
	t.Helper()
	top := base.BitLen() - 8 // the base network's length
	if bits < top {
		bits = top // every address outside the base behaves like the base's edge: not enumerable, and checked by the callers' own cases
	}
	block := func(n int) []netip.Addr {
		p := netip.PrefixFrom(a, n).Masked()
		var out []netip.Addr
		for i := range 256 {
			if b := inBase(base, i); p.Contains(b) {
				out = append(out, b)
			}
		}
		return out
	}
	for _, b := range block(bits) {
		if !same(a, b) {
			t.Fatalf("%s: %s gets scope /%d, but %s inside it differs", what, a, bits, b)
		}
	}
	if bits > top {
		if !slices.ContainsFunc(block(bits-1), func(b netip.Addr) bool { return !same(a, b) }) {
			t.Fatalf("%s: %s gets scope /%d, but /%d would do", what, a, bits, bits-1)
		}
	}
}

// TestRegionExhaustive builds random nested sites inside one /24 (and the
// same inside an IPv6 /120) and checks Region for every address in it.
func TestRegionExhaustive(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 1))
	for round := range 300 {
		for _, base := range []netip.Addr{base4, base6} {
			top := base.BitLen() - 8
			nsites := 1 + rng.IntN(4)
			subnets := make([][]netip.Prefix, nsites)
			seen := map[netip.Prefix]bool{}
			for range 1 + rng.IntN(6) {
				p := netip.PrefixFrom(inBase(base, rng.IntN(256)), top+rng.IntN(9)).Masked()
				if seen[p] {
					continue
				}
				seen[p] = true
				i := rng.IntN(nsites)
				subnets[i] = append(subnets[i], p)
			}
			sites, err := NewSites(subnets)
			if err != nil {
				t.Fatal(err)
			}
			what := fmt.Sprintf("round %d %v", round, subnets)
			for i := range 256 {
				a := inBase(base, i)
				site, bits := sites.Region(a)
				if want, _ := sites.Lookup(a); site != want {
					t.Fatalf("%s: Region(%s) site %d, Lookup %d", what, a, site, want)
				}
				checkScope(t, what, base, a, bits, func(a, b netip.Addr) bool {
					sa, _ := sites.Lookup(a)
					sb, _ := sites.Lookup(b)
					return sa == sb
				})
			}
		}
	}
}

func TestRegion(t *testing.T) {
	sites, err := NewSites([][]netip.Prefix{
		prefixes("10.0.0.0/8", "2001:db8::/32"), // 1
		prefixes("10.2.0.0/16"),                 // 2, inside 1
		prefixes("10.3.0.0/16"),                 // 3, inside 1
		prefixes("192.168.1.0/24"),              // 4
		prefixes("10.2.128.0/17"),               // 5, inside 2
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr       string
		site, bits int
	}{
		{"10.2.1.5", 2, 17},
		{"10.2.200.5", 5, 17},
		{"10.3.1.5", 3, 16},
		{"10.1.2.3", 1, 15},
		{"10.200.0.1", 1, 9},
		{"10.64.0.1", 1, 10},
		{"192.168.1.77", 4, 24},
		{"192.168.2.77", 0, 23},
		{"8.8.8.8", 0, 7},
		{"::ffff:10.3.1.5", 3, 16},
		{"2001:db8::1", 1, 32},
		{"2001:db9::1", 0, 32},
		{"3000::1", 0, 4},
		{"::1", 0, 81}, // ::ffff:0:0/96 holds the IPv4 subnets
		{"::ffff:1.1.1.1", 0, 5},
	}
	for _, tt := range tests {
		site, bits := sites.Region(netip.MustParseAddr(tt.addr))
		if site != tt.site || bits != tt.bits {
			t.Errorf("Region(%s) = %d, /%d; want %d, /%d", tt.addr, site, bits, tt.site, tt.bits)
		}
	}
	var none *Sites
	if site, bits := none.Region(netip.MustParseAddr("10.2.3.4")); site != 0 || bits != 0 {
		t.Errorf("nil Sites: Region = %d, /%d", site, bits)
	}
	empty, err := NewSites(nil)
	if err != nil {
		t.Fatal(err)
	}
	if site, bits := empty.Region(netip.MustParseAddr("10.2.3.4")); site != 0 || bits != 0 {
		t.Errorf("empty Sites: Region = %d, /%d", site, bits)
	}
}

// TestLocalScopeExhaustive checks LocalScope for every client of a /24
// (and an IPv6 /120) against random records and every netmask spelling
// from /24 to /32 and classful, with ipv6_prefix from /120 to /128.
func TestLocalScopeExhaustive(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2))
	masks := []string{"/24", "255.255.255.128", "0x0000003F", "/27", "255.255.255.240", "0x00000007", "/30", "/31", "/32", "classful"}
	for round := range 400 {
		base := base4
		if round%2 == 1 {
			base = base6
		}
		m, err := ParseNetmask(masks[rng.IntN(len(masks))])
		if err != nil {
			t.Fatal(err)
		}
		p := Policy{Mode: Windows2003, RoundRobin: true, NetmaskOrdering: true, Netmask: m, IPv6Prefix: 120 + rng.IntN(9)}
		var addrs []netip.Addr
		for range 1 + rng.IntN(5) {
			addrs = append(addrs, inBase(base, rng.IntN(256)))
		}
		if rng.IntN(4) == 0 { // a record of the other family is never local
			addrs = append(addrs, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8:ffff::1"))
		}
		set, err := NewSet(p, addrs, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("round %d %s ipv6_prefix %d %v", round, m, p.IPv6Prefix, addrs)
		tier := func(c netip.Addr) []int {
			o := make([]int, set.Len())
			n := set.OrderAt(o, c, 0)
			l := slices.Clone(o[:n])
			slices.Sort(l)
			return l
		}
		for i := range 256 {
			c := inBase(base, i)
			scope := set.LocalScope(c)
			if set.Len() < 2 {
				if scope != 0 {
					t.Fatalf("%s: a set of one record: LocalScope(%s) = /%d, want 0", what, c, scope)
				}
			} else {
				checkScope(t, what, base, c, scope, func(a, b netip.Addr) bool {
					return slices.Equal(tier(a), tier(b))
				})
			}
			o := make([]int, set.Len())
			if local, s := set.OrderScoped(o, c); s != scope || local != len(tier(c)) {
				t.Fatalf("%s: OrderScoped(%s) = %d, /%d; LocalScope /%d, local tier %d", what, c, local, s, scope, len(tier(c)))
			}
		}
	}
}

func TestLocalScope(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("10.2.1.10"), netip.MustParseAddr("10.2.1.200"), netip.MustParseAddr("2001:db8:1::10")}
	mk := func(mask string, v6 int, netmaskOrdering bool) *Set {
		m, err := ParseNetmask(mask)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSet(Policy{Mode: Windows2003, RoundRobin: true, NetmaskOrdering: netmaskOrdering, Netmask: m, IPv6Prefix: v6}, addrs, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		set    *Set
		client string
		want   int
	}{
		{mk("/24", 0, true), "10.2.1.5", 24},
		{mk("0x0000003F", 0, true), "10.2.1.5", 26},
		{mk("0x0000003F", 0, true), "10.2.1.201", 26},
		{mk("0x0000003F", 0, true), "10.2.1.100", 26}, // no record in 10.2.1.64/26, one in each neighbour
		{mk("/24", 0, true), "10.9.0.1", 13},          // 10.8.0.0/13 holds no record
		{mk("/24", 0, true), "::ffff:10.9.0.1", 96 + 13},
		{mk("/24", 0, false), "10.2.1.5", 0},
		{mk("/24", 0, true), "2001:db8:1::1", 0}, // ipv6_prefix off: AAAA never local
		{mk("/24", 96, true), "2001:db8:1::1", 96},
		{mk("/24", 96, true), "2001:db8:2::1", 47},
		{mk("classful", 0, true), "10.200.1.1", 8},
		{mk("classful", 0, true), "11.2.1.1", 8},
	}
	for _, tt := range tests {
		c := netip.MustParseAddr(tt.client)
		if got := tt.set.LocalScope(c); got != tt.want {
			t.Errorf("LocalScope(%s) under %s = %d, want %d", tt.client, tt.set.netmask, got, tt.want)
		}
		if _, got := tt.set.OrderScoped(make([]int, tt.set.Len()), c); got != tt.want {
			t.Errorf("OrderScoped(%s) under %s: scope %d, want %d", tt.client, tt.set.netmask, got, tt.want)
		}
	}
}
