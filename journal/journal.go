// Package journal keeps the IXFR history of a zone (RFC 1995) on disk, so
// that a secondary of sitedns gets an incremental transfer after sitedns
// restarts rather than the whole zone. Each zone has one file, replaced
// whole at each change: the zone as it was last served, then the
// differences between its last few versions, as master-file text in the
// order of an IXFR answer.
package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/internal/atomicfile"
	"github.com/sitedns/sitedns/zones"
)

// Entry is what the journal of one zone holds: the zone as it was last
// served, as a transfer lists it (the SOA first, without the closing SOA),
// and the differences between its last versions, oldest first, the last
// ending at the zone's serial.
type Entry struct {
	Records []dns.RR
	Deltas  []*zones.Delta
}

// SOA is the SOA of e's version of the zone.
func (e *Entry) SOA() *dns.SOA { return e.Records[0].(*dns.SOA) }

// Path is the journal file of the zone origin in dir: the origin without
// its final dot, then ".jnl" ("root.jnl" for the root zone).
func Path(dir, origin string) string {
	name := strings.ToLower(strings.TrimSuffix(origin, "."))
	if name == "" {
		name = "root"
	}
	return filepath.Join(dir, name+".jnl")
}

// Save replaces the journal at path with e, atomically.
func Save(path string, e *Entry) error {
	if err := atomicfile.Write(path, Text(e)); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	return nil
}

// Text is e as its journal file holds it.
func Text(e *Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "; sitedns IXFR journal: %s at serial %d, then %d differences, each the old SOA,\n", e.SOA().Hdr.Name, e.SOA().Serial, len(e.Deltas))
	b.WriteString("; the records deleted, the new SOA and the records added (RFC 1995 §4).\n")
	line := func(rrs ...dns.RR) {
		for _, rr := range rrs {
			b.WriteString(rr.String())
			b.WriteByte('\n')
		}
	}
	line(e.Records...)
	for _, d := range e.Deltas {
		line(d.From)
		line(d.Deleted...)
		line(d.To)
		line(d.Added...)
	}
	return b.String()
}

// Load reads the journal of the zone origin at path. A file that does not
// exist gives an error matching fs.ErrNotExist.
func Load(path, origin string) (*Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path, origin)
}

// Read reads a journal of the zone origin from r; name is the file's name
// in errors, which give the line of a record that does not parse.
func Read(r io.Reader, name, origin string) (*Entry, error) {
	zp := dns.NewZoneParser(r, origin, name)
	zp.SetIncludeAllowed(false)
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if noRDATA(rr) {
			return nil, fmt.Errorf("%s: %s has no RDATA", name, strings.TrimSpace(rr.Header().String()))
		}
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, err
	}
	e, err := split(rrs, origin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return e, nil
}

// noRDATA reports whether rr is a record without RDATA, which the
// master-file syntax allows for dynamic update (RFC 2136 §2.5) and a zone
// never has: the zero value of its type.
func noRDATA(rr dns.RR) bool {
	if u, ok := rr.(*dns.RFC3597); ok {
		return u.Rdata == ""
	}
	zero, ok := dns.TypeToRR[rr.Header().Rrtype]
	if !ok {
		return false
	}
	z := zero()
	*z.Header() = *rr.Header()
	return dns.IsDuplicate(rr, z)
}

// split cuts the records of a journal into the zone and its differences:
// the zone runs from the first SOA to the second, and each difference from
// an SOA to the one after the next.
func split(rrs []dns.RR, origin string) (*Entry, error) {
	var soas []int
	for i, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok {
			if !strings.EqualFold(soa.Hdr.Name, origin) {
				return nil, fmt.Errorf("an SOA of %s in the journal of %s", soa.Hdr.Name, origin)
			}
			soas = append(soas, i)
		}
	}
	if len(soas) == 0 || soas[0] != 0 {
		return nil, fmt.Errorf("does not start with the SOA of %s", origin)
	}
	if len(soas)%2 != 1 {
		return nil, errors.New("a difference without its new SOA")
	}
	soas = append(soas, len(rrs))
	e := &Entry{Records: rrs[:soas[1]:soas[1]]}
	for i := 1; i+1 < len(soas); i += 2 {
		from, to, next := soas[i], soas[i+1], soas[i+2]
		d := &zones.Delta{From: rrs[from].(*dns.SOA), Deleted: rrs[from+1 : to : to], To: rrs[to].(*dns.SOA), Added: rrs[to+1 : next : next]}
		if n := len(e.Deltas); n > 0 && e.Deltas[n-1].To.Serial != d.From.Serial {
			return nil, fmt.Errorf("a difference from serial %d follows one to serial %d", d.From.Serial, e.Deltas[n-1].To.Serial)
		}
		e.Deltas = append(e.Deltas, d)
	}
	if n := len(e.Deltas); n > 0 && e.Deltas[n-1].To.Serial != e.SOA().Serial {
		return nil, fmt.Errorf("the differences end at serial %d, the zone is at serial %d", e.Deltas[n-1].To.Serial, e.SOA().Serial)
	}
	return e, nil
}
