package ordering

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// propInput is one random ordering problem, decoded from bytes so that the
// property test and the fuzzer share the decoder and the checks.
type propInput struct {
	policy  Policy
	rotate  bool
	addrs   []netip.Addr
	weights []int
	client  netip.Addr
}

// fuzzMasks are the netmasks a fuzz input can pick.
var fuzzMasks = []string{"/24", "/16", "0x00FFFFFF", "/0", "/32", "0xFFFFFFFF", "0x0000003F", "/20"}

// fuzzFirstOctets keep records and clients in a few networks, so that local
// records are common, while still covering every address class.
var fuzzFirstOctets = []byte{10, 172, 192, 230}

// decodeInput turns fuzz bytes into a problem: three bytes a record (at most
// 40), four for the client, the bits of cfg for the policy, and w for the
// weights (cfg bit 12 turns them on).
func decodeInput(recs, client []byte, cfg uint32, w []byte) propInput {
	var in propInput
	in.policy = Policy{
		Mode:            Mode(cfg % 3),
		RoundRobin:      cfg&(1<<2|1<<13) != 0, // on three times in four, as the
		NetmaskOrdering: cfg&(1<<3|1<<14) != 0, // defaults are what matters most
		RemoteOrder:     RemoteOrder(cfg >> 5 & 1),
		IPv6Prefix:      []int{0, 32, 48, 64, 128}[(cfg>>9&7)%5],
	}
	in.rotate = cfg&(1<<4|1<<15) != 0
	m, err := ParseNetmask(fuzzMasks[cfg>>6&7])
	if err != nil {
		panic(err)
	}
	in.policy.Netmask = m
	for i := 0; i+3 <= len(recs) && len(in.addrs) < 40; i += 3 {
		in.addrs = append(in.addrs, decodeAddr(recs[i], recs[i+1], recs[i+2], 0))
	}
	if len(client) >= 4 {
		in.client = decodeAddr(client[0], client[1], client[2], client[3])
	}
	if cfg&(1<<12) != 0 {
		in.weights = make([]int, len(in.addrs))
		for i := range in.weights {
			in.weights[i] = 1
			if len(w) > 0 {
				in.weights[i] = 1 + int(w[i%len(w)]%8)
			}
		}
	}
	return in
}

// decodeAddr makes an address from four bytes: the low two bits of k pick
// none, IPv4, IPv4-mapped IPv6 or IPv6; the others stay in small networks.
func decodeAddr(k, b1, b2, b3 byte) netip.Addr {
	v4 := netip.AddrFrom4([4]byte{fuzzFirstOctets[k>>2&3], b1 % 4, b2 % 4, k>>4 ^ b3})
	switch k & 3 {
	case 1:
		return v4
	case 2:
		return netip.AddrFrom16(v4.As16())
	case 3:
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, b1 % 4, 0, b2 % 2, 15: k>>4 ^ b3})
	}
	return netip.Addr{}
}

// refOrder is a plain, allocating statement of the rules: the model the set
// is checked against.
func refOrder(in propInput, tick uint64) (order []int, local int) {
	p := in.policy
	n := len(in.addrs)
	zone := make([]int, n)
	for i := range zone {
		zone[i] = i
	}
	rr := p.RoundRobin && in.rotate && n > 1
	switch p.Mode {
	case None:
		return zone, 0
	case Windows2000:
		rr = rr && !p.NetmaskOrdering
	}
	weighted := in.weights != nil && p.Mode == Windows2003
	rot := func(tier []int) []int {
		if !rr || len(tier) == 0 {
			return tier
		}
		start := int(tick % uint64(len(tier)))
		if weighted {
			var seq []int
			for _, i := range refSchedule(in.weights) {
				if slices.Contains(tier, i) {
					seq = append(seq, i)
				}
			}
			start = slices.Index(tier, seq[tick%uint64(len(seq))])
		}
		return append(slices.Clone(tier[start:]), tier[:start]...)
	}

	var locals, remotes []int
	if p.NetmaskOrdering {
		c := in.client.Unmap()
		for i, a := range in.addrs {
			if refLocal(p, c, a.Unmap()) {
				locals = append(locals, i)
			} else {
				remotes = append(remotes, i)
			}
		}
	}
	if len(locals) == 0 {
		return rot(zone), 0
	}
	if p.RemoteOrder == RemoteRotate {
		remotes = rot(remotes)
	}
	return append(rot(locals), remotes...), len(locals)
}

// refLocal is the locality rule through netip.Prefix.
func refLocal(p Policy, c, a netip.Addr) bool {
	var bits int
	switch {
	case c.Is4() && a.Is4():
		bits = p.Netmask.Bits(c)
	case c.Is6() && a.Is6() && p.IPv6Prefix > 0:
		bits = p.IPv6Prefix
	default:
		return false
	}
	pfx, err := c.Prefix(bits)
	if err != nil {
		panic(err)
	}
	return pfx.Contains(a)
}

// refSchedule is nginx's smooth weighted round robin, written out.
func refSchedule(weights []int) []int {
	total := 0
	for _, w := range weights {
		total += w
	}
	cur := make([]int, len(weights))
	var seq []int
	for range total {
		best := -1
		for i, w := range weights {
			cur[i] += w
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		seq = append(seq, best)
	}
	return seq
}

// checkInput checks every property of the set built from in at tick.
func checkInput(t *testing.T, in propInput, tick uint64) {
	t.Helper()
	s, err := NewSet(in.policy, in.addrs, in.rotate, in.weights)
	if err != nil {
		t.Fatalf("NewSet(%+v, %v, %v, %v): %v", in.policy, in.addrs, in.rotate, in.weights, err)
	}
	n := s.Len()
	dst := make([]int, n+1)
	dst[n] = -7 // Order writes no further than Len
	local := s.OrderAt(dst[:n], in.client, tick)
	got := dst[:n]
	if dst[n] != -7 {
		t.Fatalf("OrderAt wrote past Len")
	}

	// A permutation of 0..n-1.
	seen := make([]bool, n)
	for _, i := range got {
		if i < 0 || i >= n || seen[i] {
			t.Fatalf("%v is not a permutation of 0..%d", got, n-1)
		}
		seen[i] = true
	}

	// Local records first, and the count returned.
	applies := in.policy.NetmaskOrdering && in.policy.Mode != None
	for j, i := range got {
		isLocal := applies && refLocal(in.policy, in.client.Unmap(), in.addrs[i].Unmap())
		if isLocal != (j < local) {
			t.Fatalf("client %s: %v with local %d: record %d (%s) at %d local=%v",
				in.client, got, local, i, in.addrs[i], j, isLocal)
		}
	}

	// Exactly the model.
	want, wantLocal := refOrder(in, tick)
	if !slices.Equal(got, want) || local != wantLocal {
		t.Fatalf("policy %+v rotate %v weights %v addrs %v client %s tick %d:\n got %v local %d\nwant %v local %d",
			in.policy, in.rotate, in.weights, in.addrs, in.client, tick, got, local, want, wantLocal)
	}

	// ClientDependent is exactly "some record can be local to some client".
	orderable := false
	for _, a := range in.addrs {
		a = a.Unmap()
		orderable = orderable || a.Is4() || a.Is6() && in.policy.IPv6Prefix > 0
	}
	if cd := s.ClientDependent(); cd != (applies && orderable) {
		t.Fatalf("ClientDependent() = %v, want %v", cd, applies && orderable)
	}

	// Fairness: in windows2003 with rotation, over k·W consecutive ticks each
	// record of the leading tier is first exactly k·weight times (weight 1
	// unweighted; W the tier's total weight).
	if in.policy.Mode != Windows2003 || !in.policy.RoundRobin || !in.rotate || n < 2 {
		return
	}
	eligible := slices.Clone(got[:local])
	if local == 0 {
		eligible = slices.Clone(got)
	}
	weight := func(i int) int {
		if in.weights == nil {
			return 1
		}
		return in.weights[i]
	}
	total := 0
	for _, i := range eligible {
		total += weight(i)
	}
	const k = 2
	first := make([]int, n)
	start := tick >> 2 // no wrap-around
	for t0 := start; t0 < start+uint64(k*total); t0++ {
		s.OrderAt(dst[:n], in.client, t0)
		first[dst[0]]++
	}
	for _, i := range eligible {
		if first[i] != k*weight(i) {
			t.Fatalf("record %d first %d times over %d ticks, want %d (order %v, weights %v)",
				i, first[i], k*total, k*weight(i), got, in.weights)
		}
	}

	// Order walks consecutive ticks of its own counter from 0.
	for q := range uint64(2 * n) {
		s.Order(dst[:n], in.client)
		want, _ := refOrder(in, q)
		if !slices.Equal(dst[:n], want) {
			t.Fatalf("query %d: Order = %v, want %v", q, dst[:n], want)
		}
	}
}

// TestOrderProperties runs the checks on random inputs from a fixed seed.
func TestOrderProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	bytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	iterations := 20000
	if testing.Short() {
		iterations = 2000
	}
	for range iterations {
		in := decodeInput(bytes(3*r.IntN(12)), bytes(4), r.Uint32(), bytes(r.IntN(5)))
		checkInput(t, in, r.Uint64())
	}
}

func FuzzOrder(f *testing.F) {
	// docs/design.md#the-affinityus-example: 10.1.1.10, 10.2.1.10, 10.3.1.10 from 10.2.1.77, default policy.
	affinity := []byte{1, 1, 1, 1, 2, 1, 1, 3, 1}
	defaults := uint32(1<<2 | 1<<3 | 1<<4)
	f.Add(affinity, []byte{1, 2, 1, 77}, uint64(0), defaults, []byte(nil))
	f.Add(affinity, []byte{1, 2, 1, 77}, uint64(5), defaults|1, []byte(nil))
	f.Add(affinity, []byte{1, 3, 3, 9}, uint64(7), defaults|1<<12, []byte{4, 0, 0})
	f.Add(affinity, []byte{3, 2, 1, 9}, uint64(1<<63), defaults|2<<9|1<<5, []byte{1, 2})
	f.Add([]byte{0, 0, 0, 3, 1, 1, 7, 2, 2}, []byte{2, 1, 1, 9}, ^uint64(0), defaults|5<<6, []byte{9})
	f.Fuzz(func(t *testing.T, recs, client []byte, tick uint64, cfg uint32, weights []byte) {
		checkInput(t, decodeInput(recs, client, cfg, weights), tick)
	})
}
