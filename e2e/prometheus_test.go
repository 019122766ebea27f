package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"sigs.k8s.io/yaml"

	"github.com/sitedns/sitedns/deploy/grafana"
)

const (
	dashboardPath  = "../deploy/grafana/sitedns-dashboard.json"
	promConfigPath = "../deploy/prometheus/prometheus.yml"

	// scrapeInterval is the test Prometheus's scrape interval; Grafana's
	// $__rate_interval for it, at a 1s step, is max(1s+1s, 4×1s) = 4s.
	scrapeInterval = time.Second
	rateInterval   = 4 * scrapeInterval
	// window is the dashboard's $window (its default): the spread panels'
	// rate window.
	window = time.Minute
	// loadFor is how long the query load runs: a spread window and a
	// quarter, so that the share and fairness panels are judged over more
	// than a whole window of load.
	loadFor = window + window/4
	// shareTolerance is how far, in percentage points, the share panel may
	// be from the expected share after a window of load.
	shareTolerance = 2.0
)

// dashQuery is one query of the dashboard: a panel target's PromQL, or a
// template variable's label_values(selector, label).
type dashQuery struct {
	where  string
	expr   string // PromQL, or the selector of label_values
	legend string // the target's legendFormat
	label  string // label_values: the label
}

var labelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)

// dashboardQueries extracts every query of the dashboard JSON: the expr of
// every panel target (rows' nested panels included) and every query
// variable.
func dashboardQueries(t *testing.T) []dashQuery {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	type panel struct {
		ID      int               `json:"id"`
		Title   string            `json:"title"`
		Panels  []json.RawMessage `json:"panels"`
		Targets []struct {
			RefID        string `json:"refId"`
			Expr         string `json:"expr"`
			LegendFormat string `json:"legendFormat"`
		} `json:"targets"`
	}
	var out []dashQuery
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, r := range ps {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatal(err)
			}
			walk(p.Panels)
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("panel %d %q target %s: no expr", p.ID, p.Title, tg.RefID)
					continue
				}
				out = append(out, dashQuery{
					where:  fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID),
					expr:   tg.Expr,
					legend: tg.LegendFormat,
				})
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		m := labelValuesRE.FindStringSubmatch(strings.TrimSpace(q))
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q)
			continue
		}
		out = append(out, dashQuery{where: "variable " + v.Name, expr: m[1], label: m[2]})
	}
	return out
}

// grafanaVars substitutes the dashboard's variables as Grafana does for one
// selected value of a multi-value variable used in a =~ matcher: the value
// regexp-escaped, inside a PromQL string (so each backslash doubled).
type grafanaVars map[string]string

var varRE = regexp.MustCompile(`\$\{?([A-Za-z0-9_]+)\}?`)

func (vs grafanaVars) expand(t *testing.T, where, expr string) string {
	t.Helper()
	return varRE.ReplaceAllStringFunc(expr, func(m string) string {
		name := varRE.FindStringSubmatch(m)[1]
		v, ok := vs[name]
		if !ok {
			t.Errorf("%s: unknown variable $%s in %s", where, name, expr)
			return m
		}
		return v
	})
}

// promSample is one series of an instant query's result.
type promSample struct {
	Metric map[string]string
	Value  float64
}

func (s promSample) String() string {
	var ls []string
	for k, v := range s.Metric {
		ls = append(ls, k+"="+strconv.Quote(v))
	}
	sort.Strings(ls)
	return "{" + strings.Join(ls, ",") + "} " + strconv.FormatFloat(s.Value, 'g', 6, 64)
}

// promServer is one running Prometheus.
type promServer struct {
	addr string
}

func (p *promServer) api(t *testing.T, path string, params url.Values) json.RawMessage {
	t.Helper()
	resp, err := httpClient.Get("http://" + p.addr + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r.Status != "success" {
		t.Fatalf("%s %v: %s", path, params, r.Error)
	}
	return r.Data
}

// query evaluates expr at time at and returns its samples (a scalar as one
// sample without labels).
func (p *promServer) query(t *testing.T, expr string, at time.Time) []promSample {
	t.Helper()
	params := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1e3, 'f', 3, 64)}}
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(p.api(t, "/api/v1/query", params), &d); err != nil {
		t.Fatal(err)
	}
	parse := func(v [2]any) float64 {
		s, _ := v[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%s: value %v: %v", expr, v, err)
		}
		return f
	}
	switch d.ResultType {
	case "vector":
		var vs []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(d.Result, &vs); err != nil {
			t.Fatal(err)
		}
		out := make([]promSample, len(vs))
		for i, v := range vs {
			out[i] = promSample{v.Metric, parse(v.Value)}
		}
		return out
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(d.Result, &v); err != nil {
			t.Fatal(err)
		}
		return []promSample{{map[string]string{}, parse(v)}}
	}
	t.Fatalf("%s: result type %s", expr, d.ResultType)
	return nil
}

// waitScrape waits up to limit until the newest value of tsExpr (the
// timestamp of a scraped series) is at or after after.
func (p *promServer) waitScrape(t *testing.T, tsExpr string, after time.Time, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); ; {
		s := p.query(t, tsExpr, time.Now())
		if len(s) == 1 && s[0].Value >= float64(after.UnixMilli())/1e3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scrape after %v within %v: %s = %v", after.Format(time.RFC3339Nano), limit, tsExpr, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promRulesPath is the recording and alerting rules every test Prometheus
// loads.
const promRulesPath = "../deploy/prometheus/sitedns-rules.yml"

// startPrometheus runs prometheus with a config scraping targets as job,
// every scrapeInterval, and evaluating deploy/prometheus/sitedns-rules.yml
// as often, storing in a temp dir, and waits until it is ready.
func startPrometheus(t *testing.T, bin, job string, targets ...string) *promServer {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs(promRulesPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  evaluation_interval: %[1]s
rule_files: [%[4]q]
scrape_configs:
  - job_name: %[2]q
    scrape_interval: %[1]s
    scrape_timeout: %[1]s
    static_configs:
      - targets: [%[3]s]
`, scrapeInterval, job, quoteList(targets), rules)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// A free port: bind, note, release. Another process could take it in
	// between; then Prometheus exits and the test says so.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	var logBuf lockedBuffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logBuf.String())
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := httpClient.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &promServer{addr: addr}
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited before it was ready:\n%s", logBuf.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 20s:\n%s", logBuf.String())
		}
	}
}

// quoteList is ss as the items of a YAML flow sequence.
func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loadClient is one source of the query load: a client address and the
// queries it sends in turn, one at a time.
type loadClient struct {
	src     string
	network string
	queries []*dns.Msg
}

// The load of TestDashboardOnPrometheus, one sequential client each, so that
// a rotating name's first answers rotate strictly:
//   - unknownClient asks affinityus (no site, in no CAS's /24): the three US
//     CAS first in turn; netmask remote_only; site unknown.
//   - chicagoClient asks autodiscover (scope US, in 127.2.1.0/24): its own
//     CAS first every time; netmask local only.
//   - hamburgClient asks affinityde (in no CAS's /24): the three DE CAS in
//     turn; netmask remote_only.
//   - frankfurtClient asks pool over TCP: the two front ends in turn.
//   - floridaClient asks an SRV, a TXT and a name that does not exist.
var dashboardLoad = []loadClient{
	{unknownClient, "udp", []*dns.Msg{newQuery("affinityus.contoso.lab", dns.TypeA)}},
	{chicagoClient, "udp", []*dns.Msg{newQuery("autodiscover.contoso.lab", dns.TypeA)}},
	{hamburgClient, "udp", []*dns.Msg{newQuery("affinityde.contoso.lab", dns.TypeA)}},
	{frankfurtClient, "tcp", []*dns.Msg{newQuery("pool.contoso.lab", dns.TypeA)}},
	{floridaClient, "udp", []*dns.Msg{
		newQuery("_sip._tls.contoso.lab", dns.TypeSRV),
		newQuery("x.wild.contoso.lab", dns.TypeTXT),
		newQuery("nosuch.contoso.lab", dns.TypeA),
	}},
}

// TestDashboardOnPrometheus starts sitedns on the loopback lab and a second
// sitedns on the windows2000 lab, and a real Prometheus scraping both every
// second; sends a bounded query load from clients in several sites for a
// spread window and a quarter, reloads once, and evaluates every query of
// the Grafana dashboard (taken from its JSON, with its variables substituted
// as Grafana would) through Prometheus's HTTP API, checking the shape and
// the values of each result. Then, over the whole last part of the load: the
// share panel is within shareTolerance of the expected share, the fairness
// panels stay green for the rotating names of the loopback lab, and they are
// red for the windows2000 server, which never rotates. It takes about 90 s.
func TestDashboardOnPrometheus(t *testing.T) {
	bin := need(t, "prometheus")

	var promCfg struct {
		ScrapeConfigs []struct {
			JobName string `json:"job_name"`
		} `json:"scrape_configs"`
	}
	raw, err := os.ReadFile(promConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &promCfg); err != nil {
		t.Fatalf("%s: %v", promConfigPath, err)
	}
	if len(promCfg.ScrapeConfigs) == 0 || promCfg.ScrapeConfigs[0].JobName == "" {
		t.Fatalf("%s: no scrape config with a job_name", promConfigPath)
	}
	job := promCfg.ScrapeConfigs[0].JobName

	queries := dashboardQueries(t)
	if len(queries) == 0 {
		t.Fatal("no queries in the dashboard")
	}

	// One UDP reader, so that each client's first answers rotate strictly
	// (each reader rotates on its own).
	in := start(t, "-config", testdata("config", "good", "loopback.toml"), "-enable-http-reload", "-udp-workers", "1")
	w2k := start(t, "-config", testdata("config", "good", "windows2000.toml"))
	checked := startChecked(t)
	prom := startPrometheus(t, bin, job, in.Metrics, w2k.Metrics, checked.Metrics)
	// Prometheus hands its first targets to the scraper only after its
	// discovery delay (5s): wait for the first scrape before the load.
	upExpr := func(inst string) string { return fmt.Sprintf(`timestamp(up{job=%q,instance=%q})`, job, inst) }
	for _, inst := range []*instance{in, w2k, checked} {
		prom.waitScrape(t, upExpr(inst.Metrics), time.Now().Add(-time.Minute), 15*time.Second)
	}

	// The load, until loadFor has passed; one reload in the last rate
	// window. The windows2000 server gets one client in no site.
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	type target struct {
		in *instance
		c  loadClient
	}
	load := []target{{w2k, loadClient{unknownClient, "udp", []*dns.Msg{newQuery("affinityus.contoso.lab", dns.TypeA)}}}}
	for _, c := range dashboardLoad {
		load = append(load, target{in, c})
	}
	for _, l := range load {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := l.in.exchange(l.c.network, l.c.src, l.c.queries[i%len(l.c.queries)]); err != nil {
					failed.Add(1)
					continue
				}
				sent.Add(1)
			}
		}()
	}
	began := time.Now()
	time.Sleep(loadFor - rateInterval/2)
	if code := in.reload(t); code != http.StatusOK {
		t.Errorf("POST /-/reload: status %d", code)
	}
	// A compile on a loaded machine (it runs at nice 10) can take seconds:
	// the load goes on until a scrape after the reload is in the window.
	reloaded := time.Now()
	time.Sleep(time.Until(began.Add(loadFor)))
	if d := time.Until(reloaded.Add(2 * scrapeInterval)); d > 0 {
		time.Sleep(d)
	}
	end := time.Now()
	close(stop)
	wg.Wait()
	t.Logf("load: %d queries in %v (%d failed)", sent.Load(), end.Sub(began).Round(time.Millisecond), failed.Load())
	if failed.Load() > sent.Load()/100 {
		t.Errorf("%d of %d queries failed", failed.Load(), sent.Load()+failed.Load())
	}

	// Evaluate at the end of the load, once Prometheus holds a scrape from
	// after it: every sample in the rate window was taken under load.
	at := end.Add(-scrapeInterval / 2)
	for _, inst := range []*instance{in, w2k, checked} {
		prom.waitScrape(t, upExpr(inst.Metrics), end, 10*time.Second)
	}
	if s := prom.query(t, fmt.Sprintf(`up{job=%q} == 1`, job), at); len(s) != 3 {
		t.Fatalf("up = %v, want 1 for all three: Prometheus does not scrape sitedns", s)
	}

	// As Grafana would substitute them: one job and one instance selected,
	// All for zone, name, scope and site, $window at its default, and
	// $__rate_interval for a 1s step over a 1s scrape interval.
	vars := grafanaVars{
		"job":             promRegexValue(job),
		"instance":        promRegexValue(in.Metrics),
		"zone":            ".*",
		"name":            ".*",
		"scope":           ".*",
		"site":            ".*",
		"window":          window.String(),
		"__rate_interval": rateInterval.String(),
		"__interval":      scrapeInterval.String(),
	}
	// What each variable must offer: the label of a series the load made.
	varWant := map[string]string{
		"job": job, "instance": in.Metrics, "zone": zoneLabel,
		"name": "affinityus.contoso.lab.", "scope": "US", "site": "US-Chicago",
	}

	// The health panels show the health-checked server.
	healthVars := maps.Clone(vars)
	healthVars["instance"] = promRegexValue(checked.Metrics)

	ev := &dashEval{t: t, job: job, instance: in.Metrics}
	matched := map[string]bool{}
	for _, q := range queries {
		expr := vars.expand(t, q.where, q.expr)
		if strings.Contains(q.expr, "sitedns_target_up") || strings.Contains(q.expr, "sitedns_check_") {
			expr = healthVars.expand(t, q.where, q.expr)
		}
		if q.label != "" {
			// label_values(selector, label): Grafana asks the series API.
			data := prom.api(t, "/api/v1/series", url.Values{
				"match[]": {expr},
				"start":   {strconv.FormatInt(began.Unix(), 10)},
				"end":     {strconv.FormatInt(end.Unix()+1, 10)},
			})
			var series []map[string]string
			if err := json.Unmarshal(data, &series); err != nil {
				t.Fatal(err)
			}
			want, ok := varWant[q.label]
			if !ok {
				t.Errorf("%s: no expectation for label_values(…, %s)", q.where, q.label)
				continue
			}
			found := false
			for _, s := range series {
				found = found || s[q.label] == want
			}
			if !found {
				t.Errorf("%s: label_values(%s, %s) lacks %q: %v", q.where, expr, q.label, want, series)
			}
			continue
		}
		samples := prom.query(t, expr, at)
		t.Logf("%s: %s\n    %v", q.where, expr, samples)
		if len(samples) == 0 {
			t.Errorf("%s: %s: no data", q.where, expr)
			continue
		}
		// Every label the legend names is in every series.
		for _, m := range regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`).FindAllStringSubmatch(q.legend, -1) {
			for _, s := range samples {
				if _, ok := s.Metric[m[1]]; !ok {
					t.Errorf("%s: legend %q names %s, missing from %v", q.where, q.legend, m[1], s)
				}
			}
		}
		c := ev.checkFor(q.expr)
		if c == nil {
			t.Errorf("%s: no expectation for %s; add one to dashEval.checks", q.where, q.expr)
			continue
		}
		matched[c.name] = true
		c.check(ev, q.where, samples)
	}
	for _, c := range dashChecks {
		if !matched[c.name] {
			t.Errorf("no dashboard query matched check %q: the dashboard lost a panel, or its query changed shape", c.name)
		}
	}

	// Over the load's last part, once a whole window of load lies behind
	// each point: share and fairness at every step.
	from, to := began.Add(window+2*scrapeInterval), end.Add(-scrapeInterval)
	spread := spreadExprs(t, queries)
	checkShareOverTime(t, prom, vars.expand(t, "share", spread.share), vars.expand(t, "expected", spread.expected), from, to)
	for _, f := range []struct {
		what, expr string
		red        float64
	}{{"max/min", spread.ratio, grafana.FairRatioRed}, {"deviation", spread.cv, grafana.FairCVRed}} {
		green := prom.queryRange(t, vars.expand(t, f.what, f.expr), from, to)
		for _, n := range []string{"affinityus.contoso.lab.", "affinityde.contoso.lab.", "pool.contoso.lab."} {
			pts := findRange(green, "name", n, "scope", "default")
			if len(pts) != 1 {
				t.Errorf("fairness %s: %d series for %s, want 1", f.what, len(pts), n)
				continue
			}
			if len(pts[0].Values) < int((to.Sub(from))/scrapeInterval)/2 {
				t.Errorf("fairness %s of %s: %d points from %v to %v", f.what, n, len(pts[0].Values), from, to)
			}
			for _, v := range pts[0].Values {
				if !(v < f.red) {
					t.Errorf("fairness %s of %s: %v, not green (under %v) under perfect rotation", f.what, n, v, f.red)
					break
				}
			}
		}
		w2kVars := maps.Clone(vars)
		w2kVars["instance"] = promRegexValue(w2k.Metrics)
		red := prom.queryRange(t, w2kVars.expand(t, f.what, f.expr), from, to)
		pts := findRange(red, "name", "affinityus.contoso.lab.", "scope", "default")
		if len(pts) != 1 || len(pts[0].Values) == 0 {
			t.Errorf("fairness %s of the windows2000 server: %v, want one series", f.what, red)
			continue
		}
		for _, v := range pts[0].Values {
			if !(v >= f.red) {
				t.Errorf("fairness %s of the windows2000 server: %v, want red (%v or more)", f.what, v, f.red)
				break
			}
		}
	}

	// Every server selected: three configs served, which the replicas
	// panel and SitednsReplicasConfigDiverged report.
	all := maps.Clone(vars)
	all["instance"] = ".*"
	if s := prom.query(t, all.expand(t, "configs served", `count(count by (hash) (sitedns_config_info{job=~"$job",instance=~"$instance"}))`), at); len(s) != 1 || s[0].Value != 3 {
		t.Errorf("configs served by the three servers: %v, want 3", s)
	}

	// The rules of deploy/prometheus, evaluated on the same data: the
	// replicas diverged, so SitednsReplicasConfigDiverged is pending (it
	// fires after 10 minutes); no reload failed; the recording rules hold
	// the share of queries from no site and the first answers per target.
	checkRules(t, prom, job, at)
}

// checkRules checks what sitedns-rules.yml made of the load of
// TestDashboardOnPrometheus.
func checkRules(t *testing.T, prom *promServer, job string, at time.Time) {
	t.Helper()
	alerts := prom.query(t, `ALERTS`, at)
	t.Logf("ALERTS: %v", alerts)
	if a := find(alerts, "alertname", "SitednsReplicasConfigDiverged", "job", job); len(a) != 1 || a[0].Metric["alertstate"] != "pending" {
		t.Errorf("SitednsReplicasConfigDiverged: %v, want one pending", a)
	}
	if a := find(alerts, "alertname", "SitednsConfigReloadFailing"); len(a) != 0 {
		t.Errorf("SitednsConfigReloadFailing: %v, want none", a)
	}
	if s := prom.query(t, `sitedns:site_queries_unknown:ratio_rate5m`, at); len(s) != 1 || !(s[0].Value > 0 && s[0].Value < 1) {
		t.Errorf("sitedns:site_queries_unknown:ratio_rate5m = %v, want one value in (0, 1)", s)
	}
	share := prom.query(t, `sitedns:answer_first_share:ratio_rate5m{name="pool.contoso.lab."}`, at)
	for _, tg := range []string{"127.1.2.20", "127.1.2.21"} {
		// Only the loopback lab serves pool from 127.1.2.x: half each.
		if v, ok := (&dashEval{t: t}).one("sitedns:answer_first_share:ratio_rate5m", share, "target", tg); ok && math.Abs(v-0.5) > shareTolerance/100 {
			t.Errorf("sitedns:answer_first_share:ratio_rate5m of pool %s = %v, want 0.5", tg, v)
		}
	}
}

// Health-checked CAS of startChecked: upCAS answers its check, downCAS
// refuses it.
const (
	upCAS   = "127.1.1.10"
	downCAS = "127.2.1.10"
)

// startChecked starts a sitedns whose one name has two addresses under a
// TCP [[check]] probed every 500ms: a listener on upCAS answers it, nothing
// listens on downCAS, so one is up and the other down (after three refused
// probes; a loaded machine may time a probe of upCAS out now and then).
func startChecked(t *testing.T) *instance {
	t.Helper()
	port := casListeners(t, upCAS)
	cfg := fmt.Sprintf(`[[check]]
name = "cas"
type = "tcp"
port = %d
interval = "500ms"
timeout = "500ms"
rise = 1
fall = 3

[[zone]]
origin = "contoso.lab"
records = ["@ 3600 IN SOA ns1.contoso.lab. hostmaster.contoso.lab. 1 3600 600 86400 300", "@ 3600 IN NS ns1.contoso.lab.", "ns1 3600 IN A 127.1.1.53"]

[[zone.name]]
name = "mail"
check = "cas"
records = ["300 IN A %s", "300 IN A %s"]
`, port, upCAS, downCAS)
	path := filepath.Join(t.TempDir(), "checked.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return start(t, "-config", path)
}

// spread holds the spread panels' expressions, as the dashboard JSON has them.
type spread struct{ share, expected, ratio, cv string }

// spreadExprs finds the share, expected-share and fairness expressions among
// the dashboard's queries: they must be those package grafana exports.
func spreadExprs(t *testing.T, qs []dashQuery) spread {
	t.Helper()
	var s spread
	for _, q := range qs {
		switch q.expr {
		case grafana.ShareExpr:
			s.share = q.expr
		case grafana.ExpectedExpr:
			s.expected = q.expr
		case grafana.FairRatioExpr:
			s.ratio = q.expr
		case grafana.FairCVExpr:
			s.cv = q.expr
		}
	}
	if s.share == "" || s.expected == "" || s.ratio == "" || s.cv == "" {
		t.Fatalf("the dashboard lacks a spread expression of package grafana: %+v", s)
	}
	return s
}

// checkShareOverTime checks the share panel against its expected-share line
// at every step from from to to: within shareTolerance for every target of
// a set the load asked from outside its records' networks, and 100 / 0 for
// autodiscover's US set, which netmask ordering pins to Chicago's CAS.
func checkShareOverTime(t *testing.T, prom *promServer, shareExpr, expectedExpr string, from, to time.Time) {
	t.Helper()
	shares := prom.queryRange(t, shareExpr, from, to)
	expected := prom.query(t, expectedExpr, to)
	key := func(m map[string]string) string { return m["name"] + " " + m["scope"] + " " + m["target"] }
	want := map[string]float64{}
	for _, e := range expected {
		want[key(e.Metric)] = e.Value
	}
	pinned := map[string]float64{
		"autodiscover.contoso.lab. US 127.1.1.10": 0,
		"autodiscover.contoso.lab. US 127.2.1.10": 100,
		"autodiscover.contoso.lab. US 127.3.1.10": 0,
	}
	loaded := map[string]bool{}
	for _, s := range shares {
		k := key(s.Metric)
		exp, ok := want[k]
		if p, pin := pinned[k]; pin {
			exp, ok = p, true
		}
		if !ok {
			t.Errorf("share of %s: no expected share", k)
			continue
		}
		for _, v := range s.Values {
			if math.IsNaN(v) {
				continue // a set nobody asked for: 0/0
			}
			loaded[s.Metric["name"]] = true
			if math.Abs(v-exp) > shareTolerance {
				t.Errorf("share of %s: %.2f%%, expected %.2f%% ± %v", k, v, exp, shareTolerance)
				break
			}
		}
	}
	for _, n := range []string{"affinityus.contoso.lab.", "affinityde.contoso.lab.", "pool.contoso.lab.", "autodiscover.contoso.lab."} {
		if !loaded[n] {
			t.Errorf("share of %s: no value over the load", n)
		}
	}
	// The expected shares of the demo's sets, from the config.
	for k, v := range map[string]float64{
		"affinityus.contoso.lab. default 127.1.1.10":     100.0 / 3,
		"autodiscover.contoso.lab. DE 127.12.1.10":       100.0 / 3,
		"pool.contoso.lab. default 127.1.2.21":           50,
		"autodiscover.contoso.lab. default 127.200.0.10": 100,
	} {
		if math.Abs(want[k]-v) > 1e-9 {
			t.Errorf("expected share of %s: %v, want %v", k, want[k], v)
		}
	}
}

// rangeSeries is one series of a range query's result.
type rangeSeries struct {
	Metric map[string]string
	Values []float64
}

// queryRange evaluates expr at every scrape interval from from to to.
func (p *promServer) queryRange(t *testing.T, expr string, from, to time.Time) []rangeSeries {
	t.Helper()
	ts := func(x time.Time) string { return strconv.FormatFloat(float64(x.UnixMilli())/1e3, 'f', 3, 64) }
	params := url.Values{"query": {expr}, "start": {ts(from)}, "end": {ts(to)}, "step": {scrapeInterval.String()}}
	var d struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(p.api(t, "/api/v1/query_range", params), &d); err != nil {
		t.Fatal(err)
	}
	var out []rangeSeries
	for _, r := range d.Result {
		rs := rangeSeries{Metric: r.Metric}
		for _, v := range r.Values {
			s, _ := v[1].(string)
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s: value %v: %v", expr, v, err)
			}
			rs.Values = append(rs.Values, f)
		}
		out = append(out, rs)
	}
	return out
}

// promRegexValue is v as Grafana puts one selected value of a variable into
// a =~ matcher: regexp-escaped, in a PromQL double-quoted string.
func promRegexValue(v string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(v), `\`, `\\`)
}

// dashEval holds what the checks of the dashboard's results need.
type dashEval struct {
	t             *testing.T
	job, instance string
}

// dashCheck recognises a dashboard query by its metric and grouping and
// checks its result.
type dashCheck struct {
	name  string
	match *regexp.Regexp
	check func(ev *dashEval, where string, s []promSample)
}

func (ev *dashEval) checkFor(expr string) *dashCheck {
	for i := range dashChecks {
		if dashChecks[i].match.MatchString(expr) {
			return &dashChecks[i]
		}
	}
	return nil
}

// labels checks that every sample has exactly the label names want.
func (ev *dashEval) labels(where string, s []promSample, want ...string) {
	ev.t.Helper()
	sort.Strings(want)
	for _, x := range s {
		var got []string
		for k := range x.Metric {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			ev.t.Errorf("%s: labels %v, want %v", where, got, want)
			return
		}
	}
}

// find returns the samples whose labels include every pair of kv.
func find(s []promSample, kv ...string) []promSample {
	var out []promSample
next:
	for _, x := range s {
		for i := 0; i+1 < len(kv); i += 2 {
			if x.Metric[kv[i]] != kv[i+1] {
				continue next
			}
		}
		out = append(out, x)
	}
	return out
}

// findRange is find for the series of a range query.
func findRange(s []rangeSeries, kv ...string) []rangeSeries {
	var out []rangeSeries
next:
	for _, x := range s {
		for i := 0; i+1 < len(kv); i += 2 {
			if x.Metric[kv[i]] != kv[i+1] {
				continue next
			}
		}
		out = append(out, x)
	}
	return out
}

// one returns the single sample matching kv, failing otherwise.
func (ev *dashEval) one(where string, s []promSample, kv ...string) (float64, bool) {
	ev.t.Helper()
	f := find(s, kv...)
	if len(f) != 1 {
		ev.t.Errorf("%s: %d series with %v, want 1 in %v", where, len(f), kv, s)
		return 0, false
	}
	return f[0].Value, true
}

func (ev *dashEval) near(where, what string, got, want, tol float64) {
	ev.t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		ev.t.Errorf("%s: %s = %v, want %v ± %v", where, what, got, want, tol)
	}
}

func (ev *dashEval) positive(where, what string, got float64) {
	ev.t.Helper()
	if !(got > 0) || math.IsInf(got, 0) {
		ev.t.Errorf("%s: %s = %v, want a positive finite value", where, what, got)
	}
}

const zoneLabel = "contoso.lab." // the zone label: the origin, fully qualified

// exactly matches expr and nothing else.
func exactly(expr string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(expr) + `$`)
}

// shares checks the share, in percent, of each of targets of one name and
// scope: want within shareTolerance.
func (ev *dashEval) shares(where string, s []promSample, name, scope string, want float64, targets ...string) {
	ev.t.Helper()
	for _, tg := range targets {
		if v, ok := ev.one(where, s, "name", name, "scope", scope, "target", tg); ok {
			ev.near(where, "share of "+name+" "+scope+" "+tg, v, want, shareTolerance)
		}
	}
}

// equalRates checks that the first-answer rates of the targets of one name
// and scope are positive and equal within 5%.
func (ev *dashEval) equalRates(where string, s []promSample, name, scope string, targets ...string) {
	ev.t.Helper()
	var rates []float64
	for _, tg := range targets {
		if v, ok := ev.one(where, s, "name", name, "scope", scope, "target", tg); ok {
			ev.positive(where, name+" "+tg, v)
			rates = append(rates, v)
		}
	}
	if len(rates) != len(targets) {
		return
	}
	lo, hi := rates[0], rates[0]
	for _, r := range rates {
		lo, hi = min(lo, r), max(hi, r)
	}
	if hi > lo*1.05 {
		ev.t.Errorf("%s: first-answer rates of %s %s %v differ by more than 5%%: %v", where, name, scope, targets, rates)
	}
}

// dashChecks are the expectations for each kind of dashboard query, under
// dashboardLoad. Each query must match one; each check must match a query.
var dashChecks = []dashCheck{
	{
		name:  "answers first per CAS",
		match: regexp.MustCompile(`^sum by \(name, scope, target\) \(rate\(sitedns_answers_first_total\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "name", "scope", "target")
			ev.equalRates(where, s, "affinityus.contoso.lab.", "default", usCAS...)
			ev.equalRates(where, s, "affinityde.contoso.lab.", "default", deCAS...)
			ev.equalRates(where, s, "pool.contoso.lab.", "default", "127.1.2.20", "127.1.2.21")
			// Chicago's own CAS is first every time; the other two never.
			if v, ok := ev.one(where, s, "name", "autodiscover.contoso.lab.", "scope", "US", "target", "127.2.1.10"); ok {
				ev.positive(where, "autodiscover US 127.2.1.10", v)
			}
			for _, tg := range []string{"127.1.1.10", "127.3.1.10"} {
				if v, ok := ev.one(where, s, "name", "autodiscover.contoso.lab.", "scope", "US", "target", tg); ok && v != 0 {
					ev.t.Errorf("%s: autodiscover US %s first at %v/s, want 0", where, tg, v)
				}
			}
		},
	},
	{
		name:  "share per CAS",
		match: exactly(grafana.ShareExpr),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "zone", "name", "scope", "target")
			ev.shares(where, s, "affinityus.contoso.lab.", "default", 100.0/3, usCAS...)
			ev.shares(where, s, "affinityde.contoso.lab.", "default", 100.0/3, deCAS...)
			ev.shares(where, s, "pool.contoso.lab.", "default", 50, "127.1.2.20", "127.1.2.21")
			ev.shares(where, s, "autodiscover.contoso.lab.", "US", 100, "127.2.1.10")
			ev.shares(where, s, "autodiscover.contoso.lab.", "US", 0, "127.1.1.10", "127.3.1.10")
		},
	},
	{
		name:  "expected share",
		match: exactly(grafana.ExpectedExpr),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "zone", "name", "scope", "target")
			for _, tg := range usCAS {
				if v, ok := ev.one(where, s, "name", "affinityus.contoso.lab.", "scope", "default", "target", tg); ok {
					ev.near(where, "expected share of "+tg, v, 100.0/3, 1e-9)
				}
			}
			if v, ok := ev.one(where, s, "name", "autodiscover.contoso.lab.", "scope", "default", "target", "127.200.0.10"); ok {
				ev.near(where, "expected share of the default autodiscover", v, 100, 1e-9)
			}
		},
	},
	{
		name:  "share per site and CAS",
		match: exactly(grafana.SiteShareExpr),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "site", "zone", "name", "scope", "target")
			ev.shares(where, find(s, "site", "unknown"), "affinityus.contoso.lab.", "default", 100.0/3, usCAS...)
			ev.shares(where, find(s, "site", "DE-Hamburg"), "affinityde.contoso.lab.", "default", 100.0/3, deCAS...)
			ev.shares(where, find(s, "site", "DE-Frankfurt"), "pool.contoso.lab.", "default", 50, "127.1.2.20", "127.1.2.21")
			// Does Chicago get the Chicago CAS first? Every time.
			ev.shares(where, find(s, "site", "US-Chicago"), "autodiscover.contoso.lab.", "US", 100, "127.2.1.10")
		},
	},
	{
		name:  "fairness max/min",
		match: exactly(grafana.FairRatioExpr),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "zone", "name", "scope")
			for _, n := range []string{"affinityus.contoso.lab.", "affinityde.contoso.lab.", "pool.contoso.lab."} {
				if v, ok := ev.one(where, s, "zone", zoneLabel, "name", n, "scope", "default"); ok {
					ev.near(where, "max/min of "+n, v, 1, 0.05)
				}
			}
			// Netmask ordering pins Chicago to its CAS: the others are never
			// first, so max/min is +Inf.
			if v, ok := ev.one(where, s, "zone", zoneLabel, "name", "autodiscover.contoso.lab.", "scope", "US"); ok && !math.IsInf(v, 1) {
				ev.t.Errorf("%s: autodiscover US max/min = %v, want +Inf", where, v)
			}
		},
	},
	{
		name:  "fairness deviation",
		match: exactly(grafana.FairCVExpr),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "zone", "name", "scope")
			for _, n := range []string{"affinityus.contoso.lab.", "affinityde.contoso.lab.", "pool.contoso.lab."} {
				if v, ok := ev.one(where, s, "zone", zoneLabel, "name", n, "scope", "default"); ok {
					ev.near(where, "deviation of "+n, v, 0, 0.05)
				}
			}
			// One of three first every time: sqrt(2).
			if v, ok := ev.one(where, s, "zone", zoneLabel, "name", "autodiscover.contoso.lab.", "scope", "US"); ok {
				ev.near(where, "deviation of autodiscover US", v, math.Sqrt2, 1e-6)
			}
		},
	},
	{
		name:  "unknown-site share",
		match: exactly(grafana.UnknownExpr),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s)
			// One of the five clients is in no site.
			if v := s[0].Value; !(v > 5 && v < 50) {
				ev.t.Errorf("%s: %v%% of queries from no site, want about 20%%", where, v)
			}
		},
	},
	{
		name:  "configs served",
		match: regexp.MustCompile(`^count\(count by \(hash\) \(sitedns_config_info\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s)
			ev.near(where, "configs served by one instance", s[0].Value, 1, 0)
		},
	},
	{
		name:  "netmask local ratio",
		match: regexp.MustCompile(`^sum by \(zone, name\) \(rate\(sitedns_netmask_matches_total\{[^}]*result="local"`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "zone", "name")
			for n, want := range map[string]float64{
				"autodiscover.contoso.lab.": 1, // Chicago, in 127.2.1.0/24
				"affinityus.contoso.lab.":   0, // an unknown client
				"affinityde.contoso.lab.":   0, // Hamburg, in no CAS's /24
				"pool.contoso.lab.":         0, // Frankfurt
			} {
				if v, ok := ev.one(where, s, "zone", zoneLabel, "name", n); ok {
					ev.near(where, "local ratio of "+n, v, want, 1e-9)
				}
			}
		},
	},
	{
		name:  "queries by site",
		match: regexp.MustCompile(`^sum by \(site\) \(rate\(sitedns_site_queries_total\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "site")
			for _, site := range []string{"unknown", "US-Chicago", "DE-Hamburg", "DE-Frankfurt", "US-Florida"} {
				if v, ok := ev.one(where, s, "site", site); ok {
					ev.positive(where, site, v)
				}
			}
			for _, site := range []string{"US-California", "DE-Leipzig", "CN-Shanghai", "CN-HongKong", "CN-Chengdu"} {
				if v, ok := ev.one(where, s, "site", site); ok && v != 0 {
					ev.t.Errorf("%s: %s at %v/s, want 0 (no client there)", where, site, v)
				}
			}
		},
	},
	{
		name:  "queries/s",
		match: regexp.MustCompile(`^sum\(rate\(sitedns_queries_total\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s)
			ev.positive(where, "queries/s", s[0].Value)
		},
	},
	{
		name:  "RRL limited/s",
		match: regexp.MustCompile(`^sum\(rate\(sitedns_dropped_total\{[^}]*reason="ratelimit"`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s)
			ev.near(where, "rate limited/s", s[0].Value, 0, 0)
		},
	},
	{
		name:  "dropped/s",
		match: regexp.MustCompile(`^sum\(rate\(sitedns_dropped_total\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s)
			ev.near(where, "dropped/s", s[0].Value, 0, 0)
		},
	},
	{
		name:  "p99 latency",
		match: regexp.MustCompile(`^histogram_quantile\(0\.99, sum by \(le\) \(rate\(sitedns_request_duration_seconds_bucket\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s)
			ev.latency(where, "p99", s[0].Value)
		},
	},
	{
		name:  "queries by qtype and transport",
		match: regexp.MustCompile(`^sum by \(transport, qtype\) \(rate\(sitedns_queries_total\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "transport", "qtype")
			for _, tq := range [][2]string{{"udp", "A"}, {"tcp", "A"}, {"udp", "SRV"}, {"udp", "TXT"}} {
				if v, ok := ev.one(where, s, "transport", tq[0], "qtype", tq[1]); ok {
					ev.positive(where, tq[0]+" "+tq[1], v)
				}
			}
			if v, ok := ev.one(where, s, "transport", "udp", "qtype", "MX"); ok && v != 0 {
				ev.t.Errorf("%s: udp MX at %v/s, want 0", where, v)
			}
		},
	},
	{
		name:  "responses by rcode",
		match: regexp.MustCompile(`^sum by \(rcode\) \(rate\(sitedns_responses_total\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "rcode")
			for _, rc := range []string{"NOERROR", "NXDOMAIN"} {
				if v, ok := ev.one(where, s, "rcode", rc); ok {
					ev.positive(where, rc, v)
				}
			}
			for _, rc := range []string{"SERVFAIL", "REFUSED", "FORMERR"} {
				if v, ok := ev.one(where, s, "rcode", rc); ok && v != 0 {
					ev.t.Errorf("%s: %s at %v/s, want 0", where, rc, v)
				}
			}
		},
	},
	{
		name:  "latency by transport",
		match: regexp.MustCompile(`^histogram_quantile\(0\.(5|99), sum by \(transport, le\) \(rate\(sitedns_request_duration_seconds_bucket\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "transport")
			for _, tr := range []string{"udp", "tcp"} {
				if v, ok := ev.one(where, s, "transport", tr); ok {
					ev.latency(where, tr, v)
				}
			}
		},
	},
	{
		name:  "dropped by reason",
		match: regexp.MustCompile(`^sum by \(reason\) \(rate\(sitedns_dropped_total\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "reason")
			for _, x := range s {
				if x.Value != 0 {
					ev.t.Errorf("%s: %v, want 0", where, x)
				}
			}
			if len(find(s, "reason", "ratelimit")) != 1 {
				ev.t.Errorf("%s: no reason=\"ratelimit\" series in %v", where, s)
			}
		},
	},
	{
		name:  "last reload successful",
		match: regexp.MustCompile(`^min\(sitedns_config_last_reload_successful\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s)
			ev.near(where, "last reload successful", s[0].Value, 1, 0)
		},
	},
	{
		name:  "config age",
		match: regexp.MustCompile(`^time\(\) - sitedns_config_last_reload_success_timestamp_seconds\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "job", "instance")
			// The reload near the end of the load set it: within the load.
			if v, ok := ev.one(where, s, "instance", ev.instance); ok && (v < 0 || v > loadFor.Seconds()) {
				ev.t.Errorf("%s: config age %vs, want 0..%v (reloaded during the load)", where, v, loadFor.Seconds())
			}
		},
	},
	{
		name:  "config reloads",
		match: regexp.MustCompile(`^sum by \(result\) \(increase\(sitedns_config_reloads_total\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "result")
			// One reload in the window; increase extrapolates to the
			// window's edges, so about 1 (the start-up load is no reload).
			if v, ok := ev.one(where, s, "result", "success"); ok && (v < 0.5 || v > 2) {
				ev.t.Errorf("%s: success increase %v, want about 1", where, v)
			}
			if v, ok := ev.one(where, s, "result", "failure"); ok && v != 0 {
				ev.t.Errorf("%s: failure increase %v, want 0", where, v)
			}
		},
	},
	{
		name:  "zone records",
		match: regexp.MustCompile(`^sitedns_zone_records\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "__name__", "job", "instance", "zone")
			if v, ok := ev.one(where, s, "zone", zoneLabel); ok {
				ev.positive(where, "records of "+zoneLabel, v)
			}
		},
	},
	{
		name:  "config identity",
		match: regexp.MustCompile(`^sitedns_config_info\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "__name__", "job", "instance", "hash")
			if v, ok := ev.one(where, s, "instance", ev.instance); ok {
				ev.near(where, "config_info", v, 1, 0)
			}
			if h := s[0].Metric["hash"]; !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(h) {
				ev.t.Errorf("%s: hash %q, want 16 hex digits", where, h)
			}
		},
	},
	{
		name:  "zone serial",
		match: regexp.MustCompile(`^sitedns_zone_serial\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "__name__", "job", "instance", "zone")
			if v, ok := ev.one(where, s, "zone", zoneLabel); ok {
				ev.near(where, "serial of "+zoneLabel, v, 2026120101, 0)
			}
		},
	},
	{
		name:  "CAS health",
		match: regexp.MustCompile(`^min by \(target, check\) \(sitedns_target_up\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "target", "check")
			for tg, want := range map[string]float64{upCAS: 1, downCAS: 0} {
				if v, ok := ev.one(where, s, "target", tg, "check", "cas"); ok {
					ev.near(where, "health of "+tg, v, want, 0)
				}
			}
		},
	},
	{
		name:  "health probe failures",
		match: regexp.MustCompile(`^sum by \(target, check, reason\) \(rate\(sitedns_check_failures_total\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "target", "check", "reason")
			if v, ok := ev.one(where, s, "target", downCAS, "reason", "refused"); ok {
				ev.positive(where, "refused probes of "+downCAS, v)
			}
			for _, x := range find(s, "target", upCAS) {
				if x.Value != 0 && x.Metric["reason"] != "timeout" {
					ev.t.Errorf("%s: %v: %s answers its check, want 0 (or a timeout on a loaded machine)", where, x, upCAS)
				}
			}
		},
	},
	{
		name:  "build info",
		match: regexp.MustCompile(`^sitedns_build_info\{`),
		check: func(ev *dashEval, where string, s []promSample) {
			ev.labels(where, s, "__name__", "job", "instance", "version", "revision", "goversion")
			if v, ok := ev.one(where, s, "instance", ev.instance); ok {
				ev.near(where, "build_info", v, 1, 0)
			}
		},
	},
}

// latency checks a quantile of the request duration: a real duration within
// the histogram's range (10µs to 100ms).
func (ev *dashEval) latency(where, what string, v float64) {
	ev.t.Helper()
	if !(v > 0 && v <= 0.1) {
		ev.t.Errorf("%s: %s latency %vs, want within (0, 0.1]", where, what, v)
	}
}
