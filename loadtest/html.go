package loadtest

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// WriteHTML writes r as one self-contained HTML page: a verdict banner, the
// command and the ordering it expected, a summary table that fits a 1280 px
// window and, as one card per group, a phone, and for every group a bar
// chart (inline SVG) of the first-answer shares coloured by the group's
// verdict with the expected share marked, and the shares across the run. It
// needs no network and no script.
func WriteHTML(w io.Writer, r *Report) error {
	data := htmlData{R: r, Banner: bannerOf(r)}
	for _, g := range r.Groups {
		data.Charts = append(data.Charts, chartOf(g))
	}
	var b strings.Builder
	writePage(&b, &data)
	_, err := io.WriteString(w, b.String())
	return err
}

type htmlData struct {
	R      *Report
	Banner banner
	Charts []chart
}

// banner is the verdict of the whole run, at the top of the page.
type banner struct {
	Class, Word string
	Lines       []string
}

// bannerOf sums r up: UNFAIR when a group is unfair; CHECK when none is but
// answers held targets outside the expected sets, queries failed or timed
// out, or a group's counts were too low to judge; FAIR otherwise.
func bannerOf(r *Report) banner {
	var unfair, low, judged, violations int
	for i := range r.Groups {
		g := &r.Groups[i]
		switch g.Verdict() {
		case "unfair":
			unfair++
		case "fair?":
			low++
		}
		if g.Verdict() != "n/a" {
			judged++
		}
		if g.AffinityViolations > 0 {
			violations += g.AffinityViolations
		}
	}
	b := banner{Class: "fair", Word: "FAIR"}
	switch {
	case unfair > 0:
		b.Class, b.Word = "unfair", "UNFAIR"
	case violations > 0 || r.Errors > 0 || r.Timeouts > 0 || low > 0:
		b.Class, b.Word = "check", "CHECK"
	}
	b.Lines = []string{
		fmt.Sprintf("%d of %d groups unfair (%d judged; %d with counts too low to judge)", unfair, len(r.Groups), judged, low),
		fmt.Sprintf("%d answers held a target outside the expected sets", violations),
		fmt.Sprintf("%d errors and %d timeouts in %d queries", r.Errors, r.Timeouts, r.Queries),
	}
	return b
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 720
	chartLabelW = 200
	chartBarW   = 400
	chartRowH   = 28
	chartTop    = 24
	chartBottom = 28

	runW, runH   = 720, 170 // the share-across-the-run chart
	runL, runR   = 48, 150  // its left axis and right legend widths
	runT, runB   = 12, 28
	runLegendRow = 16
)

// Colours of the report: bars by their group's verdict, and the lines of
// the share across the run (one a target, in order).
const (
	colourFair       = "#2e7d32"
	colourUnfair     = "#c62828"
	colourLow        = "#b26a00"
	colourNA         = "#9e9e9e"
	colourUnexpected = "#6a1b9a"
)

var runColours = []string{"#1565c0", "#ef6c00", "#00897b", "#8e24aa", "#6d4c41", "#c2185b", "#546e7a", "#7cb342"}

type chart struct {
	G             Group
	Verdict       string
	Colour        string
	Width, Height int
	BarX, BarW    int
	ValueX        int
	AxisY         int
	Grid          []gridLine
	Rows          []chartRow
	Title         string
	Run           *runChart
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

// runChart is the share of each target in each tenth of the answers.
type runChart struct {
	W, H, Left, Right, Top, Bottom int
	YGrid                          []runTick
	XTicks                         []runTick
	Lines                          []runLine
}

type runTick struct {
	Pos   float64
	Label string
}

type runLine struct {
	Colour, Target string
	Points         string  // the polyline's points
	ExpY           float64 // the expected share's height
	LegendY        int
}

func verdictColour(v string) string {
	switch v {
	case "fair":
		return colourFair
	case "unfair":
		return colourUnfair
	case "fair?":
		return colourLow
	}
	return colourNA
}

func chartOf(g Group) chart {
	c := chart{
		G: g, Verdict: g.Verdict(), Width: chartWidth, BarX: chartLabelW, BarW: chartBarW, ValueX: chartLabelW + chartBarW + 8,
		Title: fmt.Sprintf("%s (%s): %s %s, first answers", g.Site, dash(g.Scope), g.Name, g.Type),
	}
	c.Colour = verdictColour(c.Verdict)
	for i, t := range g.Targets {
		y := chartTop + i*chartRowH
		row := chartRow{
			Y: y + 4, TextY: y + chartRowH/2 + 4, Label: t.Target,
			W:    round1(t.Share * chartBarW),
			ExpX: round1(chartLabelW + t.ExpectedShare*chartBarW), HasExp: t.ExpectedShare > 0,
			Value:      fmt.Sprintf("%d (%.1f%%)", t.First, 100*t.Share),
			Unexpected: t.Unexpected,
		}
		if t.Unexpected {
			row.Value += " not expected"
		}
		c.Rows = append(c.Rows, row)
	}
	c.AxisY = chartTop + len(g.Targets)*chartRowH
	c.Height = c.AxisY + chartBottom
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		c.Grid = append(c.Grid, gridLine{X: round1(chartLabelW + f*chartBarW), Label: fmt.Sprintf("%.0f%%", 100*f)})
	}
	c.Run = runOf(g)
	return c
}

// runOf draws Group.Over, nil when the group has none.
func runOf(g Group) *runChart {
	if len(g.Over) == 0 {
		return nil
	}
	rc := &runChart{W: runW, H: runH, Left: runL, Right: runW - runR, Top: runT, Bottom: runH - runB}
	plotW, plotH := float64(rc.Right-rc.Left), float64(rc.Bottom-rc.Top)
	x := func(p int) float64 { return round1(float64(rc.Left) + plotW*(float64(p)+0.5)/float64(len(g.Over))) }
	y := func(share float64) float64 { return round1(float64(rc.Bottom) - plotH*share) }
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		rc.YGrid = append(rc.YGrid, runTick{Pos: y(f), Label: fmt.Sprintf("%.0f%%", 100*f)})
	}
	for p := range g.Over {
		if p == 0 || p == len(g.Over)-1 || p == len(g.Over)/2 {
			rc.XTicks = append(rc.XTicks, runTick{Pos: x(p), Label: fmt.Sprintf("%d/%d", p+1, len(g.Over))})
		}
	}
	for i, t := range g.Targets {
		if i >= 2*len(runColours) {
			break // the bars list them all; the lines the first ones
		}
		l := runLine{Colour: runColours[i%len(runColours)], Target: t.Target, ExpY: y(t.ExpectedShare), LegendY: rc.Top + 10 + i*runLegendRow}
		var pts []string
		for p, row := range g.Over {
			if i < len(row) {
				pts = append(pts, fmt.Sprintf("%v,%v", x(p), y(row[i])))
			}
		}
		l.Points = strings.Join(pts, " ")
		rc.Lines = append(rc.Lines, l)
	}
	return rc
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// htmlEscaper escapes text for the report's element content and quoted
// attribute values, as html/template does there.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;", "\x00", "\uFFFD")

// esc escapes s for the page.
func esc(s string) string { return htmlEscaper.Replace(s) }

// writePage writes the report page of d. It is written by hand rather than
// with html/template, which calls reflect.Value.MethodByName: that makes
// the linker keep every exported method of every type in the binary
// (cmd/sitedns's TestNoTemplatePackages).
func writePage(b *strings.Builder, d *htmlData) {
	r := d.R
	fmt.Fprintf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"+
		"<title>sitedns loadtest: %s</title>\n<style>\n%s</style>\n</head>\n<body>\n", esc(r.Server), reportCSS)
	fmt.Fprintf(b, "<div class=\"banner %s\" role=\"status\"><strong>%s</strong>\n<ul>", esc(d.Banner.Class), esc(d.Banner.Word))
	for _, l := range d.Banner.Lines {
		fmt.Fprintf(b, "<li>%s</li>", esc(l))
	}
	fmt.Fprintf(b, "</ul></div>\n<h1>sitedns loadtest: %s</h1>\n<div class=\"top\">\n<dl class=\"run\">", esc(r.Server))
	writeRun(b, r)
	b.WriteString("\n</dl>\n<table>\n" + summaryHead + "\n<tbody>")
	for i := range d.Charts {
		writeSummaryRow(b, &d.Charts[i])
	}
	b.WriteString("\n</tbody>\n</table>\n</div>\n" + summaryNote + "\n")
	for i := range d.Charts {
		writeChart(b, &d.Charts[i])
	}
	b.WriteString("\n</body>\n</html>\n")
}

// writeRun writes the run's description list: command, ordering, test, run.
func writeRun(b *strings.Builder, r *Report) {
	if r.Command != "" {
		fmt.Fprintf(b, "\n<dt>command</dt><dd><code>%s</code></dd>", esc(r.Command))
	}
	b.WriteString("\n<dt>ordering</dt><dd>")
	if r.NetmaskOrdering {
		fmt.Fprintf(b, "netmask ordering expected: a client's own network first (IPv4 /%d", r.LocalBits)
		if r.LocalBits6 != 0 {
			fmt.Fprintf(b, ", IPv6 /%d", r.LocalBits6)
		}
		b.WriteString("), then rotation")
	} else {
		b.WriteString("rotation only (no netmask ordering expected)")
	}
	b.WriteString("; expected sets ")
	if r.ExpectedSets {
		b.WriteString("from the configuration")
	} else {
		b.WriteString("the targets seen, equally weighted")
	}
	fmt.Fprintf(b, "</dd>\n<dt>test</dt><dd>chi-square goodness of fit per group, unfair when p &lt; %s (%s over %d groups, Bonferroni)</dd>",
		esc(fmt.Sprintf("%.3g", r.GroupAlpha)), esc(fmt.Sprint(r.Alpha)), len(r.Groups))
	fmt.Fprintf(b, "\n<dt>run</dt><dd>%d queries in %.2f s (%.0f qps) from %d clients (%s), started %s; %d responses, %d TCP retries; latency p50 %s, p99 %s, p99.9 %s</dd>",
		r.Queries, r.Elapsed, r.QPS, r.Clients, esc(sourceMode(r)), esc(r.Started.Format("2006-01-02 15:04:05 MST")),
		r.Responses, r.TCP, esc(ms(r.Latency.P50)), esc(ms(r.Latency.P99)), esc(ms(r.Latency.P999)))
}

const summaryHead = `<thead><tr><th>site</th><th>scope</th><th>name</th><th>type</th><th>answers / queries</th><th>max/min</th><th>chi² (df)</th><th>p</th><th>verdict</th><th>netmask hit</th><th>local 1st</th><th>violations</th><th>timeouts / errors</th><th>p50 / p99 / p99.9 ms</th></tr></thead>`

const summaryNote = `<p class="note">max/min: the largest over the smallest first-answer count, each over its expected count (1 is perfectly even).
p: Pearson's chi-square goodness of fit of the first answers against the expected shares.
netmask hit: answers whose first record is in the client's own network; local 1st: the same among answers that held such a record.
violations: answers holding a record outside the scope's expected targets (- when none were given).</p>`

// writeSummaryRow writes the summary table's row of c's group.
func writeSummaryRow(b *strings.Builder, c *chart) {
	g := &c.G
	msn := func(d time.Duration) string { return esc(strings.TrimSuffix(ms(d), "ms")) }
	fmt.Fprintf(b, "\n<tr><td data-label=\"site\">%s</td><td data-label=\"scope\">%s</td><td data-label=\"name\" class=\"name\">%s</td><td data-label=\"type\">%s</td>",
		esc(g.Site), esc(dash(g.Scope)), esc(g.Name), esc(g.Type))
	fmt.Fprintf(b, "<td data-label=\"answers / queries\">%d / %d</td><td data-label=\"max/min\">%s</td><td data-label=\"chi² (df)\">%s (%d)</td><td data-label=\"p\">%s</td>",
		g.Answers, g.Queries, esc(g.MaxMinRatio.format(2)), esc(g.ChiSquare.format(1)), g.DF, esc(pvalue(g.PValue)))
	fmt.Fprintf(b, "<td data-label=\"verdict\" class=\"%s\">%s</td><td data-label=\"netmask hit\">%s</td><td data-label=\"local 1st\">%s</td><td data-label=\"violations\">%s</td>",
		verdictClass(c.Verdict), esc(c.Verdict), esc(percent(g.NetmaskHit)), esc(localFirst(*g)), esc(violations(g.AffinityViolations)))
	fmt.Fprintf(b, "<td data-label=\"timeouts / errors\">%d / %d</td><td data-label=\"p50 / p99 / p99.9 ms\">%s / %s / %s</td></tr>",
		g.Timeouts, g.Errors, msn(g.Latency.P50), msn(g.Latency.P99), msn(g.Latency.P999))
}

// verdictClass is the CSS class of a verdict.
func verdictClass(v string) string {
	switch v {
	case "unfair":
		return "unfair"
	case "fair?":
		return "low"
	case "n/a":
		return "na"
	}
	return "fair"
}

// writeChart writes c's heading, bar chart, run chart and note.
func writeChart(b *strings.Builder, c *chart) {
	fmt.Fprintf(b, "\n<h2>%s <span class=\"%s\">%s</span></h2>\n", esc(c.Title), verdictClass(c.Verdict), esc(c.Verdict))
	fmt.Fprintf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n<title>%s</title>",
		c.Width, c.Height, c.Width, c.Height, esc(c.Title), esc(c.Title))
	for _, l := range c.Grid {
		fmt.Fprintf(b, "\n<line x1=\"%v\" y1=\"16\" x2=\"%v\" y2=\"%d\" stroke=\"#ddd\" stroke-width=\"1\"/>", l.X, l.X, c.AxisY)
		fmt.Fprintf(b, "\n<text x=\"%v\" y=\"%d\" dy=\"16\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">%s</text>", l.X, c.AxisY, esc(l.Label))
	}
	for _, row := range c.Rows {
		fill := c.Colour
		if row.Unexpected {
			fill = colourUnexpected
		}
		fmt.Fprintf(b, "\n<text x=\"%d\" y=\"%d\" dx=\"-8\" font-size=\"12\" text-anchor=\"end\" fill=\"#222\">%s</text>", c.BarX, row.TextY, esc(row.Label))
		fmt.Fprintf(b, "\n<rect x=\"%d\" y=\"%d\" width=\"%v\" height=\"20\" fill=\"%s\"/>", c.BarX, row.Y, row.W, fill)
		if row.HasExp {
			fmt.Fprintf(b, "\n<rect x=\"%v\" y=\"%d\" width=\"2\" height=\"20\" fill=\"#111\"/>", row.ExpX, row.Y)
		}
		fmt.Fprintf(b, "\n<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#222\">%s</text>", c.ValueX, row.TextY, esc(row.Value))
	}
	b.WriteString("\n</svg>")
	if c.Run != nil {
		writeRunChart(b, c.Run)
	}
	writeChartNote(b, c)
}

// writeRunChart writes the shares across the run as one line a target.
func writeRunChart(b *strings.Builder, r *runChart) {
	fmt.Fprintf(b, "\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"share of first answers across the run\">", r.W, r.H, r.W, r.H)
	b.WriteString("\n<title>share of first answers across the run, in tenths of the answers</title>")
	for _, t := range r.YGrid {
		fmt.Fprintf(b, "\n<line x1=\"%d\" y1=\"%v\" x2=\"%d\" y2=\"%v\" stroke=\"#e0e0e0\" stroke-width=\"1\"/>", r.Left, t.Pos, r.Right, t.Pos)
		fmt.Fprintf(b, "\n<text x=\"%d\" y=\"%v\" dx=\"-6\" dy=\"4\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">%s</text>", r.Left, t.Pos, esc(t.Label))
	}
	for _, t := range r.XTicks {
		fmt.Fprintf(b, "\n<text x=\"%v\" y=\"%d\" dy=\"16\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">%s</text>", t.Pos, r.Bottom, esc(t.Label))
	}
	for _, l := range r.Lines {
		fmt.Fprintf(b, "\n<line x1=\"%d\" y1=\"%v\" x2=\"%d\" y2=\"%v\" stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"4 4\"/>", r.Left, l.ExpY, r.Right, l.ExpY, l.Colour)
		fmt.Fprintf(b, "\n<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>", esc(l.Points), l.Colour)
		fmt.Fprintf(b, "\n<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\" transform=\"translate(10,-9)\"/>", r.Right, l.LegendY, l.Colour)
		fmt.Fprintf(b, "\n<text x=\"%d\" y=\"%d\" dx=\"26\" font-size=\"11\" fill=\"#222\">%s</text>", r.Right, l.LegendY, esc(l.Target))
	}
	b.WriteString("\n</svg>")
}

// writeChartNote writes the note under c's charts.
func writeChartNote(b *strings.Builder, c *chart) {
	b.WriteString("\n<p class=\"note\">Bars: share of first answers per target, coloured by the verdict")
	if c.G.Expected {
		b.WriteString(" (expected targets from the configuration)")
	} else {
		b.WriteString(" (expected: the targets seen, equally weighted)")
	}
	b.WriteString("; black mark: expected share. ")
	if c.Run != nil {
		b.WriteString("Lines: the share of each target in each tenth of the group's answers across the run; dashed: its expected share. ")
	}
	fmt.Fprintf(b, "%d answers, p = %s, max/min %s.</p>\n", c.G.Answers, esc(pvalue(c.G.PValue)), esc(c.G.MaxMinRatio.format(2)))
}

// reportCSS styles the page: a 1280 px window, and one card a group on a
// phone.
const reportCSS = `body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1232px; }
h1 { font-size: 1.35em; margin: 0.6em 0 0.3em 0; } h2 { font-size: 1.05em; margin-top: 1.8em; }
.banner { border: 2px solid; border-radius: 6px; padding: 0.6em 1em; margin: 0 0 1em 0; }
.banner strong { font-size: 1.5em; margin-right: 0.6em; letter-spacing: 0.04em; }
.banner ul { margin: 0.3em 0 0 0; padding-left: 1.2em; }
.banner.fair { background: #e8f5e9; border-color: #2e7d32; color: #1b5e20; }
.banner.unfair { background: #ffebee; border-color: #c62828; color: #b71c1c; }
.banner.check { background: #fff8e1; border-color: #b26a00; color: #7a4a00; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 0.15em 1em; font-size: 0.9em; margin: 0.5em 0 1em 0; }
.top { display: flex; flex-direction: column; }
dl.run dt { font-weight: 600; } dl.run dd { margin: 0; overflow-wrap: anywhere; }
code { font-family: ui-monospace, monospace; font-size: 0.95em; }
table { border-collapse: collapse; font-size: 0.82em; width: 100%; }
th, td { padding: 0.3em 0.4em; border-bottom: 1px solid #ddd; text-align: right; }
th { vertical-align: bottom; font-weight: 600; }
th:nth-child(-n+4), td:nth-child(-n+4) { text-align: left; }
td.name { white-space: nowrap; }
td.fair, td.unfair, td.low, td.na { font-weight: bold; }
.fair { color: #2e7d32; } .unfair { color: #c62828; } .low { color: #b26a00; } .na { color: #757575; }
.note { color: #555; font-size: 0.85em; max-width: 62em; }
svg { display: block; margin: 0.5em 0 1em 0; max-width: 100%; height: auto; }
@media (max-width: 700px) {
  body { margin: 0.6em; }
  .top dl.run { order: 2; }
  table, tbody, tr, td { display: block; width: auto; }
  thead { display: none; }
  tr { border: 1px solid #ccc; border-radius: 6px; margin: 0 0 0.7em 0; padding: 0.2em 0; }
  td { border-bottom: 1px solid #eee; padding: 0.2em 0.6em; display: flex; justify-content: space-between; gap: 1em; text-align: right; }
  td:nth-child(-n+4) { text-align: right; }
  td:last-child { border-bottom: none; }
  td::before { content: attr(data-label); font-weight: 600; text-align: left; color: #444; }
}
`
