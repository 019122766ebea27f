package metrics

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

var testTime = time.Date(2026, 3, 1, 12, 0, 0, 500e6, time.UTC)

func TestStatsCounters(t *testing.T) {
	s := NewStats()
	s.Query(UDP, dns.TypeA)
	s.Query(UDP, dns.TypeA)
	s.Query(TCP, dns.TypeAXFR)
	s.Query(UDP, dns.TypeHTTPS) // 65: not in the list
	s.Query(UDP, 4000)          // above 255
	s.Response(dns.RcodeSuccess)
	s.Response(dns.RcodeNameError)
	s.Response(dns.RcodeBadVers)
	s.Response(dns.RcodeYXDomain) // not in the list
	s.Response(-1)
	s.Drop(DropResponse)
	s.Drop(DropTCPLimit)
	s.Drop(DropTCPLimit)
	c := NewCollector(s, nil, BuildInfo{})

	got, err := testutil.CollectAndFormat(c, expfmt.TypeTextPlain, "sitedns_queries_total", "sitedns_responses_total", "sitedns_dropped_total")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`sitedns_queries_total{qtype="A",transport="udp"} 2`,
		`sitedns_queries_total{qtype="AXFR",transport="tcp"} 1`,
		`sitedns_queries_total{qtype="other",transport="udp"} 2`,
		`sitedns_queries_total{qtype="A",transport="tcp"} 0`,
		`sitedns_responses_total{rcode="NOERROR"} 1`,
		`sitedns_responses_total{rcode="NXDOMAIN"} 1`,
		`sitedns_responses_total{rcode="BADVERS"} 1`,
		`sitedns_responses_total{rcode="other"} 2`,
		`sitedns_responses_total{rcode="SERVFAIL"} 0`,
		`sitedns_dropped_total{reason="response"} 1`,
		`sitedns_dropped_total{reason="tcp_limit"} 2`,
		`sitedns_dropped_total{reason="panic"} 0`,
	} {
		if !strings.Contains(string(got), want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if n := strings.Count(string(got), "sitedns_queries_total{"); n != 26 {
		t.Errorf("%d queries series, want 26 (2 transports x 13 qtypes)", n)
	}
}

func TestStatsHistogram(t *testing.T) {
	s := NewStats()
	for _, d := range []time.Duration{
		0, 10 * time.Microsecond, // le 1e-05 (bounds are inclusive)
		11 * time.Microsecond,  // le 2.5e-05
		3 * time.Millisecond,   // le 0.005
		150 * time.Millisecond, // +Inf
		-time.Second,           // a clock step: counted as 0
	} {
		s.Observe(UDP, d)
	}
	s.Observe(TCP, time.Millisecond)
	c := NewCollector(s, nil, BuildInfo{})
	want := `
# HELP sitedns_request_duration_seconds Time from reading a query to writing its response, by transport.
# TYPE sitedns_request_duration_seconds histogram
sitedns_request_duration_seconds_bucket{transport="tcp",le="1e-05"} 0
sitedns_request_duration_seconds_bucket{transport="tcp",le="2.5e-05"} 0
sitedns_request_duration_seconds_bucket{transport="tcp",le="5e-05"} 0
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.0001"} 0
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.00025"} 0
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.0005"} 0
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.001"} 1
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.0025"} 1
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.005"} 1
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.01"} 1
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.025"} 1
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.05"} 1
sitedns_request_duration_seconds_bucket{transport="tcp",le="0.1"} 1
sitedns_request_duration_seconds_bucket{transport="tcp",le="+Inf"} 1
sitedns_request_duration_seconds_sum{transport="tcp"} 0.001
sitedns_request_duration_seconds_count{transport="tcp"} 1
sitedns_request_duration_seconds_bucket{transport="udp",le="1e-05"} 3
sitedns_request_duration_seconds_bucket{transport="udp",le="2.5e-05"} 4
sitedns_request_duration_seconds_bucket{transport="udp",le="5e-05"} 4
sitedns_request_duration_seconds_bucket{transport="udp",le="0.0001"} 4
sitedns_request_duration_seconds_bucket{transport="udp",le="0.00025"} 4
sitedns_request_duration_seconds_bucket{transport="udp",le="0.0005"} 4
sitedns_request_duration_seconds_bucket{transport="udp",le="0.001"} 4
sitedns_request_duration_seconds_bucket{transport="udp",le="0.0025"} 4
sitedns_request_duration_seconds_bucket{transport="udp",le="0.005"} 5
sitedns_request_duration_seconds_bucket{transport="udp",le="0.01"} 5
sitedns_request_duration_seconds_bucket{transport="udp",le="0.025"} 5
sitedns_request_duration_seconds_bucket{transport="udp",le="0.05"} 5
sitedns_request_duration_seconds_bucket{transport="udp",le="0.1"} 5
sitedns_request_duration_seconds_bucket{transport="udp",le="+Inf"} 6
sitedns_request_duration_seconds_sum{transport="udp"} 0.153021
sitedns_request_duration_seconds_count{transport="udp"} 6
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "sitedns_request_duration_seconds"); err != nil {
		t.Error(err)
	}
}

func TestStatsReloads(t *testing.T) {
	s := NewStats()
	c := NewCollector(s, nil, BuildInfo{})
	names := []string{"sitedns_config_reloads_total", "sitedns_config_last_reload_successful", "sitedns_config_last_reload_success_timestamp_seconds"}
	check := func(step string, success, failure int, ok int, ts string) {
		t.Helper()
		want := `
# HELP sitedns_config_last_reload_success_timestamp_seconds Unix time of the last successful configuration load, 0 before the first.
# TYPE sitedns_config_last_reload_success_timestamp_seconds gauge
sitedns_config_last_reload_success_timestamp_seconds ` + ts + `
# HELP sitedns_config_last_reload_successful Whether the last configuration reload attempt succeeded (1) or failed (0).
# TYPE sitedns_config_last_reload_successful gauge
sitedns_config_last_reload_successful ` + strconv.Itoa(ok) + `
# HELP sitedns_config_reloads_total Configuration reload attempts, by result (success or failure).
# TYPE sitedns_config_reloads_total counter
sitedns_config_reloads_total{result="failure"} ` + strconv.Itoa(failure) + `
sitedns_config_reloads_total{result="success"} ` + strconv.Itoa(success) + `
`
		if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
			t.Errorf("%s: %v", step, err)
		}
	}
	check("new", 0, 0, 0, "0")
	s.Loaded(testTime)
	check("start-up load", 0, 0, 1, "1.7723664005e+09")
	s.Reloaded(false, testTime.Add(time.Minute))
	check("failed reload", 0, 1, 0, "1.7723664005e+09")
	s.Shard().Reloaded(true, testTime.Add(2*time.Minute)) // a shard records on its root
	check("reload", 1, 1, 1, "1.7723665205e+09")
}

// TestStatsShards: the collector of a root sums it and every shard, from
// any number of goroutines, exactly.
func TestStatsShards(t *testing.T) {
	root := NewStats()
	const workers, per = 4, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := root
			if w > 0 {
				s = root.Shard()
			}
			for range per {
				s.Query(UDP, dns.TypeSRV)
				s.Response(dns.RcodeRefused)
				s.Drop(DropRateLimit)
				s.Observe(TCP, 40*time.Microsecond)
			}
		}()
	}
	wg.Wait()
	root.Shard() // an idle shard adds nothing
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(root.Shard(), nil, BuildInfo{})) // a shard's collector is its root's
	out, err := Text(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`sitedns_queries_total{qtype="SRV",transport="udp"} 4000`,
		`sitedns_responses_total{rcode="REFUSED"} 4000`,
		`sitedns_dropped_total{reason="ratelimit"} 4000`,
		`sitedns_request_duration_seconds_bucket{transport="tcp",le="5e-05"} 4000`,
		`sitedns_request_duration_seconds_bucket{transport="tcp",le="2.5e-05"} 0`,
		`sitedns_request_duration_seconds_sum{transport="tcp"} 0.16`,
		`sitedns_request_duration_seconds_count{transport="tcp"} 4000`,
	} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
}

// TestStatsNoAllocs: the packet path's calls allocate nothing.
func TestStatsNoAllocs(t *testing.T) {
	s := NewStats().Shard()
	allocs := testing.AllocsPerRun(1000, func() {
		s.Query(UDP, dns.TypeA)
		s.Query(TCP, 300)
		s.Response(dns.RcodeBadVers)
		s.Drop(DropMalformed)
		s.Observe(UDP, 42*time.Microsecond)
	})
	if allocs != 0 {
		t.Errorf("%v allocs per query, want 0", allocs)
	}
}

func TestStrings(t *testing.T) {
	if UDP.String() != "udp" || TCP.String() != "tcp" || Transport(9).String() != "unknown" {
		t.Error("Transport.String")
	}
	if DropTCPLimit.String() != "tcp_limit" || DropReason(99).String() != "unknown" {
		t.Error("DropReason.String")
	}
}

func BenchmarkStatsQuery(b *testing.B) {
	s := NewStats()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Query(UDP, uint16(i&31))
	}
}

func BenchmarkObserve(b *testing.B) {
	s := NewStats()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Observe(UDP, time.Duration(20_000+i&0xffff))
	}
}

// BenchmarkObservePrometheusHistogram is the alternative Observe replaces:
// a client_golang Histogram with the same buckets, its child resolved once.
func BenchmarkObservePrometheusHistogram(b *testing.B) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_seconds", Help: "x", Buckets: durationBounds}, []string{"transport"}).WithLabelValues("udp")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Observe(time.Duration(20_000 + i&0xffff).Seconds())
	}
}

func BenchmarkObserveParallel(b *testing.B) {
	s := NewStats()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		sh := s.Shard()
		for pb.Next() {
			sh.Observe(UDP, 30*time.Microsecond)
		}
	})
}

// BenchmarkQueryPath is what the server pays per answered UDP query:
// a query, a response and a latency observation.
func BenchmarkQueryPath(b *testing.B) {
	s := NewStats()
	b.ReportAllocs()
	for b.Loop() {
		s.Query(UDP, dns.TypeA)
		s.Response(dns.RcodeSuccess)
		s.Observe(UDP, 30*time.Microsecond)
	}
}

func BenchmarkCollect(b *testing.B) {
	reg := testRegistry(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkObserveParallelShared is BenchmarkObserveParallel with every
// goroutine on one Stats: the cost of the cache line the shards avoid.
func BenchmarkObserveParallelShared(b *testing.B) {
	s := NewStats()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Observe(UDP, 30*time.Microsecond)
		}
	})
}
