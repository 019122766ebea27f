package server

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// checkedLab writes testdata/lab.toml with health checks into a temporary
// directory and returns its path: the zone's check on every address set of
// more than one record, autodiscover's on each of its sets, and the SRV
// name's on its pool.
func checkedLab(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "lab.toml"))
	if err != nil {
		t.Fatal(err)
	}
	zf, err := os.ReadFile(filepath.Join("testdata", "contoso.lab.zone"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "file = \"contoso.lab.zone\"\n", "file = \"contoso.lab.zone\"\ncheck = \"cas\"\n", 1)
	cfg = strings.Replace(cfg, "name = \"autodiscover\"\n", "name = \"autodiscover\"\ncheck = \"cas\"\n", 1)
	cfg += `
[[zone.name]]
name = "_sipinternaltls._tcp"
check = "pool"
records = ["300 IN SRV 0 0 5061 pool.contoso.lab.", "300 IN SRV 10 0 5061 mail.contoso.lab."]

[[check]]
name = "cas"
type = "https"
port = 443

[[check]]
name = "pool"
type = "tcp"
port = 5061
`
	zone := strings.Replace(string(zf), "_sipinternaltls._tcp IN SRV 0 0 5061 pool.contoso.lab.\n", "", 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "contoso.lab.zone"), []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "lab.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// downSet is ApplyHealth's up for a snapshot with the given addresses down
// under every check.
func downSet(snap *zones.Snapshot, down ...string) func(int) bool {
	return func(i int) bool { return !slices.Contains(down, snap.HealthTargets()[i].Addr.String()) }
}

// healthStates are the states the tests apply, in turn: one CAS down, a
// pool address down, the US CAS all down (fail-open) with the pool wholly
// down (its SRV record leaves), and everything up again.
var healthStates = [][]string{
	{"127.2.1.10"},
	{"127.1.1.20", "127.12.1.10"},
	{"127.1.1.10", "127.2.1.10", "127.3.1.10", "127.1.1.20", "127.2.1.20", "2001:db8::20", "127.100.0.7"},
	nil,
}

// TestHealthFastMatchesGeneral: with checks configured and targets down,
// the fast and the general path give the same bytes and metrics for every
// name of the lab, and no answer holds a down address of a set that still
// has one up.
func TestHealthFastMatchesGeneral(t *testing.T) {
	p := newPair(t, checkedLab(t))
	if len(p.fastSnap.HealthTargets()) == 0 {
		t.Fatal("no targets")
	}
	for _, down := range healthStates {
		p.fastSnap.ApplyHealth(downSet(p.fastSnap, down...))
		p.generalSnap.ApplyHealth(downSet(p.generalSnap, down...))
		fails := 0
		for _, name := range corpusNames(p.fastSnap) {
			for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
				for ci, client := range corpusClients {
					m := newQuery(name, qt)
					m.Id = uint16(ci*7919 + len(name))
					m.SetEdns0(4096, false)
					req := mustPack(t, m)
					for range 3 {
						f, g := p.serve(req, client, metrics.UDP)
						if !bytes.Equal(f, g) && fails < 10 {
							fails++
							t.Errorf("down %v: %s %s from %s:\n%s", down, name, dns.TypeToString[qt], client, diffMsgs(f, g))
						}
					}
				}
			}
		}
		p.sameMetrics(t)
	}
	if p.hits < p.total/4 {
		t.Errorf("only %d of %d queries took the fast path", p.hits, p.total)
	}
}

// TestHealthAnswers: what a client gets, state by state, through the
// server: the down CAS leaves; the others share the first place evenly; all
// down answers all and counts; a wholly-down pool's SRV record leaves.
func TestHealthAnswers(t *testing.T) {
	st := metrics.NewStats()
	checked, err := zones.Load(checkedLab(t), zones.NewCounters())
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Stats: st}, checked)
	ask := func(name string, qt uint16, src string) *dns.Msg {
		return serveMsg(t, s, newQuery(name, qt), src, metrics.UDP)
	}

	checked.ApplyHealth(downSet(checked, "127.2.1.10"))
	firsts := map[string]int{}
	for range 300 {
		r := ask("autodiscover.contoso.lab", dns.TypeA, chicagoClient)
		got := addrs(r.Answer)
		if slices.Contains(got, "127.2.1.10") || len(got) != 2 {
			t.Fatalf("autodiscover with 127.2.1.10 down: %v", got)
		}
		firsts[got[0]]++
	}
	if firsts["127.1.1.10"] != 150 || firsts["127.3.1.10"] != 150 {
		t.Errorf("first answers from Chicago with its CAS down: %v", firsts)
	}

	checked.ApplyHealth(downSet(checked, "127.1.1.10", "127.2.1.10", "127.3.1.10", "127.1.1.20", "127.2.1.20", "2001:db8::20"))
	if got := addrs(ask("autodiscover.contoso.lab", dns.TypeA, chicagoClient).Answer); len(got) != 3 {
		t.Errorf("all down: %v, want all three (fail-open)", got)
	}
	r := ask("_sipinternaltls._tcp.contoso.lab", dns.TypeSRV, chicagoClient)
	if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), "mail.contoso.lab.") {
		t.Errorf("SRV with the pool down:\n%v", r)
	}
	fo := statsSum(t, st, s.Snapshot, "sitedns_answers_failopen_total")
	if fo != 1 {
		t.Errorf("sitedns_answers_failopen_total %v, want 1", fo)
	}
	if v := statsValue(t, st, s.Snapshot, `sitedns_answers_failopen_total{name="autodiscover.contoso.lab.",scope="US",zone="contoso.lab."}`); v != 1 {
		t.Errorf("fail-open counter of autodiscover US: %v", v)
	}

	checked.ApplyHealth(func(int) bool { return true })
	if got := addrs(ask("autodiscover.contoso.lab", dns.TypeA, chicagoClient).Answer); len(got) != 3 || got[0] != "127.2.1.10" {
		t.Errorf("all up: %v", got)
	}
	if r := ask("_sipinternaltls._tcp.contoso.lab", dns.TypeSRV, chicagoClient); len(r.Answer) != 2 {
		t.Errorf("SRV all up: %v", r.Answer)
	}
}

// TestHealthFastPathAllocs: with checks configured, targets down and a set
// failing open, the fast path and ServePacket allocate nothing.
func TestHealthFastPathAllocs(t *testing.T) {
	snap, err := zones.Load(checkedLab(t), zones.NewCounters())
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Stats: metrics.NewStats()}, snap)
	sc := newScratch(s.stats)
	ap := addrPort(t, chicagoClient)
	for _, down := range healthStates {
		snap.ApplyHealth(downSet(snap, down...))
		for name, m := range fastQueries() {
			req := mustPack(t, m)
			dst := make([]byte, 0, maxUDPRead+1)
			if _, ok := s.fast(sc, dst, req, ap, metrics.UDP, time.Now()); !ok {
				t.Errorf("down %v: %s: not answered by the fast path", down, name)
				continue
			}
			if n := testing.AllocsPerRun(200, func() {
				dst, _ = s.fast(sc, dst, req, ap, metrics.UDP, time.Now())
			}); n != 0 {
				t.Errorf("down %v: %s: fast path: %v allocations per query, want 0", down, name, n)
			}
			if n := servePacketAllocs(func() {
				dst = s.ServePacket(dst, req, ap, metrics.UDP)
			}); n != 0 {
				t.Errorf("down %v: %s: ServePacket: %v allocations per query, want 0", down, name, n)
			}
		}
	}
}

// BenchmarkServePacketHealth answers autodiscover and affinityus from
// Chicago without checks (off), with checks and every target up (on), and
// with the Chicago CAS down (on-1-down: the answers are derived sets of two
// records, so shorter), in one run, so that the figures are measured on the
// same machine state: on/off is the CPU cost of health checks per query.
func BenchmarkServePacketHealth(b *testing.B) {
	load := func(down ...string) *zones.Snapshot {
		snap, err := zones.Load(checkedLab(b), zones.NewCounters())
		if err != nil {
			b.Fatal(err)
		}
		snap.ApplyHealth(downSet(snap, down...))
		return snap
	}
	for _, c := range []struct {
		name string
		snap func() *zones.Snapshot
	}{
		{"off", func() *zones.Snapshot { return labSnapshot(b, "lab.toml") }},
		{"on", func() *zones.Snapshot { return load() }},
		{"on-1-down", func() *zones.Snapshot { return load("127.2.1.10") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := New(Config{Stats: metrics.NewStats()}, c.snap())
			reqs := [][]byte{
				mustPack(b, newQuery("autodiscover.contoso.lab", dns.TypeA)),
				mustPack(b, newQuery("affinityus.contoso.lab", dns.TypeA)),
			}
			ap := addrPort(b, chicagoClient)
			dst := make([]byte, 0, maxUDPRead+1)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				dst = s.ServePacket(dst, reqs[i&1], ap, metrics.UDP)
				i++
			}
		})
	}
}
