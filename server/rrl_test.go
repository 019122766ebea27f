package server

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// withRRL returns testdata/lab.toml with an [rrl] table appended.
func withRRL(t testing.TB, table string) *zones.Snapshot {
	t.Helper()
	return editedSnapshot(t, "lab.toml", func(s string) string { return s + "\n[rrl]\n" + table })
}

// labResponse packs the server's UDP reply to name/qtype.
func labResponse(t *testing.T, s *Server, name string, qtype uint16) []byte {
	t.Helper()
	out := s.ServePacket(nil, mustPack(t, newQuery(name, qtype)), addrPort(t, chicagoClient), metrics.UDP)
	if out == nil {
		t.Fatalf("no reply to %s", name)
	}
	return out
}

// TestRateLimitClassify: each response falls in its class, keyed as BIND
// keys it: answers by name and type, NODATA by name, NXDOMAIN by zone,
// referrals by delegation, errors by nothing.
func TestRateLimitClassify(t *testing.T) {
	s := New(Config{}, labSnapshot(t, "lab.toml"))
	rl := &zones.RateLimit{ResponsesPerSecond: 1, NXDomainsPerSecond: 2, ErrorsPerSecond: 3, Window: time.Second, IPv4Prefix: 24, IPv6Prefix: 56}
	type key struct {
		class byte
		rate  uint64
		h     uint64
	}
	get := func(name string, qtype uint16) key {
		c, r, h := classify(rl, labResponse(t, s, name, qtype), "", 42)
		return key{c, r, h}
	}
	cases := []struct {
		name  string
		qtype uint16
		class byte
		rate  uint64
	}{
		{"affinityus.contoso.lab", dns.TypeA, rrlAnswer, 1},
		{"affinityus.contoso.lab", dns.TypeMX, rrlNoData, 1},
		{"nosuch.contoso.lab", dns.TypeA, rrlNXDomain, 2},
		{"www.lab2.contoso.lab", dns.TypeA, rrlReferral, 1},
		{"example.org", dns.TypeA, rrlError, 3},
	}
	for _, tc := range cases {
		if k := get(tc.name, tc.qtype); k.class != tc.class || k.rate != tc.rate {
			t.Errorf("%s %s: class %d rate %d, want class %d rate %d", tc.name, dns.TypeToString[tc.qtype], k.class, k.rate, tc.class, tc.rate)
		}
	}
	same := func(what string, a, b key, want bool) {
		t.Helper()
		if (a == b) != want {
			t.Errorf("%s: same key = %v, want %v", what, a == b, want)
		}
	}
	same("answers for two names", get("affinityus.contoso.lab", dns.TypeA), get("affinityde.contoso.lab", dns.TypeA), false)
	same("answers for two types", get("affinityus.contoso.lab", dns.TypeA), get("contoso.lab", dns.TypeSOA), false)
	same("the same answer, case folded", get("affinityus.contoso.lab", dns.TypeA), get("AffinityUS.Contoso.LAB", dns.TypeA), true)
	same("NODATA for two types", get("affinityus.contoso.lab", dns.TypeMX), get("affinityus.contoso.lab", dns.TypeTXT), true)
	same("NXDOMAIN for two names of a zone", get("nosuch.contoso.lab", dns.TypeA), get("other.contoso.lab", dns.TypeAAAA), true)
	same("referrals below one delegation", get("www.lab2.contoso.lab", dns.TypeA), get("mail.lab2.contoso.lab", dns.TypeMX), true)
	same("errors", get("example.org", dns.TypeA), get("example.net", dns.TypeMX), true)
}

// TestRateLimitBucket drives one bucket with a fake clock: a burst of one
// second's worth, then the rate; a flood stays limited; after it stops the
// network is served again within the window; every Slip-th limited response
// slips.
func TestRateLimitBucket(t *testing.T) {
	s := New(Config{}, labSnapshot(t, "lab.toml"))
	resp := labResponse(t, s, "affinityus.contoso.lab", dns.TypeA)
	rl := &zones.RateLimit{ResponsesPerSecond: 10, NXDomainsPerSecond: 10, ErrorsPerSecond: 10,
		Window: 3 * time.Second, Slip: 2, IPv4Prefix: 24, IPv6Prefix: 56}
	var l rateLimiter
	t0 := l.get().epoch.Add(time.Hour)
	src := netip.MustParseAddr("127.2.1.77")
	at := func(d time.Duration) (bool, bool) { return l.check(rl, resp, src, "", t0.Add(d)) }

	allowed, slipped := 0, 0
	for i := 0; i < 30; i++ { // 30 at once: 10 go through
		a, sl := at(0)
		if a {
			allowed++
		} else if sl {
			slipped++
		}
	}
	if allowed != 10 || slipped != 10 {
		t.Errorf("burst of 30: %d allowed, %d slipped; want 10, 10", allowed, slipped)
	}
	// Another host of the same /24 shares the bucket; another /24 does not.
	if a, _ := l.check(rl, resp, netip.MustParseAddr("127.2.1.200"), "", t0); a {
		t.Error("same /24 not limited")
	}
	if a, _ := l.check(rl, resp, netip.MustParseAddr("127.2.2.1"), "", t0); !a {
		t.Error("another /24 limited")
	}
	// A flood of 100/s for 5s stays limited: the debt reaches the window.
	allowed = 0
	for i := 1; i <= 500; i++ {
		if a, _ := at(time.Duration(i) * 10 * time.Millisecond); a {
			allowed++
		}
	}
	if allowed != 0 {
		t.Errorf("flood of 100/s at a rate of 10: %d allowed, want 0", allowed)
	}
	// Quiet for the window: served again.
	if a, _ := at(5*time.Second + rl.Window); !a {
		t.Error("not served a window after the flood stopped")
	}
	// At the rate: always served.
	for i := 1; i <= 50; i++ {
		if a, _ := at(5*time.Second + rl.Window + time.Duration(i)*100*time.Millisecond); !a {
			t.Fatalf("query %d at the rate limited", i)
		}
	}
	// Exempt networks are never limited.
	rl.Exempt = []netip.Prefix{netip.MustParsePrefix("127.2.0.0/16")}
	for i := 0; i < 100; i++ {
		if a, _ := at(time.Minute); !a {
			t.Fatal("exempt network limited")
		}
	}
}

// TestRateLimitAllocs: the limiter allocates nothing per response.
func TestRateLimitAllocs(t *testing.T) {
	s := New(Config{}, withRRL(t, "responses_per_second = 5\nslip = 2\n"))
	resp := labResponse(t, s, "nosuch.contoso.lab", dns.TypeA)
	buf := make([]byte, len(resp))
	src := netip.MustParseAddr("127.2.1.77")
	st := s.stats.shard()
	snap := s.snap.Load()
	s.limit(st, metrics.UDP, snap, resp, src) // allocate the table
	n := testing.AllocsPerRun(1000, func() {
		copy(buf, resp)
		s.limit(st, metrics.UDP, snap, buf, src)
	})
	if n != 0 {
		t.Errorf("limit allocates %v times per response", n)
	}
}

// TestTruncateReply: the slip reply is the header with TC=1, no records, and
// the question.
func TestTruncateReply(t *testing.T) {
	s := New(Config{}, labSnapshot(t, "lab.toml"))
	m := newQuery("affinityus.contoso.lab", dns.TypeA)
	m.SetEdns0(1232, false)
	out := truncateReply(s.ServePacket(nil, mustPack(t, m), addrPort(t, chicagoClient), metrics.UDP))
	var r dns.Msg
	if err := r.Unpack(out); err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Answer)+len(r.Ns)+len(r.Extra) != 0 || len(r.Question) != 1 ||
		r.Question[0].Name != "affinityus.contoso.lab." || r.Id != m.Id || !r.Authoritative {
		t.Errorf("slip reply:\n%v", &r)
	}
}

// TestRateLimitFlood: over real sockets, a flood from one /24 is limited
// (dropped, every second limited response truncated) while a client of
// another /24 querying at a modest rate is answered in full; a reload
// without [rrl] lifts the limit.
func TestRateLimitFlood(t *testing.T) {
	st := metrics.NewStats()
	const rate = 50
	s := startServer(t, Config{Stats: st}, withRRL(t, "responses_per_second = 50\nwindow = 2\nslip = 2\n"))
	addr := s.Addrs()[0]

	type tally struct{ sent, answered, truncated, lost atomic.Int64 }
	// send sends n queries from src, one every `every` (0: as fast as the
	// socket takes them), and counts the replies, waiting at most 300ms
	// after the last query.
	send := func(src string, n int, every time.Duration, tl *tally) {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		_ = c.SetReadBuffer(4 << 20) // the replies of a flood, read by a busy machine
		got := make(chan struct{})
		go func() {
			defer close(got)
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				var r dns.Msg
				if r.Unpack(buf[:n]) != nil {
					t.Errorf("reply from %s does not unpack", src)
					continue
				}
				if r.Truncated {
					tl.truncated.Add(1)
				} else if len(r.Answer) == 3 {
					tl.answered.Add(1)
				}
			}
		}()
		q := newQuery("affinityus.contoso.lab", dns.TypeA)
		for i := 0; i < n; i++ {
			q.Id = uint16(i)
			if _, err := c.Write(mustPack(t, q)); err != nil {
				t.Error(err)
				break
			}
			tl.sent.Add(1)
			if every > 0 {
				time.Sleep(every)
			} else if i%50 == 49 {
				time.Sleep(time.Millisecond) // stay within the socket buffers
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		<-got
		tl.lost.Store(tl.sent.Load() - tl.answered.Load() - tl.truncated.Load())
	}

	var flood, calm tally
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); send("127.2.1.77", 1000, 0, &flood) }()
	go func() { defer wg.Done(); send("127.3.1.77", 25, 20*time.Millisecond, &calm) }()
	wg.Wait()
	took := time.Since(start)
	dropped := statsValue(t, st, nil, `sitedns_dropped_total{reason="ratelimit"}`)
	t.Logf("flood from 127.2.1.0/24 (rate %d/s, slip 2) over %v: sent %d, answered %d, truncated %d, no reply %d",
		rate, took.Round(time.Millisecond), flood.sent.Load(), flood.answered.Load(), flood.truncated.Load(), flood.lost.Load())
	t.Logf("client in 127.3.1.0/24 meanwhile: sent %d, answered %d, truncated %d, no reply %d",
		calm.sent.Load(), calm.answered.Load(), calm.truncated.Load(), calm.lost.Load())
	t.Logf(`sitedns_dropped_total{reason="ratelimit"} %v`, dropped)

	if got := calm.answered.Load(); got != calm.sent.Load() {
		t.Errorf("other /24: %d of %d answered", got, calm.sent.Load())
	}
	// The flood gets its burst plus the rate for the time it ran, at most.
	maxAnswered := int64(rate) + int64(float64(rate)*took.Seconds()) + 1
	if got := flood.answered.Load(); got > maxAnswered || got < rate/2 {
		t.Errorf("flood answered %d, want between %d and %d", got, rate/2, maxAnswered)
	}
	// Half the limited responses are dropped (counted by the server), half
	// truncated (counted by the client, which may miss a few on a busy
	// machine).
	limited := flood.sent.Load() - flood.answered.Load()
	if d := int64(dropped); d < limited/2-2 || d > limited/2+2 {
		t.Errorf("ratelimit drops %v of %d limited, want half (slip 2)", dropped, limited)
	}
	if tr := flood.truncated.Load(); tr > limited/2+2 || tr < limited/3 {
		t.Errorf("truncated %d of %d limited, want half (slip 2)", tr, limited)
	}

	// What was dropped or truncated is not an answer: the response counter
	// counts only what went out, and the answer counters (the CAS spread)
	// only the responses that carried their answer.
	snap := func() *zones.Snapshot { return s.snap.Load() }
	queries := statsSum(t, st, snap, "sitedns_queries_total")
	responses := statsSum(t, st, snap, "sitedns_responses_total")
	first := statsSum(t, st, snap, "sitedns_answers_first_total")
	netmask := statsSum(t, st, snap, "sitedns_netmask_matches_total")
	t.Logf("server: %v queries, %v responses, %v answers counted first per CAS, %v netmask outcomes", queries, responses, first, netmask)
	if sent := float64(flood.sent.Load() + calm.sent.Load()); queries > sent || queries < sent/2 {
		t.Errorf("sitedns_queries_total %v, want the %v sent (less what a busy kernel lost)", queries, sent)
	}
	if responses != queries-dropped {
		t.Errorf("sitedns_responses_total %v, want queries - ratelimit drops = %v", responses, queries-dropped)
	}
	seenWhole := float64(flood.answered.Load() + calm.answered.Load())
	sentWhole := responses - float64(flood.truncated.Load()) // the client may miss a few of either
	if first < seenWhole || first > sentWhole {
		t.Errorf("sitedns_answers_first_total %v, want between %v (whole answers received) and %v (responses - truncated received)", first, seenWhole, sentWhole)
	}
	if netmask != first {
		t.Errorf("sitedns_netmask_matches_total %v, want %v, one per whole A answer", netmask, first)
	}

	// A reload without [rrl] lifts the limit at once.
	s.Swap(labSnapshot(t, "lab.toml"))
	var after tally
	send("127.2.1.77", 200, 0, &after)
	if after.answered.Load() != 200 {
		t.Errorf("after a reload without [rrl]: %d of 200 answered", after.answered.Load())
	}
}

// TestRateLimitWildcard: answers and NODATA a wildcard synthesises are
// charged to the wildcard's parent, as BIND charges them: random names under
// *.wild share one bucket (the same as a NODATA for wild itself), where keyed
// by query name each would get a bucket of its own and none be limited.
func TestRateLimitWildcard(t *testing.T) {
	s := New(Config{}, withRRL(t, "responses_per_second = 1\nslip = 0\n"))
	src := addrPort(t, chicagoClient)
	served := func(name string, qtype uint16) bool {
		return s.ServePacket(nil, mustPack(t, newQuery(name, qtype)), src, metrics.UDP) != nil
	}
	for _, qtype := range []uint16{dns.TypeTXT, dns.TypeMX} { // answer, NODATA
		if !served("r1."+dns.TypeToString[qtype]+".wild.contoso.lab", qtype) {
			t.Fatalf("%s: first wildcard response limited", dns.TypeToString[qtype])
		}
		for i := 2; i <= 5; i++ {
			if served(fmt.Sprintf("r%d.%s.wild.contoso.lab", i, dns.TypeToString[qtype]), qtype) {
				t.Errorf("%s: wildcard response %d for another random name not limited", dns.TypeToString[qtype], i)
			}
		}
	}

	// The wire hash of the parent and the hash of its node name agree.
	rl := &zones.RateLimit{ResponsesPerSecond: 1, NXDomainsPerSecond: 1, ErrorsPerSecond: 1, Window: time.Second, IPv4Prefix: 24, IPv6Prefix: 56}
	plain := New(Config{}, labSnapshot(t, "lab.toml"))
	c1, _, h1 := classify(rl, labResponse(t, plain, "wild.contoso.lab", dns.TypeMX), "", 42)
	c2, _, h2 := classify(rl, labResponse(t, plain, "x.wild.contoso.lab", dns.TypeMX), "*.wild.contoso.lab.", 42)
	_, _, h3 := classify(rl, labResponse(t, plain, "x.wild.contoso.lab", dns.TypeMX), "", 42)
	if c1 != rrlNoData || c2 != rrlNoData || h1 != h2 || h2 == h3 {
		t.Errorf("NODATA at wild: class %d key %x; under *.wild: class %d key %x (by query name %x)", c1, h1, c2, h2, h3)
	}
	var d decision
	var memo siteMemo
	decide(&d, plain.Snapshot(), &query{name: "X.wild.contoso.lab.", lname: "x.wild.contoso.lab.", qtype: dns.TypeTXT}, &memo)
	if d.wildcard != "*.wild.contoso.lab." {
		t.Errorf("decide: wildcard %q", d.wildcard)
	}
	decide(&d, plain.Snapshot(), &query{name: "affinityus.contoso.lab.", lname: "affinityus.contoso.lab.", qtype: dns.TypeA}, &memo)
	if d.wildcard != "" {
		t.Errorf("decide for a plain name: wildcard %q", d.wildcard)
	}
}
