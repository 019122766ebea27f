package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The docs test (docs_test.go) runs the shell blocks of README.md and
// docs/*.md. This file holds its pure parts: reading a Markdown file into
// fenced blocks, rewriting a run block's ports and paths, and comparing an
// output with the documented one. The convention is in docs/README.md.

// docBlock is one fenced code block of a Markdown file.
type docBlock struct {
	line int      // 1-based line of the opening fence
	lang string   // first word of the info string: "sh", "text", "toml", ...
	tags []string // the other words: "skip", "measured", a reason
	body string   // the lines between the fences, each ending in "\n"
	// expect is the ```text block that follows a ```sh block with no
	// other fenced block in between: the output it documents.
	expect *docBlock
}

// run reports whether the docs test executes the block.
func (b *docBlock) run() bool { return b.lang == "sh" && !b.has("skip") }

func (b *docBlock) has(tag string) bool {
	for _, t := range b.tags {
		if t == tag {
			return true
		}
	}
	return false
}

// firstLine is the block's first non-blank line, to name it in reports.
func (b *docBlock) firstLine() string {
	for _, l := range strings.Split(b.body, "\n") {
		if s := strings.TrimSpace(l); s != "" {
			return s
		}
	}
	return ""
}

var fenceRE = regexp.MustCompile("^ {0,3}(```+|~~~+)\\s*(.*)$")

// shellLangs are info strings that would hide a shell command from the
// docs test: such blocks must say sh (run) or sh skip.
var shellLangs = map[string]bool{"bash": true, "shell": true, "console": true, "shell-session": true, "zsh": true}

// parseDoc returns the fenced blocks of a Markdown text, and the problems
// that would let a command escape the docs test, each with its line: an
// indented code block, an untagged fence, a shell block tagged other than
// sh, a "$ " prompt in a sh block, an unclosed fence.
func parseDoc(name, text string) ([]*docBlock, []string) {
	var blocks []*docBlock
	var problems []string
	lines := strings.Split(text, "\n")
	var cur *docBlock
	var fence string
	prevBlank, inList := true, false
	for i, l := range lines {
		n := i + 1
		if cur != nil {
			if t := strings.TrimSpace(l); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				blocks = append(blocks, cur)
				cur = nil
				prevBlank = false
				continue
			}
			cur.body += l + "\n"
			continue
		}
		if m := fenceRE.FindStringSubmatch(l); m != nil {
			words := strings.Fields(m[2])
			cur = &docBlock{line: n}
			fence = m[1]
			if len(words) > 0 {
				cur.lang = words[0]
				for _, w := range words[1:] {
					cur.tags = append(cur.tags, strings.TrimSuffix(w, ":"))
				}
			}
			switch {
			case cur.lang == "":
				problems = append(problems, fmt.Sprintf("%s:%d: fenced block without a language: tag it sh (run by the docs test), sh skip, text (output), or its language (toml, yaml, powershell, ...)", name, n))
			case shellLangs[cur.lang]:
				problems = append(problems, fmt.Sprintf("%s:%d: shell block tagged %q: tag it sh (run by the docs test) or sh skip (not run, with a reason)", name, n, cur.lang))
			}
			continue
		}
		blank := strings.TrimSpace(l) == ""
		if !blank && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
			inList = listItemRE.MatchString(l)
		}
		if !blank && prevBlank && !inList && (strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "\t")) {
			problems = append(problems, fmt.Sprintf("%s:%d: indented code block: use a fenced block tagged sh (run by the docs test), sh skip, text (output) or a language", name, n))
		}
		prevBlank = blank
	}
	if cur != nil {
		problems = append(problems, fmt.Sprintf("%s:%d: fence never closed", name, cur.line))
	}
	for i, b := range blocks {
		if b.lang == "sh" {
			for j, l := range strings.Split(b.body, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "$ ") {
					problems = append(problems, fmt.Sprintf("%s:%d: %q: no \"$ \" prompt in a sh block; put the output in a ```text block after it", name, b.line+1+j, l))
				}
			}
			if i+1 < len(blocks) && blocks[i+1].lang == "text" {
				b.expect = blocks[i+1]
			}
		}
	}
	return blocks, problems
}

var listItemRE = regexp.MustCompile(`^\s*([-*+]|\d+[.)])\s`)

// docSubst is how a doc's run blocks are rewritten before they run: the
// ports they name map to free ports, /tmp/ to a directory of the test's
// own, and sitedns commands that rely on a default address get it spelt
// out, so that the default can be mapped too.
type docSubst struct {
	ports map[string]string // documented port -> port of this run
	tmp   string            // replaces "/tmp/" (with its trailing slash)
}

// Defaults spelt out for the rewriting: what sitedns serve and loadtest
// use when no address is given.
const (
	docDefaultListen  = "127.0.0.1:5300"
	docDefaultMetrics = "127.0.0.1:9153"
)

var (
	portRE      = regexp.MustCompile(`(?:^|[\s"'=/@\[\]a-z0-9.])(?::|-p\s+)(\d{4,5})\b`)
	serveRE     = regexp.MustCompile(`\bsitedns\s+serve\b`)
	loadtestRE  = regexp.MustCompile(`\bsitedns\s+loadtest\b`)
	cmdEndRE    = regexp.MustCompile(`[;&|]`)
	numberTokRE = regexp.MustCompile(`^[(<>~≈]*\d+([.,]\d+)?(ns|us|µs|ms|s|m|h|x|%|qps|B|KB|MB|GB|KiB|MiB|GiB)?[),:;]*$`)
)

// spellDefaults adds -listen and -metrics-listen to a sitedns serve that
// gives none, and -server to a sitedns loadtest that gives none, so that the
// docs test can move them to free ports. It works on one logical command
// line (continuations joined).
func spellDefaults(line string) string {
	line = insertAfter(serveRE, line, "-listen ", " -listen "+docDefaultListen)
	line = insertAfter(serveRE, line, "-metrics-listen ", " -metrics-listen "+docDefaultMetrics)
	return insertAfter(loadtestRE, line, "-server ", " -server "+docDefaultListen)
}

// insertAfter inserts add after each match of re in line whose command (up
// to the next ;, & or |) does not already contain flag.
func insertAfter(re *regexp.Regexp, line, flag, add string) string {
	var out strings.Builder
	for {
		loc := re.FindStringIndex(line)
		if loc == nil {
			out.WriteString(line)
			return out.String()
		}
		rest := line[loc[1]:]
		cmd := rest
		if e := cmdEndRE.FindStringIndex(rest); e != nil {
			cmd = rest[:e[0]]
		}
		out.WriteString(line[:loc[1]])
		if !strings.Contains(cmd+" ", " "+flag) {
			out.WriteString(add)
		}
		line = rest
	}
}

// logicalLines joins backslash continuations.
func logicalLines(body string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// docPorts returns the ports (1024 and up) named in the run blocks, after
// spellDefaults, in order of first use.
func docPorts(blocks []*docBlock) []string {
	var ports []string
	seen := map[string]bool{}
	for _, b := range blocks {
		if !b.run() {
			continue
		}
		for _, l := range logicalLines(b.body) {
			for _, m := range portRE.FindAllStringSubmatch(spellDefaults(l), -1) {
				if n, _ := strconv.Atoi(m[1]); n >= 1024 && n <= 65535 && !seen[m[1]] {
					p := m[1]
					seen[p] = true
					ports = append(ports, p)
				}
			}
		}
	}
	return ports
}

// apply rewrites text (a run block, or the output it documents).
func (s docSubst) apply(text string) string {
	if len(s.ports) > 0 {
		// One pass, so that a port of this run equal to another documented
		// port is not rewritten twice.
		var alt []string
		for from := range s.ports {
			alt = append(alt, from)
		}
		re := regexp.MustCompile(`\b(` + strings.Join(alt, "|") + `)\b`)
		text = re.ReplaceAllStringFunc(text, func(p string) string { return s.ports[p] })
	}
	if s.tmp != "" {
		text = strings.ReplaceAll(text, "/tmp/", s.tmp+"/")
	}
	return text
}

// script returns the run block as it is run: defaults spelt out, ports and
// paths rewritten.
func (s docSubst) script(b *docBlock) string {
	var out strings.Builder
	for _, l := range logicalLines(b.body) {
		out.WriteString(s.apply(spellDefaults(l)))
		out.WriteByte('\n')
	}
	return out.String()
}

// matchOutput reports whether every line of want appears in got, in order
// (got may hold other lines in between: a doc may show an excerpt, and "..."
// lines in want are dropped). Runs of white space compare equal. With
// measured, numbers (with a unit, a %, or in parentheses) match any number,
// so timings and rates need not repeat; words, names and addresses still
// must. It returns the first line of want not found.
func matchOutput(want, got string, measured bool) (missing string, ok bool) {
	gl := strings.Split(got, "\n")
	i := 0
	for _, w := range strings.Split(want, "\n") {
		wf := strings.Fields(w)
		if len(wf) == 0 || len(wf) == 1 && (wf[0] == "..." || wf[0] == "…") {
			continue
		}
		for ; i < len(gl); i++ {
			if sameFields(wf, strings.Fields(gl[i]), measured) {
				break
			}
		}
		if i == len(gl) {
			return w, false
		}
		i++
	}
	return "", true
}

func sameFields(want, got []string, measured bool) bool {
	if measured {
		want, got = dropBars(want), dropBars(got)
	}
	if len(want) != len(got) {
		return false
	}
	for k := range want {
		if want[k] == got[k] {
			continue
		}
		if !measured || !numberTokRE.MatchString(want[k]) || !numberTokRE.MatchString(got[k]) {
			return false
		}
	}
	return true
}

// dropBars drops the bar-chart tokens (█…) of a measured line: their length
// is a measurement.
func dropBars(f []string) []string {
	out := f[:0:0]
	for _, t := range f {
		if strings.Trim(t, "█▏▎▍▌▋▊▉") != "" {
			out = append(out, t)
		}
	}
	return out
}
