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
	charts := count(doc, "svg", func(svg *html.Node) {
		if bars := count(svg, "rect", nil); bars < 1 {
			t.Errorf("a chart without bars")
		}
	})
	if charts != len(r.Groups) || charts != 3 {
		t.Errorf("%d <svg> charts, want one per group (%d)", charts, len(r.Groups))
	}
	// Narrow screens: the wide table scrolls on its own, and the charts
	// shrink to the page (their viewBox keeps them whole).
	tables := count(doc, "table", func(tb *html.Node) {
		if p := tb.Parent; p == nil || p.Data != "div" || attr(p, "class") != "wide" {
			t.Errorf("the table is not inside <div class=\"wide\">")
		}
	})
	if tables != 1 {
		t.Errorf("%d tables, want 1", tables)
	}
	for _, want := range []string{`name="viewport"`, ".wide { overflow-x: auto; }", "max-width: 100%; height: auto;"} {
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

// attr returns the value of n's attribute key, "" when absent.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
