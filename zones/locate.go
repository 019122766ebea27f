package zones

import (
	"strconv"
	"strings"
)

// locator finds the line of a table, key or value in the config text, so
// that an error found after decoding can still name its line. The TOML
// decoder keeps no positions for keys inside arrays of tables, so the
// locator works on the text: the n-th [[site]] header, then the first line of
// that table's block holding the key or the quoted value. It is a best
// effort; 0 means "not found" and the error is reported without a line.
type locator struct {
	lines []string
}

func newLocator(text string) *locator {
	return &locator{lines: strings.Split(text, "\n")}
}

// span is a block of lines [from, to) of the config text.
type span struct{ from, to int }

// whole is the whole file.
func (l *locator) whole() span { return span{0, len(l.lines)} }

// header reports whether line i is a table header, and its name.
func (l *locator) header(i int) (string, bool) {
	s := strings.TrimSpace(l.lines[i])
	if !strings.HasPrefix(s, "[") {
		return "", false
	}
	if j := strings.Index(s, "#"); j >= 0 {
		s = strings.TrimSpace(s[:j])
	}
	s = strings.Trim(s, "[]")
	return strings.ReplaceAll(strings.TrimSpace(s), " ", ""), true
}

// table returns the block of the n-th (0-based) table called name inside
// within; the block ends at the next header that is not a sub-table of it.
func (l *locator) table(within span, name string, n int) span {
	seen := -1
	for i := within.from; i < within.to; i++ {
		h, ok := l.header(i)
		if !ok || h != name {
			continue
		}
		seen++
		if seen != n {
			continue
		}
		end := i + 1
		for ; end < within.to; end++ {
			if h2, ok := l.header(end); ok && !strings.HasPrefix(h2, name+".") {
				break
			}
		}
		return span{i, end}
	}
	return span{}
}

// key returns the 1-based line of "key =" inside s, or of the table header
// when the key is not found, or 0.
func (l *locator) key(s span, key string) int {
	for i := s.from; i < s.to && i < len(l.lines); i++ {
		t := strings.TrimSpace(l.lines[i])
		if rest, ok := strings.CutPrefix(t, key); ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
	}
	if s.to > s.from {
		return s.from + 1
	}
	return 0
}

// value returns the 1-based line inside s that holds v as a quoted string, or
// the line of key when none does.
func (l *locator) value(s span, key, v string) int {
	q := strconv.Quote(v)
	for i := s.from; i < s.to && i < len(l.lines); i++ {
		if strings.Contains(l.lines[i], q) || strings.Contains(l.lines[i], "'"+v+"'") {
			return i + 1
		}
	}
	return l.key(s, key)
}
