package metrics

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sitedns/sitedns/zones"
)

// TestCollectorZoneSerial: sitedns_zone_serial is each zone's SOA serial,
// and absent for a secondary zone that has no data yet (its SOA is a
// placeholder).
func TestCollectorZoneSerial(t *testing.T) {
	soa := func(n uint32) *dns.SOA { return &dns.SOA{Serial: n} }
	snap := &zones.Snapshot{Zones: []*zones.Zone{
		{Origin: "contoso.lab.", SOA: soa(2026120601)},
		{Origin: "fabrikam.lab.", SOA: soa(7), Secondary: &zones.Secondary{}},
		{Origin: "waiting.lab.", SOA: soa(1), SOASynthesized: true, Secondary: &zones.Secondary{}, Expired: true},
	}}
	c := NewCollector(nil, func() *zones.Snapshot { return snap }, BuildInfo{})
	want := `
# HELP sitedns_zone_serial The SOA serial of each zone served.
# TYPE sitedns_zone_serial gauge
sitedns_zone_serial{zone="contoso.lab."} 2.026120601e+09
sitedns_zone_serial{zone="fabrikam.lab."} 7
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "sitedns_zone_serial"); err != nil {
		t.Error(err)
	}
}
