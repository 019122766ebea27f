package server

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sitedns/sitedns/zones"
)

// randConfig is a random config for the property tests, with the names
// worth asking for and the addresses worth asking from.
type randConfig struct {
	text  string
	names []string // owners, fully qualified
	// hot are addresses near which answers change: site subnet edges and
	// record addresses. Clients are drawn near them.
	hot []netip.Addr
}

// randNetmask spells a /8–/30 IPv4 netmask (or classful) in one of the
// accepted forms.
func randNetmask(rng *rand.Rand) string {
	if rng.IntN(10) == 0 {
		return []string{"classful", "0xFFFFFFFF"}[rng.IntN(2)]
	}
	bits := 8 + rng.IntN(23)
	mask := ^uint32(0) << (32 - bits)
	switch rng.IntN(3) {
	case 0:
		return fmt.Sprintf("/%d", bits)
	case 1:
		return fmt.Sprintf("%d.%d.%d.%d", mask>>24, mask>>16&0xFF, mask>>8&0xFF, mask&0xFF)
	}
	return fmt.Sprintf("0x%08X", ^mask)
}

// randAddr4 and randAddr6 draw from a small space, so that sites, records
// and clients meet: 10.{0..3}.{0..3}.x and 2001:db8:0:{0..3}::{0..ff}.
func randAddr4(rng *rand.Rand) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(4)), byte(rng.IntN(256))})
}

func randAddr6(rng *rand.Rand) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("2001:db8:0:%x::%x", rng.IntN(4), rng.IntN(256)))
}

// newRandConfig draws a config: nested IPv4 and IPv6 sites over two or
// three scopes; plain, weighted and site-aware A/AAAA names under random
// netmasks and ipv6_prefix; SRV and MX records whose targets are site-aware;
// plain and site-aware CNAMEs.
func newRandConfig(rng *rand.Rand) *randConfig {
	rc := &randConfig{}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	q := func(ss []string) string { return `["` + strings.Join(ss, `", "`) + `"]` }

	w("[server]\nclient_subnet = true\n")
	w("[ordering]\nmode = %q\nnetmask = %q\nipv6_prefix = %d\n",
		[]string{"windows2003", "windows2003", "windows2000"}[rng.IntN(3)], randNetmask(rng), []int{0, 48, 64, 96, 120}[rng.IntN(5)])

	all := []string{"S0", "S1", "S2"}[:2+rng.IntN(2)]
	var scopes []string // the scopes some site has: only they may have answer sets
	seen := map[netip.Prefix]bool{}
	for i := range 2 + rng.IntN(6) {
		var subnets []string
		for range 1 + rng.IntN(3) {
			var p netip.Prefix
			if rng.IntN(3) == 0 {
				p = netip.PrefixFrom(randAddr6(rng), 32+rng.IntN(95)).Masked()
			} else {
				p = netip.PrefixFrom(randAddr4(rng), 8+rng.IntN(23)).Masked()
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			subnets = append(subnets, p.String())
			rc.hot = append(rc.hot, p.Addr(), lastAddr(p))
		}
		if len(subnets) == 0 {
			continue
		}
		w("[[site]]\nname = \"site%d\"\nsubnets = %s", i, q(subnets))
		if rng.IntN(5) != 0 || len(scopes) == 0 {
			sc := all[rng.IntN(len(all))]
			w("scope = %q", sc)
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
		w("")
	}

	const origin = "prop.lab."
	addrRecs := func(n int) []string {
		var rs []string
		for range n {
			if rng.IntN(4) == 0 {
				a := randAddr6(rng)
				rc.hot = append(rc.hot, a)
				rs = append(rs, "300 IN AAAA "+a.String())
			} else {
				a := randAddr4(rng)
				rc.hot = append(rc.hot, a)
				rs = append(rs, "300 IN A "+a.String())
			}
		}
		return rs
	}
	weights := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = fmt.Sprint(1 + rng.IntN(4))
		}
		return "[" + strings.Join(ws, ", ") + "]"
	}
	// The owners of the records of one set, for weights: only one type
	// may be weighted per set, so weighted sets are all A.
	aRecs := func(n int) []string {
		var rs []string
		for range n {
			a := randAddr4(rng)
			rc.hot = append(rc.hot, a)
			rs = append(rs, "300 IN A "+a.String())
		}
		return rs
	}

	w("[[zone]]\norigin = %q", origin)
	recs := []string{
		"@ 3600 IN SOA ns1.prop.lab. hostmaster.prop.lab. 1 3600 600 86400 300",
		"@ 3600 IN NS ns1.prop.lab.",
		"ns1 3600 IN A 192.0.2.53",
	}
	plain := 2 + rng.IntN(3)
	for i := range plain {
		for _, r := range addrRecs(1 + rng.IntN(4)) {
			recs = append(recs, fmt.Sprintf("p%d %s", i, r))
		}
		rc.names = append(rc.names, fmt.Sprintf("p%d.%s", i, origin))
	}
	aware := 2 + rng.IntN(2)
	// Targets: site-aware names and plain ones.
	target := func() string {
		if rng.IntN(3) == 0 {
			return fmt.Sprintf("p%d.%s", rng.IntN(plain), origin)
		}
		return fmt.Sprintf("s%d.%s", rng.IntN(aware), origin)
	}
	for i := range 1 + rng.IntN(2) {
		for range 1 + rng.IntN(3) {
			recs = append(recs, fmt.Sprintf("_svc%d._tcp 300 IN SRV %d %d 443 %s", i, rng.IntN(3), rng.IntN(3), target()))
		}
		rc.names = append(rc.names, fmt.Sprintf("_svc%d._tcp.%s", i, origin))
	}
	for range 1 + rng.IntN(2) {
		recs = append(recs, fmt.Sprintf("mx 300 IN MX %d %s", 10*rng.IntN(3), target()))
	}
	recs = append(recs, "c0 300 IN CNAME "+target())
	rc.names = append(rc.names, "mx."+origin, "c0."+origin, "nope."+origin)
	w("records = %s", q(recs))
	w("[zone.ordering]\nnetmask = %q\n", randNetmask(rng))

	// A weighted plain name with its own ordering.
	n := 2 + rng.IntN(3)
	w("[[zone.name]]\nname = \"wt\"\nrecords = %s\nweights = %s", q(aRecs(n)), weights(n))
	w("[zone.name.ordering]\nnetmask = %q\nipv6_prefix = %d\n", randNetmask(rng), []int{0, 56, 64, 100, 126}[rng.IntN(5)])
	rc.names = append(rc.names, "wt."+origin)

	// Site-aware names, some with their own ordering and weights.
	for i := range aware {
		w("[[zone.name]]\nname = \"s%d\"", i)
		if rng.IntN(2) == 0 {
			w("[zone.name.ordering]\nnetmask = %q\nipv6_prefix = %d", randNetmask(rng), []int{0, 64, 96}[rng.IntN(3)])
		}
		for j, sc := range scopes {
			if j > 0 && rng.IntN(4) == 0 {
				continue // this scope gets the default
			}
			w("[zone.name.scope.%s]", sc)
			if rng.IntN(3) == 0 {
				n := 1 + rng.IntN(4)
				w("records = %s\nweights = %s", q(aRecs(n)), weights(n))
			} else {
				w("records = %s", q(addrRecs(1+rng.IntN(4))))
			}
		}
		w("[zone.name.default]\nrecords = %s\n", q(addrRecs(1+rng.IntN(3))))
		rc.names = append(rc.names, fmt.Sprintf("s%d.%s", i, origin))
	}
	// A site-aware CNAME.
	w("[[zone.name]]\nname = \"sc\"")
	for _, sc := range scopes {
		w("[zone.name.scope.%s]\nrecords = [\"300 IN CNAME %s\"]", sc, target())
	}
	w("[zone.name.default]\nrecords = [\"300 IN CNAME %s\"]\n", target())
	rc.names = append(rc.names, "sc."+origin)

	rc.text = b.String()
	return rc
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// load writes rc to a file (so that failures can be reproduced from it)
// and compiles it with fresh counters.
func (rc *randConfig) load(t testing.TB) (*zones.Snapshot, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "random.toml")
	if err := os.WriteFile(p, []byte(rc.text), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := zones.Load(p, zones.NewCounters())
	if err != nil {
		t.Fatalf("random config does not compile: %v\n%s", err, rc.text)
	}
	return snap, p
}

// client draws a client address: near a hot address most of the time.
func (rc *randConfig) client(rng *rand.Rand) netip.Addr {
	if len(rc.hot) == 0 || rng.IntN(5) == 0 {
		if rng.IntN(3) == 0 {
			return randAddr6(rng)
		}
		return randAddr4(rng)
	}
	a := rc.hot[rng.IntN(len(rc.hot))]
	// Flip a few low bits, or none.
	b := a.AsSlice()
	for range rng.IntN(3) {
		i := len(b)*8 - 1 - rng.IntN(12)
		b[i/8] ^= 0x80 >> (i % 8)
	}
	c, _ := netip.AddrFromSlice(b)
	return c
}

// inside draws an address in c/bits.
func inside(rng *rand.Rand, c netip.Addr, bits int) netip.Addr {
	b := c.AsSlice()
	corner := rng.IntN(3) // 0: random, 1: first, 2: last address
	for i := bits; i < len(b)*8; i++ {
		set := rng.IntN(2) == 0
		switch corner {
		case 1:
			set = false
		case 2:
			set = true
		}
		if set {
			b[i/8] |= 0x80 >> (i % 8)
		} else {
			b[i/8] &^= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
