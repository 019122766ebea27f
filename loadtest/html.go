package loadtest

import (
	"fmt"
	"html/template"
	"io"
	"math"
)

// WriteHTML writes r as one self-contained HTML page: the totals, a summary
// table, and for every group a bar chart (inline SVG) of the first-answer
// shares with the expected share marked. It needs no network and no script.
func WriteHTML(w io.Writer, r *Report) error {
	data := htmlData{R: r}
	for _, g := range r.Groups {
		data.Charts = append(data.Charts, chartOf(g))
	}
	return htmlTemplate.Execute(w, data)
}

type htmlData struct {
	R      *Report
	Charts []chart
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 720
	chartLabelW = 200
	chartBarW   = 400
	chartRowH   = 28
	chartTop    = 24
	chartBottom = 28
)

type chart struct {
	G             Group
	Verdict       string
	Width, Height int
	BarX, BarW    int
	ValueX        int
	AxisY         int
	Grid          []gridLine
	Rows          []chartRow
	Title         string
}

type gridLine struct {
	X     float64
	Label string
}

type chartRow struct {
	Y, TextY   int
	Label      string
	W          float64 // observed bar width
	ExpX       float64 // expected marker position
	HasExp     bool
	Value      string
	Unexpected bool
}

func chartOf(g Group) chart {
	c := chart{
		G: g, Verdict: g.Verdict(), Width: chartWidth, BarX: chartLabelW, BarW: chartBarW, ValueX: chartLabelW + chartBarW + 8,
		Title: fmt.Sprintf("%s (%s): %s %s, first answers", g.Site, dash(g.Scope), g.Name, g.Type),
	}
	for i, t := range g.Targets {
		y := chartTop + i*chartRowH
		row := chartRow{
			Y: y + 4, TextY: y + chartRowH/2 + 4, Label: t.Target,
			W:    round1(t.Share * chartBarW),
			ExpX: round1(chartLabelW + t.ExpectedShare*chartBarW), HasExp: t.ExpectedShare > 0,
			Value:      fmt.Sprintf("%d (%.1f%%)", t.First, 100*t.Share),
			Unexpected: t.Unexpected,
		}
		c.Rows = append(c.Rows, row)
	}
	c.AxisY = chartTop + len(g.Targets)*chartRowH
	c.Height = c.AxisY + chartBottom
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		c.Grid = append(c.Grid, gridLine{X: round1(chartLabelW + f*chartBarW), Label: fmt.Sprintf("%.0f%%", 100*f)})
	}
	return c
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":         ms,
	"pvalue":     pvalue,
	"percent":    percent,
	"localFirst": localFirst,
	"violations": violations,
	"fmt2":       func(f Float) string { return f.format(2) },
	"fmt1":       func(f Float) string { return f.format(1) },
	"pct":        func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"dash":       dash,
	"mode":       sourceMode,
	"qps":        func(f float64) string { return fmt.Sprintf("%.0f", f) },
	"secs":       func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"class": func(v string) string {
		if v == "unfair" {
			return "unfair"
		}
		return "fair"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sitedns loadtest: {{.R.Server}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
@media (max-width: 700px) { body { margin: 0.75em; } }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: right; }
th:nth-child(-n+4), td:nth-child(-n+4) { text-align: left; }
.fair { color: #176b2c; font-weight: bold; } .unfair { color: #b3261e; font-weight: bold; }
.note { color: #555; font-size: 0.85em; max-width: 60em; }
.wide { overflow-x: auto; }
svg { display: block; margin: 0.5em 0 1em 0; max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>sitedns loadtest: {{.R.Server}}</h1>
<p>{{.R.Queries}} queries in {{secs .R.Elapsed}} s ({{qps .R.QPS}} qps) from {{.R.Clients}} clients ({{mode .R}}), started {{.R.Started.Format "2006-01-02 15:04:05 MST"}}.
{{.R.Responses}} responses, {{.R.Timeouts}} timeouts, {{.R.Errors}} errors, {{.R.TCP}} TCP retries.
Latency p50 {{ms .R.Latency.P50}}, p99 {{ms .R.Latency.P99}}, p99.9 {{ms .R.Latency.P999}}.</p>
<div class="wide"><table>
<thead><tr><th>site</th><th>scope</th><th>name</th><th>type</th><th>queries</th><th>answers</th><th>max/min</th><th>chi²</th><th>df</th><th>p</th><th>verdict</th><th>netmask hit</th><th>local 1st</th><th>violations</th><th>timeouts</th><th>errors</th><th>p50</th><th>p99</th><th>p99.9</th></tr></thead>
<tbody>
{{- range .Charts}}{{$g := .G}}
<tr><td>{{$g.Site}}</td><td>{{dash $g.Scope}}</td><td>{{$g.Name}}</td><td>{{$g.Type}}</td><td>{{$g.Queries}}</td><td>{{$g.Answers}}</td><td>{{fmt2 $g.MaxMinRatio}}</td><td>{{fmt1 $g.ChiSquare}}</td><td>{{$g.DF}}</td><td>{{pvalue $g.PValue}}</td><td class="{{class .Verdict}}">{{.Verdict}}</td><td>{{percent $g.NetmaskHit}}</td><td>{{localFirst $g}}</td><td>{{violations $g.AffinityViolations}}</td><td>{{$g.Timeouts}}</td><td>{{$g.Errors}}</td><td>{{ms $g.Latency.P50}}</td><td>{{ms $g.Latency.P99}}</td><td>{{ms $g.Latency.P999}}</td></tr>
{{- end}}
</tbody>
</table></div>
<p class="note">max/min: the largest over the smallest first-answer count, each over its expected count (1 is perfectly even).
p: Pearson's chi-square goodness of fit of the first answers against the expected shares; unfair when p &lt; {{printf "%.3g" .R.GroupAlpha}} ({{.R.Alpha}} over {{len .R.Groups}} groups, Bonferroni).
netmask hit: answers whose first record is in the client's own network; local 1st: the same among answers that held such a record.
violations: answers holding a record outside the scope's expected targets (- when none were given).</p>
{{range .Charts}}{{$c := .}}
<h2>{{.Title}} <span class="{{class .Verdict}}">{{.Verdict}}</span></h2>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="{{.Title}}">
<title>{{.Title}}</title>
{{- range .Grid}}
<line x1="{{.X}}" y1="16" x2="{{.X}}" y2="{{$c.AxisY}}" stroke="#ddd" stroke-width="1"/>
<text x="{{.X}}" y="{{$c.AxisY}}" dy="16" font-size="11" text-anchor="middle" fill="#555">{{.Label}}</text>
{{- end}}
{{- range .Rows}}
<text x="{{$c.BarX}}" y="{{.TextY}}" dx="-8" font-size="12" text-anchor="end" fill="#222">{{.Label}}</text>
<rect x="{{$c.BarX}}" y="{{.Y}}" width="{{.W}}" height="20" fill="{{if .Unexpected}}#b3261e{{else}}#3b6fb6{{end}}"/>
{{- if .HasExp}}
<rect x="{{.ExpX}}" y="{{.Y}}" width="2" height="20" fill="#111"/>
{{- end}}
<text x="{{$c.ValueX}}" y="{{.TextY}}" font-size="12" fill="#222">{{.Value}}</text>
{{- end}}
</svg>
<p class="note">Bars: share of first answers per target{{if .G.Expected}} (expected targets from the configuration){{else}} (expected: the targets seen, equally weighted){{end}}; black mark: expected share. {{.G.Answers}} answers, p = {{pvalue .G.PValue}}, max/min {{fmt2 .G.MaxMinRatio}}.</p>
{{end}}
</body>
</html>
`))
