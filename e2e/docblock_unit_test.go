package e2e

import (
	"strings"
	"testing"
)

// TestParseDocProblems: every way a command could escape the docs test is
// reported with its line.
func TestParseDocProblems(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"indented", "text\n\n    sitedns serve\n", "x.md:3: indented code block"},
		{"untagged", "```\nsitedns serve\n```\n", "x.md:1: fenced block without a language"},
		{"bash", "```bash\nsitedns serve\n```\n", `x.md:1: shell block tagged "bash"`},
		{"prompt", "```sh\n$ sitedns serve\n```\n", `x.md:2: "$ sitedns serve": no "$ " prompt`},
		{"unclosed", "```sh\nsitedns serve\n", "x.md:1: fence never closed"},
		{"list continuation is prose", "- item\n\n    more of the item\n", ""},
		{"fenced is fine", "```sh\nsitedns serve &\n```\n\n```text\nok\n```\n", ""},
	} {
		_, problems := parseDoc("x.md", c.doc)
		got := strings.Join(problems, "\n")
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s: problems %q, want %q", c.name, got, c.want)
		}
	}
	blocks, _ := parseDoc("x.md", "```sh skip: needs root\na\n```\n```sh\nb\n```\nprose\n```text measured\nout\n```\n")
	if len(blocks) != 3 || blocks[0].run() || !blocks[1].run() || blocks[1].expect != blocks[2] || !blocks[2].has("measured") {
		t.Errorf("blocks %+v: want skip, run with its measured output", blocks)
	}
}

// TestMatchOutput: the documented lines must appear in order; numbers are
// free only in measured blocks.
func TestMatchOutput(t *testing.T) {
	got := "log line\nserver 127.0.0.1:5300: 3000 queries in 0.21s (14284 qps)\nother\nunknown  fair  100.0%  ███\n"
	for _, c := range []struct {
		name, want string
		measured   bool
		ok         bool
	}{
		{"excerpt", "server 127.0.0.1:5300: 3000 queries in 0.21s (14284 qps)\n...\nunknown fair 100.0% ███", false, true},
		{"a number edited", "server 127.0.0.1:5300: 3000 queries in 0.22s (14284 qps)", false, false},
		{"measured number", "server 127.0.0.1:5300: 3000 queries in 0.99s (1 qps)", true, true},
		{"measured word", "unknown unfair 100.0%", true, false},
		{"measured bar", "unknown fair 50.0% █████████", true, true},
		{"measured address", "server 127.0.0.2:5300: 3000 queries in 0.21s (14284 qps)", true, false},
		{"order", "unknown fair 100.0% ███\nlog line", false, false},
	} {
		if _, ok := matchOutput(c.want, got, c.measured); ok != c.ok {
			t.Errorf("%s: match %v, want %v", c.name, ok, c.ok)
		}
	}
}

// TestDocRewrite: defaults are spelt out, then ports and /tmp/ move.
func TestDocRewrite(t *testing.T) {
	b := &docBlock{lang: "sh", body: "sitedns serve &\nsitedns serve -listen 127.0.0.1:5301 -metrics-listen \"\" &\nsitedns loadtest \\\n  -name x\ndig @127.0.0.1 -p 5300 x > /tmp/out\n"}
	ports := docPorts([]*docBlock{b})
	if strings.Join(ports, " ") != "9153 5300 5301" {
		t.Errorf("ports %v, want 9153 5300 5301", ports)
	}
	s := docSubst{ports: map[string]string{"5300": "40001", "9153": "40002", "5301": "40003", "40001": "5301"}, tmp: "/x"}
	want := "sitedns serve -metrics-listen 127.0.0.1:40002 -listen 127.0.0.1:40001 &\n" +
		"sitedns serve -listen 127.0.0.1:40003 -metrics-listen \"\" &\n" +
		"sitedns loadtest -server 127.0.0.1:40001    -name x\n" +
		"dig @127.0.0.1 -p 40001 x > /x/out\n"
	if got := s.script(b); got != want {
		t.Errorf("script\n%s\nwant\n%s", got, want)
	}
	srv := servedAddrs(want)
	if len(srv) != 3 || srv[0].addr != "127.0.0.1:40002" || !srv[0].background || srv[2].addr != "127.0.0.1:40003" {
		t.Errorf("served %+v", srv)
	}
}
