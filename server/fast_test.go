package server

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// pair is the same config served twice, from two separately compiled
// snapshots (so two sets of rotation counters and metric counters): fast
// answers with the fast path where it can, general never takes it.
type pair struct {
	fast, general         *Server
	fastStats, genStats   *metrics.Stats
	fastSnap, generalSnap *zones.Snapshot
	sc                    *scratch
	hits, total           int
}

func newPair(t testing.TB, path string) *pair {
	t.Helper()
	load := func() *zones.Snapshot {
		snap, err := zones.Load(path, zones.NewCounters())
		if err != nil {
			t.Fatalf("zones.Load(%s): %v", path, err)
		}
		return snap
	}
	p := &pair{fastStats: metrics.NewStats(), genStats: metrics.NewStats(), fastSnap: load(), generalSnap: load()}
	shareSignatures(p.fastSnap, p.generalSnap)
	p.fast = New(Config{Stats: p.fastStats}, p.fastSnap)
	p.general = New(Config{Stats: p.genStats}, p.generalSnap)
	p.general.beforeAnswer = func() {} // the hook turns the fast path off
	p.sc = newScratch(p.fast.stats)
	return p
}

// serve answers req on both servers and returns both outputs. It counts
// how many the fast writer wrote.
func (p *pair) serve(req []byte, src string, tr metrics.Transport) (fast, general []byte) {
	ap := addrPortOf(src)
	p.total++
	if len(req) >= headerLen && req[2]&(flagQR>>8) == 0 {
		before := p.sc.fast.written
		var ok bool
		fast, ok = p.fast.fast(p.sc, nil, req, ap, tr, time.Now())
		if p.sc.fast.written > before {
			p.hits++
		}
		if !ok {
			fast = p.fast.ServePacket(nil, req, ap, tr)
		}
	} else {
		fast = p.fast.ServePacket(nil, req, ap, tr)
	}
	general = p.general.ServePacket(nil, req, ap, tr)
	return fast, general
}

// addrPortOf is addrPort without a testing.TB, for the fuzz function.
func addrPortOf(s string) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(s), 5353) }

// sameMetrics compares every stable metric of the two servers.
func (p *pair) sameMetrics(t *testing.T) {
	t.Helper()
	text := func(st *metrics.Stats, snap *zones.Snapshot) string {
		reg := metrics.NewRegistry(st, func() *zones.Snapshot { return snap }, metrics.BuildInfo{})
		b, err := metrics.Text(reg, metrics.Stable)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	f, g := text(p.fastStats, p.fastSnap), text(p.genStats, p.generalSnap)
	if f != g {
		t.Errorf("metrics differ between the fast and the general path:\nfast:\n%s\ngeneral:\n%s", f, g)
	}
}

// corpusNames lists every owner of every zone of snap, some names below and
// beside them, and case variants.
func corpusNames(snap *zones.Snapshot) []string {
	var names []string
	for _, z := range snap.Zones {
		for o := range z.Nodes {
			names = append(names, o)
		}
		names = append(names, "nope."+z.Origin, "a.b.nope."+z.Origin, "x.wild."+z.Origin, "host.lab2."+z.Origin)
	}
	names = append(names, "example.com.", "contoso.lab.example.")
	slices.Sort(names)
	names = slices.Compact(names)
	n := len(names)
	for _, s := range names[:n] {
		names = append(names, strings.ToUpper(s[:1])+s[1:], strings.ToUpper(s))
	}
	return names
}

var corpusTypes = []uint16{
	dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeMX, dns.TypeNS, dns.TypeTXT, dns.TypeSOA,
	dns.TypeCNAME, dns.TypePTR, dns.TypeDS, dns.TypeCAA, dns.TypeANY, dns.TypeAXFR, 65280,
	dns.TypeDNSKEY, dns.TypeNSEC3PARAM,
}

var corpusClients = []string{chicagoClient, hamburgClient, unknownClient, "127.1.1.5", "127.21.1.7", "127.3.1.10", "127.5.0.1"}

// corpusVariants dresses a query: no EDNS, EDNS at two sizes with and
// without DO, ECS of several shapes.
var corpusVariants = []struct {
	name string
	edit func(*dns.Msg)
}{
	{"plain", func(*dns.Msg) {}},
	{"edns1232", func(m *dns.Msg) { m.SetEdns0(1232, false) }},
	{"edns512do", func(m *dns.Msg) { m.SetEdns0(512, true) }},
	{"edns1232do", func(m *dns.Msg) { m.SetEdns0(1232, true) }},
	{"edns4096", func(m *dns.Msg) { m.SetEdns0(4096, false) }},
	{"ecs-hamburg", func(m *dns.Msg) { withECS(m, "127.11.1.0", 24) }},
	{"ecs-chicago32", func(m *dns.Msg) { withECS(m, "127.2.1.77", 32) }},
	{"ecs-16", func(m *dns.Msg) { withECS(m, "127.1.0.0", 16) }},
	{"ecs-zero", func(m *dns.Msg) {
		m.SetEdns0(1232, false)
		o := m.IsEdns0()
		o.Option = append(o.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 0, SourceNetmask: 0})
	}},
	{"cd-id", func(m *dns.Msg) { m.CheckingDisabled, m.Id, m.RecursionDesired = true, 0xBEEF, false }},
}

// TestFastMatchesGeneral replays every name and type of the test labs,
// from several clients, with and without EDNS and ECS, over UDP and TCP,
// through the fast and the general path, and requires the same bytes and
// the same metrics. Each query is sent three times so rotation shows.
func TestFastMatchesGeneral(t *testing.T) {
	for _, cfg := range []string{filepath.Join("testdata", "lab.toml"), filepath.Join("..", "testdata", "config", "good", "loopback.toml"), filepath.Join("testdata", "views.toml"),
		filepath.Join("..", "testdata", "dnssec", "contoso-signed.toml")} {
		t.Run(filepath.Base(cfg), func(t *testing.T) {
			p := newPair(t, cfg)
			fails := 0
			for _, name := range corpusNames(p.fastSnap) {
				for _, qt := range corpusTypes {
					for _, v := range corpusVariants {
						for ci, client := range corpusClients {
							tr := metrics.UDP
							if ci%3 == 2 {
								tr = metrics.TCP
							}
							m := newQuery(name, qt)
							m.Id = uint16(ci*7919 + len(name))
							v.edit(m)
							req := mustPack(t, m)
							for range 3 {
								f, g := p.serve(req, client, tr)
								if !bytes.Equal(f, g) && fails < 10 {
									fails++
									t.Errorf("%s %s %s from %s over %v:\nfast    %x\ngeneral %x\n%s", name, dns.TypeToString[qt], v.name, client, tr, f, g, diffMsgs(f, g))
								}
							}
						}
					}
				}
			}
			p.sameMetrics(t)
			t.Logf("%d of %d queries took the fast path", p.hits, p.total)
			if p.hits < p.total/4 {
				t.Errorf("only %d of %d queries took the fast path", p.hits, p.total)
			}
		})
	}
}

// TestFastMatchesGeneralRandom is TestFastMatchesGeneral over random
// configs (newRandConfig): nested and IPv6 sites, netmasks in every
// spelling, weights, site-aware names, SRV and MX with site-aware targets,
// CNAMEs; clients near the configs' site edges and records, with and
// without ECS.
func TestFastMatchesGeneralRandom(t *testing.T) {
	configs := 25
	if testing.Short() {
		configs = 6
	}
	rng := rand.New(rand.NewPCG(17, 7871))
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeMX, dns.TypeCNAME, dns.TypeTXT, dns.TypeANY}
	hits, total := 0, 0
	for ci := range configs {
		rc := newRandConfig(rng)
		_, path := rc.load(t)
		p := newPair(t, path)
		fails := 0
		for _, name := range corpusNames(p.fastSnap) {
			for _, qt := range types {
				for vi := range 6 {
					c := rc.client(rng)
					m := newQuery(name, qt)
					m.Id = uint16(rng.Uint32())
					switch vi {
					case 1:
						m.SetEdns0(1232, rng.IntN(2) == 0)
					case 2, 3, 4:
						bits := c.BitLen()
						if vi == 3 {
							bits = rng.IntN(bits + 1)
						}
						withECS(m, netip.PrefixFrom(c, bits).Masked().Addr().String(), uint8(bits))
					case 5:
						m.CheckingDisabled = true
					}
					tr := metrics.UDP
					if rng.IntN(3) == 0 {
						tr = metrics.TCP
					}
					req := mustPack(t, m)
					for range 2 {
						f, g := p.serve(req, c.String(), tr)
						if !bytes.Equal(f, g) && fails < 5 {
							fails++
							t.Errorf("config %d (%s): %s %s variant %d from %s over %v:\n%s\nconfig:\n%s", ci, path, name, dns.TypeToString[qt], vi, c, tr, diffMsgs(f, g), rc.text)
						}
					}
				}
			}
		}
		p.sameMetrics(t)
		hits += p.hits
		total += p.total
	}
	t.Logf("%d of %d queries took the fast writer", hits, total)
	if hits < total/3 {
		t.Errorf("only %d of %d queries took the fast writer", hits, total)
	}
}

// diffMsgs shows two responses as miekg/dns prints them.
func diffMsgs(a, b []byte) string {
	show := func(p []byte) string {
		if p == nil {
			return "(no reply)"
		}
		var m dns.Msg
		if err := m.Unpack(p); err != nil {
			return "unpack: " + err.Error()
		}
		return m.String()
	}
	return fmt.Sprintf("fast:\n%s\ngeneral:\n%s", show(a), show(b))
}

// fastQueries are the queries the fast path must answer without allocating.
func fastQueries() map[string]*dns.Msg {
	return map[string]*dns.Msg{
		"A ordering": newQuery("affinityus.contoso.lab", dns.TypeA),
		"site-aware": newQuery("autodiscover.contoso.lab", dns.TypeA),
		"SRV":        newQuery("_sipinternaltls._tcp.contoso.lab", dns.TypeSRV),
		"NXDOMAIN":   newQuery("nope.contoso.lab", dns.TypeA),
		"NODATA":     newQuery("affinityus.contoso.lab", dns.TypeTXT),
		"ECS":        withECS(newQuery("autodiscover.contoso.lab", dns.TypeA), "127.11.1.0", 24),
		"mixed case": newQuery("AffinityUS.Contoso.LAB", dns.TypeA),
	}
}

// TestFastPathAllocs: the fast path allocates nothing, and the queries the
// benchmarks send take it.
func TestFastPathAllocs(t *testing.T) {
	s := New(Config{Stats: metrics.NewStats()}, labSnapshot(t, "lab.toml"))
	sc := newScratch(s.stats)
	ap := addrPort(t, chicagoClient)
	for name, m := range fastQueries() {
		req := mustPack(t, m)
		dst := make([]byte, 0, maxUDPRead+1)
		if _, ok := s.fast(sc, dst, req, ap, metrics.UDP, time.Now()); !ok {
			t.Errorf("%s: not answered by the fast path", name)
			continue
		}
		if n := testing.AllocsPerRun(200, func() {
			dst, _ = s.fast(sc, dst, req, ap, metrics.UDP, time.Now())
		}); n != 0 {
			t.Errorf("%s: fast path: %v allocations per query, want 0", name, n)
		}
		if n := servePacketAllocs(func() {
			dst = s.ServePacket(dst, req, ap, metrics.UDP)
		}); n != 0 {
			t.Errorf("%s: ServePacket: %v allocations per query, want 0", name, n)
		}
	}
}

// FuzzFastPath sends arbitrary packets through both paths and requires the
// same reply (or the same silence), starting from queries of the corpus.
func FuzzFastPath(f *testing.F) {
	for _, m := range fastQueries() {
		b, _ := m.Pack()
		f.Add(b, byte(0))
	}
	for _, m := range seedQueries() {
		b, _ := m.Pack()
		f.Add(b, byte(1))
	}
	p := newPair(f, filepath.Join("testdata", "lab.toml"))
	f.Fuzz(func(t *testing.T, req []byte, c byte) {
		client := corpusClients[int(c)%len(corpusClients)]
		tr := metrics.UDP
		if c&0x80 != 0 {
			tr = metrics.TCP
		}
		fast, general := p.serve(req, client, tr)
		if !bytes.Equal(fast, general) {
			t.Fatalf("fast and general path differ for %x from %s:\nfast    %x\ngeneral %x\n%s", req, client, fast, general, diffMsgs(fast, general))
		}
	})
}

// servePacketAllocs is testing.AllocsPerRun over 200 runs of f, a call of
// ServePacket, or 0 in -race builds (see raceEnabled).
func servePacketAllocs(f func()) float64 {
	if raceEnabled {
		return 0
	}
	return testing.AllocsPerRun(200, f)
}
