package server

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// signedServer serves the signed lab of testdata/dnssec.
func signedServer(t testing.TB) (*Server, *zones.Snapshot) {
	t.Helper()
	snap, err := zones.Load("../testdata/dnssec/contoso-signed.toml", zones.NewCounters())
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{}, snap), snap
}

// ask sends m from client over UDP through ServePacket.
func ask(t testing.TB, s *Server, m *dns.Msg, client string) *dns.Msg {
	t.Helper()
	req, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := s.ServePacket(nil, req, netip.AddrPortFrom(netip.MustParseAddr(client), 5353), metrics.TCP)
	var r dns.Msg
	if err := r.Unpack(out); err != nil {
		t.Fatal(err)
	}
	return &r
}

// checkSigs verifies that every RRset of sec other than NS of a referral
// has its RRSIGs, and that they verify with the zone's keys.
func checkSigs(t *testing.T, snap *zones.Snapshot, what string, sec []dns.RR) {
	t.Helper()
	keys := map[uint16]*dns.DNSKEY{}
	for _, k := range snap.Zones[0].DNSSEC.Keys {
		keys[k.Tag()] = k.DNSKEY
	}
	type setKey struct {
		name string
		t    uint16
	}
	sets := map[setKey][]dns.RR{}
	var sigs []*dns.RRSIG
	for _, rr := range sec {
		if sig, ok := rr.(*dns.RRSIG); ok {
			sigs = append(sigs, sig)
			continue
		}
		k := setKey{rr.Header().Name, rr.Header().Rrtype}
		sets[k] = append(sets[k], rr)
	}
	for k, rrs := range sets {
		if k.t == dns.TypeNS {
			continue
		}
		found := false
		for _, sig := range sigs {
			if sig.Hdr.Name != k.name || sig.TypeCovered != k.t {
				continue
			}
			found = true
			if err := sig.Verify(keys[sig.KeyTag], rrs); err != nil {
				t.Errorf("%s: %s %s: %v", what, k.name, dns.TypeToString[k.t], err)
			}
		}
		if !found {
			t.Errorf("%s: %s %s has no RRSIG", what, k.name, dns.TypeToString[k.t])
		}
	}
}

// TestDNSSECAnswers asks the signed lab with DO=1 from a US client and an
// external one and checks the rcode, that every RRset is signed and
// verifies, and which denial records come; with DO=0 no DNSSEC record
// comes but the DNSKEY asked for.
func TestDNSSECAnswers(t *testing.T) {
	s, snap := signedServer(t)
	for _, tc := range []struct {
		name   string
		qtype  uint16
		client string
		rcode  int
		answer int // records in the answer section, RRSIGs included
		nsec3  int // NSEC3 records in the authority section
	}{
		{"autodiscover.contoso.lab.", dns.TypeA, chicagoClient, dns.RcodeSuccess, 3, 0},
		{"autodiscover.contoso.lab.", dns.TypeA, unknownClient, dns.RcodeSuccess, 2, 0},
		{"usonly.contoso.lab.", dns.TypeA, chicagoClient, dns.RcodeSuccess, 2, 0},
		{"usonly.contoso.lab.", dns.TypeA, unknownClient, dns.RcodeNameError, 0, 2}, // one NSEC3 covers usonly and *.contoso.lab
		{"nope.contoso.lab.", dns.TypeA, unknownClient, dns.RcodeNameError, 0, 3},
		{"mail.contoso.lab.", dns.TypeAAAA, chicagoClient, dns.RcodeSuccess, 0, 1},
		{"ent.contoso.lab.", dns.TypeA, chicagoClient, dns.RcodeSuccess, 0, 1},
		{"a.b.wild.contoso.lab.", dns.TypeTXT, chicagoClient, dns.RcodeSuccess, 2, 1},
		{"a.wild.contoso.lab.", dns.TypeA, chicagoClient, dns.RcodeSuccess, 0, 3},
		{"www.contoso.lab.", dns.TypeA, unknownClient, dns.RcodeSuccess, 4, 0},
		{"contoso.lab.", dns.TypeDNSKEY, unknownClient, dns.RcodeSuccess, 2, 0},
		{"x.lab2.contoso.lab.", dns.TypeA, unknownClient, dns.RcodeSuccess, 0, 1},
		{"x.lab3.contoso.lab.", dns.TypeA, unknownClient, dns.RcodeSuccess, 0, 0},
	} {
		t.Run(tc.name+"/"+dns.TypeToString[tc.qtype]+"/"+tc.client, func(t *testing.T) {
			m := newQuery(tc.name, tc.qtype)
			m.SetEdns0(1232, true)
			r := ask(t, s, m, tc.client)
			if r.Rcode != tc.rcode || len(r.Answer) != tc.answer {
				t.Fatalf("rcode %s, %d answers, want %s, %d:\n%v", dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[tc.rcode], tc.answer, r)
			}
			checkSigs(t, snap, "answer", r.Answer)
			checkSigs(t, snap, "authority", r.Ns)
			n := 0
			for _, rr := range r.Ns {
				if rr.Header().Rrtype == dns.TypeNSEC3 {
					n++
				}
			}
			if n != tc.nsec3 {
				t.Errorf("%d NSEC3 records, want %d:\n%v", n, tc.nsec3, r)
			}
			if tc.name == "x.lab3.contoso.lab." && !slices.ContainsFunc(r.Ns, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeDS }) {
				t.Errorf("a secure referral without DS:\n%v", r)
			}

			m.SetEdns0(1232, false)
			r = ask(t, s, m, tc.client)
			for _, sec := range [][]dns.RR{r.Answer, r.Ns, r.Extra} {
				for _, rr := range sec {
					switch rr.Header().Rrtype {
					case dns.TypeRRSIG, dns.TypeNSEC3, dns.TypeNSEC:
						t.Errorf("DO=0: %s", rr)
					}
				}
			}
		})
	}
}

// TestDNSSECTransfer checks that the AXFR of a signed zone is its default
// view, every RRset signed, the NSEC3 chain whole.
func TestDNSSECTransfer(t *testing.T) {
	_, snap := signedServer(t)
	rrs := zoneRecords(snap.Zones[0])
	var data []dns.RR
	for _, rr := range rrs[:len(rrs)-1] {
		if !dns.IsSubDomain("lab2.contoso.lab.", rr.Header().Name) && !dns.IsSubDomain("lab3.contoso.lab.", rr.Header().Name) {
			data = append(data, rr)
		}
	}
	checkSigs(t, snap, "axfr", data)
	var nsec3, a int
	for _, rr := range rrs {
		switch rr.Header().Rrtype {
		case dns.TypeNSEC3:
			nsec3++
		case dns.TypeA:
			if rr.Header().Name == "autodiscover.contoso.lab." {
				a++
			}
		}
	}
	if want := len(snap.Zones[0].Nodes) - 3; nsec3 != want { // the glue ns.lab2 and ns.lab3, and usonly, are out
		t.Errorf("%d NSEC3 for %d names, want %d", nsec3, len(snap.Zones[0].Nodes), want)
	}
	if a != 1 {
		t.Errorf("autodiscover has %d A records in the transfer, want the default set's 1", a)
	}
}

// shareSignatures gives to, compiled from the same config as from, from's
// signatures and denial records: ECDSA signatures differ at every signing,
// and the fast/general comparison needs the same bytes from two snapshots
// (each with its own rotation state). A no-op for unsigned snapshots.
func shareSignatures(from, to *zones.Snapshot) {
	for i, fz := range from.Zones {
		tz := to.Zones[i]
		if fz.DNSSEC == nil {
			continue
		}
		tz.DNSSEC = fz.DNSSEC
		for name, fn := range fz.Nodes {
			tn := tz.Nodes[name]
			tn.Denial = fn.Denial
			for j, fs := range fn.Sets {
				ts := tn.Sets[j]
				if fs.Default != nil {
					ts.Default.Sig = fs.Default.Sig
				}
				for k, a := range fs.ByScope {
					if a != nil {
						ts.ByScope[k].Sig = a.Sig
					}
				}
			}
		}
	}
}

// doQuery is a query with EDNS and DO=1, as validating resolvers send.
func doQuery(name string, qtype uint16) *dns.Msg {
	m := newQuery(name, qtype)
	m.SetEdns0(1232, true)
	return m
}

// signedFastQueries are DO=1 queries of every kind of signed answer the
// fast writer takes: wildcard answers, whose owners it does not rewrite,
// go to the general writer.
func signedFastQueries() map[string]*dns.Msg {
	return map[string]*dns.Msg{
		"A":           doQuery("mail.contoso.lab", dns.TypeA),
		"site-aware":  doQuery("autodiscover.contoso.lab", dns.TypeA),
		"NXDOMAIN":    doQuery("nope.x.contoso.lab", dns.TypeA),
		"NODATA":      doQuery("mail.contoso.lab", dns.TypeTXT),
		"scope-only":  doQuery("usonly.contoso.lab", dns.TypeA),
		"CNAME":       doQuery("www.contoso.lab", dns.TypeA),
		"DNSKEY":      doQuery("contoso.lab", dns.TypeDNSKEY),
		"SRV":         doQuery("_autodiscover._tcp.contoso.lab", dns.TypeSRV),
		"referral":    doQuery("host.lab2.contoso.lab", dns.TypeA),
		"secure cut":  doQuery("host.lab3.contoso.lab", dns.TypeA),
		"wildcard NX": doQuery("a.wild.contoso.lab", dns.TypeA),
	}
}

// TestDNSSECFastPath: DO=1 answers from a signed zone are written by the
// fast writer without allocating, for clients of every view.
func TestDNSSECFastPath(t *testing.T) {
	s, _ := signedServer(t)
	sc := newScratch(s.stats)
	for _, client := range []string{chicagoClient, unknownClient} {
		ap := addrPort(t, client)
		for name, m := range signedFastQueries() {
			req := mustPack(t, m)
			dst := make([]byte, 0, maxUDPRead+1)
			before := sc.fast.written
			if _, ok := s.fast(sc, dst, req, ap, metrics.UDP, time.Now()); !ok || sc.fast.written == before {
				t.Errorf("%s from %s: not written by the fast writer", name, client)
				continue
			}
			if n := servePacketAllocs(func() {
				dst = s.ServePacket(dst, req, ap, metrics.UDP)
			}); n != 0 {
				t.Errorf("%s from %s: ServePacket: %v allocations per query, want 0", name, client, n)
			}
		}
	}
}

// benchSigned measures ServePacket answering m from src from the signed
// lab, with a reused output buffer as the socket readers use.
func benchSigned(b *testing.B, m *dns.Msg, src string) {
	snap, err := zones.Load("../testdata/dnssec/contoso-signed.toml", zones.NewCounters())
	if err != nil {
		b.Fatal(err)
	}
	s := New(Config{Stats: metrics.NewStats()}, snap)
	p := mustPack(b, m)
	ap := addrPort(b, src)
	dst := make([]byte, 0, maxUDPRead+1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst = s.ServePacket(dst, p, ap, metrics.UDP)
	}
	if dst == nil {
		b.Fatal("no reply")
	}
}

func BenchmarkSignedA(b *testing.B) {
	m := newQuery("mail.contoso.lab", dns.TypeA)
	m.SetEdns0(1232, false)
	benchSigned(b, m, unknownClient)
}

func BenchmarkSignedADO(b *testing.B) {
	benchSigned(b, doQuery("mail.contoso.lab", dns.TypeA), unknownClient)
}

func BenchmarkSignedSiteAwareDO(b *testing.B) {
	benchSigned(b, doQuery("autodiscover.contoso.lab", dns.TypeA), chicagoClient)
}

func BenchmarkSignedNXDOMAINDO(b *testing.B) {
	benchSigned(b, doQuery("nope.x.contoso.lab", dns.TypeA), unknownClient)
}

// TestDNSSECHealthSubset: with a record of a checked set down in a signed
// zone, a DO=1 answer holds the live records and their own RRSIGs, which
// verify; the fast writer writes it, without allocating.
func TestDNSSECHealthSubset(t *testing.T) {
	text, err := os.ReadFile("../testdata/dnssec/contoso-signed.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(text), `origin = "contoso.lab"`, `origin = "contoso.lab"`+"\ncheck = \"cas\"", 1) +
		"\n[[check]]\nname = \"cas\"\ntype = \"tcp\"\nport = 443\n"
	snap, err := zones.Parse("contoso-signed.toml", "../testdata/dnssec", []byte(cfg), zones.NewCounters())
	if err != nil {
		t.Fatal(err)
	}
	snap.ApplyHealth(func(i int) bool { return snap.HealthTargets()[i].Addr != netip.MustParseAddr("10.2.1.10") })
	s := New(Config{}, snap)
	m := doQuery("affinityus.contoso.lab.", dns.TypeA)
	r := ask(t, s, m, unknownClient)
	var addrs []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			addrs = append(addrs, a.A.String())
		}
	}
	if !slices.Equal(addrs, []string{"10.1.1.10"}) || len(r.Answer) != 2 {
		t.Fatalf("affinityus with 10.2.1.10 down: %v", r.Answer)
	}
	checkSigs(t, snap, "affinityus, one down", r.Answer)

	sc := newScratch(s.stats)
	ap := addrPort(t, unknownClient)
	req := mustPack(t, m)
	dst := make([]byte, 0, maxUDPRead+1)
	if _, ok := s.fast(sc, dst, req, ap, metrics.UDP, time.Now()); !ok || sc.fast.written == 0 {
		t.Error("not written by the fast writer")
	}
	if n := servePacketAllocs(func() { dst = s.ServePacket(dst, req, ap, metrics.UDP) }); n != 0 {
		t.Errorf("ServePacket: %v allocations per query, want 0", n)
	}
}
