package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as aligned tables: the totals, one line per group, then
// the first-answer shares of every group with a bar each.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "server %s: %d queries in %.2fs (%.0f qps) from %d clients (%s); %d responses, %d timeouts, %d errors, %d TCP retries\n",
		r.Server, r.Queries, r.Elapsed, r.QPS, r.Clients, sourceMode(r), r.Responses, r.Timeouts, r.Errors, r.TCP)
	fmt.Fprintf(&b, "latency p50 %s  p99 %s  p99.9 %s  max %s\n\n",
		ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.P999), ms(r.Latency.Max))

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "site\tscope\tname\ttype\tqueries\tanswers\tmax/min\tchi2\tdf\tp\tverdict\tnetmask hit\tlocal 1st\tviolations\ttimeouts\terrors\tqps\tp50\tp99\tp99.9\t")
	for _, g := range r.Groups {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t\n",
			g.Site, dash(g.Scope), g.Name, g.Type, g.Queries, g.Answers,
			g.MaxMinRatio.format(2), g.ChiSquare.format(1), g.DF, pvalue(g.PValue), g.Verdict(),
			percent(g.NetmaskHit), localFirst(g), violations(g.AffinityViolations),
			g.Timeouts, g.Errors, g.QPS, ms(g.Latency.P50), ms(g.Latency.P99), ms(g.Latency.P999))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	b.WriteString("\nfirst answers\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "site\tname\ttype\ttarget\tfirst\tshare\texpected\t")
	for _, g := range r.Groups {
		for _, t := range g.Targets {
			mark := ""
			if t.Unexpected {
				mark = "  (unexpected)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%5.1f%%\t%5.1f%%\t%s%s\n",
				g.Site, g.Name, g.Type, t.Target, t.First, 100*t.Share, 100*t.ExpectedShare, bar(t.Share, 30), mark)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Down) > 0 {
		fmt.Fprintf(&b, "\nanswers holding a target told down (%s)\n", strings.Join(r.Down, ", "))
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "site\tname\ttype\tanswers\twith a down target\tshare\t")
		for _, g := range r.Groups {
			share := 0.0
			if g.Answers > 0 {
				share = float64(g.DownAnswers) / float64(g.Answers)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%5.1f%%\t\n", g.Site, g.Name, g.Type, g.Answers, g.DownAnswers, 100*share)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	b.WriteString("\nmax/min: largest over smallest first-answer count, each over its expected count (1 = perfectly even).\n")
	fmt.Fprintf(&b, "p: chi-square goodness of fit against the expected shares; unfair when p < %.3g (%g over %d groups).\n", r.GroupAlpha, r.Alpha, len(r.Groups))
	b.WriteString("fair?: some expected count is below 5, too few answers for the chi-square test to say much.\n")
	b.WriteString("netmask hit: answers with the first record in the client's own network; local 1st: the same among answers that held such a record.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func sourceMode(r *Report) string {
	switch {
	case r.Bind && r.ECS:
		return "source addresses and ECS"
	case r.ECS:
		return "ECS"
	}
	return "source addresses"
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pvalue(p Float) string {
	v := float64(p)
	switch {
	case math.IsNaN(v):
		return "-"
	case v < 1e-4:
		return "<0.0001"
	}
	return fmt.Sprintf("%.4f", v)
}

func percent(f Float) string {
	if math.IsNaN(float64(f)) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(f))
}

func localFirst(g Group) string {
	if g.LocalAnswers == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(g.NetmaskHits)/float64(g.LocalAnswers))
}

func violations(n int) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// bar draws share (0..1) as up to width block characters.
func bar(share float64, width int) string {
	n := int(math.Round(share * float64(width)))
	n = min(max(n, 0), width)
	return strings.Repeat("█", n)
}
