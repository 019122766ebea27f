package secondary

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// readStore reads the stored copy of a zone: its records (the SOA first),
// its text, and when it was last found current (the file's modification
// time, which each current refresh touches).
func readStore(path, origin string) ([]dns.RR, string, time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	text := string(b)
	zp := dns.NewZoneParser(strings.NewReader(text), origin, path)
	zp.SetIncludeAllowed(false)
	var rrs []dns.RR
	var soa dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if s, isSOA := rr.(*dns.SOA); isSOA {
			if soa != nil || !equalName(s.Hdr.Name, origin) {
				return nil, "", time.Time{}, fmt.Errorf("%s: an SOA other than the apex's", path)
			}
			soa = s
			continue
		}
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, "", time.Time{}, err
	}
	if soa == nil {
		return nil, "", time.Time{}, fmt.Errorf("%s: no SOA", path)
	}
	return append([]dns.RR{soa}, rrs...), text, fi.ModTime(), nil
}

// touchStore sets the stored copy's modification time: the zone was found
// current at t.
func touchStore(path string, t time.Time) error { return os.Chtimes(path, t, t) }
