package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

const (
	dashboardFile  = "../deploy/grafana/sitedns-dashboard.json"
	dashboardUID   = "sitedns-spread"
	dsInput        = "${DS_PROMETHEUS}"
	promConfig     = "../deploy/prometheus/prometheus.yml"
	promConfigDemo = "../deploy/prometheus/prometheus-compose.yml"
)

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashTarget struct {
	Datasource *dsRef `json:"datasource"`
	Expr       string `json:"expr"`
	RefID      string `json:"refId"`
}

type dashPanel struct {
	ID         int          `json:"id"`
	Type       string       `json:"type"`
	Title      string       `json:"title"`
	Datasource *dsRef       `json:"datasource"`
	Targets    []dashTarget `json:"targets"`
	Panels     []dashPanel  `json:"panels"` // of a collapsed row
}

type dashboard struct {
	Inputs []struct {
		Name, Type, PluginID string
	} `json:"__inputs"`
	UID        string      `json:"uid"`
	ID         any         `json:"id"`
	Title      string      `json:"title"`
	Panels     []dashPanel `json:"panels"`
	Templating struct {
		List []struct {
			Type       string `json:"type"`
			Name       string `json:"name"`
			Query      any    `json:"query"`
			Datasource *dsRef `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

// dashExpr is one PromQL expression of the dashboard and where it is.
type dashExpr struct {
	where, expr string
}

func loadDashboard(t *testing.T) (dashboard, []dashExpr) {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []dashExpr
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				exprs = append(exprs, dashExpr{fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), tg.Expr})
			}
		}
	}
	walk(d.Panels)
	return d, exprs
}

var (
	// selectorRE finds a metric name and its label matchers, if any.
	selectorRE = regexp.MustCompile(`\b(sitedns_[a-z0-9_]+)(\{[^}]*\})?`)
	varRE      = regexp.MustCompile(`\$\{?([A-Za-z0-9_]+)`)
	// metricLikeRE finds a name followed by "{": a selector of any metric.
	metricLikeRE = regexp.MustCompile(`([A-Za-z_:][A-Za-z0-9_:]*)\{`)
)

// exportedSeries returns every series name the registry exports once each
// counter has been bumped, with _bucket, _sum and _count for histograms.
func exportedSeries(t *testing.T) map[string]bool {
	t.Helper()
	mfs, err := testRegistry(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	// The health checker's series, which its own collector exports beside
	// the registry's when [[check]]s are configured.
	names := map[string]bool{"sitedns_target_up": true, "sitedns_check_failures_total": true}
	for _, mf := range mfs {
		n := mf.GetName()
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[n+"_sum"], names[n+"_count"], names[n] = true, true, true
		default:
			names[n] = true
		}
	}
	return names
}

// TestDashboardExprs checks the exported-for-sharing dashboard against the
// registry: its fixed uid, the DS_PROMETHEUS input on every panel and
// target, the job/instance selectors on every metric, and that every metric
// it queries is one sitedns exports (and every sitedns_ family is shown).
func TestDashboardExprs(t *testing.T) {
	d, exprs := loadDashboard(t)
	if d.UID != dashboardUID {
		t.Errorf("uid %q, want %q", d.UID, dashboardUID)
	}
	if d.ID != nil {
		t.Errorf("id %v, want null (exported for sharing)", d.ID)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v, want one prometheus datasource DS_PROMETHEUS", d.Inputs)
	}

	ids := map[int]bool{}
	var check func([]dashPanel)
	check = func(ps []dashPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			check(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != dsInput || p.Datasource.Type != "prometheus" {
				t.Errorf("panel %d %q: datasource %+v, want prometheus %s", p.ID, p.Title, p.Datasource, dsInput)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %d %q has no targets", p.ID, p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.UID != dsInput || tg.Datasource.Type != "prometheus" {
					t.Errorf("panel %d %q target %s: datasource %+v, want prometheus %s", p.ID, p.Title, tg.RefID, tg.Datasource, dsInput)
				}
			}
		}
	}
	check(d.Panels)

	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != dsInput) {
			t.Errorf("variable %s: datasource %+v, want %s", v.Name, v.Datasource, dsInput)
		}
		if v.Name == "job" || v.Name == "instance" {
			q, _ := v.Query.(string)
			if !strings.HasPrefix(q, "label_values(sitedns_build_info") || !strings.HasSuffix(q, ", "+v.Name+")") {
				t.Errorf("variable %s: query %v, want label_values(sitedns_build_info..., %s)", v.Name, v.Query, v.Name)
			}
		}
	}
	for _, v := range []string{"job", "instance", "zone", "name", "scope", "site"} {
		if vars[v] != "query" {
			t.Errorf("variables %v: want %s (query)", vars, v)
		}
	}
	if vars["DS_PROMETHEUS"] != "datasource" || vars["window"] != "interval" {
		t.Errorf("variables %v, want DS_PROMETHEUS (datasource) and window (interval)", vars)
	}

	exported := exportedSeries(t)
	used := map[string]bool{}
	if len(exprs) == 0 {
		t.Fatal("no expressions")
	}
	for _, e := range exprs {
		if strings.TrimSpace(e.expr) == "" {
			t.Errorf("%s: empty expr", e.where)
			continue
		}
		for _, m := range varRE.FindAllStringSubmatch(e.expr, -1) {
			switch m[1] {
			case "job", "instance", "zone", "name", "scope", "site", "window", "__rate_interval":
			default:
				t.Errorf("%s: variable $%s; only $job, $instance, $zone, $name, $scope, $site, $window and $__rate_interval are defined", e.where, m[1])
			}
		}
		for _, m := range metricLikeRE.FindAllStringSubmatch(e.expr, -1) {
			if !strings.HasPrefix(m[1], "sitedns_") {
				t.Errorf("%s: queries %s, not a sitedns metric", e.where, m[1])
			}
		}
		sels := selectorRE.FindAllStringSubmatch(e.expr, -1)
		if len(sels) == 0 {
			t.Errorf("%s: no sitedns_ metric in %q", e.where, e.expr)
		}
		for _, m := range sels {
			name, matchers := m[1], m[2]
			used[name] = true
			if !exported[name] {
				t.Errorf("%s: %s is not exported by the registry", e.where, name)
			}
			if !strings.Contains(matchers, `job=~"$job"`) || !strings.Contains(matchers, `instance=~"$instance"`) {
				t.Errorf("%s: %s%s lacks job=~\"$job\" and instance=~\"$instance\"", e.where, name, matchers)
			}
		}
	}
	// Every sitedns_ family has a panel.
	for name := range exported {
		if !strings.HasPrefix(name, "sitedns_") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			continue
		}
		if !used[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}

// promtool returns the path of promtool, skipping the test where it is
// missing (failing it under CI, which installs it).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found (Debian package prometheus)")
		}
		t.Skip("promtool not found (Debian package prometheus)")
	}
	return p
}

// expand substitutes the dashboard variables as Grafana would for "All".
func expand(expr string) string {
	return strings.NewReplacer("$__rate_interval", "1m", "$window", "1m", "$job", "sitedns", "$instance", ".*",
		"$zone", ".*", "$name", ".*", "$scope", ".*", "$site", ".*").Replace(expr)
}

// inputSeries turns what the registry exports after bumpAll into promtool
// input series for two scrapes' worth of minutes: counters grow by their
// value every 5s scrape, gauges stay.
func inputSeries(t *testing.T) []map[string]string {
	t.Helper()
	mfs, err := testRegistry(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	const scrapes = 60
	var out []map[string]string
	add := func(name string, labels []*dto.LabelPair, extra []string, v float64, growing bool) {
		var b strings.Builder
		b.WriteString(name)
		b.WriteString(`{job="sitedns",instance="127.0.0.1:9153"`)
		for _, lp := range labels {
			fmt.Fprintf(&b, ",%s=%s", lp.GetName(), strconv.Quote(lp.GetValue()))
		}
		for i := 0; i < len(extra); i += 2 {
			fmt.Fprintf(&b, ",%s=%s", extra[i], strconv.Quote(extra[i+1]))
		}
		b.WriteString("}")
		vs := strconv.FormatFloat(v, 'g', -1, 64)
		values := vs + "x" + strconv.Itoa(scrapes)
		if growing {
			values = "0+" + vs + "x" + strconv.Itoa(scrapes)
		}
		out = append(out, map[string]string{"series": b.String(), "values": values})
	}
	// What the health checker exports for one checked address.
	out = append(out,
		map[string]string{"series": `sitedns_target_up{job="sitedns",instance="127.0.0.1:9153",target="10.1.1.10",check="cas"}`, "values": "1x60"},
		map[string]string{"series": `sitedns_check_failures_total{job="sitedns",instance="127.0.0.1:9153",target="10.1.1.10",check="cas",reason="timeout"}`, "values": "0+1x60"},
	)
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "sitedns_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m.GetLabel(), nil, m.GetCounter().GetValue(), true)
			case dto.MetricType_GAUGE:
				add(name, m.GetLabel(), nil, m.GetGauge().GetValue(), false)
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					add(name+"_bucket", m.GetLabel(), []string{"le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)}, float64(b.GetCumulativeCount()), true)
				}
				add(name+"_bucket", m.GetLabel(), []string{"le", "+Inf"}, float64(h.GetSampleCount()), true)
				add(name+"_sum", m.GetLabel(), nil, h.GetSampleSum(), true)
				add(name+"_count", m.GetLabel(), nil, float64(h.GetSampleCount()), true)
			}
		}
	}
	return out
}

// TestDashboardPromQL evaluates every dashboard expression with promtool
// (the Prometheus engine) over series shaped like what sitedns exports, and
// requires each to return data; two are checked for their value.
func TestDashboardPromQL(t *testing.T) {
	tool := promtool(t)
	_, exprs := loadDashboard(t)
	type sample struct {
		Labels string  `json:"labels"`
		Value  float64 `json:"value"`
	}
	type exprTest struct {
		Expr       string   `json:"expr"`
		EvalTime   string   `json:"eval_time"`
		ExpSamples []sample `json:"exp_samples"`
	}
	var tests []exprTest
	fairness, localRatio := "", ""
	for _, e := range exprs {
		x := expand(e.expr)
		// absent() of an expression is empty exactly when the expression
		// returns something.
		tests = append(tests, exprTest{Expr: "absent(" + x + ")", EvalTime: "4m", ExpSamples: []sample{}})
		switch {
		case strings.Contains(e.expr, "max by (zone, name, scope)"):
			fairness = x
		case strings.Contains(e.expr, `result="local"`):
			localRatio = x
		}
	}
	if fairness == "" || localRatio == "" {
		t.Fatal("no fairness or netmask ratio expression in the dashboard")
	}
	// testSnapshot: US targets were first 1 and 7 times a scrape (48 a
	// minute on average, enough to judge), default 2 (24 a minute: too few,
	// no value); netmask 1 local, 4 remote_only.
	tests = append(tests,
		exprTest{Expr: "round(" + fairness + ", 0.001)", EvalTime: "4m", ExpSamples: []sample{
			{Labels: `{name="autodiscover.contoso.lab.", scope="US", zone="contoso.lab."}`, Value: 7},
		}},
		exprTest{Expr: "round(" + localRatio + ", 0.001)", EvalTime: "4m", ExpSamples: []sample{
			{Labels: `{name="affinityus.contoso.lab.", zone="contoso.lab."}`, Value: 0.2},
		}},
	)
	file := map[string]any{
		"rule_files":          []string{},
		"evaluation_interval": "5s",
		"tests": []map[string]any{{
			"interval":         "5s",
			"input_series":     inputSeries(t),
			"promql_expr_test": tests,
		}},
	}
	raw, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard_test.yml")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "test", "rules", path).CombinedOutput()
	if err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// TestPrometheusConfigs checks both scrape configs with promtool and that
// they differ only in the target.
func TestPrometheusConfigs(t *testing.T) {
	strip := func(path, target string) string {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, l := range strings.Split(string(raw), "\n") {
			if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
				keep = append(keep, l)
			}
		}
		s := strings.Join(keep, "\n")
		if !strings.Contains(s, `targets: ["`+target+`"]`) {
			t.Errorf("%s: no target %s", path, target)
		}
		return strings.Replace(s, target, "TARGET", 1)
	}
	local, compose := strip(promConfig, "127.0.0.1:9153"), strip(promConfigDemo, "sitedns:9153")
	if local != compose {
		t.Errorf("%s and %s differ beyond the target:\n%s\n---\n%s", promConfig, promConfigDemo, local, compose)
	}
	for _, want := range []string{"job_name: sitedns", "scrape_interval: 5s"} {
		if !strings.Contains(local, want) {
			t.Errorf("%s lacks %q", promConfig, want)
		}
	}
	tool := promtool(t)
	files := []string{promConfig, promConfigDemo}
	sort.Strings(files)
	out, err := exec.Command(tool, append([]string{"check", "config", "--syntax-only"}, files...)...).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}
