package metrics

import (
	"bytes"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Text gathers g and returns, in the Prometheus text format, the metric
// families whose name keep accepts (every family when keep is nil), sorted
// by name and label values as the registry sorts them. With keep = Stable it
// is the body of a golden /metrics test: every value it keeps follows from
// the queries sent and the configuration loaded alone.
//
// Series that failed to gather are left out; the error says which.
func Text(g prometheus.Gatherer, keep func(name string) bool) ([]byte, error) {
	mfs, gerr := g.Gather()
	var buf bytes.Buffer
	for _, mf := range mfs {
		if keep != nil && !keep(mf.GetName()) {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), gerr
}

// Stable reports whether name is a sitedns_ metric whose value depends only
// on the queries sent and the configuration loaded: not the latency
// histogram, the build labels or a timestamp.
func Stable(name string) bool {
	if !strings.HasPrefix(name, namespace+"_") {
		return false
	}
	switch name {
	case "sitedns_request_duration_seconds",
		"sitedns_build_info",
		"sitedns_config_last_reload_success_timestamp_seconds":
		return false
	}
	return true
}
