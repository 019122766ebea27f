package secondary

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/internal/serial"
)

// errFraming is a transfer whose records are not framed as RFC 5936 §2.2 and
// RFC 1995 §4 say (SOA first and last, serials that follow on).
var errFraming = errors.New("broken framing")

// axfrRecords checks the framing of an AXFR response (RFC 5936 §2.2: the
// SOA, the zone's other records, the same SOA again; no SOA in between) and
// returns the zone, SOA first.
func axfrRecords(resp []dns.RR) ([]dns.RR, error) {
	if len(resp) < 2 {
		return nil, fmt.Errorf("%w: %d records", errFraming, len(resp))
	}
	first, ok1 := resp[0].(*dns.SOA)
	last, ok2 := resp[len(resp)-1].(*dns.SOA)
	if !ok1 || !ok2 || first.Serial != last.Serial {
		return nil, fmt.Errorf("%w: not opened and closed by the same SOA", errFraming)
	}
	for _, rr := range resp[1 : len(resp)-1] {
		if rr.Header().Rrtype == dns.TypeSOA {
			return nil, fmt.Errorf("%w: an SOA inside the zone (%s)", errFraming, rr.Header().Name)
		}
	}
	return resp[:len(resp)-1], nil
}

// rrKey identifies a record for IXFR deletions: owner (case-folded), type
// and RDATA, not the TTL (RFC 1995 §4 deletes records, not TTLs).
func rrKey(rr dns.RR) string {
	h := rr.Header()
	s := rr.String()
	rdata := strings.TrimPrefix(s, h.String())
	return strings.ToLower(h.Name) + " " + dns.TypeToString[h.Rrtype] + " " + rdata
}

// applyIXFR applies an IXFR response (RFC 1995 §4) to zone (the zone at our
// serial, SOA first) and returns the zone at the response's serial. A
// response of the whole zone (AXFR form) is returned as it is, with full
// set. An error means the response cannot be applied (a single SOA, which
// asks for AXFR; a deletion of a record the zone lacks; serials that do not
// follow on): the caller falls back to AXFR. zone is not modified.
func applyIXFR(zone []dns.RR, resp []dns.RR) (out []dns.RR, full bool, err error) {
	if len(resp) == 0 {
		return nil, false, fmt.Errorf("%w: empty response", errFraming)
	}
	newSOA, ok := resp[0].(*dns.SOA)
	if !ok {
		return nil, false, fmt.Errorf("%w: first record is not an SOA", errFraming)
	}
	if len(resp) == 1 {
		return nil, false, fmt.Errorf("a single SOA: the primary wants an AXFR")
	}
	if second, ok := resp[1].(*dns.SOA); !ok || (len(resp) == 2 && second.Serial == newSOA.Serial) {
		rrs, err := axfrRecords(resp)
		return rrs, true, err
	}
	if last, ok := resp[len(resp)-1].(*dns.SOA); !ok || last.Serial != newSOA.Serial {
		return nil, false, fmt.Errorf("%w: not closed by the new SOA", errFraming)
	}
	if len(zone) == 0 {
		return nil, false, errors.New("no zone to apply differences to")
	}
	cur := zone[0].(*dns.SOA).Serial

	body := resp[1 : len(resp)-1]
	// index maps a record's key to its place in recs; deleted places are
	// nil. Only the records at names the differences touch are keyed: a
	// change to a zone of 100,000 records keys a handful, not all of them.
	touched := map[string]bool{}
	for _, rr := range body {
		if rr.Header().Rrtype != dns.TypeSOA {
			touched[strings.ToLower(rr.Header().Name)] = true
		}
	}
	recs := make([]dns.RR, len(zone)-1, len(zone))
	copy(recs, zone[1:])
	index := make(map[string]int, len(touched))
	for i, rr := range recs {
		if touched[lowerName(rr.Header().Name)] {
			index[rrKey(rr)] = i
		}
	}
	for i := 0; i < len(body); {
		old, ok := body[i].(*dns.SOA)
		if !ok || old.Serial != cur {
			return nil, false, fmt.Errorf("inconsistent: a difference does not start at serial %d", cur)
		}
		i++
		for ; i < len(body) && body[i].Header().Rrtype != dns.TypeSOA; i++ {
			k := rrKey(body[i])
			j, ok := index[k]
			if !ok {
				return nil, false, fmt.Errorf("inconsistent: serial %d deletes %s, which the zone lacks", cur, body[i])
			}
			recs[j] = nil
			delete(index, k)
		}
		if i == len(body) {
			return nil, false, fmt.Errorf("%w: a difference without its new SOA", errFraming)
		}
		next := body[i].(*dns.SOA)
		if !serial.Newer(next.Serial, cur) {
			return nil, false, fmt.Errorf("inconsistent: serial %d follows %d", next.Serial, cur)
		}
		i++
		for ; i < len(body) && body[i].Header().Rrtype != dns.TypeSOA; i++ {
			k := rrKey(body[i])
			if j, ok := index[k]; ok {
				recs[j] = body[i] // the same record again: its TTL may have changed
				continue
			}
			index[k] = len(recs)
			recs = append(recs, body[i])
		}
		cur = next.Serial
	}
	if cur != newSOA.Serial {
		return nil, false, fmt.Errorf("inconsistent: the differences end at serial %d, not %d", cur, newSOA.Serial)
	}
	out = make([]dns.RR, 1, len(recs)+1)
	out[0] = newSOA
	for _, rr := range recs {
		if rr != nil {
			out = append(out, rr)
		}
	}
	return out, false, nil
}

// lowerName is name in lower case, without a copy when it is already.
func lowerName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// render writes the zone in master-file form, one record a line, absolute
// owners: what the compiler reads and the store keeps.
func render(rrs []dns.RR) string {
	var b strings.Builder
	b.Grow(len(rrs) * 64)
	for _, rr := range rrs {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func equalName(a, b string) bool { return strings.EqualFold(dns.Fqdn(a), dns.Fqdn(b)) }
