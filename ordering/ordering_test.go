package ordering

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// affinityus is the docs/design.md#the-affinityus-example answer set: California, Chicago, Florida.
var affinityus = []string{
	"affinityus 300 IN A 10.1.1.10",
	"affinityus 300 IN A 10.2.1.10",
	"affinityus 300 IN A 10.3.1.10",
}

// parseRecords reads zone-file style records ("name ttl IN type rdata...")
// and returns the address of each (zero unless the type is A or AAAA) and a
// label for each: its rdata.
func parseRecords(t testing.TB, rrs []string) (addrs []netip.Addr, labels []string) {
	t.Helper()
	for _, rr := range rrs {
		f := strings.Fields(rr)
		if len(f) < 5 || f[2] != "IN" {
			t.Fatalf("bad record %q: want name ttl IN type rdata", rr)
		}
		var a netip.Addr
		if f[3] == "A" || f[3] == "AAAA" {
			a = netip.MustParseAddr(f[4])
		}
		addrs = append(addrs, a)
		labels = append(labels, strings.Join(f[4:], " "))
	}
	return addrs, labels
}

// policy returns DefaultPolicy changed by opts.
func policy(opts ...func(*Policy)) Policy {
	p := DefaultPolicy()
	for _, o := range opts {
		o(&p)
	}
	return p
}

func mode(m Mode) func(*Policy)      { return func(p *Policy) { p.Mode = m } }
func rrOff(p *Policy)                { p.RoundRobin = false }
func netmaskOff(p *Policy)           { p.NetmaskOrdering = false }
func remoteFixed(p *Policy)          { p.RemoteOrder = RemoteFixed }
func ipv6Prefix(n int) func(*Policy) { return func(p *Policy) { p.IPv6Prefix = n } }
func mask(t testing.TB, s string) func(*Policy) {
	m, err := ParseNetmask(s)
	if err != nil {
		t.Fatal(err)
	}
	return func(p *Policy) { p.Netmask = m }
}

// orderCase is one ordering rule: a set, a client, and the orders expected
// at ticks 0, 1, 2, ...
type orderCase struct {
	name     string
	policy   Policy
	noRotate bool // the type is in no_round_robin_types
	weights  []int
	records  []string
	client   string
	local    int      // records expected local to the client
	want     []string // the order at consecutive ticks, as comma-separated rdata
}

func TestOrderRules(t *testing.T) {
	chicago4 := []string{ // two records in Chicago's /24
		"affinityus 300 IN A 10.2.1.10",
		"affinityus 300 IN A 10.1.1.10",
		"affinityus 300 IN A 10.2.1.11",
		"affinityus 300 IN A 10.3.1.10",
	}
	classful := []string{ // the Windows 2003 "Prioritizing local subnets" example
		"host 300 IN A 192.168.1.27",
		"host 300 IN A 10.0.0.14",
		"host 300 IN A 172.16.20.4",
	}
	aaaa := []string{
		"affinityus 300 IN AAAA 2001:db8:1::10",
		"affinityus 300 IN AAAA 2001:db8:2::10",
		"affinityus 300 IN AAAA 2001:db8:3::10",
	}
	srv := []string{
		"_sip._tls 300 IN SRV 0 0 443 sip1.contoso.lab.",
		"_sip._tls 300 IN SRV 0 0 443 sip2.contoso.lab.",
		"_sip._tls 300 IN SRV 0 0 443 sip3.contoso.lab.",
	}
	const (
		abc = "10.1.1.10, 10.2.1.10, 10.3.1.10"
		bca = "10.2.1.10, 10.3.1.10, 10.1.1.10"
		cab = "10.3.1.10, 10.1.1.10, 10.2.1.10"
		bac = "10.2.1.10, 10.1.1.10, 10.3.1.10"
	)
	cases := []orderCase{
		// docs/design.md#the-affinityus-example, exactly.
		{name: "2.5/windows2003/chicago", policy: policy(), records: affinityus, client: "10.2.1.77",
			local: 1, want: []string{bac, bca, bac, bca, bac, bca}},
		{name: "2.5/windows2003/elsewhere", policy: policy(), records: affinityus, client: "10.9.9.9",
			want: []string{abc, bca, cab, abc, bca, cab}},
		{name: "2.5/windows2000/chicago", policy: policy(mode(Windows2000)), records: affinityus, client: "10.2.1.77",
			local: 1, want: []string{bac, bac, bac, bac}},

		// The four RoundRobin × NetmaskOrdering cases of windows2003.
		{name: "windows2003/rr+netmask", policy: policy(), records: chicago4, client: "10.2.1.77", local: 2,
			want: []string{
				"10.2.1.10, 10.2.1.11, 10.1.1.10, 10.3.1.10",
				"10.2.1.11, 10.2.1.10, 10.3.1.10, 10.1.1.10",
				"10.2.1.10, 10.2.1.11, 10.1.1.10, 10.3.1.10",
			}},
		{name: "windows2003/netmask-only", policy: policy(rrOff), records: chicago4, client: "10.2.1.77", local: 2,
			want: []string{
				"10.2.1.10, 10.2.1.11, 10.1.1.10, 10.3.1.10",
				"10.2.1.10, 10.2.1.11, 10.1.1.10, 10.3.1.10",
			}},
		{name: "windows2003/rr-only", policy: policy(netmaskOff), records: affinityus, client: "10.2.1.77",
			want: []string{abc, bca, cab, abc}},
		{name: "windows2003/neither", policy: policy(rrOff, netmaskOff), records: affinityus, client: "10.2.1.77",
			want: []string{abc, abc, abc}},
		{name: "windows2003/netmask-only/no-local", policy: policy(rrOff), records: affinityus, client: "10.9.9.9",
			want: []string{abc, abc}},

		// Remote tier: rotated (default) or in zone order.
		{name: "remote-fixed", policy: policy(remoteFixed), records: chicago4, client: "10.2.1.77", local: 2,
			want: []string{
				"10.2.1.10, 10.2.1.11, 10.1.1.10, 10.3.1.10",
				"10.2.1.11, 10.2.1.10, 10.1.1.10, 10.3.1.10",
				"10.2.1.10, 10.2.1.11, 10.1.1.10, 10.3.1.10",
			}},
		{name: "remote-fixed/2.5", policy: policy(remoteFixed), records: affinityus, client: "10.2.1.77", local: 1,
			want: []string{bac, bac, bac}},
		{name: "remote-fixed/no-local", policy: policy(remoteFixed), records: affinityus, client: "10.9.9.9",
			want: []string{abc, bca, cab}},

		// windows2000 and none.
		{name: "windows2000/no-local", policy: policy(mode(Windows2000)), records: affinityus, client: "10.9.9.9",
			want: []string{abc, abc, abc}},
		{name: "windows2000/two-local", policy: policy(mode(Windows2000)), records: chicago4, client: "10.2.1.77", local: 2,
			want: []string{
				"10.2.1.10, 10.2.1.11, 10.1.1.10, 10.3.1.10",
				"10.2.1.10, 10.2.1.11, 10.1.1.10, 10.3.1.10",
			}},
		{name: "windows2000/srv", policy: policy(mode(Windows2000)), records: srv, client: "10.2.1.77",
			want: []string{
				"0 0 443 sip1.contoso.lab., 0 0 443 sip2.contoso.lab., 0 0 443 sip3.contoso.lab.",
				"0 0 443 sip1.contoso.lab., 0 0 443 sip2.contoso.lab., 0 0 443 sip3.contoso.lab.",
			}},
		{name: "windows2000/rr-only", policy: policy(mode(Windows2000), netmaskOff), records: affinityus, client: "10.2.1.77",
			want: []string{abc, bca, cab}},
		{name: "none", policy: policy(mode(None)), records: affinityus, client: "10.2.1.77",
			want: []string{abc, abc, abc}},
		{name: "none/weights", policy: policy(mode(None)), weights: []int{5, 1, 1}, records: affinityus, client: "10.9.9.9",
			want: []string{abc, abc, abc}},

		// rotate=false: the type is in no_round_robin_types.
		{name: "no-round-robin-type/chicago", policy: policy(), noRotate: true, records: affinityus, client: "10.2.1.77",
			local: 1, want: []string{bac, bac, bac}},
		{name: "no-round-robin-type/elsewhere", policy: policy(), noRotate: true, records: affinityus, client: "10.9.9.9",
			want: []string{abc, abc, abc}},
		{name: "no-round-robin-type/srv", policy: policy(), noRotate: true, records: srv, client: "10.9.9.9",
			want: []string{
				"0 0 443 sip1.contoso.lab., 0 0 443 sip2.contoso.lab., 0 0 443 sip3.contoso.lab.",
				"0 0 443 sip1.contoso.lab., 0 0 443 sip2.contoso.lab., 0 0 443 sip3.contoso.lab.",
			}},
		{name: "srv-rotates", policy: policy(), records: srv, client: "10.2.1.77",
			want: []string{
				"0 0 443 sip1.contoso.lab., 0 0 443 sip2.contoso.lab., 0 0 443 sip3.contoso.lab.",
				"0 0 443 sip2.contoso.lab., 0 0 443 sip3.contoso.lab., 0 0 443 sip1.contoso.lab.",
			}},

		// Masks.
		{name: "hex/16", policy: policy(mask(t, "0x0000FFFF")), client: "10.2.99.1", local: 2,
			records: []string{
				"affinityus 300 IN A 10.1.1.10",
				"affinityus 300 IN A 10.2.1.10",
				"affinityus 300 IN A 10.2.200.10",
				"affinityus 300 IN A 10.3.1.10",
			},
			want: []string{
				"10.2.1.10, 10.2.200.10, 10.1.1.10, 10.3.1.10",
				"10.2.200.10, 10.2.1.10, 10.3.1.10, 10.1.1.10",
			}},
		{name: "default-24/not-local-to-16", policy: policy(), client: "10.2.99.1",
			records: []string{
				"affinityus 300 IN A 10.1.1.10",
				"affinityus 300 IN A 10.2.1.10",
			},
			want: []string{"10.1.1.10, 10.2.1.10", "10.2.1.10, 10.1.1.10"}},
		{name: "hex/26", policy: policy(mask(t, "0x0000003F")), client: "10.0.0.70", local: 1,
			records: []string{
				"h 300 IN A 10.0.0.10",
				"h 300 IN A 10.0.0.100",
				"h 300 IN A 10.0.0.130",
			},
			want: []string{"10.0.0.100, 10.0.0.10, 10.0.0.130", "10.0.0.100, 10.0.0.130, 10.0.0.10"}},
		{name: "classful/class-a", policy: policy(mask(t, "0xFFFFFFFF")), records: classful, client: "10.4.3.2", local: 1,
			want: []string{
				"10.0.0.14, 192.168.1.27, 172.16.20.4",
				"10.0.0.14, 172.16.20.4, 192.168.1.27",
				"10.0.0.14, 192.168.1.27, 172.16.20.4",
			}},
		{name: "classful/windows2000", policy: policy(mode(Windows2000), mask(t, "0xFFFFFFFF")), records: classful,
			client: "10.4.3.2", local: 1,
			want: []string{"10.0.0.14, 192.168.1.27, 172.16.20.4", "10.0.0.14, 192.168.1.27, 172.16.20.4"}},
		{name: "classful/class-b", policy: policy(mask(t, "0xFFFFFFFF")), records: classful, client: "172.16.99.1", local: 1,
			want: []string{"172.16.20.4, 192.168.1.27, 10.0.0.14"}},
		{name: "classful/class-c", policy: policy(mask(t, "0xFFFFFFFF")), records: classful, client: "192.168.1.200", local: 1,
			want: []string{"192.168.1.27, 10.0.0.14, 172.16.20.4"}},
		{name: "classful/other-class-c", policy: policy(mask(t, "0xFFFFFFFF")), records: classful, client: "192.168.2.1",
			want: []string{"192.168.1.27, 10.0.0.14, 172.16.20.4", "10.0.0.14, 172.16.20.4, 192.168.1.27"}},
		{name: "classful/default-24-differs", policy: policy(), records: classful, client: "10.4.3.2",
			want: []string{"192.168.1.27, 10.0.0.14, 172.16.20.4", "10.0.0.14, 172.16.20.4, 192.168.1.27"}},
		{name: "mask/0/all-local", policy: policy(mask(t, "/0")), records: affinityus, client: "192.0.2.1", local: 3,
			want: []string{abc, bca, cab}},
		{name: "mask/32", policy: policy(mask(t, "/32")), records: affinityus, client: "10.2.1.10", local: 1,
			want: []string{bac, bca}},
		{name: "zero-netmask-is-default", policy: Policy{Mode: Windows2003, RoundRobin: true, NetmaskOrdering: true},
			records: affinityus, client: "10.2.1.77", local: 1, want: []string{bac, bca}},

		// Clients.
		{name: "client/ipv4-mapped", policy: policy(), records: affinityus, client: "::ffff:10.2.1.77", local: 1,
			want: []string{bac, bca}},
		{name: "client/none", policy: policy(), records: affinityus, client: "",
			want: []string{abc, bca, cab}},
		{name: "client/ipv6-to-a", policy: policy(ipv6Prefix(64)), records: affinityus, client: "2001:db8:2::77",
			want: []string{abc, bca}},

		// AAAA.
		{name: "aaaa/no-prefix", policy: policy(), records: aaaa, client: "2001:db8:2::77",
			want: []string{
				"2001:db8:1::10, 2001:db8:2::10, 2001:db8:3::10",
				"2001:db8:2::10, 2001:db8:3::10, 2001:db8:1::10",
			}},
		{name: "aaaa/48", policy: policy(ipv6Prefix(48)), records: aaaa, client: "2001:db8:2::77", local: 1,
			want: []string{
				"2001:db8:2::10, 2001:db8:1::10, 2001:db8:3::10",
				"2001:db8:2::10, 2001:db8:3::10, 2001:db8:1::10",
			}},
		{name: "aaaa/64/not-local", policy: policy(ipv6Prefix(64)), records: aaaa, client: "2001:db8:2:1::77",
			want: []string{
				"2001:db8:1::10, 2001:db8:2::10, 2001:db8:3::10",
				"2001:db8:2::10, 2001:db8:3::10, 2001:db8:1::10",
			}},
		{name: "aaaa/120", policy: policy(ipv6Prefix(120)), client: "2001:db8::1:77", local: 1,
			records: []string{
				"h 300 IN AAAA 2001:db8::2:10",
				"h 300 IN AAAA 2001:db8::1:10",
			},
			want: []string{"2001:db8::1:10, 2001:db8::2:10", "2001:db8::1:10, 2001:db8::2:10"}},
		{name: "aaaa/ipv4-client", policy: policy(ipv6Prefix(48)), records: aaaa, client: "10.2.1.77",
			want: []string{
				"2001:db8:1::10, 2001:db8:2::10, 2001:db8:3::10",
				"2001:db8:2::10, 2001:db8:3::10, 2001:db8:1::10",
			}},
		{name: "mixed/ipv4-client", policy: policy(ipv6Prefix(48)), client: "10.2.1.77", local: 1,
			records: []string{
				"h 300 IN AAAA 2001:db8:2::10",
				"h 300 IN A 10.2.1.10",
				"h 300 IN A 10.1.1.10",
			},
			want: []string{
				"10.2.1.10, 2001:db8:2::10, 10.1.1.10",
				"10.2.1.10, 10.1.1.10, 2001:db8:2::10",
			}},
		{name: "mixed/ipv6-client", policy: policy(ipv6Prefix(48)), client: "2001:db8:2::99", local: 1,
			records: []string{
				"h 300 IN A 10.2.1.10",
				"h 300 IN AAAA 2001:db8:2::10",
				"h 300 IN A 10.1.1.10",
			},
			want: []string{
				"2001:db8:2::10, 10.2.1.10, 10.1.1.10",
				"2001:db8:2::10, 10.1.1.10, 10.2.1.10",
			}},

		// Small sets.
		{name: "one-record", policy: policy(), records: affinityus[:1], client: "10.1.1.1", local: 1,
			want: []string{"10.1.1.10", "10.1.1.10"}},
		{name: "empty", policy: policy(), records: nil, client: "10.1.1.1", want: []string{"", ""}},

		// Weights: a a b a c a a is the schedule of 5,1,1.
		{name: "weights/no-local", policy: policy(), weights: []int{5, 1, 1}, records: affinityus, client: "10.9.9.9",
			want: []string{abc, abc, bca, abc, cab, abc, abc, abc}},
		{name: "weights/netmask-off", policy: policy(netmaskOff), weights: []int{5, 1, 1}, records: affinityus, client: "10.2.1.77",
			want: []string{abc, abc, bca, abc, cab, abc, abc, abc}},
		{name: "weights/local", policy: policy(), weights: []int{5, 1, 1}, records: affinityus, client: "10.2.1.77", local: 1,
			// The remote tier follows the schedule restricted to it, of
			// length 5+1: a a a c a a.
			want: []string{bac, bac, bac, bca, bac, bac, bac, bac, bac, bca}},
		{name: "weights/rr-off", policy: policy(rrOff), weights: []int{5, 1, 1}, records: affinityus, client: "10.9.9.9",
			want: []string{abc, abc, abc}},
		{name: "weights/no-round-robin-type", policy: policy(), noRotate: true, weights: []int{1, 5, 1}, records: affinityus,
			client: "10.9.9.9", want: []string{abc, abc, abc}},
		{name: "weights/windows2000", policy: policy(mode(Windows2000)), weights: []int{1, 5, 1}, records: affinityus,
			client: "10.2.1.77", local: 1, want: []string{bac, bac, bac}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addrs, labels := parseRecords(t, tc.records)
			s, err := NewSet(tc.policy, addrs, !tc.noRotate, tc.weights)
			if err != nil {
				t.Fatal(err)
			}
			var client netip.Addr
			if tc.client != "" {
				client = netip.MustParseAddr(tc.client)
			}
			dst := make([]int, s.Len())
			for tick, want := range tc.want {
				local := s.OrderAt(dst, client, uint64(tick))
				if got := render(dst, labels); got != want || local != tc.local {
					t.Errorf("tick %d: OrderAt = %q, local %d; want %q, local %d", tick, got, local, want, tc.local)
				}
				// Order walks the same ticks from a fresh counter.
				local = s.Order(dst, client)
				if got := render(dst, labels); got != want || local != tc.local {
					t.Errorf("query %d: Order = %q, local %d; want %q, local %d", tick, got, local, want, tc.local)
				}
			}
		})
	}
}

// render is an order as comma-separated labels.
func render(order []int, labels []string) string {
	s := make([]string, len(order))
	for i, j := range order {
		s[i] = labels[j]
	}
	return strings.Join(s, ", ")
}

// TestExample25 is docs/design.md#the-affinityus-example as stated: over 3k queries from outside every
// site each address is first exactly k times; Chicago always gets Chicago
// first and the other two alternating.
func TestExample25(t *testing.T) {
	addrs, _ := parseRecords(t, affinityus)
	chicago := netip.MustParseAddr("10.2.1.77")
	elsewhere := netip.MustParseAddr("10.9.9.9")
	s, err := NewSet(DefaultPolicy(), addrs, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	const k = 1000
	var first [3]int
	dst := make([]int, 3)
	for range 3 * k {
		s.Order(dst, elsewhere)
		first[dst[0]]++
	}
	if first != [3]int{k, k, k} {
		t.Errorf("first counts over %d queries = %v, want %d each", 3*k, first, k)
	}
	second := -1
	for q := range 100 {
		if local := s.Order(dst, chicago); local != 1 || dst[0] != 1 {
			t.Fatalf("query %d: %v (local %d), want Chicago (1) first", q, dst, local)
		}
		if dst[1] == second {
			t.Fatalf("query %d: %v repeats %d second", q, dst, second)
		}
		second = dst[1]
	}

	w2000 := policy(mode(Windows2000))
	s, err = NewSet(w2000, addrs, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for q := range 100 {
		s.Order(dst, chicago)
		if !slices.Equal(dst, []int{1, 0, 2}) {
			t.Fatalf("windows2000 query %d: %v, want [1 0 2]", q, dst)
		}
	}
}

func TestClientDependent(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		records []string
		want    bool
	}{
		{"a/windows2003", policy(), affinityus, true},
		{"a/windows2000", policy(mode(Windows2000)), affinityus, true},
		{"a/rr-off", policy(rrOff), affinityus, true},
		{"a/none", policy(mode(None)), affinityus, false},
		{"a/netmask-off", policy(netmaskOff), affinityus, false},
		{"aaaa/no-prefix", policy(), []string{"h 300 IN AAAA 2001:db8::1"}, false},
		{"aaaa/prefix", policy(ipv6Prefix(64)), []string{"h 300 IN AAAA 2001:db8::1"}, true},
		{"srv", policy(), []string{"h 300 IN SRV 0 0 443 sip.contoso.lab."}, false},
		{"mixed", policy(), []string{"h 300 IN AAAA 2001:db8::1", "h 300 IN A 192.0.2.1"}, true},
		{"empty", policy(), nil, false},
	}
	for _, tt := range tests {
		addrs, _ := parseRecords(t, tt.records)
		s, err := NewSet(tt.policy, addrs, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.ClientDependent(); got != tt.want {
			t.Errorf("%s: ClientDependent() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNewSetErrors(t *testing.T) {
	addrs, _ := parseRecords(t, affinityus)
	tests := []struct {
		name    string
		policy  Policy
		weights []int
		want    string
	}{
		{"mode", policy(mode(7)), nil, "bad mode Mode(7)"},
		{"remote-order", policy(func(p *Policy) { p.RemoteOrder = 5 }), nil, "bad remote order RemoteOrder(5)"},
		{"ipv6-prefix/129", policy(ipv6Prefix(129)), nil, "bad ipv6 prefix 129"},
		{"ipv6-prefix/-1", policy(ipv6Prefix(-1)), nil, "bad ipv6 prefix -1"},
		{"weights/short", policy(), []int{1, 1}, "weights: 2 weights for 3 records"},
		{"weights/empty", policy(), []int{}, "weights: 0 weights for 3 records"},
		{"weights/zero", policy(), []int{1, 0, 1}, "weights: weight 0 of record 1 is not positive"},
		{"weights/negative", policy(), []int{-3, 1, 1}, "weights: weight -3 of record 0 is not positive"},
		{"weights/sum", policy(), []int{5000, 5000, 1}, "weights: sum of weights exceeds 10000"},
		{"weights/huge", policy(), []int{1, int(^uint(0) >> 1), 1}, "weights: sum of weights exceeds 10000"},
		// Bad weights are reported whatever the mode, so a config error does
		// not hide until someone switches modes.
		{"weights/none", policy(mode(None)), []int{1, 0, 1}, "not positive"},
	}
	for _, tt := range tests {
		_, err := NewSet(tt.policy, addrs, true, tt.weights)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewSet error = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewSet(policy(), addrs, true, []int{5000, 4999, 1}); err != nil {
		t.Errorf("weights summing to 10000: %v", err)
	}
}

// TestOrderDoesNotMutateInput pins that ordering never reorders a slice it
// does not own: not the caller's addresses or weights, and not the set's.
func TestOrderDoesNotMutateInput(t *testing.T) {
	addrs, _ := parseRecords(t, []string{
		"h 300 IN A 10.2.1.10",
		"h 300 IN A 10.1.1.10",
		"h 300 IN A 10.2.1.11",
		"h 300 IN AAAA 2001:db8:2::10",
		"h 300 IN A 10.3.1.10",
	})
	weights := []int{3, 1, 2, 1, 4}
	addrsCopy, weightsCopy := slices.Clone(addrs), slices.Clone(weights)
	clients := []netip.Addr{
		netip.MustParseAddr("10.2.1.77"),
		netip.MustParseAddr("10.9.9.9"),
		netip.MustParseAddr("2001:db8:2::1"),
		{},
	}
	for _, w := range [][]int{nil, weights} {
		s, err := NewSet(policy(ipv6Prefix(48)), addrs, true, w)
		if err != nil {
			t.Fatal(err)
		}
		v4, v6 := slices.Clone(s.v4), slices.Clone(s.v6)
		var sched schedule
		if s.sched != nil {
			sched = schedule{seq: slices.Clone(s.sched.seq), pos: slices.Clone(s.sched.pos), off: slices.Clone(s.sched.off)}
		}
		dst := make([]int, s.Len())
		for i := range 1000 {
			c := clients[i%len(clients)]
			s.Order(dst, c)
			s.OrderAt(dst, c, uint64(i*7))
		}
		if !slices.Equal(addrs, addrsCopy) || !slices.Equal(weights, weightsCopy) {
			t.Fatalf("the caller's input changed: %v %v", addrs, weights)
		}
		if !slices.Equal(s.v4, v4) || !slices.Equal(s.v6, v6) {
			t.Fatalf("the set's records changed")
		}
		if s.sched != nil && (!slices.Equal(s.sched.seq, sched.seq) || !slices.Equal(s.sched.pos, sched.pos) ||
			!slices.Equal(s.sched.off, sched.off)) {
			t.Fatalf("the set's schedule changed")
		}
	}
}

// TestNewSetCopiesInput pins that the set keeps no reference to the
// caller's slices: changing them afterwards changes nothing.
func TestNewSetCopiesInput(t *testing.T) {
	addrs, _ := parseRecords(t, affinityus)
	weights := []int{1, 1, 1}
	s, err := NewSet(DefaultPolicy(), addrs, true, weights)
	if err != nil {
		t.Fatal(err)
	}
	addrs[1] = netip.MustParseAddr("10.9.9.10")
	weights[0] = 100
	dst := make([]int, 3)
	for tick := range uint64(6) {
		if local := s.OrderAt(dst, netip.MustParseAddr("10.2.1.77"), tick); local != 1 || dst[0] != 1 {
			t.Fatalf("tick %d: %v (local %d) after the caller changed its slices", tick, dst, local)
		}
	}
}

func TestRotateLeft(t *testing.T) {
	for n := range 7 {
		for k := range n {
			a := make([]int, n)
			for i := range a {
				a[i] = i
			}
			rotateLeft(a, k)
			for i := range a {
				if a[i] != (i+k)%n {
					t.Fatalf("rotateLeft(0..%d, %d) = %v", n-1, k, a)
				}
			}
		}
	}
}
