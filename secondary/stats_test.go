package secondary

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sitedns/sitedns/zones"
)

// TestCollector: the secondary zones' metrics, named as the Prometheus
// guide says (promlint), with their closed label sets.
func TestCollector(t *testing.T) {
	m := New(context.Background(), nil, nil)
	m.Transferred("contoso.lab.", &zones.Secondary{})
	m.Transferred("unserved.lab.", &zones.Secondary{}) // seen by a compile that failed: no series
	m.zones["contoso.lab."].stop = func() {}           // as Sync marks a zone it serves
	s := m.zones["contoso.lab."].stats
	s.transfer(kindAXFR, resultSuccess)
	s.transfer(kindIXFR, resultSuccess)
	s.transfer(kindIXFR, resultSuccess)
	s.transfer(kindIXFR, resultInvalid)
	s.check(nil)
	s.check(errors.New("timeout"))
	s.expired.Store(true)
	s.expirations.Add(1)
	s.refreshed.Store(1796000000)
	want := `
# HELP sitedns_zone_expired 1 when a secondary zone is past its SOA expire without a refresh and answers SERVFAIL.
# TYPE sitedns_zone_expired gauge
sitedns_zone_expired{zone="contoso.lab."} 1
# HELP sitedns_zone_last_refresh_timestamp_seconds When a secondary zone was last found current or transferred, in Unix seconds.
# TYPE sitedns_zone_last_refresh_timestamp_seconds gauge
sitedns_zone_last_refresh_timestamp_seconds{zone="contoso.lab."} 1.796e+09
`
	c := m.Collector()
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "sitedns_zone_expired", "sitedns_zone_last_refresh_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	transfers := `
# HELP sitedns_zone_transfers_total Zone transfers into a secondary zone, by kind (axfr, ixfr) and result (success; error: the primary, the network, TSIG or framing; invalid: transferred but the zone does not compile, so the previous data kept serving).
# TYPE sitedns_zone_transfers_total counter
sitedns_zone_transfers_total{kind="axfr",result="error",zone="contoso.lab."} 0
sitedns_zone_transfers_total{kind="axfr",result="invalid",zone="contoso.lab."} 0
sitedns_zone_transfers_total{kind="axfr",result="success",zone="contoso.lab."} 1
sitedns_zone_transfers_total{kind="ixfr",result="error",zone="contoso.lab."} 0
sitedns_zone_transfers_total{kind="ixfr",result="invalid",zone="contoso.lab."} 1
sitedns_zone_transfers_total{kind="ixfr",result="success",zone="contoso.lab."} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(transfers), "sitedns_zone_transfers_total"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
