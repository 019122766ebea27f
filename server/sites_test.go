package server

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// TestSocketSiteAware: over real sockets, from several loopback source
// addresses, each client gets its site's answer set, its own CAS first.
func TestSocketSiteAware(t *testing.T) {
	s := startServer(t, Config{}, labSnapshot(t, "lab.toml"))
	addr := s.Addrs()[0]
	tests := []struct {
		network, src string
		want         []string // sorted
		first        string
	}{
		{"udp", chicagoClient, usCAS, "127.2.1.10"},
		{"tcp", chicagoClient, usCAS, "127.2.1.10"},
		{"udp", "127.3.1.5", usCAS, "127.3.1.10"},
		{"udp", hamburgClient, []string{"127.11.1.10", "127.12.1.10", "127.13.1.10"}, "127.11.1.10"},
		{"tcp", "127.12.1.200", []string{"127.11.1.10", "127.12.1.10", "127.13.1.10"}, "127.12.1.10"},
		{"udp", unknownClient, []string{"127.200.0.10"}, "127.200.0.10"},
		{"tcp", unknownClient, []string{"127.200.0.10"}, "127.200.0.10"},
	}
	for _, tc := range tests {
		for i := 0; i < 4; i++ {
			r := mustExchange(t, tc.network, addr, tc.src, newQuery("autodiscover.contoso.lab", dns.TypeA))
			got := addrs(r.Answer)
			if !slices.Equal(slices.Sorted(slices.Values(got)), tc.want) || got[0] != tc.first {
				t.Errorf("%s from %s: %v, want %v with %s first", tc.network, tc.src, got, tc.want, tc.first)
			}
		}
	}
}

// TestSocketTruncation: the 60-record answer over UDP without EDNS comes
// back with TC and no partial RRset; the client's TCP retry gets it whole.
func TestSocketTruncation(t *testing.T) {
	s := startServer(t, Config{}, labSnapshot(t, "lab.toml"))
	addr := s.Addrs()[0]
	c := &dns.Client{Net: "udp"}
	r, _, err := c.Exchange(newQuery("big.contoso.lab", dns.TypeA), addr)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("UDP: TC=%v with %d records, want TC and none", r.Truncated, len(r.Answer))
	}
	r = mustExchange(t, "tcp", addr, "", newQuery("big.contoso.lab", dns.TypeA))
	if r.Truncated || len(r.Answer) != 60 {
		t.Errorf("TCP: TC=%v with %d records, want 60", r.Truncated, len(r.Answer))
	}
}

// TestSwap: a swapped snapshot answers the next query; Swap returns the old
// one; no socket is re-bound.
func TestSwap(t *testing.T) {
	old := labSnapshot(t, "lab.toml")
	s := startServer(t, Config{}, old)
	addr := s.Addrs()[0]
	changed := editedSnapshot(t, "lab.toml", func(s string) string {
		return strings.ReplaceAll(s, "127.3.1.10", "127.3.1.99")
	})
	if got := s.Swap(changed); got != old {
		t.Errorf("Swap returned %p, want the old snapshot %p", got, old)
	}
	if s.Snapshot() != changed {
		t.Error("Snapshot() is not the new snapshot")
	}
	r := mustExchange(t, "udp", addr, chicagoClient, newQuery("autodiscover.contoso.lab", dns.TypeA))
	if got := addrs(r.Answer); !slices.Contains(got, "127.3.1.99") {
		t.Errorf("after Swap: %v, want 127.3.1.99", got)
	}
	if s.Addrs()[0] != addr {
		t.Errorf("address changed on Swap: %s -> %s", addr, s.Addrs()[0])
	}
}

// TestNilSnapshot: before the first snapshot every query gets SERVFAIL.
func TestNilSnapshot(t *testing.T) {
	s := New(Config{}, nil)
	r := serveMsg(t, s, newQuery("affinityus.contoso.lab", dns.TypeA), unknownClient, metrics.UDP)
	if r == nil || r.Rcode != dns.RcodeServerFailure {
		t.Errorf("reply %v, want SERVFAIL", r)
	}
}

// answerOf returns the answer set a client of scope sees at name.
func answerOf(t *testing.T, snap *zones.Snapshot, name string, qtype uint16, client string) *zones.Answer {
	t.Helper()
	res := snap.Lookup(name, qtype)
	if res.Kind != zones.KindAnswer || res.Set == nil {
		t.Fatalf("Lookup(%s): %+v", name, res)
	}
	site, _ := snap.Sites.Lookup(netip.MustParseAddr(client))
	return res.Set.For(snap.SiteScope[site])
}

// TestCounters: the answers-first counters spread evenly under round robin;
// a client with a local record counts as local, others as remote_only; each
// in-zone query counts once for the client's site; a truncated answer is not
// counted (its TCP retry is).
func TestCounters(t *testing.T) {
	snap := labSnapshot(t, "lab.toml")
	s := New(Config{}, snap)
	tally := snap.Counters.Tally

	plain := answerOf(t, snap, "affinityus.contoso.lab.", dns.TypeA, unknownClient)
	for i := 0; i < 30; i++ {
		serveMsg(t, s, newQuery("affinityus.contoso.lab", dns.TypeA), unknownClient, metrics.UDP)
	}
	chicago, _ := snap.Sites.Lookup(netip.MustParseAddr(chicagoClient))
	for i := range plain.RRs {
		if c := plain.FirstCounter(0, i); tally.Load(c) != 10 {
			t.Errorf("answers first of %v to unknown clients: %d, want 10", plain.RRs[i], tally.Load(c))
		}
	}
	if tally.Load(plain.Local) != 0 || tally.Load(plain.RemoteOnly) != 30 {
		t.Errorf("netmask: local %d remote_only %d, want 0 and 30", tally.Load(plain.Local), tally.Load(plain.RemoteOnly))
	}
	for i := 0; i < 5; i++ {
		serveMsg(t, s, newQuery("affinityus.contoso.lab", dns.TypeA), chicagoClient, metrics.UDP)
	}
	if tally.Load(plain.Local) != 5 {
		t.Errorf("netmask local %d, want 5", tally.Load(plain.Local))
	}
	// Chicago's answers count in Chicago's row: its own CAS first, 5 times.
	var chicagoFirsts, unknownFirsts uint64
	for i := range plain.RRs {
		chicagoFirsts += tally.Load(plain.FirstCounter(chicago, i))
		unknownFirsts += tally.Load(plain.FirstCounter(0, i))
	}
	if chicagoFirsts != 5 || unknownFirsts != 30 {
		t.Errorf("answers first: US-Chicago %d, unknown %d; want 5 and 30", chicagoFirsts, unknownFirsts)
	}

	site := snap.Counters.Site[chicago]
	before := tally.Load(site)
	serveMsg(t, s, newQuery("autodiscover.contoso.lab", dns.TypeA), chicagoClient, metrics.UDP)
	serveMsg(t, s, newQuery("nope.contoso.lab", dns.TypeA), chicagoClient, metrics.UDP)
	serveMsg(t, s, newQuery("www.example.com", dns.TypeA), chicagoClient, metrics.UDP) // not ours
	if got := tally.Load(site) - before; got != 2 {
		t.Errorf("site queries +%d, want +2", got)
	}

	big := answerOf(t, snap, "big.contoso.lab.", dns.TypeA, unknownClient)
	sum := func() (n uint64) {
		for _, c := range big.First {
			n += tally.Load(c) // every site's: only unknown's should move
		}
		return n
	}
	if r := serveMsg(t, s, newQuery("big.contoso.lab", dns.TypeA), unknownClient, metrics.UDP); !r.Truncated || sum() != 0 {
		t.Errorf("truncated answer counted: TC=%v first total %d", r.Truncated, sum())
	}
	if serveMsg(t, s, newQuery("big.contoso.lab", dns.TypeA), unknownClient, metrics.TCP); sum() != 1 {
		t.Errorf("TCP answer first total %d, want 1", sum())
	}
}

// TestStats: queries, responses by rcode and drops reach metrics.Stats.
func TestStats(t *testing.T) {
	st := metrics.NewStats()
	s := New(Config{Stats: st}, labSnapshot(t, "lab.toml"))
	serveMsg(t, s, newQuery("affinityus.contoso.lab", dns.TypeA), unknownClient, metrics.UDP)
	serveMsg(t, s, newQuery("nope.contoso.lab", dns.TypeSRV), unknownClient, metrics.TCP)
	resp := newQuery("affinityus.contoso.lab", dns.TypeA)
	resp.Response = true
	serveMsg(t, s, resp, unknownClient, metrics.UDP)
	s.ServePacket(nil, []byte{1, 2, 3}, addrPort(t, unknownClient), metrics.UDP)
	v := func(series string) float64 { return statsValue(t, st, nil, series) }
	for series, want := range map[string]float64{
		`sitedns_queries_total{qtype="A",transport="udp"}`:        1,
		`sitedns_queries_total{qtype="SRV",transport="tcp"}`:      1,
		`sitedns_responses_total{rcode="NOERROR"}`:                1,
		`sitedns_responses_total{rcode="NXDOMAIN"}`:               1,
		`sitedns_dropped_total{reason="response"}`:                1,
		`sitedns_dropped_total{reason="malformed"}`:               1,
		`sitedns_request_duration_seconds_count{transport="udp"}`: 1,
		`sitedns_request_duration_seconds_count{transport="tcp"}`: 1,
	} {
		if got := v(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// TestSnapshotNotMutated: answering (wildcards, ordering, CNAME chains,
// transfers) never changes the records of the snapshot.
func TestSnapshotNotMutated(t *testing.T) {
	snap := labSnapshot(t, "lab.toml")
	dump := func() string {
		var b strings.Builder
		for _, z := range snap.Zones {
			names := make([]string, 0, len(z.Nodes))
			for n := range z.Nodes {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				for _, set := range z.Nodes[n].Sets {
					for _, a := range append([]*zones.Answer{set.Default}, set.ByScope...) {
						if a == nil {
							continue
						}
						for _, rr := range a.RRs {
							b.WriteString(rr.String() + "\n")
						}
					}
				}
			}
		}
		return b.String()
	}
	before := dump()
	s := New(Config{}, snap)
	for _, m := range seedQueries() {
		for _, src := range []string{chicagoClient, unknownClient, "127.5.0.1"} {
			for _, tr := range []metrics.Transport{metrics.UDP, metrics.TCP} {
				s.ServePacket(nil, mustPack(t, m), addrPort(t, src), tr)
			}
		}
	}
	if after := dump(); after != before {
		t.Error("answering changed the snapshot's records")
	}
}
