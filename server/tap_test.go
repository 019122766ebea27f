package server

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
)

// recordTap keeps copies of the events it is told of.
type recordTap struct{ got []TapEvent }

func (r *recordTap) Tap(e *TapEvent) {
	c := *e
	c.Query = bytes.Clone(e.Query)
	c.Response = bytes.Clone(e.Response)
	c.Name = string(append([]byte(nil), e.Name...))
	r.got = append(r.got, c)
}

// TestTap: a Tap is told of each answered query with its bytes and what was
// decided for the client, on the fast path and the general one alike.
func TestTap(t *testing.T) {
	snap := labSnapshot(t, "lab.toml")
	for _, tc := range []struct {
		what     string
		m        *dns.Msg
		src      string
		tr       metrics.Transport
		site     string
		scope    string
		ecs      string
		ecsScope int
	}{
		{"site-aware, Chicago", newQuery("autodiscover.contoso.lab", dns.TypeA), chicagoClient, metrics.UDP, "US-Chicago", "US", "", -1},
		{"site-aware, no site", newQuery("Autodiscover.Contoso.Lab", dns.TypeA), unknownClient, metrics.TCP, "unknown", "default", "", -1},
		{"ECS for Hamburg", withECS(newQuery("autodiscover.contoso.lab", dns.TypeA), "127.11.1.0", 24), unknownClient, metrics.UDP, "DE-Hamburg", "DE", "127.11.1.0/24", 0}, // ecsScope: the response's
		{"plain name", newQuery("affinityus.contoso.lab", dns.TypeA), hamburgClient, metrics.UDP, "DE-Hamburg", "default", "", -1},
		{"NXDOMAIN", newQuery("nope.contoso.lab", dns.TypeA), chicagoClient, metrics.UDP, "US-Chicago", "", "", -1},
		{"not ours", newQuery("example.org", dns.TypeA), chicagoClient, metrics.UDP, "US-Chicago", "", "", -1},
	} {
		t.Run(tc.what, func(t *testing.T) {
			rec := &recordTap{}
			s := New(Config{Tap: rec}, snap)
			q := mustPack(t, tc.m)
			src := addrPort(t, tc.src)
			out := s.ServePacket(nil, q, src, tc.tr)
			if len(rec.got) != 1 {
				t.Fatalf("%d events, want 1", len(rec.got))
			}
			e := rec.got[0]
			if !bytes.Equal(e.Query, q) || !bytes.Equal(e.Response, out) || e.Client != src || e.Transport != tc.tr || e.Time.IsZero() {
				t.Errorf("event: query %x response %x client %v transport %v time %v", e.Query, e.Response, e.Client, e.Transport, e.Time)
			}
			if tc.ecs != "" {
				r := new(dns.Msg)
				if err := r.Unpack(out); err != nil {
					t.Fatal(err)
				}
				tc.ecsScope = int(ecsOf(r).SourceScope)
			}
			if e.Site != tc.site || e.Scope != tc.scope || e.ECSScope != tc.ecsScope {
				t.Errorf("decision: site %q scope %q ecs scope %d, want %q %q %d", e.Site, e.Scope, e.ECSScope, tc.site, tc.scope, tc.ecsScope)
			}
			wantECS := netip.Prefix{}
			if tc.ecs != "" {
				wantECS = netip.MustParsePrefix(tc.ecs)
			}
			if e.ECS != wantECS {
				t.Errorf("ECS %v, want %v", e.ECS, wantECS)
			}
			if want := dns.Fqdn(dnsLower(tc.m.Question[0].Name)); e.Name != want || e.Qtype != tc.m.Question[0].Qtype {
				t.Errorf("question %q %d, want %q %d", e.Name, e.Qtype, want, tc.m.Question[0].Qtype)
			}
		})
	}
	// A packet that gets no reply is not tapped.
	rec := &recordTap{}
	s := New(Config{Tap: rec}, snap)
	if out := s.ServePacket(nil, []byte{1, 2, 3}, addrPort(t, chicagoClient), metrics.UDP); out != nil || len(rec.got) != 0 {
		t.Errorf("a runt: reply %x, %d events", out, len(rec.got))
	}
}

func dnsLower(s string) string { return string(bytes.ToLower([]byte(s))) }

// nopTap is a Tap that does nothing: what the hook itself costs.
type nopTap struct{}

func (nopTap) Tap(*TapEvent) {}

// BenchmarkServePacketTap is BenchmarkServePacketSiteAware with a Tap that
// does nothing, and without one in the same run: the cost of working out
// the decision for the Tap.
func BenchmarkServePacketTap(b *testing.B) {
	for _, c := range []struct {
		name string
		tap  Tap
	}{{"off", nil}, {"on", nopTap{}}} {
		b.Run(c.name, func(b *testing.B) {
			s := New(Config{Stats: metrics.NewStats(), Tap: c.tap}, labSnapshot(b, "lab.toml"))
			p := mustPack(b, newQuery("autodiscover.contoso.lab", dns.TypeA))
			ap := addrPort(b, chicagoClient)
			dst := make([]byte, 0, maxUDPRead+1)
			b.ReportAllocs()
			for b.Loop() {
				dst = s.ServePacket(dst, p, ap, metrics.UDP)
			}
		})
	}
}

// lastTap keeps the last event it is told of, copied.
type lastTap struct {
	n int
	e TapEvent
}

func (l *lastTap) Tap(e *TapEvent) {
	l.n++
	l.e = *e
	l.e.Query = bytes.Clone(e.Query)
	l.e.Response = bytes.Clone(e.Response)
	l.e.Name = string(append([]byte(nil), e.Name...))
}

// FuzzTap: whatever arrives, a Tap is told of exactly the replies sent,
// with the packet as received and the reply as sent, a lower-case name,
// a site of the snapshot, and no panic on the way.
func FuzzTap(f *testing.F) {
	for _, m := range seedQueries() {
		p, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p, uint8(77))
	}
	f.Add([]byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xC0, 0x0C}, uint8(0))
	snap := labSnapshot(f, "lab.toml")
	rec := &lastTap{}
	s := New(Config{Tap: rec}, snap)
	sites := map[string]bool{}
	for _, n := range snap.SiteNames {
		sites[n] = true
	}
	f.Fuzz(func(t *testing.T, p []byte, host uint8) {
		before := rec.n
		out := s.ServePacket(nil, p, addrPort(t, "127.2.1."+strconv.Itoa(int(host))), metrics.UDP)
		switch {
		case out == nil && rec.n != before:
			t.Fatal("a Tap told of a packet that got no reply")
		case out == nil:
			return
		case rec.n != before+1:
			t.Fatalf("%d events for one reply", rec.n-before)
		}
		e := rec.e
		if !bytes.Equal(e.Query, p) || !bytes.Equal(e.Response, out) {
			t.Fatalf("event bytes differ: query %x of %x, response %x of %x", e.Query, p, e.Response, out)
		}
		if strings.ContainsAny(e.Name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || (e.Name != "" && !strings.HasSuffix(e.Name, ".")) {
			t.Fatalf("name %q", e.Name)
		}
		if len(p) >= headerLen && !sites[e.Site] {
			t.Fatalf("site %q is not the snapshot's", e.Site)
		}
		if e.ECSScope < -1 || e.ECSScope > 128 {
			t.Fatalf("ECS scope %d", e.ECSScope)
		}
	})
}
