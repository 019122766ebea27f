package loadtest

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// voidElements have no end tag in HTML.
var voidElements = map[string]bool{"meta": true, "link": true, "br": true, "hr": true, "img": true, "input": true}

// checkBalanced reports the first start tag without its end tag, or the
// reverse: the page is well formed when every element closes in order.
func checkBalanced(t *testing.T, page []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	var stack []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("tokenizer: %v", z.Err())
			}
			if len(stack) > 0 {
				t.Fatalf("unclosed elements at the end: %v", stack)
			}
			return
		case html.StartTagToken:
			name, _ := z.TagName()
			if !voidElements[string(name)] {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				t.Fatalf("</%s> closes %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
}

// count returns the number of elements named tag under n, and calls f on each.
func count(n *html.Node, tag string, f func(*html.Node)) int {
	c := 0
	if n.Type == html.ElementNode && n.Data == tag {
		c++
		if f != nil {
			f(n)
		}
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		c += count(ch, tag, f)
	}
	return c
}

func TestWriteHTML(t *testing.T) {
	cfg := testConfig([]Client{remote, local, {Addr: remote.Addr, Site: `<script>alert("x")</script>`, Scope: "US"}}, nil, true)
	a := NewAnalysis(cfg)
	for _, s := range stream(0, 300, func(i int) []string { return rotate(usCAS, i) }) {
		a.Add(s)
	}
	for _, s := range stream(1, 300, func(int) []string { return usCAS }) {
		a.Add(s)
	}
	for _, s := range stream(2, 3, func(int) []string { return usCAS[:1] }) {
		a.Add(s)
	}
	r := a.Report(time.Now(), time.Second)
	r.Command = "sitedns loadtest -server 127.0.0.1:5300 -name 'a b'"
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.Bytes()
	checkBalanced(t, page)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	// One bar chart a group, coloured by its verdict, and a chart of the
	// shares across the run for each group with enough answers.
	bars, runs := 0, 0
	count(doc, "svg", func(svg *html.Node) {
		if strings.HasPrefix(attr(svg, "aria-label"), "share of first answers across the run") {
			runs++
			if n := count(svg, "polyline", nil); n < 1 {
				t.Errorf("a run chart without lines")
			}
			return
		}
		bars++
		if n := count(svg, "rect", nil); n < 1 {
			t.Errorf("a chart without bars")
		}
	})
	// The third group's 3 answers are too few to split in tenths.
	if bars != len(r.Groups) || bars != 3 || runs != 2 {
		t.Errorf("%d bar charts and %d run charts, want 3 and 2", bars, runs)
	}
	for _, want := range []string{`fill="` + colourFair + `"`, `fill="` + colourUnfair + `"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("no bar %s: bars are not coloured by verdict", want)
		}
	}
	// The table: every cell labelled with its column's header, so that the
	// cards narrow screens show hold every column.
	var headers []string
	count(doc, "th", func(th *html.Node) { headers = append(headers, text(th)) })
	rows := count(doc, "tr", func(tr *html.Node) {
		i := 0
		count(tr, "td", func(td *html.Node) {
			if i < len(headers) && attr(td, "data-label") != headers[i] {
				t.Errorf("cell %d labelled %q, its column is %q", i, attr(td, "data-label"), headers[i])
			}
			i++
		})
		if i != 0 && i != len(headers) {
			t.Errorf("a row of %d cells under %d headers", i, len(headers))
		}
	})
	if rows != len(r.Groups)+1 || len(headers) != 14 {
		t.Errorf("%d rows and %d headers", rows, len(headers))
	}
	for _, want := range []string{`name="viewport"`, "@media (max-width: 700px)", "td::before { content: attr(data-label);", "max-width: 100%; height: auto;",
		`<div class="banner unfair" role="status"><strong>UNFAIR</strong>`, "1 of 3 groups unfair", "<code>sitedns loadtest -server 127.0.0.1:5300 -name &#39;a b&#39;</code>",
		"netmask ordering expected: a client's own network first (IPv4 /24, IPv6 /64)"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := count(doc, "script", nil); n != 0 {
		t.Errorf("%d <script> elements: a site name was not escaped", n)
	}
	s := string(page)
	for _, bad := range []string{"http://", "https://"} {
		for i := strings.Index(s, bad); i >= 0; i = strings.Index(s[i+1:], bad) + i + 1 {
			if !strings.HasPrefix(s[i:], "http://www.w3.org/2000/svg") {
				t.Errorf("the page refers to the network: %.60s", s[i:])
			}
			if strings.Index(s[i+1:], bad) < 0 {
				break
			}
		}
	}
	for _, want := range []string{"unfair", "fair", "127.2.1.10", "US-Chicago"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// text returns the text under n.
func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		b.WriteString(text(ch))
	}
	return b.String()
}

// attr returns the value of n's attribute key, "" when absent.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestShareOverRun: a strict rotation gives each target a third of every
// tenth of the answers; a target that comes in only in the second half
// shows there.
func TestShareOverRun(t *testing.T) {
	a := NewAnalysis(testConfig([]Client{remote}, nil, false))
	for _, s := range stream(0, 300, func(i int) []string { return rotate(usCAS, i) }) {
		a.Add(s)
	}
	g := a.Report(time.Now(), time.Second).Groups[0]
	if len(g.Over) != overRuns {
		t.Fatalf("%d parts, want %d", len(g.Over), overRuns)
	}
	for p, row := range g.Over {
		for i, v := range row {
			if v < 1.0/3-1e-9 || v > 1.0/3+1e-9 {
				t.Errorf("part %d, %s: %v, want 1/3", p, g.Targets[i].Target, v)
			}
		}
	}

	a = NewAnalysis(testConfig([]Client{remote}, nil, false))
	for _, s := range stream(0, 100, func(i int) []string { return usCAS[:1] }) {
		a.Add(s)
	}
	for _, s := range stream(0, 100, func(i int) []string { return usCAS[1:2] }) {
		a.Add(s)
	}
	g = a.Report(time.Now(), time.Second).Groups[0]
	for p, row := range g.Over {
		want := []float64{1, 0}
		if p >= overRuns/2 {
			want = []float64{0, 1}
		}
		if len(row) != 2 || row[0] != want[0] || row[1] != want[1] {
			t.Errorf("part %d: %v, want %v", p, row, want)
		}
	}
}
