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

// quoted maps every basic or literal string in s to the 1-based line it first
// appears on, in one pass, for arrays too long to search value by value.
func (l *locator) quoted(s span) map[string]int {
	m := map[string]int{}
	for i := s.from; i < s.to && i < len(l.lines); i++ {
		line := l.lines[i]
		for j := 0; j < len(line); j++ {
			switch line[j] {
			case '#':
				j = len(line)
			case '"':
				k := j + 1
				for k < len(line) && line[k] != '"' {
					if line[k] == '\\' {
						k++
					}
					k++
				}
				if k >= len(line) {
					j = len(line)
					break
				}
				if v, err := strconv.Unquote(line[j : k+1]); err == nil {
					if _, seen := m[v]; !seen {
						m[v] = i + 1
					}
				}
				j = k
			case '\'':
				k := strings.IndexByte(line[j+1:], '\'')
				if k < 0 {
					j = len(line)
					break
				}
				v := line[j+1 : j+1+k]
				if _, seen := m[v]; !seen {
					m[v] = i + 1
				}
				j += k + 1
			}
		}
	}
	return m
}
