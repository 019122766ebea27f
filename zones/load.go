package zones

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/sitedns/sitedns/internal/tomlkey"
)

// Error is one problem found in a config: where, which field, which value,
// and what is wrong. Its Error() reads
// "contoso.toml:12: site \"US-Chicago\": subnets: \"10.2.0.0/33\": bad prefix length".
type Error struct {
	File  string
	Line  int // 0 when unknown
	Field string
	Value string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	if e.Value != "" {
		b.WriteString(": ")
		b.WriteString(strconv.Quote(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one config.
type Errors []*Error

// Error lists the problems one per line, in file order.
func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// decodeErr picks the line, key and message out of a TOML type error, which
// the decoder returns as plain text ("toml: line 4 (last key "site.subnets"):
// incompatible types: ...").
var decodeErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// maxErrors bounds the problems reported for one config: past it, the rest
// are counted in a final line. A config broken everywhere is fixed from the
// top, and a reload error log stays readable.
const maxErrors = 50

// demoName is the file name errors of the embedded demo config carry.
const demoName = "demo:contoso.toml"

//go:embed demo/contoso.toml
var demoConfig []byte

// DemoConfig returns the text of the embedded demo config, the three-country
// contoso lab, so that it can be printed, copied and edited.
func DemoConfig() []byte { return append([]byte(nil), demoConfig...) }

// Load reads, validates and compiles the config at path. On failure the
// error is an Errors listing every problem. counters may be shared between
// loads so counters survive reloads.
func Load(path string, counters *Counters) (*Snapshot, error) {
	return LoadWith(path, counters, nil)
}

// LoadWith is Load with the data of the secondary zones from xfr (nil:
// none, and those zones answer SERVFAIL).
func LoadWith(path string, counters *Counters, xfr Transfers) (*Snapshot, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	snap, err := ParseWith(path, filepath.Dir(path), text, counters, xfr)
	if snap != nil {
		snap.Source = path
	}
	return snap, err
}

// LoadDemo compiles the embedded three-country contoso lab config.
func LoadDemo(counters *Counters) (*Snapshot, error) {
	return Parse(demoName, "", demoConfig, counters)
}

// Parse compiles config text. name is the file name errors carry; zone files
// named by the config are read relative to dir ("" forbids them; otherwise
// name is the path of the config file, listed first in Snapshot.Files). counters
// may be nil for a throwaway registry.
func Parse(name, dir string, text []byte, counters *Counters) (*Snapshot, error) {
	return ParseWith(name, dir, text, counters, nil)
}

// ParseWith is Parse with the data of the secondary zones from xfr (nil:
// none, and those zones answer SERVFAIL).
func ParseWith(name, dir string, text []byte, counters *Counters, xfr Transfers) (*Snapshot, error) {
	if counters == nil {
		counters = NewCounters()
	}
	c := &compiler{
		file:     name,
		dir:      dir,
		loc:      newLocator(string(text)),
		counters: counters,
		hash:     sha256.New(),
		xfr:      xfr,
	}
	c.hashFile("", string(text))
	var cfg fileConfig
	md, err := toml.NewDecoder(strings.NewReader(string(text))).Decode(&cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			c.add(pe.Position.Line, pe.LastKey, "", pe.Message)
		} else if m := decodeErr.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			c.add(line, m[2], "", typeHint(m[2], m[3]))
		} else {
			c.add(0, "", "", strings.TrimPrefix(err.Error(), "toml: "))
		}
		return nil, c.result()
	}
	for _, k := range md.Undecoded() {
		key := k[len(k)-1]
		msg := "unknown key"
		if near := tomlkey.Suggest(reflect.TypeOf(cfg), k); near != "" {
			msg += ` (did you mean "` + near + `"?)`
		}
		c.add(c.loc.key(c.loc.whole(), key), strings.Join(k, "."), "", msg)
	}
	if len(c.errs) > 0 {
		return nil, c.result()
	}
	snap := c.compile(&cfg)
	if err := c.result(); err != nil {
		return nil, err
	}
	if dir != "" {
		// name is the config file's path: the first of the files read.
		snap.Files = append([]SourceFile{{Path: name, Sum: sha256.Sum256(text)}}, c.files...)
	}
	if len(c.warns) > 0 {
		snap.Warnings = append(Errors(nil), c.warns...)
		sortErrors(snap.Warnings)
	}
	snap.Loaded = time.Now()
	snap.ConfigHash = hex.EncodeToString(c.hash.Sum(nil)[:8])
	return snap, nil
}

// add records one problem.
func (c *compiler) add(line int, field, value, msg string) {
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Field: field, Value: value, Msg: msg})
}

// addf records one problem with a formatted message.
func (c *compiler) addf(line int, field, value, format string, args ...any) {
	c.add(line, field, value, fmt.Sprintf(format, args...))
}

// result returns the problems found, in line order, or nil.
func (c *compiler) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	es := append(Errors(nil), c.errs...)
	sortErrors(es)
	if len(es) > maxErrors {
		more := len(es) - maxErrors
		es = append(es[:maxErrors:maxErrors], &Error{File: c.file, Msg: fmt.Sprintf("%d more errors not shown", more)})
	}
	return es
}

// sortErrors puts the config's own problems first, then those of zone files,
// each in line order; problems of one line keep the order they were found in.
func sortErrors(es Errors) {
	if len(es) == 0 {
		return
	}
	cfg := es[0].File
	slices.SortStableFunc(es, func(a, b *Error) int {
		if (a.File == cfg) != (b.File == cfg) {
			if a.File == cfg {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
}
