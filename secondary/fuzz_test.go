package secondary

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzApplyIXFR: any sequence of records as an IXFR response, applied to a
// small zone, never panics, never modifies the zone, and either fails or
// gives a zone whose first record is the response's first SOA and that
// holds no SOA besides it.
func FuzzApplyIXFR(f *testing.F) {
	pool := []string{
		"lab. 3600 IN SOA ns.lab. h.lab. 1 900 600 86400 300",
		"lab. 3600 IN SOA ns.lab. h.lab. 2 900 600 86400 300",
		"lab. 3600 IN SOA ns.lab. h.lab. 3 900 600 86400 300",
		"lab. 3600 IN NS ns.lab.",
		"ns.lab. 300 IN A 10.0.0.1",
		"www.lab. 300 IN A 10.0.0.2",
		"www.lab. 60 IN A 10.0.0.2",
		"mail.lab. 300 IN A 10.0.0.3",
		"WWW.lab. 300 IN A 10.0.0.2",
	}
	var rrs []dns.RR
	for _, s := range pool {
		rr, err := dns.NewRR(s)
		if err != nil {
			f.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	zone := []dns.RR{rrs[0], rrs[3], rrs[4], rrs[5]}
	f.Add([]byte{1, 0, 5, 1, 7, 1})    // one difference
	f.Add([]byte{1, 3, 7, 1})          // the whole zone
	f.Add([]byte{2, 0, 5, 1, 1, 7, 2}) // two differences
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, seq []byte) {
		if len(seq) > 64 {
			return
		}
		resp := make([]dns.RR, len(seq))
		for i, b := range seq {
			resp[i] = rrs[int(b)%len(rrs)]
		}
		before := render(zone)
		out, _, err := applyIXFR(zone, resp)
		if render(zone) != before {
			t.Fatal("the zone was modified")
		}
		if err != nil {
			return
		}
		if len(out) == 0 || out[0] != resp[0] {
			t.Fatalf("result does not start with the response's SOA: %v", out)
		}
		for _, rr := range out[1:] {
			if rr == nil || rr.Header().Rrtype == dns.TypeSOA {
				t.Fatalf("nil or second SOA in %v", out)
			}
		}
	})
}
