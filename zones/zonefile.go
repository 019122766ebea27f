package zones

import (
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/miekg/dns"
)

// readText reads a file into a string without the copy that converting
// os.ReadFile's bytes would make: a zone file may be tens of megabytes. The
// buffer, sized by the file's length, is prefaulted before the read fills
// it; a file longer than it said (or one that says 0, as /proc's do) grows
// it as it goes. No one else holds the bytes, so the string can share them.
func readText(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b []byte
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		b = make([]byte, 0, int(fi.Size())+1)
		prefault(b)
	}
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

// scanZoneFile parses the common zone file faster than miekg/dns's
// ZoneParser, which costs about a microsecond and a dozen allocations a
// record: a zone of a million names spends most of its load there.
//
// It takes one record a line, $ORIGIN and $TTL, and comments. It parses A
// and AAAA records itself, exactly as the ZoneParser would, and hands any
// other record to a ZoneParser of its own line. It gives up, returning
// false, on anything else: $INCLUDE, $GENERATE, parentheses, quotes,
// escapes, carriage returns, TTLs with units, classes other than IN, and
// every error. The caller then parses the file with miekg/dns, which says
// what is wrong and where. It never reports an error itself.
func scanZoneFile(text, origin string) ([]dns.RR, bool) {
	s := zoneScanner{origin: origin}
	rrs := make([]dns.RR, 0, strings.Count(text, "\n")+1)
	for text != "" {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		rr, ok := s.line(line)
		if !ok {
			return nil, false
		}
		if rr != nil {
			rrs = append(rrs, rr)
		}
	}
	return rrs, true
}

// zoneScanner is the state scanZoneFile carries from line to line, as the
// ZoneParser does.
type zoneScanner struct {
	origin string
	// ttl is the default TTL: that of $TTL (byDirective), else that of the
	// last record that gave one. hasTTL is false until either is seen.
	ttl         uint32
	hasTTL      bool
	byDirective bool
	// owner is the last record's owner, for lines that start blank.
	owner string

	toks  []string // the current line's fields, reused
	as    slab[dns.A]
	aaaas slab[dns.AAAA]
}

// fields splits line into s.toks at blanks, up to a comment. False for the
// characters scanZoneFile leaves to miekg/dns.
func (s *zoneScanner) fields(line string) bool {
	s.toks = s.toks[:0]
	start := -1
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case ' ', '\t':
			if start >= 0 {
				s.toks = append(s.toks, line[start:i])
				start = -1
			}
		case ';':
			if start >= 0 {
				// The ZoneParser's lexer ends such a token without
				// looking at its type: leave it to it.
				return false
			}
			return true
		case '(', ')', '"', '\\', '\r':
			return false
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		s.toks = append(s.toks, line[start:])
	}
	return true
}

// line parses one line: a record, nil for a directive, blank or comment
// line, false to give up.
func (s *zoneScanner) line(line string) (dns.RR, bool) {
	if !s.fields(line) {
		return nil, false
	}
	toks := s.toks
	if len(toks) == 0 {
		return nil, true
	}
	owner := s.owner
	if line[0] != ' ' && line[0] != '\t' {
		if toks[0][0] == '$' {
			return nil, s.directive(toks)
		}
		name, ok := absoluteName(toks[0], s.origin)
		if !ok {
			return nil, false
		}
		owner, toks = name, toks[1:]
	}
	if owner == "" {
		return nil, false
	}
	// At most one TTL and one class, in either order, then the type.
	var (
		ttl              uint32
		hasTTL, hasClass bool
		typ              uint16
	)
	for typ == 0 {
		if len(toks) == 0 {
			return nil, false
		}
		tok := toks[0]
		toks = toks[1:]
		switch {
		case strings.EqualFold(tok, "IN"):
			if hasClass {
				return nil, false
			}
			hasClass = true
		case isDigits(tok):
			v, ok := digitsTTL(tok)
			if !ok || hasTTL {
				return nil, false
			}
			ttl, hasTTL = v, true
		default:
			t, ok := rrType(tok)
			if !ok {
				return nil, false
			}
			typ = t
		}
	}
	if len(toks) == 0 {
		return nil, false
	}
	switch {
	case hasTTL:
		if !s.hasTTL || !s.byDirective {
			s.ttl, s.hasTTL = ttl, true
		}
	case s.hasTTL:
		ttl = s.ttl
	default:
		return nil, false
	}
	s.owner = owner
	hdr := dns.RR_Header{Name: owner, Rrtype: typ, Class: dns.ClassINET, Ttl: ttl}
	switch typ {
	case dns.TypeA:
		// As (*dns.A).parse: net.ParseIP, and no colon.
		if len(toks) != 1 || strings.Contains(toks[0], ":") {
			return nil, false
		}
		ip := net.ParseIP(toks[0])
		if ip == nil {
			return nil, false
		}
		rr := s.as.new()
		rr.Hdr, rr.A = hdr, ip
		return rr, true
	case dns.TypeAAAA:
		if len(toks) != 1 || !strings.Contains(toks[0], ":") {
			return nil, false
		}
		ip := net.ParseIP(toks[0])
		if ip == nil {
			return nil, false
		}
		rr := s.aaaas.new()
		rr.Hdr, rr.AAAA = hdr, ip
		return rr, true
	}
	return s.other(hdr, toks)
}

// other parses a record of a type scanZoneFile leaves to miekg/dns: its
// line with the owner, TTL and class spelt out, in the current origin.
// Some of miekg/dns's parsers read on past a line when it is short of
// fields; a sentinel record after the line shows this one did not.
func (s *zoneScanner) other(hdr dns.RR_Header, rdata []string) (dns.RR, bool) {
	text := hdr.Name + " " + strconv.FormatUint(uint64(hdr.Ttl), 10) + " IN " +
		dns.TypeToString[hdr.Rrtype] + " " + strings.Join(rdata, " ") + "\n" + sentinel
	zp := dns.NewZoneParser(strings.NewReader(text), s.origin, "")
	zp.SetIncludeAllowed(false)
	rr, ok := zp.Next()
	if !ok || rr.Header().Rrtype != hdr.Rrtype {
		return nil, false
	}
	end, ok := zp.Next()
	if !ok || end.String() != sentinel {
		return nil, false
	}
	if _, more := zp.Next(); more || zp.Err() != nil {
		return nil, false
	}
	return rr, true
}

// sentinel is a record that follows a line other parses, as String writes it.
const sentinel = ".\t0\tIN\tTXT\t\"end\""

// directive handles $ORIGIN and $TTL; false for any other, or an error.
func (s *zoneScanner) directive(toks []string) bool {
	if len(toks) != 2 {
		return false
	}
	switch {
	case strings.EqualFold(toks[0], "$ORIGIN"):
		if !plainToken(toks[1]) {
			return false
		}
		name, ok := absoluteName(toks[1], s.origin)
		if !ok {
			return false
		}
		s.origin = name
		return true
	case strings.EqualFold(toks[0], "$TTL"):
		v, ok := digitsTTL(toks[1])
		if !ok {
			return false
		}
		s.ttl, s.hasTTL, s.byDirective = v, true, true
		return true
	}
	return false
}

// absoluteName is tok made absolute as the ZoneParser does: "@" is the
// origin, a valid relative name is joined to it. The result never shares
// memory with tok, so it does not hold the file's text.
func absoluteName(tok, origin string) (string, bool) {
	switch {
	case tok == "@":
		return origin, true
	case !validName(tok):
		return "", false
	case dns.IsFqdn(tok):
		return strings.Clone(tok), true
	case origin == ".":
		return tok + origin, true
	}
	return tok + "." + origin, true
}

// validName is dns.IsDomainName.
func validName(s string) bool {
	_, ok := dns.IsDomainName(s)
	return ok && s != ""
}

// rrType is the type a token names, as the ZoneParser's lexer reads it;
// false for anything else, and for the tokens it reads as a class too.
func rrType(tok string) (uint16, bool) {
	if tok == "A" || tok == "a" {
		return dns.TypeA, true
	}
	up := strings.ToUpper(tok)
	t, ok := dns.StringToType[up]
	if !ok {
		return 0, false
	}
	if _, class := dns.StringToClass[up]; class {
		return 0, false
	}
	return t, true
}

// plainToken reports whether the ZoneParser's lexer reads tok as a plain
// string, not as a type or a class.
func plainToken(tok string) bool {
	up := strings.ToUpper(tok)
	_, typ := dns.StringToType[up]
	_, class := dns.StringToClass[up]
	return !typ && !class && !strings.HasPrefix(up, "TYPE") && !strings.HasPrefix(up, "CLASS")
}

// isDigits reports whether tok is all decimal digits.
func isDigits(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return tok != ""
}

// digitsTTL is a TTL of digits only; false if it overflows 32 bits, as the
// ZoneParser has it.
func digitsTTL(tok string) (uint32, bool) {
	var v uint64
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > math.MaxUint32 {
			return 0, false
		}
	}
	return uint32(v), tok != ""
}
