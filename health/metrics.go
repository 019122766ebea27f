package health

import "github.com/prometheus/client_golang/prometheus"

var (
	descTargetUp = prometheus.NewDesc("sitedns_target_up",
		"Whether a checked address is answered (1: up, or unknown before its first rise or fall; 0: down), by target address and check.",
		[]string{"target", "check"}, nil)
	descFailures = prometheus.NewDesc("sitedns_check_failures_total",
		"Failed health probes, by target address, check and reason (timeout, refused, tls, status, error).",
		[]string{"target", "check", "reason"}, nil)
)

var _ prometheus.Collector = (*Monitor)(nil)

// Describe sends the descriptors of the Monitor's metrics.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTargetUp
	ch <- descFailures
	m.dur.Describe(ch)
}

// Collect sends sitedns_target_up and sitedns_check_failures_total of every
// target probed, and sitedns_check_duration_seconds. A Monitor is a
// prometheus.Collector: register it in the server's registry.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	ts := make([]*target, 0, len(m.byKey))
	for _, t := range m.byKey {
		ts = append(ts, t)
	}
	m.mu.Unlock()
	for _, t := range ts {
		addr, check := t.Addr.String(), t.Spec.Name
		up := 1.0
		if State(t.state.Load()) == Down {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(descTargetUp, prometheus.GaugeValue, up, addr, check)
		for r := range numReasons {
			ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(t.fails[r].Load()), addr, check, r.String())
		}
	}
	m.dur.Collect(ch)
}
