package secondary

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func rrs(t *testing.T, lines ...string) []dns.RR {
	t.Helper()
	var out []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, rr)
	}
	return out
}

func soa(n int) string {
	return "lab. 3600 IN SOA ns.lab. h.lab. " + itoa(n) + " 900 600 86400 300"
}

func itoa(n int) string { return string(rune('0' + n)) }

// TestApplyIXFR: RFC 1995 §4 responses applied to the zone at serial 1, and
// the ones that must fall back to AXFR.
func TestApplyIXFR(t *testing.T) {
	zone := []string{soa(1), "lab. 3600 IN NS ns.lab.", "ns.lab. 300 IN A 10.0.0.1", "www.lab. 300 IN A 10.0.0.2"}
	tests := []struct {
		name string
		resp []string
		want []string // the zone after, SOA first; nil: an error
		full bool
		err  string
	}{
		{"one difference",
			[]string{soa(2), soa(1), "www.lab. 300 IN A 10.0.0.2", soa(2), "www.lab. 300 IN A 10.0.0.3", soa(2)},
			[]string{soa(2), "lab. 3600 IN NS ns.lab.", "ns.lab. 300 IN A 10.0.0.1", "www.lab. 300 IN A 10.0.0.3"}, false, ""},
		{"two differences, deletion matched case-insensitively and without its TTL",
			[]string{soa(3), soa(1), "WWW.lab. 60 IN A 10.0.0.2", soa(2), "mail.lab. 300 IN A 10.0.0.4", soa(2), "mail.lab. 300 IN A 10.0.0.4", soa(3), "new.lab. 300 IN A 10.0.0.5", soa(3)},
			[]string{soa(3), "lab. 3600 IN NS ns.lab.", "ns.lab. 300 IN A 10.0.0.1", "new.lab. 300 IN A 10.0.0.5"}, false, ""},
		{"the whole zone (AXFR form)",
			[]string{soa(2), "lab. 3600 IN NS ns.lab.", "x.lab. 300 IN A 10.0.0.9", soa(2)},
			[]string{soa(2), "lab. 3600 IN NS ns.lab.", "x.lab. 300 IN A 10.0.0.9"}, true, ""},
		{"a single SOA", []string{soa(2)}, nil, false, "wants an AXFR"},
		{"deletes a record the zone lacks",
			[]string{soa(2), soa(1), "nope.lab. 300 IN A 10.0.0.9", soa(2), soa(2)}, nil, false, "lacks"},
		{"starts at another serial",
			[]string{soa(3), soa(2), soa(3), soa(3)}, nil, false, "does not start at serial 1"},
		{"ends short of the new serial",
			[]string{soa(3), soa(1), soa(2), soa(3)}, nil, false, "end at serial 2, not 3"},
		{"not closed by the new SOA",
			[]string{soa(2), soa(1), soa(2), "x.lab. 300 IN A 10.0.0.9"}, nil, false, "not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := rrs(t, zone...)
			before := render(z)
			got, full, err := applyIXFR(z, rrs(t, tt.resp...))
			if render(z) != before {
				t.Fatal("applyIXFR modified the zone it was given")
			}
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if full != tt.full || render(got) != render(rrs(t, tt.want...)) {
				t.Errorf("full %v, got\n%s\nwant\n%s", full, render(got), render(rrs(t, tt.want...)))
			}
		})
	}
}

// TestAXFRRecords: the framing of RFC 5936 §2.2.
func TestAXFRRecords(t *testing.T) {
	if _, err := axfrRecords(rrs(t, soa(1), "ns.lab. 300 IN A 10.0.0.1", soa(1))); err != nil {
		t.Error(err)
	}
	for _, resp := range [][]string{
		{soa(1)},
		{soa(1), "ns.lab. 300 IN A 10.0.0.1"},
		{soa(1), "ns.lab. 300 IN A 10.0.0.1", soa(2)},
		{soa(1), soa(1), "ns.lab. 300 IN A 10.0.0.1", soa(1)},
	} {
		if _, err := axfrRecords(rrs(t, resp...)); err == nil {
			t.Errorf("%v: accepted", resp)
		}
	}
}

// BenchmarkApplyIXFR: one changed record applied to a zone of 100,000.
func BenchmarkApplyIXFR(b *testing.B) {
	soa1, _ := dns.NewRR(soa(1))
	soa2, _ := dns.NewRR(soa(2))
	zone := []dns.RR{soa1}
	for i := range 100000 {
		rr, _ := dns.NewRR(fmt.Sprintf("h%d.lab. 600 IN A 10.%d.%d.%d", i, 100+i>>16, (i>>8)&255, i&255))
		zone = append(zone, rr)
	}
	gone, _ := dns.NewRR("h5.lab. 600 IN A 10.100.0.5")
	added, _ := dns.NewRR("h5.lab. 600 IN A 10.200.0.5")
	resp := []dns.RR{soa2, soa1, gone, soa2, added, soa2}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := applyIXFR(zone, resp); err != nil {
			b.Fatal(err)
		}
	}
}
