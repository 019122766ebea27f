package metrics

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"

	"github.com/sitedns/sitedns/zones"
)

// testCounters hands out the counters of the test snapshots.
var (
	testCounters = zones.NewCounters()
	counterSeq   atomic.Int64
)

// counter returns a new counter of testCounters holding n, counted in
// turn by every shard as several readers would count it: the collector
// must sum them.
func counter(n uint64) zones.Counter {
	c := testCounters.Get("test", strconv.FormatInt(counterSeq.Add(1), 10))
	tally := testCounters.Tally()
	for i := range n {
		tally.Row(int(i)).Add(c)
	}
	return c
}

// testSnapshot is a compiled snapshot as zones would hand it out: three
// sites, one site-aware name with a counter per target, netmask counters.
func testSnapshot(first, local zones.Counter) *zones.Snapshot {
	return &zones.Snapshot{
		SiteNames:  []string{"unknown", "US-Chicago", "DE-Hamburg"},
		ConfigHash: "0123456789abcdef",
		Zones: []*zones.Zone{
			{Origin: "contoso.lab.", Records: 10, SOA: &dns.SOA{Serial: 2026120101}},
			{Origin: "fabrikam.lab.", Records: 3},
		},
		Counters: zones.SnapshotCounters{
			AnswersFirst: []zones.LabeledCounter{
				{Labels: []string{"contoso.lab.", "autodiscover.contoso.lab.", "US", "10.1.1.10", "US-Chicago"}, C: first},
				{Labels: []string{"contoso.lab.", "autodiscover.contoso.lab.", "US", "10.2.1.10", "US-Chicago"}, C: counter(7)},
				{Labels: []string{"contoso.lab.", "autodiscover.contoso.lab.", "default", "203.0.113.10", "unknown"}, C: counter(2)},
			},
			FirstShares: []zones.LabeledValue{
				{Labels: []string{"contoso.lab.", "autodiscover.contoso.lab.", "US", "10.1.1.10"}, V: 0.5},
				{Labels: []string{"contoso.lab.", "autodiscover.contoso.lab.", "US", "10.2.1.10"}, V: 0.5},
				{Labels: []string{"contoso.lab.", "autodiscover.contoso.lab.", "default", "203.0.113.10"}, V: 1},
			},
			Netmask: []zones.LabeledCounter{
				{Labels: []string{"contoso.lab.", "affinityus.contoso.lab.", "local"}, C: local},
				{Labels: []string{"contoso.lab.", "affinityus.contoso.lab.", "remote_only"}, C: counter(4)},
			},
			Site:  []zones.Counter{counter(11), counter(12), counter(13)},
			Tally: testCounters.Tally(),
		},
	}
}

var snapshotMetrics = []string{
	"sitedns_answers_first_total",
	"sitedns_netmask_matches_total",
	"sitedns_site_queries_total",
	"sitedns_zone_records",
	"sitedns_answer_first_share_expected",
	"sitedns_zone_serial",
	"sitedns_config_info",
	"sitedns_build_info",
}

func TestCollectorSnapshot(t *testing.T) {
	snap := testSnapshot(counter(5), counter(9))
	c := NewCollector(nil, func() *zones.Snapshot { return snap }, BuildInfo{Version: "1.2.3", Revision: "abc123", GoVersion: "go1.26.8"})
	want := `
# HELP sitedns_answer_first_share_expected The share of a name's and scope's answers that should list each target first, from the set's size, weights and ordering, for clients with no record in their network (0: never first).
# TYPE sitedns_answer_first_share_expected gauge
sitedns_answer_first_share_expected{name="autodiscover.contoso.lab.",scope="US",target="10.1.1.10",zone="contoso.lab."} 0.5
sitedns_answer_first_share_expected{name="autodiscover.contoso.lab.",scope="US",target="10.2.1.10",zone="contoso.lab."} 0.5
sitedns_answer_first_share_expected{name="autodiscover.contoso.lab.",scope="default",target="203.0.113.10",zone="contoso.lab."} 1
# HELP sitedns_answers_first_total Answers that listed each target first, by zone, name, scope, target and client site (unknown when no site subnet matched).
# TYPE sitedns_answers_first_total counter
sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="US",site="US-Chicago",target="10.1.1.10",zone="contoso.lab."} 5
sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="US",site="US-Chicago",target="10.2.1.10",zone="contoso.lab."} 7
sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="default",site="unknown",target="203.0.113.10",zone="contoso.lab."} 2
# HELP sitedns_build_info A metric with a constant value of 1, labelled by the version, revision and Go version sitedns was built from.
# TYPE sitedns_build_info gauge
sitedns_build_info{goversion="go1.26.8",revision="abc123",version="1.2.3"} 1
# HELP sitedns_config_info A metric with a constant value of 1, labelled by a hash of the configuration served (the config file and the zone files it names): replicas with different hashes serve different configs.
# TYPE sitedns_config_info gauge
sitedns_config_info{hash="0123456789abcdef"} 1
# HELP sitedns_netmask_matches_total Netmask ordering outcomes of A answers: local when a record was in the client's network, remote_only when none was.
# TYPE sitedns_netmask_matches_total counter
sitedns_netmask_matches_total{name="affinityus.contoso.lab.",result="local",zone="contoso.lab."} 9
sitedns_netmask_matches_total{name="affinityus.contoso.lab.",result="remote_only",zone="contoso.lab."} 4
# HELP sitedns_site_queries_total Queries by client site (unknown when no site subnet matched).
# TYPE sitedns_site_queries_total counter
sitedns_site_queries_total{site="DE-Hamburg"} 13
sitedns_site_queries_total{site="US-Chicago"} 12
sitedns_site_queries_total{site="unknown"} 11
# HELP sitedns_zone_records Records in each zone served.
# TYPE sitedns_zone_records gauge
sitedns_zone_records{zone="contoso.lab."} 10
sitedns_zone_records{zone="fabrikam.lab."} 3
# HELP sitedns_zone_serial The SOA serial of each zone served.
# TYPE sitedns_zone_serial gauge
sitedns_zone_serial{zone="contoso.lab."} 2.026120101e+09
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), snapshotMetrics...); err != nil {
		t.Error(err)
	}
}

// TestCollectorReload swaps in a second snapshot, as a reload does: a label
// set compiled again gets the same Counter from zones and keeps its
// count; a label set no longer in the config disappears from the output.
func TestCollectorReload(t *testing.T) {
	first, local := counter(5), counter(9)
	var cur atomic.Pointer[zones.Snapshot]
	cur.Store(testSnapshot(first, local))
	c := NewCollector(nil, cur.Load, BuildInfo{})

	next := testSnapshot(first, local)
	next.Counters.AnswersFirst = next.Counters.AnswersFirst[:1] // 10.2.1.10 and the default set removed
	next.Counters.Netmask = next.Counters.Netmask[:1]
	next.SiteNames = next.SiteNames[:2]
	next.Counters.Site = []zones.Counter{next.Counters.Site[0], next.Counters.Site[1]}
	next.Zones = next.Zones[:1]
	next.Zones[0] = &zones.Zone{Origin: "contoso.lab.", Records: 12}
	cur.Store(next)
	next.Counters.Tally.Row(2).Add(first) // a query answered from the new snapshot, by a reader

	want := `
# HELP sitedns_answers_first_total Answers that listed each target first, by zone, name, scope, target and client site (unknown when no site subnet matched).
# TYPE sitedns_answers_first_total counter
sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="US",site="US-Chicago",target="10.1.1.10",zone="contoso.lab."} 6
# HELP sitedns_netmask_matches_total Netmask ordering outcomes of A answers: local when a record was in the client's network, remote_only when none was.
# TYPE sitedns_netmask_matches_total counter
sitedns_netmask_matches_total{name="affinityus.contoso.lab.",result="local",zone="contoso.lab."} 9
# HELP sitedns_site_queries_total Queries by client site (unknown when no site subnet matched).
# TYPE sitedns_site_queries_total counter
sitedns_site_queries_total{site="US-Chicago"} 12
sitedns_site_queries_total{site="unknown"} 11
# HELP sitedns_zone_records Records in each zone served.
# TYPE sitedns_zone_records gauge
sitedns_zone_records{zone="contoso.lab."} 12
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), snapshotMetrics[:4]...); err != nil {
		t.Error(err)
	}
}

// TestCollectorNoSnapshot: before a snapshot is served (or with none at all)
// the server's own metrics are still there.
func TestCollectorNoSnapshot(t *testing.T) {
	for name, fn := range map[string]func() *zones.Snapshot{
		"nil func":     nil,
		"nil snapshot": func() *zones.Snapshot { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			c := NewCollector(NewStats(), fn, BuildInfo{})
			if n := testutil.CollectAndCount(c, snapshotMetrics[:4]...); n != 0 {
				t.Errorf("%d snapshot series without a snapshot", n)
			}
			if n := testutil.CollectAndCount(c, "sitedns_queries_total"); n != int(transports)*numQtypes {
				t.Errorf("sitedns_queries_total: %d series, want %d", n, int(transports)*numQtypes)
			}
		})
	}
}

// TestCollectorBadLabels: a label set that does not fit its metric fails
// that series, not the process.
func TestCollectorBadLabels(t *testing.T) {
	snap := testSnapshot(counter(1), counter(1))
	snap.Counters.AnswersFirst = append(snap.Counters.AnswersFirst, zones.LabeledCounter{Labels: []string{"too", "few"}, C: counter(1)})
	snap.Counters.Tally = testCounters.Tally()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(nil, func() *zones.Snapshot { return snap }, BuildInfo{}))
	mfs, err := reg.Gather()
	if err == nil {
		t.Fatal("no error for a bad label set")
	}
	for _, mf := range mfs {
		if mf.GetName() == "sitedns_answers_first_total" && len(mf.GetMetric()) != 3 {
			t.Errorf("answers_first: %d series, want the 3 good ones", len(mf.GetMetric()))
		}
	}
}

func TestBuildInfoDefaults(t *testing.T) {
	c := NewCollector(nil, nil, BuildInfo{})
	out, err := testutil.CollectAndFormat(c, expfmt.TypeTextPlain, "sitedns_build_info")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `revision="unknown",version="unknown"`) || !strings.Contains(string(out), `goversion="go`) {
		t.Errorf("build_info with empty BuildInfo:\n%s", out)
	}
}

// bumpAll counts one of everything, so every family and label value the
// registry can export is present.
func bumpAll(s *Stats) {
	for _, q := range append(qtypes, 65000) {
		s.Query(UDP, q)
		s.Query(TCP, q)
	}
	for _, rc := range []int{0, 1, 2, 3, 4, 5, 16, 9} {
		s.Response(rc)
	}
	for r := range dropReasons {
		s.Drop(r)
	}
	s.Observe(UDP, 30e3)
	s.Observe(TCP, 300e3)
	s.Reloaded(false, testTime)
	s.Reloaded(true, testTime)
}

func testRegistry(t testing.TB) *prometheus.Registry {
	t.Helper()
	s := NewStats()
	bumpAll(s)
	snap := testSnapshot(counter(1), counter(1))
	return NewRegistry(s, func() *zones.Snapshot { return snap }, BuildInfo{Version: "1.0.0", Revision: "deadbeef"})
}

// TestLint runs promlint, the Prometheus naming and metadata checks, over
// everything /metrics serves.
func TestLint(t *testing.T) {
	reg := testRegistry(t)
	srv := httptest.NewServer(NewMux(reg, nil, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	problems, err := promlint.New(resp.Body).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestRegistryFamilies pins the sitedns_ families docs/metrics.md lists, their
// types, and the closed label sets.
func TestRegistryFamilies(t *testing.T) {
	reg := testRegistry(t)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"sitedns_answers_first_total":                          "COUNTER",
		"sitedns_netmask_matches_total":                        "COUNTER",
		"sitedns_site_queries_total":                           "COUNTER",
		"sitedns_queries_total":                                "COUNTER",
		"sitedns_responses_total":                              "COUNTER",
		"sitedns_request_duration_seconds":                     "HISTOGRAM",
		"sitedns_dropped_total":                                "COUNTER",
		"sitedns_config_reloads_total":                         "COUNTER",
		"sitedns_config_last_reload_successful":                "GAUGE",
		"sitedns_config_last_reload_success_timestamp_seconds": "GAUGE",
		"sitedns_zone_records":                                 "GAUGE",
		"sitedns_build_info":                                   "GAUGE",
		"sitedns_answer_first_share_expected":                  "GAUGE",
		"sitedns_zone_serial":                                  "GAUGE",
		"sitedns_config_info":                                  "GAUGE",
	}
	labels := map[string]map[string]bool{}
	got := map[string]string{}
	goAndProcess := 0
	for _, mf := range mfs {
		name := mf.GetName()
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			goAndProcess++
			continue
		}
		got[name] = mf.GetType().String()
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				k := name + "/" + lp.GetName()
				if labels[k] == nil {
					labels[k] = map[string]bool{}
				}
				labels[k][lp.GetValue()] = true
			}
		}
	}
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("%s: type %q, want %q", name, got[name], typ)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected family %s", name)
		}
	}
	if goAndProcess == 0 {
		t.Error("no go_ or process_ metrics")
	}
	closed := map[string][]string{
		"sitedns_queries_total/transport":            {"tcp", "udp"},
		"sitedns_queries_total/qtype":                {"A", "AAAA", "ANY", "AXFR", "CNAME", "IXFR", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "other"},
		"sitedns_responses_total/rcode":              {"BADVERS", "FORMERR", "NOERROR", "NOTIMP", "NXDOMAIN", "REFUSED", "SERVFAIL", "other"},
		"sitedns_dropped_total/reason":               {"malformed", "panic", "ratelimit", "response", "tcp_limit"},
		"sitedns_config_reloads_total/result":        {"failure", "success"},
		"sitedns_request_duration_seconds/transport": {"tcp", "udp"},
	}
	for k, vals := range closed {
		if len(labels[k]) != len(vals) {
			t.Errorf("%s: values %v, want %v", k, labels[k], vals)
		}
		for _, v := range vals {
			if !labels[k][v] {
				t.Errorf("%s: %q missing", k, v)
			}
		}
	}
}

func TestText(t *testing.T) {
	reg := testRegistry(t)
	out, err := Text(reg, Stable)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		"# TYPE sitedns_queries_total counter\n",
		`sitedns_queries_total{qtype="A",transport="udp"} 1` + "\n",
		`sitedns_config_reloads_total{result="failure"} 1` + "\n",
		`sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="US",site="US-Chicago",target="10.1.1.10",zone="contoso.lab."} 1` + "\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("Text lacks %q", want)
		}
	}
	for _, not := range []string{"go_", "process_", "sitedns_request_duration_seconds", "sitedns_build_info", "timestamp_seconds"} {
		if strings.Contains(s, not) {
			t.Errorf("Text(reg, Stable) holds %q", not)
		}
	}
	all, err := Text(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(all), "go_goroutines") {
		t.Error("Text(reg, nil) lacks go_goroutines")
	}
}
