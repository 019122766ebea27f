package e2e

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sitedns/sitedns/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/metrics")

// metricsGolden is the /metrics golden file of TestMetricsGolden.
var metricsGolden = testdata("metrics", "loopback.golden.prom")

// Clients of the loopback lab used by the metrics tests, besides
// chicagoClient and unknownClient.
const (
	hamburgClient   = "127.11.5.5"  // DE-Hamburg, in no CAS's /24
	frankfurtClient = "127.12.1.99" // DE-Frankfurt, same /24 as CAS 127.12.1.10
	floridaClient   = "127.3.7.7"   // US-Florida, in no CAS's /24
)

// step is one part of the fixed query sequence: n queries for name/qtype
// from src over network, each checked by check (nil: rcode only).
type step struct {
	n       int
	network string
	src     string
	name    string
	qtype   uint16
	rcode   int
	check   func(t *testing.T, r *dns.Msg)
}

// firstIs checks that the first A record of every answer is want.
func firstIs(want string) func(*testing.T, *dns.Msg) {
	return func(t *testing.T, r *dns.Msg) {
		t.Helper()
		if got := firstA(t, r); got != want {
			t.Errorf("first %s, want %s", got, want)
		}
	}
}

// goldenSequence is the fixed query sequence behind the golden file. The
// comments give the counts it must leave in /metrics.
var goldenSequence = []step{
	// A name of three CAS, not site-aware, from a client in no site and in
	// no CAS's /24: round robin, so each CAS is first exactly 10 times
	// (scope "default"); netmask remote_only 30; site unknown +30.
	{n: 30, network: "udp", src: unknownClient, name: "affinityus.contoso.lab", qtype: dns.TypeA},
	// Autodiscover from Chicago: the US scope, its own CAS first every time;
	// netmask local 6; site US-Chicago +6.
	{n: 6, network: "udp", src: chicagoClient, name: "autodiscover.contoso.lab", qtype: dns.TypeA, check: firstIs("127.2.1.10")},
	// Autodiscover from Hamburg, in no CAS's /24: the DE scope, round robin
	// over its three CAS, each first 3 times; netmask remote_only 9.
	{n: 9, network: "udp", src: hamburgClient, name: "autodiscover.contoso.lab", qtype: dns.TypeA},
	// Autodiscover from an unknown client: the default set, one record,
	// first 4 times; netmask remote_only +4 (no record in the client's /24).
	{n: 4, network: "udp", src: unknownClient, name: "autodiscover.contoso.lab", qtype: dns.TypeA, check: firstIs("127.200.0.10")},
	// Over TCP from Frankfurt, in 127.12.1.0/24: its CAS first; local 2.
	{n: 2, network: "tcp", src: frankfurtClient, name: "affinityde.contoso.lab", qtype: dns.TypeA, check: firstIs("127.12.1.10")},
	// Two front ends of the OCS pool from Florida: 2 first each.
	{n: 4, network: "udp", src: floridaClient, name: "pool.contoso.lab", qtype: dns.TypeA},
	// Other qtypes and rcodes: AAAA with no data, SRV, MX, TXT (a wildcard),
	// a name that does not exist (NXDOMAIN), and a name outside every zone.
	{n: 1, network: "udp", src: floridaClient, name: "affinityus.contoso.lab", qtype: dns.TypeAAAA},
	{n: 2, network: "udp", src: chicagoClient, name: "_autodiscover._tcp.contoso.lab", qtype: dns.TypeSRV},
	{n: 1, network: "tcp", src: chicagoClient, name: "contoso.lab", qtype: dns.TypeMX},
	{n: 1, network: "udp", src: hamburgClient, name: "x.wild.contoso.lab", qtype: dns.TypeTXT},
	{n: 3, network: "udp", src: unknownClient, name: "nosuch.contoso.lab", qtype: dns.TypeA, rcode: dns.RcodeNameError},
	{n: 2, network: "udp", src: unknownClient, name: "example.org", qtype: dns.TypeA, rcode: dns.RcodeRefused},
	// A qtype outside the fixed list counts as other.
	{n: 1, network: "udp", src: unknownClient, name: "contoso.lab", qtype: dns.TypeCAA},
}

// TestMetricsGolden sends a fixed query sequence to the loopback lab and
// compares the deterministic part of /metrics (metrics.Stable) with
// testdata/metrics/loopback.golden.prom; go test ./e2e -run MetricsGolden
// -update rewrites it.
func TestMetricsGolden(t *testing.T) {
	// One UDP reader: the golden first-answer counts are one exact
	// rotation (each reader rotates on its own).
	in := start(t, "-config", testdata("config", "good", "loopback.toml"), "-udp-workers", "1")
	for _, s := range goldenSequence {
		for i := 0; i < s.n; i++ {
			r := in.query(t, s.network, s.src, newQuery(s.name, s.qtype))
			if r.Rcode != s.rcode {
				t.Fatalf("%s %s from %s: rcode %s, want %s", s.name, dns.TypeToString[s.qtype], s.src, dns.RcodeToString[r.Rcode], dns.RcodeToString[s.rcode])
			}
			if s.check != nil {
				s.check(t, r)
			}
		}
	}

	got := stableMetrics(t, in)
	if *update {
		if err := os.MkdirAll(filepath.Dir(metricsGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(metricsGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(metricsGolden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("/metrics differs from %s (-want +got):\n%s", metricsGolden, lineDiff(string(want), string(got)))
	}

	// The counts the sequence was designed to produce, spelled out so that a
	// wrong golden file cannot hide them.
	series := parseSeries(t, got)
	for _, c := range []struct {
		series string
		want   float64
	}{
		{`sitedns_answers_first_total{name="affinityus.contoso.lab.",scope="default",site="unknown",target="127.1.1.10",zone="contoso.lab."}`, 10},
		{`sitedns_answers_first_total{name="affinityus.contoso.lab.",scope="default",site="unknown",target="127.2.1.10",zone="contoso.lab."}`, 10},
		{`sitedns_answers_first_total{name="affinityus.contoso.lab.",scope="default",site="unknown",target="127.3.1.10",zone="contoso.lab."}`, 10},
		{`sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="US",site="US-Chicago",target="127.2.1.10",zone="contoso.lab."}`, 6},
		{`sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="US",site="US-Chicago",target="127.1.1.10",zone="contoso.lab."}`, 0},
		{`sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="DE",site="DE-Hamburg",target="127.11.1.10",zone="contoso.lab."}`, 3},
		{`sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="DE",site="DE-Hamburg",target="127.12.1.10",zone="contoso.lab."}`, 3},
		{`sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="DE",site="DE-Hamburg",target="127.13.1.10",zone="contoso.lab."}`, 3},
		{`sitedns_answers_first_total{name="autodiscover.contoso.lab.",scope="default",site="unknown",target="127.200.0.10",zone="contoso.lab."}`, 4},
		{`sitedns_answers_first_total{name="affinityde.contoso.lab.",scope="default",site="DE-Frankfurt",target="127.12.1.10",zone="contoso.lab."}`, 2},
		{`sitedns_netmask_matches_total{name="affinityus.contoso.lab.",result="remote_only",zone="contoso.lab."}`, 30},
		{`sitedns_netmask_matches_total{name="affinityus.contoso.lab.",result="local",zone="contoso.lab."}`, 0},
		{`sitedns_netmask_matches_total{name="autodiscover.contoso.lab.",result="local",zone="contoso.lab."}`, 6},
		{`sitedns_netmask_matches_total{name="autodiscover.contoso.lab.",result="remote_only",zone="contoso.lab."}`, 9 + 4},
		{`sitedns_answers_first_total{name="pool.contoso.lab.",scope="default",site="US-Florida",target="127.1.2.20",zone="contoso.lab."}`, 2},
		{`sitedns_answers_first_total{name="pool.contoso.lab.",scope="default",site="US-Florida",target="127.1.2.21",zone="contoso.lab."}`, 2},
		{`sitedns_netmask_matches_total{name="affinityde.contoso.lab.",result="local",zone="contoso.lab."}`, 2},
		// Queries for a name outside every zone (REFUSED) count toward no site.
		{`sitedns_site_queries_total{site="unknown"}`, 30 + 4 + 3 + 1},
		{`sitedns_site_queries_total{site="US-Chicago"}`, 6 + 2 + 1},
		{`sitedns_site_queries_total{site="DE-Hamburg"}`, 9 + 1},
		{`sitedns_site_queries_total{site="DE-Frankfurt"}`, 2},
		{`sitedns_site_queries_total{site="US-Florida"}`, 4 + 1},
		{`sitedns_queries_total{qtype="A",transport="tcp"}`, 2},
		{`sitedns_queries_total{qtype="other",transport="udp"}`, 1},
		{`sitedns_queries_total{qtype="MX",transport="tcp"}`, 1},
		{`sitedns_responses_total{rcode="NXDOMAIN"}`, 3},
		{`sitedns_responses_total{rcode="REFUSED"}`, 2},
		{`sitedns_config_reloads_total{result="success"}`, 0},
		{`sitedns_config_last_reload_successful`, 1},
		{`sitedns_zone_records{zone="contoso.lab."}`, 0}, // any value: present
		// The same CAS first to another site's clients: a series of its own.
		{`sitedns_answers_first_total{name="affinityus.contoso.lab.",scope="default",site="US-Chicago",target="127.1.1.10",zone="contoso.lab."}`, 0},
		{`sitedns_answer_first_share_expected{name="affinityus.contoso.lab.",scope="default",target="127.1.1.10",zone="contoso.lab."}`, 1.0 / 3},
		{`sitedns_answer_first_share_expected{name="autodiscover.contoso.lab.",scope="default",target="127.200.0.10",zone="contoso.lab."}`, 1},
		{`sitedns_answer_first_share_expected{name="pool.contoso.lab.",scope="default",target="127.1.2.21",zone="contoso.lab."}`, 0.5},
		{`sitedns_zone_serial{zone="contoso.lab."}`, 2026120101},
	} {
		v, ok := series[c.series]
		switch {
		case !ok:
			t.Errorf("%s: missing", c.series)
		case strings.HasPrefix(c.series, "sitedns_zone_records"):
		case v != c.want:
			t.Errorf("%s = %v, want %v", c.series, v, c.want)
		}
	}
	var total float64
	for _, s := range goldenSequence {
		total += float64(s.n)
	}
	var queries, responses float64
	for k, v := range series {
		switch {
		case strings.HasPrefix(k, "sitedns_queries_total{"):
			queries += v
		case strings.HasPrefix(k, "sitedns_responses_total{"):
			responses += v
		}
	}
	if queries != total || responses != total {
		t.Errorf("queries_total sums to %v and responses_total to %v, want %v each", queries, responses, total)
	}
}

// stableMetrics scrapes the instance's /metrics and returns its
// deterministic part, as metrics.Text with metrics.Stable prints it.
func stableMetrics(t *testing.T, in *instance) []byte {
	t.Helper()
	code, body := in.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: status %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		out := make([]*dto.MetricFamily, 0, len(fams))
		for _, mf := range fams {
			out = append(out, mf)
		}
		slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
		return out, nil
	})
	text, err := metrics.Text(g, metrics.Stable)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// parseSeries maps each sample line of a text exposition ("name{labels}")
// to its value.
func parseSeries(t *testing.T, text []byte) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+"="+strconv.Quote(lp.GetValue()))
			}
			slices.Sort(ls)
			key := name
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			var v float64
			switch {
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Untyped != nil:
				v = m.GetUntyped().GetValue()
			}
			out[key] = v
		}
	}
	return out
}

// lineDiff lists the lines only in want (-) or only in got (+).
func lineDiff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("-" + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+" + l + "\n")
		}
	}
	return b.String()
}
