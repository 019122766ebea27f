package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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

// TestDesignCitations: code and docs cite the design as
// docs/design.md#<section>, each section exists, and nothing cites a design
// document outside the repository ("DESIGN §").
func TestDesignCitations(t *testing.T) {
	design, err := os.ReadFile("../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, l := range strings.Split(string(design), "\n") {
		if h, ok := strings.CutPrefix(strings.TrimLeft(l, "#"), " "); ok && strings.HasPrefix(l, "#") {
			anchors[slug(h)] = true
		}
	}
	cite := regexp.MustCompile(`design\.md#([a-z0-9-]+)`)
	n := 0
	err = filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" && strings.Contains(p, "fuzz")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".toml")) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text := string(b)
		if i := strings.Index(text, "DESIGN §"); i >= 0 && !strings.HasSuffix(p, "docblock_unit_test.go") {
			t.Errorf("%s: cites %q, a document outside the repository: cite docs/design.md#<section>", p, text[i:min(len(text), i+20)])
		}
		for _, m := range cite.FindAllStringSubmatch(text, -1) {
			n++
			if !anchors[m[1]] {
				t.Errorf("%s: cites design.md#%s, which is no section of docs/design.md", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("%d citations of docs/design.md found; the walk is broken", n)
	}
}

// slug is GitHub's anchor of a heading: lower case, spaces to hyphens,
// other punctuation dropped.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ' || r == '-':
			b.WriteByte('-')
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_':
			b.WriteRune(r)
		}
	}
	return b.String()
}
