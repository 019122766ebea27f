package zones

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// viewsConfig has an inside scope (US) and clients in no site, and names
// of every shape the view rule must tell apart.
const viewsConfig = `
[[site]]
name = "US-Chicago"
subnets = ["10.2.0.0/16"]
scope = "US"

[[zone]]
origin = "contoso.lab"
records = [
  "@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 300",
  "@ 3600 IN NS ns1",
  "ns1 300 IN A 192.0.2.53",
  "sip 300 IN A 203.0.113.5",
  "deep.ent.inside 300 IN TXT \"below an internal-only name\"",
  "x.onlyhidden 300 IN TXT \"plain\"",
  "*.wild 300 IN A 203.0.113.99",
]

# Internal only: no default set.
[[zone.name]]
name = "pool01"
[zone.name.scope.US]
records = ["300 IN A 10.1.1.20"]

[[zone.name]]
name = "_sipinternaltls._tcp"
[zone.name.scope.US]
records = ["300 IN SRV 0 0 5061 pool01.contoso.lab."]

# A public A and an internal-only SRV at one name.
[[zone.name]]
name = "sip"
[zone.name.scope.US]
records = ["300 IN SRV 0 0 5061 pool01.contoso.lab."]

# Internal only, with a public name below it (RFC 8020: it exists).
[[zone.name]]
name = "inside"
[zone.name.scope.US]
records = ["300 IN A 10.1.1.30"]

# Internal only, under a public wildcard (RFC 4592: the wildcard covers it
# where it does not exist).
[[zone.name]]
name = "hidden.wild"
[zone.name.scope.US]
records = ["300 IN A 10.1.1.40"]

# An internal-only wildcard.
[[zone.name]]
name = "*.intwild"
[zone.name.scope.US]
records = ["300 IN A 10.1.1.50"]
[[zone.name]]
name = "a.intwild"
records = ["300 IN TXT \"the wildcard's parent exists\""]

# Internal only, only under an empty non-terminal that itself has a hidden
# child.
[[zone.name]]
name = "leaf.ent2"
[zone.name.scope.US]
records = ["300 IN A 10.1.1.60"]

# Public: a default set.
[[zone.name]]
name = "autodiscover"
[zone.name.scope.US]
records = ["300 IN A 10.1.1.10"]
[zone.name.default]
records = ["300 IN A 203.0.113.10"]
`

// TestLookupView: in a view without a site-aware name's records, the name
// does not exist (NXDOMAIN, or the covering wildcard), unless it has other
// records there or a name below it exists; everything else is as Lookup
// has it, and Lookup itself sees every name.
func TestLookupView(t *testing.T) {
	snap := mustParse(t, viewsConfig)
	us := slices.Index(snap.ScopeNames, "US")
	if us < 0 {
		t.Fatalf("no scope US in %v", snap.ScopeNames)
	}
	const outside = -1
	cases := []struct {
		name   string
		qtype  uint16
		view   int
		kind   Kind
		wild   bool
		viewed bool
	}{
		{"pool01.contoso.lab.", dns.TypeA, outside, KindNXDomain, false, true},
		{"pool01.contoso.lab.", dns.TypeAAAA, outside, KindNXDomain, false, true},
		{"pool01.contoso.lab.", dns.TypeA, us, KindAnswer, false, true},
		{"pool01.contoso.lab.", dns.TypeAAAA, us, KindNoData, false, true},
		{"_sipinternaltls._tcp.contoso.lab.", dns.TypeSRV, outside, KindNXDomain, false, true},
		{"_sipinternaltls._tcp.contoso.lab.", dns.TypeSRV, us, KindAnswer, false, true},
		// _tcp is an empty non-terminal: NODATA in every view, as before.
		{"_tcp.contoso.lab.", dns.TypeA, outside, KindNoData, false, false},
		{"_tcp.contoso.lab.", dns.TypeA, us, KindNoData, false, false},
		// A public A, an internal-only SRV: NODATA for the SRV outside.
		{"sip.contoso.lab.", dns.TypeSRV, outside, KindNoData, false, false},
		{"sip.contoso.lab.", dns.TypeSRV, us, KindAnswer, false, false},
		{"sip.contoso.lab.", dns.TypeA, outside, KindAnswer, false, false},
		// A name below it exists everywhere: NODATA.
		{"inside.contoso.lab.", dns.TypeA, outside, KindNoData, false, false},
		{"inside.contoso.lab.", dns.TypeA, us, KindAnswer, false, false},
		{"ent.inside.contoso.lab.", dns.TypeA, outside, KindNoData, false, false},
		// Not in the outside view, so the public wildcard answers for it.
		{"hidden.wild.contoso.lab.", dns.TypeA, outside, KindAnswer, true, true},
		{"hidden.wild.contoso.lab.", dns.TypeA, us, KindAnswer, false, true},
		{"other.wild.contoso.lab.", dns.TypeA, outside, KindAnswer, true, false},
		// An internal-only wildcard covers nothing outside.
		{"b.intwild.contoso.lab.", dns.TypeA, outside, KindNXDomain, false, true},
		{"b.intwild.contoso.lab.", dns.TypeA, us, KindAnswer, true, true},
		{"a.intwild.contoso.lab.", dns.TypeTXT, outside, KindAnswer, false, false},
		// An empty non-terminal whose only child is internal only: it
		// stays NODATA (empty non-terminals are not hidden); the child is
		// NXDOMAIN outside.
		{"ent2.contoso.lab.", dns.TypeA, outside, KindNoData, false, false},
		{"leaf.ent2.contoso.lab.", dns.TypeA, outside, KindNXDomain, false, true},
		// Public names, and names that never existed.
		{"autodiscover.contoso.lab.", dns.TypeA, outside, KindAnswer, false, false},
		{"nope.contoso.lab.", dns.TypeA, outside, KindNXDomain, false, false},
		{"contoso.lab.", dns.TypeSOA, outside, KindAnswer, false, false},
	}
	for _, c := range cases {
		r := snap.LookupView(c.name, c.qtype, c.view)
		kind := r.Kind
		if kind == KindAnswer && r.Set != nil {
			if a := r.Set.For(c.view); a == nil || len(a.RRs) == 0 {
				kind = KindNoData // the server answers NODATA: no records for the view
			}
		}
		if kind != c.kind || r.Wildcard != c.wild || r.Viewed != c.viewed {
			t.Errorf("LookupView(%s %s, view %d) = kind %d wildcard %v viewed %v, want %d %v %v",
				c.name, dns.TypeToString[c.qtype], c.view, kind, r.Wildcard, r.Viewed, c.kind, c.wild, c.viewed)
		}
	}
	// Lookup, with no view, sees every name, as AXFR and the checks do.
	for _, name := range []string{"pool01.contoso.lab.", "_sipinternaltls._tcp.contoso.lab.", "leaf.ent2.contoso.lab."} {
		if r := snap.Lookup(name, dns.TypeA); r.Kind == KindNXDomain || r.Viewed {
			t.Errorf("Lookup(%s) = kind %d viewed %v: the name exists", name, r.Kind, r.Viewed)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		snap.LookupView("pool01.contoso.lab.", dns.TypeA, outside)
		snap.LookupView("hidden.wild.contoso.lab.", dns.TypeA, outside)
	})
	if allocs != 0 {
		t.Errorf("LookupView: %v allocs per run, want 0", allocs)
	}
}

// BenchmarkLookupView measures the view rule's cost: a hidden name in the
// outside view against the same name through Lookup.
func BenchmarkLookupView(b *testing.B) {
	snap := mustParse(b, viewsConfig)
	for _, c := range []struct {
		name string
		view int
	}{{"all views", viewAll}, {"outside", -1}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				snap.LookupView("pool01.contoso.lab.", dns.TypeA, c.view)
			}
		})
	}
}
