package server

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// TestViewECSScope: an answer decided by the client's view (an
// internal-only name is NXDOMAIN outside) carries an ECS scope, so that a
// resolver does not hand it to clients of other sites; a name no view has
// is NXDOMAIN for everyone, scope 0. Both paths agree (TestFastMatchesGeneral).
func TestViewECSScope(t *testing.T) {
	p := newPair(t, filepath.Join("testdata", "views.toml"))
	for _, c := range []struct {
		name      string
		subnet    string
		rcode     int
		wantScope bool
	}{
		{"pool01.contoso.lab", "127.9.0.0", dns.RcodeNameError, true},
		{"pool01.contoso.lab", "127.2.1.0", dns.RcodeSuccess, true},
		{"nope.contoso.lab", "127.9.0.0", dns.RcodeNameError, false},
		{"leaf.ent2.contoso.lab", "127.2.1.0", dns.RcodeNameError, true},
	} {
		req := mustPack(t, withECS(newQuery(c.name, dns.TypeA), c.subnet, 24))
		fast, general := p.serve(req, unknownClient, metrics.UDP)
		for path, b := range map[string][]byte{"fast": fast, "general": general} {
			if b == nil {
				continue // the fast path may decline
			}
			var m dns.Msg
			if err := m.Unpack(b); err != nil {
				t.Fatal(err)
			}
			var scope uint8
			if o := m.IsEdns0(); o != nil {
				for _, opt := range o.Option {
					if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
						scope = e.SourceScope
					}
				}
			}
			if m.Rcode != c.rcode || (scope != 0) != c.wantScope {
				t.Errorf("%s path: %s from ECS %s/24: %s, ECS scope /%d; want %s, scoped %v",
					path, c.name, c.subnet, dns.RcodeToString[m.Rcode], scope, dns.RcodeToString[c.rcode], c.wantScope)
			}
		}
	}
}

// TestViewTransfer: AXFR out stays the default view: the default set of a
// site-aware name, nothing of a name no default set has, plain names whole.
func TestViewTransfer(t *testing.T) {
	snap, err := zones.Load(filepath.Join("testdata", "views.toml"), zones.NewCounters())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rr := range zoneRecords(snap.Zones[0]) {
		if rr.Header().Rrtype != dns.TypeSOA {
			got = append(got, rr.Header().Name+" "+dns.TypeToString[rr.Header().Rrtype])
		}
	}
	for _, want := range []string{"autodiscover.contoso.lab. A", "sip.contoso.lab. A", "deep.ent.inside.contoso.lab. TXT", "*.wild.contoso.lab. A"} {
		if !slices.Contains(got, want) {
			t.Errorf("AXFR lacks %s: %v", want, got)
		}
	}
	for _, absent := range []string{"pool01.contoso.lab. A", "_sipinternaltls._tcp.contoso.lab. SRV", "sip.contoso.lab. SRV", "inside.contoso.lab. A"} {
		if slices.Contains(got, absent) {
			t.Errorf("AXFR sends %s, which the default view does not have", absent)
		}
	}
}
