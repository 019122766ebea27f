package zones

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// fakeTransfers hands out fixed data per origin.
type fakeTransfers map[string]Transferred

func (f fakeTransfers) Transferred(origin string, _ *Secondary) (Transferred, bool) {
	t, ok := f[origin]
	return t, ok
}

const transferredZone = `contoso.lab.	3600	IN	SOA	dc1.contoso.lab. hostmaster.contoso.lab. 7 900 600 86400 300
contoso.lab.	3600	IN	NS	dc1.contoso.lab.
dc1.contoso.lab.	3600	IN	A	10.1.0.53
autodiscover.contoso.lab.	300	IN	A	10.1.1.99
autodiscover.contoso.lab.	300	IN	AAAA	2001:db8::99
_ldap._tcp.dc._msdcs.contoso.lab.	600	IN	SRV	0 100 389 dc1.contoso.lab.
`

// TestSecondaryOverlay: the transferred records serve as they came, but for
// the overlaid name and type, which answers per scope; the types the overlay
// does not give stay as transferred.
func TestSecondaryOverlay(t *testing.T) {
	x := fakeTransfers{"contoso.lab.": {Source: "axfr of contoso.lab.", Text: transferredZone}}
	snap, err := LoadWith(testdata("good", "secondary.toml"), nil, x)
	if err != nil {
		t.Fatal(err)
	}
	z := snap.Zones[0]
	if z.Secondary == nil || z.Expired || z.SOA.Serial != 7 || z.SOASynthesized {
		t.Fatalf("zone: secondary %v, expired %v, SOA %v", z.Secondary, z.Expired, z.SOA)
	}
	if len(z.Secondary.Primaries) != 1 || z.Secondary.TSIG == nil || z.Secondary.TSIG.Algorithm != dns.HmacSHA256 {
		t.Errorf("secondary: %+v", z.Secondary)
	}
	a := snap.Lookup("autodiscover.contoso.lab.", dns.TypeA)
	if a.Kind != KindAnswer || !a.Set.SiteAware() || a.Set.Default.RRs[0].(*dns.A).A.String() != "203.0.113.10" {
		t.Fatalf("autodiscover A: %+v", a)
	}
	for _, rr := range a.Set.Default.RRs {
		if strings.Contains(rr.String(), "10.1.1.99") {
			t.Errorf("transferred autodiscover A still served: %v", rr)
		}
	}
	if r := snap.Lookup("autodiscover.contoso.lab.", dns.TypeAAAA); r.Kind != KindAnswer || r.Set.SiteAware() {
		t.Errorf("autodiscover AAAA (not overlaid): %+v", r)
	}
	if r := snap.Lookup("_ldap._tcp.dc._msdcs.contoso.lab.", dns.TypeSRV); r.Kind != KindAnswer {
		t.Errorf("SRV: %+v", r)
	}
}

// TestSecondaryServFail: a secondary zone without data, or expired, answers
// SERVFAIL for every name in it.
func TestSecondaryServFail(t *testing.T) {
	for name, x := range map[string]Transfers{
		"no data": fakeTransfers{},
		"expired": fakeTransfers{"contoso.lab.": {Source: "x", Text: transferredZone, Expired: true}},
	} {
		t.Run(name, func(t *testing.T) {
			snap, err := LoadWith(testdata("good", "secondary.toml"), nil, x)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"contoso.lab.", "dc1.contoso.lab.", "nx.contoso.lab."} {
				if r := snap.Lookup(q, dns.TypeA); r.Kind != KindServFail {
					t.Errorf("%s: kind %v", q, r.Kind)
				}
			}
		})
	}
}

// TestSecondaryBadTransfer: transferred data that does not compile is an
// error naming the transfer, the line and what is wrong.
func TestSecondaryBadTransfer(t *testing.T) {
	tests := []struct {
		name, extra, want string
	}{
		{"out of zone", "www.fabrikam.lab.\t300\tIN\tA\t10.0.0.1\n",
			"axfr of contoso.lab. serial 7:7: \"www.fabrikam.lab.\\t300\\tIN\\tA\\t10.0.0.1\": owner www.fabrikam.lab. is outside zone contoso.lab."},
		{"CNAME beside the overlay", "autodiscover.contoso.lab.\t300\tIN\tCNAME\tmail.contoso.lab.\n",
			"CNAME beside other data"},
		{"$INCLUDE", "$INCLUDE /etc/hostname\n", "$INCLUDE"},
		{"second SOA", "sub.contoso.lab.\t3600\tIN\tSOA\tdc1.contoso.lab. hostmaster.contoso.lab. 7 900 600 86400 300\n",
			"SOA below the zone apex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := fakeTransfers{"contoso.lab.": {Source: "axfr of contoso.lab. serial 7", Text: transferredZone + tt.extra}}
			_, err := LoadWith(testdata("good", "secondary.toml"), nil, x)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	x := fakeTransfers{"contoso.lab.": {Source: "t", Text: "www.contoso.lab.\t300\tIN\tA\t10.0.0.1\n"}}
	if _, err := LoadWith(testdata("good", "secondary.toml"), nil, x); err == nil || !strings.Contains(err.Error(), "t: no SOA at the apex contoso.lab.") {
		t.Fatalf("no SOA: %v", err)
	}
}
