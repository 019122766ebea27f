package server

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

func TestParseECS(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		ok     bool
		client string
		source uint8
	}{
		{"ipv4 /24", []byte{0, 1, 24, 0, 10, 2, 1}, true, "10.2.1.0", 24},
		{"ipv4 /32", []byte{0, 1, 32, 0, 10, 2, 1, 77}, true, "10.2.1.77", 32},
		{"ipv4 /20", []byte{0, 1, 20, 0, 10, 2, 0x10}, true, "10.2.16.0", 20},
		{"ipv4 /0", []byte{0, 1, 0, 0}, true, "0.0.0.0", 0},
		{"ipv6 /56", []byte{0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 1}, true, "2001:db8:0:100::", 56},
		{"family 0 source 0 (dig +subnet=0)", []byte{0, 0, 0, 0}, true, "0.0.0.0", 0},
		{"family 0 with a source", []byte{0, 0, 8, 0, 10}, false, "", 0},
		{"family 3", []byte{0, 3, 0, 0}, false, "", 0},
		{"short", []byte{0, 1, 24}, false, "", 0},
		{"scope not 0", []byte{0, 1, 24, 24, 10, 2, 1}, false, "", 0},
		{"ipv4 source 33", []byte{0, 1, 33, 0, 10, 2, 1, 77, 0}, false, "", 0},
		{"ipv6 source 129", append([]byte{0, 2, 129, 0}, make([]byte, 17)...), false, "", 0},
		{"too many address bytes", []byte{0, 1, 24, 0, 10, 2, 1, 0}, false, "", 0},
		{"too few address bytes", []byte{0, 1, 24, 0, 10, 2}, false, "", 0},
		{"bits beyond source", []byte{0, 1, 20, 0, 10, 2, 0x11}, false, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := parseECS(tc.data)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if e.client != netip.MustParseAddr(tc.client) || e.source != tc.source {
				t.Errorf("client %v/%d, want %s/%d", e.client, e.source, tc.client, tc.source)
			}
		})
	}
}

func TestScanQuery(t *testing.T) {
	q := new(dns.Msg)
	q.SetQuestion("affinityus.contoso.lab.", dns.TypeA)
	q.SetEdns0(1232, true)
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_SUBNET{
		Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: netip.MustParseAddr("10.2.1.0").AsSlice(),
	})
	valid, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	w, err := scanQuery(valid)
	if err != nil {
		t.Fatal(err)
	}
	if w.id != q.Id || w.qdcount != 1 || !w.opt.present || w.opt.udpSize != 1232 || !w.opt.do || w.opt.ecsCount != 1 {
		t.Errorf("scan: %+v", w)
	}
	if e, ok := parseECS(w.opt.ecs); !ok || e.client != netip.MustParseAddr("10.2.1.0") {
		t.Errorf("ECS %v %v", e, ok)
	}

	// Every truncation of a valid query fails the walk or (header only,
	// counts cut) is caught by the counts.
	for n := headerLen; n < len(valid); n++ {
		if _, err := scanQuery(valid[:n]); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}

	// Two OPT records.
	two := q.Copy()
	two.Extra = append(two.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 512}})
	p, err := two.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scanQuery(p); err == nil {
		t.Error("two OPT records: no error")
	}

	// OPT in the answer section.
	ans := new(dns.Msg)
	ans.SetQuestion("a.contoso.lab.", dns.TypeA)
	ans.Answer = append(ans.Answer, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 512}})
	if p, err = ans.Pack(); err != nil {
		t.Fatal(err)
	}
	if _, err := scanQuery(p); err == nil {
		t.Error("OPT in the answer section: no error")
	}
}

func TestWithoutOPTData(t *testing.T) {
	q := new(dns.Msg)
	q.SetQuestion("affinityus.contoso.lab.", dns.TypeA)
	q.SetEdns0(1400, false)
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: 65001, Data: []byte("hello")})
	p, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	w, err := scanQuery(p)
	if err != nil {
		t.Fatal(err)
	}
	var m dns.Msg
	if err := m.Unpack(withoutOPTData(p, &w.opt)); err != nil {
		t.Fatal(err)
	}
	if o := m.IsEdns0(); o == nil || len(o.Option) != 0 || o.UDPSize() != 1400 || m.Question[0].Name != "affinityus.contoso.lab." {
		t.Errorf("stripped: %v", &m)
	}
}
