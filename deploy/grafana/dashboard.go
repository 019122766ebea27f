// Package grafana builds the sitedns Grafana dashboard as code, with the
// Grafana Foundation SDK, and renders it as the JSON committed beside it
// (sitedns-dashboard.json, exported for sharing: a DS_PROMETHEUS input, a
// fixed uid, no id). Regenerate it after changing this file:
//
//	go generate ./deploy/grafana
//
// TestGenerated fails when the committed JSON is not what JSON returns.
package grafana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// UID is the dashboard's fixed uid: links to /d/sitedns-spread keep working
// across imports.
const UID = "sitedns-spread"

// Fairness thresholds: under perfect rotation, with at least minPerTarget
// answers per target in the window, the most favoured target of a set is
// first at most (minPerTarget+2)/minPerTarget times as often as the least
// (two scrapes each off by one answer), and the coefficient of variation
// stays under 0.05; a set that never rotates (windows2000 with netmask
// ordering) has max/min +Inf and a coefficient of sqrt(n-1).
const (
	FairRatioRed = 1.2  // max/min first-answer rate at which fairness turns red
	FairCVRed    = 0.1  // coefficient of variation at which fairness turns red
	minPerTarget = 30   // answers per target in the window before fairness is judged
	UnknownRed   = 25.0 // percent of queries from no site at which the panel turns red
)

// Variables are the dashboard's template variables, besides the hidden
// DS_PROMETHEUS data source.
var Variables = []string{"job", "instance", "zone", "name", "scope", "site", "window"}

var ds = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${DS_PROMETHEUS}")}

// Selectors, with the variables every panel filters on.
const (
	sel      = `job=~"$job",instance=~"$instance"`
	selName  = sel + `,zone=~"$zone",name=~"$name",scope=~"$scope"`
	first    = `sitedns_answers_first_total{` + selName + `,site=~"$site"}`
	firstAll = `sitedns_answers_first_total{` + selName + `}`
	expected = `sitedns_answer_first_share_expected{` + selName + `}`
)

// Expressions of the spread panels, exported for the tests that evaluate
// them against a real Prometheus.
var (
	// ShareExpr is each target's share, in percent, of the first answers of
	// its name and scope over $window, for the selected sites.
	ShareExpr = `100 * sum by (zone, name, scope, target) (rate(` + first + `[$window]))
/ ignoring (target) group_left
sum by (zone, name, scope) (rate(` + first + `[$window]))`
	// ExpectedExpr is the share the config gives each target, in percent.
	ExpectedExpr = `100 * max by (zone, name, scope, target) (` + expected + `)`
	// SiteShareExpr is ShareExpr per client site.
	SiteShareExpr = `100 * sum by (site, zone, name, scope, target) (rate(` + first + `[$window]))
/ ignoring (target) group_left
sum by (site, zone, name, scope) (rate(` + first + `[$window]))`
	// FairRatioExpr is, per name and scope, the first-answer rate of the
	// most favoured target over that of the least favoured one, for sets
	// with enough answers in the window to judge.
	FairRatioExpr = `(
  max by (zone, name, scope) (sum by (zone, name, scope, target) (rate(` + firstAll + `[$window])))
  /
  min by (zone, name, scope) (sum by (zone, name, scope, target) (rate(` + firstAll + `[$window])))
)
and on (zone, name, scope)
avg by (zone, name, scope) (sum by (zone, name, scope, target) (increase(` + firstAll + `[$window]))) >= ` + fmt.Sprint(minPerTarget)
	// FairCVExpr is the coefficient of variation of the targets'
	// first-answer rates per name and scope (the square root of the
	// chi-square statistic over the answers, against an even spread).
	FairCVExpr = `(
  stddev by (zone, name, scope) (sum by (zone, name, scope, target) (rate(` + firstAll + `[$window])))
  /
  avg by (zone, name, scope) (sum by (zone, name, scope, target) (rate(` + firstAll + `[$window])))
)
and on (zone, name, scope)
avg by (zone, name, scope) (sum by (zone, name, scope, target) (increase(` + firstAll + `[$window]))) >= ` + fmt.Sprint(minPerTarget)
	// UnknownExpr is the percentage of queries from clients in no site.
	UnknownExpr = `100 * sum(rate(sitedns_site_queries_total{` + sel + `,site="unknown"}[$window]))
/ sum(rate(sitedns_site_queries_total{` + sel + `}[$window]))`
)

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(ds).EditorMode(prometheus.QueryEditorModeCode).
		Expr(expr).LegendFormat(legend).Range()
}

func instant(expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(ds).EditorMode(prometheus.QueryEditorModeCode).
		Expr(expr).Format(prometheus.PromQueryFormatTable).Instant()
}

func thresholds(steps ...any) *dashboard.ThresholdsConfigBuilder {
	var ts []dashboard.Threshold
	for i := 0; i+1 < len(steps); i += 2 {
		var v *float64
		if f, ok := steps[i].(float64); ok {
			v = cog.ToPtr(f)
		}
		ts = append(ts, dashboard.Threshold{Value: v, Color: steps[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(ts)
}

func legend(placement common.LegendPlacement) *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeTable).Placement(placement).
		ShowLegend(true).Calcs([]string{"mean", "lastNotNull"}).SortBy("Mean").SortDesc(true)
}

func series(title, desc, unit string) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Title(title).Description(desc).Datasource(ds).Unit(unit).
		LineWidth(1).FillOpacity(10).ShowPoints(common.VisibilityModeNever).AxisSoftMin(0).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdPaletteClassic)).
		Legend(legend(common.LegendPlacementRight)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
}

func single(title, desc, unit string, expr string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Description(desc).Datasource(ds).Unit(unit).
		GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeValue).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		WithTarget(query(expr, ""))
}

func pos(x, y, w, h uint32) dashboard.GridPos {
	return dashboard.GridPos{X: x, Y: y, W: w, H: h}
}

// fairness is one of the two fairness panels: a threshold line, and each
// series coloured by the threshold it crosses.
func fairness(title, desc, unit, expr string, red float64) *timeseries.PanelBuilder {
	return series(title, desc, unit).Min(0).
		Thresholds(thresholds(nil, "green", red, "red")).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLineAndArea)).
		WithTarget(query(expr, "{{name}} {{scope}}"))
}

// Dashboard builds the dashboard.
func Dashboard() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("sitedns — answer spread").
		Uid(UID).
		Description("sitedns: how answers spread over each Client Access Server, per site and scope, against the share the config gives each; fairness, replicas' config identity, reloads, traffic, latency, rate limiting.").
		Tags([]string{"sitedns", "dns"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("10s").
		Time("now-1h", "now").
		Timezone("")
	for _, v := range variables() {
		b.WithVariable(v)
	}

	b.WithRow(dashboard.NewRowBuilder("Answer spread").Id(1).GridPos(dashboard.GridPos{H: 1, W: 24, X: 0, Y: 0}))
	for _, p := range spreadPanels() {
		b.WithPanel(p)
	}
	b.WithRow(dashboard.NewRowBuilder("Replicas and configuration").Id(20).GridPos(dashboard.GridPos{H: 1, W: 24, X: 0, Y: 50}))
	for _, p := range configPanels() {
		b.WithPanel(p)
	}
	b.WithRow(dashboard.NewRowBuilder("Traffic").Id(40).GridPos(dashboard.GridPos{H: 1, W: 24, X: 0, Y: 72}))
	for _, p := range trafficPanels() {
		b.WithPanel(p)
	}
	return b.Build()
}

func variables() []cog.Builder[dashboard.VariableModel] {
	all := func(name, label, q string) *dashboard.QueryVariableBuilder {
		return dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(ds).
			Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).Definition(q).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
			Multi(true).IncludeAll(true).AllValue(".*").
			Current(dashboard.VariableOption{Selected: cog.ToPtr(true),
				Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
				Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}}})
	}
	window := "1m"
	return []cog.Builder[dashboard.VariableModel]{
		dashboard.NewDatasourceVariableBuilder("DS_PROMETHEUS").Label("Data source").Type("prometheus").
			Hide(dashboard.VariableHideHideVariable),
		all("job", "Job", `label_values(sitedns_build_info, job)`),
		all("instance", "Instance", `label_values(sitedns_build_info{job=~"$job"}, instance)`),
		all("zone", "Zone", `label_values(sitedns_answer_first_share_expected{`+sel+`}, zone)`),
		all("name", "Name", `label_values(sitedns_answer_first_share_expected{`+sel+`,zone=~"$zone"}, name)`),
		all("scope", "Scope", `label_values(sitedns_answer_first_share_expected{`+sel+`,zone=~"$zone",name=~"$name"}, scope)`),
		all("site", "Site", `label_values(sitedns_site_queries_total{`+sel+`}, site)`),
		dashboard.NewIntervalVariableBuilder("window").Label("Window").
			Description("The window of the spread panels' rates: at least 1m, so that a window holds enough answers and scrapes to show the spread rather than the noise of a few.").
			Values(dashboard.StringOrMap{String: cog.ToPtr("1m,5m,15m,1h")}).
			Current(dashboard.VariableOption{Selected: cog.ToPtr(true),
				Text:  dashboard.StringOrArrayOfString{String: &window},
				Value: dashboard.StringOrArrayOfString{String: &window}}),
	}
}

func spreadPanels() []cog.Builder[dashboard.Panel] {
	share := series("Share of first answers per CAS (%), against the expected share",
		"Each target's share of the first answers of its name and scope over $window, for the selected sites: clients connect to the first address, so this is the share of the load each CAS gets. The dashed line beside each is the share the config gives it (sitedns_answer_first_share_expected: 1/n under round robin, by weight with weights, 0 for a record that is never first), which clients outside every record's network should see; netmask ordering gives a client in a CAS's own /24 that CAS every time.",
		"percent").Min(0).Max(100).
		WithTarget(query(ShareExpr, "{{name}} {{scope}} {{target}}").RefId("A")).
		WithTarget(query(ExpectedExpr, "{{name}} {{scope}} {{target}} expected").RefId("B")).
		OverrideByQuery("B", []dashboard.DynamicConfigValue{
			{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
			{Id: "custom.lineWidth", Value: 2},
		})
	share.GridPos(pos(0, 1, 24, 10))

	siteTable := table.NewPanelBuilder().Title("Share per site and CAS (%)").
		Description("Per client site, each target's share (percent) of the first answers that site's clients got for each name and scope over $window: does Chicago get the Chicago CAS first?").
		Datasource(ds).Unit("percent").Min(0).Max(100).Decimals(1).
		Thresholds(thresholds(nil, "blue", 20.0, "green", 60.0, "orange")).
		CellOptions(common.TableCellOptions{TableColoredBackgroundCellOptions: &common.TableColoredBackgroundCellOptions{
			Type: common.TableCellDisplayModeColorBackground, Mode: cog.ToPtr(common.TableCellBackgroundDisplayModeGradient)}}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("site")}).
		WithTarget(instant(SiteShareExpr)).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"indexByName":   map[string]any{"site": 0, "name": 1, "scope": 2, "target": 3, "zone": 4, "Value": 5},
			"renameByName":  map[string]any{"Value": "share %"},
		}})
	siteTable.GridPos(pos(0, 11, 12, 10))

	unknown := single("Clients in no site (%)",
		"The share of queries over $window from clients whose address (or ECS subnet) is in no [[site]] subnet: they get the default answers. A large share usually means NAT or a resolver hides the clients. Red from 25%, where SitednsUnknownSiteShareHigh fires.",
		"percent", UnknownExpr).Min(0).Max(100).
		Thresholds(thresholds(nil, "green", UnknownRed, "red"))
	unknown.GridPos(pos(12, 11, 6, 5))

	sites := series("Queries by client site", "Queries per second by the client's site; unknown when no site subnet matched.", "reqps").
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal).Group("A")).
		Legend(legend(common.LegendPlacementBottom)).
		WithTarget(query(`sum by (site) (rate(sitedns_site_queries_total{`+sel+`,site=~"$site"}[$__rate_interval]))`, "{{site}}"))
	sites.GridPos(pos(18, 11, 6, 10))

	netmask := series("Netmask ordering local-hit ratio",
		"Share of A answers, per name, where netmask ordering found a record in the client's own network (result=local) rather than none (remote_only).",
		"percentunit").Min(0).Max(1).
		WithTarget(query(`sum by (zone, name) (rate(sitedns_netmask_matches_total{`+sel+`,zone=~"$zone",name=~"$name",result="local"}[$__rate_interval]))
/
sum by (zone, name) (rate(sitedns_netmask_matches_total{`+sel+`,zone=~"$zone",name=~"$name"}[$__rate_interval]))`, "{{name}}"))
	netmask.GridPos(pos(12, 16, 6, 5))

	ratio := fairness("Fairness: max/min first-answer rate",
		fmt.Sprintf("Per name and scope over $window (all sites), the first-answer rate of the most favoured target over that of the least favoured one. 1 is an even spread; perfect rotation stays under %v (green). +Inf means a target was never first: a set that does not rotate (windows2000 with netmask ordering), or netmask ordering pinning clients to their own CAS. Sets with fewer than %d answers per target in the window show no value.", FairRatioRed, minPerTarget),
		"none", FairRatioExpr, FairRatioRed)
	ratio.GridPos(pos(0, 21, 12, 9))

	cv := fairness("Fairness: deviation from an even spread",
		fmt.Sprintf("Per name and scope over $window (all sites), the coefficient of variation of the targets' first-answer rates: the square root of the chi-square statistic of the answers against an even spread, divided by the number of answers. 0 is an even spread; perfect rotation stays under %v (green); a set that never rotates gives sqrt(n-1). Sets with fewer than %d answers per target in the window show no value.", FairCVRed, minPerTarget),
		"none", FairCVExpr, FairCVRed)
	cv.GridPos(pos(12, 21, 12, 9))

	health := table.NewPanelBuilder().Title("CAS health").
		Description("Each health-checked address ([[check]]) and its state, worst over the selected instances: UP (or not yet probed), or DOWN, when it has left the answers until it is back. Empty when no [[check]] is configured.").
		Datasource(ds).
		Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
			"0": {Text: cog.ToPtr("DOWN"), Color: cog.ToPtr("red")},
			"1": {Text: cog.ToPtr("UP"), Color: cog.ToPtr("green")},
		}}}}).
		CellOptions(common.TableCellOptions{TableColoredBackgroundCellOptions: &common.TableColoredBackgroundCellOptions{
			Type: common.TableCellDisplayModeColorBackground, Mode: cog.ToPtr(common.TableCellBackgroundDisplayModeBasic)}}).
		WithTarget(instant(`min by (target, check) (sitedns_target_up{` + sel + `})`)).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"indexByName":   map[string]any{"target": 0, "check": 1, "Value": 2},
			"renameByName":  map[string]any{"Value": "state"},
		}})
	health.GridPos(pos(0, 30, 8, 10))

	probes := series("Health probe failures/s", "Failed health probes per second, by address, check and reason (timeout, refused, tls, status, error).", "short").
		WithTarget(query(`sum by (target, check, reason) (rate(sitedns_check_failures_total{`+sel+`}[$__rate_interval]))`, "{{target}} {{check}} {{reason}}"))
	probes.GridPos(pos(8, 30, 16, 10))

	perTarget := series("Answers first per CAS (req/s)",
		"How often each target was handed out first, per second, per name and scope: the load each CAS gets, for the selected sites.",
		"reqps").
		WithTarget(query(`sum by (name, scope, target) (rate(`+first+`[$__rate_interval]))`, "{{name}} {{scope}} {{target}}"))
	perTarget.GridPos(pos(0, 40, 24, 10))

	return []cog.Builder[dashboard.Panel]{share, siteTable, unknown, sites, netmask, ratio, cv, health, probes, perTarget}
}

func configPanels() []cog.Builder[dashboard.Panel] {
	configs := single("Configs served",
		"How many different configs the selected replicas serve (distinct sitedns_config_info hashes). 1 is green; more means replicas answer differently (SitednsReplicasConfigDiverged).",
		"none", `count(count by (hash) (sitedns_config_info{`+sel+`}))`).
		Thresholds(thresholds(nil, "green", 2.0, "red"))
	configs.GridPos(pos(0, 51, 6, 5))

	ok := single("Last reload successful", "1 when the last reload of every selected instance succeeded; 0 after a failure (the previous config keeps serving).",
		"none", `min(sitedns_config_last_reload_successful{`+sel+`})`).
		Thresholds(thresholds(nil, "red", 1.0, "green"))
	ok.GridPos(pos(6, 51, 6, 5))

	identity := table.NewPanelBuilder().Title("Config identity per replica").
		Description("The config hash each instance serves (SHA-256 of the config file and the zone files it names). Replicas that should agree show one hash.").
		Datasource(ds).
		WithTarget(instant(`sitedns_config_info{` + sel + `}`)).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "Value": true, "__name__": true},
			"indexByName":   map[string]any{"instance": 0, "hash": 1, "job": 2},
		}})
	identity.GridPos(pos(12, 51, 12, 7))

	age := single("Config age", "How long ago each instance loaded the config it serves.", "s",
		`time() - sitedns_config_last_reload_success_timestamp_seconds{`+sel+`}`)
	age.GridPos(pos(0, 56, 12, 5))

	serials := table.NewPanelBuilder().Title("Zone serials per replica").
		Description("The SOA serial of each zone each instance serves (sitedns_zone_serial). Replicas of one zone should agree (SitednsZoneSerialDiverged).").
		Datasource(ds).Decimals(0).
		WithTarget(instant(`sitedns_zone_serial{` + sel + `,zone=~"$zone"}`)).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "__name__": true},
			"indexByName":   map[string]any{"zone": 0, "instance": 1, "Value": 2, "job": 3},
			"renameByName":  map[string]any{"Value": "serial"},
		}})
	serials.GridPos(pos(12, 58, 12, 7))

	reloads := series("Config reloads", "Reloads (SIGHUP, POST /-/reload, -watch) by result, success or failure. The load at start-up is not a reload.", "short").
		WithTarget(query(`sum by (result) (increase(sitedns_config_reloads_total{`+sel+`}[$__rate_interval]))`, "{{result}}")).
		OverrideByName("failure", []dashboard.DynamicConfigValue{{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}}})
	reloads.GridPos(pos(0, 61, 12, 6))

	records := series("Zone records", "Records in each zone served, per instance.", "short").
		WithTarget(query(`sitedns_zone_records{`+sel+`,zone=~"$zone"}`, "{{instance}} {{zone}}"))
	records.GridPos(pos(12, 65, 12, 7))

	build := table.NewPanelBuilder().Title("Build").Description("The version, revision and Go version of each instance.").Datasource(ds).
		WithTarget(instant(`sitedns_build_info{` + sel + `}`)).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "Value": true, "__name__": true},
		}})
	build.GridPos(pos(0, 67, 12, 5))

	return []cog.Builder[dashboard.Panel]{configs, ok, identity, age, serials, reloads, records, build}
}

func trafficPanels() []cog.Builder[dashboard.Panel] {
	dur := func(q, by string) string {
		return fmt.Sprintf(`histogram_quantile(%s, sum by (%s) (rate(sitedns_request_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, q, by)
	}
	qps := single("Queries/s", "Queries per second, every transport and type.", "reqps",
		`sum(rate(sitedns_queries_total{`+sel+`}[$__rate_interval]))`)
	qps.GridPos(pos(0, 73, 6, 4))
	dropped := single("Dropped/s", "Packets per second that got no reply (malformed, responses, rate limited, over the TCP cap, panics).", "pps",
		`sum(rate(sitedns_dropped_total{`+sel+`}[$__rate_interval]))`)
	dropped.GridPos(pos(6, 73, 6, 4))
	p99 := single("p99 latency", "99th percentile of the time from reading a query to writing its response, all transports.", "s", dur("0.99", "le"))
	p99.GridPos(pos(12, 73, 6, 4))
	rrl := single("RRL: responses limited/s", "Responses per second that response rate limiting dropped ([rrl]): a client or a spoofed victim over its budget.", "pps",
		`sum(rate(sitedns_dropped_total{`+sel+`,reason="ratelimit"}[$__rate_interval]))`)
	rrl.GridPos(pos(18, 73, 6, 4))

	byType := series("Queries/s by qtype and transport", "", "reqps").
		WithTarget(query(`sum by (transport, qtype) (rate(sitedns_queries_total{`+sel+`}[$__rate_interval]))`, "{{transport}} {{qtype}}"))
	byType.GridPos(pos(0, 77, 12, 8))
	rcodes := series("Responses/s by rcode", "Replies sent by response code; a reply rate limiting drops is not one.", "reqps").
		WithTarget(query(`sum by (rcode) (rate(sitedns_responses_total{`+sel+`}[$__rate_interval]))`, "{{rcode}}"))
	rcodes.GridPos(pos(12, 77, 12, 8))
	latency := series("Latency p50 / p99", "The time from reading a query to writing its response, by transport (from the histogram: 10µs to 100ms buckets).", "s").
		WithTarget(query(dur("0.5", "transport, le"), "p50 {{transport}}").RefId("A")).
		WithTarget(query(dur("0.99", "transport, le"), "p99 {{transport}}").RefId("B"))
	latency.GridPos(pos(0, 85, 12, 8))
	reasons := series("Dropped packets by reason", "malformed, response (QR set), ratelimit (RRL), tcp_limit, panic.", "pps").
		WithTarget(query(`sum by (reason) (rate(sitedns_dropped_total{`+sel+`}[$__rate_interval]))`, "{{reason}}"))
	reasons.GridPos(pos(12, 85, 12, 8))
	return []cog.Builder[dashboard.Panel]{qps, dropped, p99, rrl, byType, rcodes, latency, reasons}
}

// JSON renders the dashboard as exported for sharing: the SDK's model with
// panel ids numbered in order, a DS_PROMETHEUS input and the plugins it
// requires, and a null id. The bytes are stable: object keys sorted, two
// spaces of indent, a final newline.
func JSON() ([]byte, error) {
	d, err := Dashboard()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	id := 0
	for _, p := range m["panels"].([]any) {
		id++
		p.(map[string]any)["id"] = id
	}
	m["id"] = nil
	m["__inputs"] = []any{map[string]any{
		"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "The Prometheus that scrapes sitedns",
		"type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus",
	}}
	requires := []any{
		map[string]any{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"},
		map[string]any{"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
	}
	for _, p := range []string{"stat", "table", "timeseries"} {
		requires = append(requires, map[string]any{"type": "panel", "id": p, "name": strings.ToUpper(p[:1]) + p[1:], "version": ""})
	}
	m["__requires"] = requires
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
