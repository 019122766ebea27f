package secondary

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Transfer kinds and results, the closed label sets of
// sitedns_zone_transfers_total.
const (
	kindAXFR = "axfr"
	kindIXFR = "ixfr"

	resultSuccess = "success"
	resultError   = "error"   // the primary, the network, TSIG or framing
	resultInvalid = "invalid" // transferred, but the zone does not compile
)

var (
	kinds   = []string{kindAXFR, kindIXFR}
	results = []string{resultSuccess, resultError, resultInvalid}
)

// zoneStats are one secondary zone's counters, read at scrape time.
type zoneStats struct {
	transfers   [2][3]atomic.Uint64 // [kind][result]
	checks      [2]atomic.Uint64    // SOA checks: [ok, error]
	expirations atomic.Uint64
	expired     atomic.Bool
	refreshed   atomic.Int64 // Unix seconds of the last good refresh; 0: never
}

func newZoneStats() *zoneStats {
	return &zoneStats{}
}

func (s *zoneStats) transfer(kind, result string) {
	k := 0
	if kind == kindIXFR {
		k = 1
	}
	r := 0
	switch result {
	case resultError:
		r = 1
	case resultInvalid:
		r = 2
	}
	s.transfers[k][r].Add(1)
}

func (s *zoneStats) check(err error) {
	if err != nil {
		s.checks[1].Add(1)
		return
	}
	s.checks[0].Add(1)
}

var (
	descTransfers = prometheus.NewDesc("sitedns_zone_transfers_total",
		"Zone transfers into a secondary zone, by kind (axfr, ixfr) and result (success; error: the primary, the network, TSIG or framing; invalid: transferred but the zone does not compile, so the previous data kept serving).",
		[]string{"zone", "kind", "result"}, nil)
	descChecks = prometheus.NewDesc("sitedns_zone_soa_checks_total",
		"SOA queries to a secondary zone's primaries, by result (ok, error).",
		[]string{"zone", "result"}, nil)
	descExpired = prometheus.NewDesc("sitedns_zone_expired",
		"1 when a secondary zone is past its SOA expire without a refresh and answers SERVFAIL.",
		[]string{"zone"}, nil)
	descExpirations = prometheus.NewDesc("sitedns_zone_expirations_total",
		"Times a secondary zone expired.",
		[]string{"zone"}, nil)
	descRefreshed = prometheus.NewDesc("sitedns_zone_last_refresh_timestamp_seconds",
		"When a secondary zone was last found current or transferred, in Unix seconds.",
		[]string{"zone"}, nil)
)

// Collector returns a collector of the secondary zones' metrics, for the
// server's registry.
func (m *Manager) Collector() prometheus.Collector { return collector{m} }

type collector struct{ m *Manager }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTransfers, descChecks, descExpired, descExpirations, descRefreshed} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	type zs struct {
		origin string
		s      *zoneStats
	}
	list := make([]zs, 0, len(c.m.zones))
	for o, z := range c.m.zones {
		if z.stop != nil { // served: a zone only a failed compile saw is not
			list = append(list, zs{o, z.stats})
		}
	}
	c.m.mu.Unlock()
	for _, z := range list {
		s := z.s
		for k, kind := range kinds {
			for r, result := range results {
				ch <- prometheus.MustNewConstMetric(descTransfers, prometheus.CounterValue, float64(s.transfers[k][r].Load()), z.origin, kind, result)
			}
		}
		ch <- prometheus.MustNewConstMetric(descChecks, prometheus.CounterValue, float64(s.checks[0].Load()), z.origin, "ok")
		ch <- prometheus.MustNewConstMetric(descChecks, prometheus.CounterValue, float64(s.checks[1].Load()), z.origin, "error")
		exp := 0.0
		if s.expired.Load() {
			exp = 1
		}
		ch <- prometheus.MustNewConstMetric(descExpired, prometheus.GaugeValue, exp, z.origin)
		ch <- prometheus.MustNewConstMetric(descExpirations, prometheus.CounterValue, float64(s.expirations.Load()), z.origin)
		if t := s.refreshed.Load(); t > 0 {
			ch <- prometheus.MustNewConstMetric(descRefreshed, prometheus.GaugeValue, float64(t), z.origin)
		}
	}
}
