package server

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

type fixedTransfers map[string]zones.Transferred

func (f fixedTransfers) Transferred(origin string, _ *zones.Secondary) (zones.Transferred, bool) {
	t, ok := f[origin]
	return t, ok
}

const secondaryZone = `contoso.lab.	3600	IN	SOA	dc1.contoso.lab. hostmaster.contoso.lab. 7 900 600 86400 300
contoso.lab.	3600	IN	NS	dc1.contoso.lab.
dc1.contoso.lab.	3600	IN	A	10.1.0.53
`

// TestNotify: a NOTIFY for a secondary zone from notify_from (127.0.0.0/8
// in the config) gets the NOTIFY response and reaches Config.Notify; from
// elsewhere, or for a zone that is not a secondary, REFUSED and nothing
// reaches it.
func TestNotify(t *testing.T) {
	snap, err := zones.LoadWith(filepath.Join("..", "testdata", "config", "good", "secondary.toml"), nil,
		fixedTransfers{"contoso.lab.": {Source: "t", Text: secondaryZone}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	s := New(Config{Notify: func(o string) { got = append(got, o) }}, snap)
	tests := []struct {
		name, zone, src string
		rcode           int
		notified        bool
	}{
		{"allowed", "contoso.lab.", "127.0.0.1", dns.RcodeSuccess, true},
		{"allowed, mixed case", "Contoso.LAB.", "127.5.0.1", dns.RcodeSuccess, true},
		{"outside notify_from", "contoso.lab.", "192.0.2.1", dns.RcodeRefused, false},
		{"not a zone of ours", "fabrikam.lab.", "127.0.0.1", dns.RcodeRefused, false},
		{"a name below the zone", "www.contoso.lab.", "127.0.0.1", dns.RcodeRefused, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			m := new(dns.Msg)
			m.SetNotify(tt.zone)
			req, _ := m.Pack()
			out := s.ServePacket(nil, req, netip.AddrPortFrom(netip.MustParseAddr(tt.src), 5353), metrics.UDP)
			r := new(dns.Msg)
			if err := r.Unpack(out); err != nil {
				t.Fatal(err)
			}
			if r.Rcode != tt.rcode || r.Opcode != dns.OpcodeNotify || !r.Response || r.Id != m.Id || len(r.Question) != 1 {
				t.Errorf("reply: %v", r)
			}
			if r.Authoritative != (tt.rcode == dns.RcodeSuccess) {
				t.Errorf("AA %v", r.Authoritative)
			}
			if (len(got) == 1 && got[0] == "contoso.lab.") != tt.notified {
				t.Errorf("notified %v", got)
			}
		})
	}
}

// TestSecondaryServFail: a secondary zone without data answers SERVFAIL
// over the fast and the general path, and refuses to be transferred out
// with SERVFAIL too.
func TestSecondaryServFail(t *testing.T) {
	snap, err := zones.LoadWith(filepath.Join("..", "testdata", "config", "good", "secondary.toml"), nil, fixedTransfers{})
	if err != nil {
		t.Fatal(err)
	}
	snap.AXFRAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	s := New(Config{}, snap)
	src := netip.MustParseAddrPort("127.0.0.1:5353")
	for _, q := range []struct {
		name  string
		qtype uint16
		t     metrics.Transport
	}{
		{"dc1.contoso.lab.", dns.TypeA, metrics.UDP},
		{"autodiscover.contoso.lab.", dns.TypeA, metrics.UDP},
		{"contoso.lab.", dns.TypeSOA, metrics.TCP},
		{"nx.contoso.lab.", dns.TypeANY, metrics.UDP},
		{"contoso.lab.", dns.TypeAXFR, metrics.TCP},
	} {
		m := newQuery(q.name, q.qtype)
		m.SetEdns0(1232, false)
		req, _ := m.Pack()
		r := new(dns.Msg)
		if err := r.Unpack(s.ServePacket(nil, req, src, q.t)); err != nil {
			t.Fatal(err)
		}
		if r.Rcode != dns.RcodeServerFailure || r.Authoritative || len(r.Answer)+len(r.Ns) != 0 {
			t.Errorf("%s %s: %v", q.name, dns.TypeToString[q.qtype], r)
		}
	}
}

// TestIXFROut: after two versions of a zone, an IXFR from the first gets
// the difference (RFC 1995 §4), one from the current serial the SOA alone,
// and one from a serial the deltas do not reach the whole zone.
func TestIXFROut(t *testing.T) {
	v7 := secondarySnap(t, 7, "old.contoso.lab.\t300\tIN\tA\t10.0.0.7\n")
	v8 := secondarySnap(t, 8, "new.contoso.lab.\t300\tIN\tA\t10.0.0.8\n")
	v9 := secondarySnap(t, 9, "new.contoso.lab.\t300\tIN\tA\t10.0.0.8\nnine.contoso.lab.\t300\tIN\tA\t10.0.0.9\n")
	CarryDeltas(v7, v8)
	CarryDeltas(v8, v9)
	s := New(Config{}, v9)
	if got := ixfr(t, s, 7); !slices.Equal(got, ixfrFrom7) {
		t.Errorf("IXFR from 7: %v, want %v", got, ixfrFrom7)
	}
	if got := ixfr(t, s, 9); !slices.Equal(got, []string{"SOA 9"}) {
		t.Errorf("IXFR from 9: %v, want the SOA alone", got)
	}
	if got := ixfr(t, s, 3); len(got) < 5 || got[0] != "SOA 9" || got[1] == "SOA 3" || got[len(got)-1] != "SOA 9" {
		t.Errorf("IXFR from 3: %v, want the whole zone", got)
	}
}

// ixfrFrom7 is the IXFR from serial 7 of secondarySnap's zone at 9, by way
// of 8, as ixfr lists it.
var ixfrFrom7 = []string{"SOA 9", "SOA 7", "old.contoso.lab.", "SOA 8", "new.contoso.lab.", "SOA 8", "SOA 9", "nine.contoso.lab.", "SOA 9"}

// secondarySnap is testdata's secondary.toml with contoso.lab at serial,
// with the records extra, and transfers allowed to 127.0.0.0/8.
func secondarySnap(t *testing.T, serial int, extra string) *zones.Snapshot {
	t.Helper()
	text := strings.Replace(secondaryZone, " 7 900 ", fmt.Sprintf(" %d 900 ", serial), 1) + extra
	snap, err := zones.LoadWith(filepath.Join("..", "testdata", "config", "good", "secondary.toml"), nil,
		fixedTransfers{"contoso.lab.": {Source: "t", Text: text}})
	if err != nil {
		t.Fatal(err)
	}
	snap.AXFRAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	return snap
}

// ixfr asks s for an IXFR of contoso.lab from serial over TCP and lists
// the answer: "SOA n" for an SOA, the owner name for any other record.
func ixfr(t *testing.T, s *Server, serial uint32) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetIxfr("contoso.lab.", serial, "dc1.contoso.lab.", "hostmaster.contoso.lab.")
	req, _ := m.Pack()
	r := new(dns.Msg)
	if err := r.Unpack(s.ServePacket(nil, req, netip.MustParseAddrPort("127.0.0.1:5353"), metrics.TCP)); err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeSuccess {
		t.Fatalf("IXFR from %d: %v", serial, r)
	}
	var out []string
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			out = append(out, fmt.Sprintf("SOA %d", soa.Serial))
			continue
		}
		out = append(out, rr.Header().Name)
	}
	return out
}

// TestNotifySigned: a NOTIFY signed with the zone's key gets a signed
// response that verifies against the request's MAC; one with a bad
// signature gets NOTAUTH and schedules nothing.
func TestNotifySigned(t *testing.T) {
	snap, err := zones.LoadWith(filepath.Join("..", "testdata", "config", "good", "secondary.toml"), nil,
		fixedTransfers{"contoso.lab.": {Source: "t", Text: secondaryZone}})
	if err != nil {
		t.Fatal(err)
	}
	key := snap.Zones[0].Secondary.TSIG
	notified := 0
	s := New(Config{Notify: func(string) { notified++ }}, snap)
	src := netip.MustParseAddrPort("127.0.0.1:5353")
	for _, tt := range []struct {
		name   string
		secret string
		rcode  int
	}{
		{"right key", key.Secret, dns.RcodeSuccess},
		{"wrong secret", "YW5vdGhlciBrZXksIG5vdCB0aGUgcHJpbWFyeSdzIQ==", dns.RcodeNotAuth},
	} {
		t.Run(tt.name, func(t *testing.T) {
			notified = 0
			m := new(dns.Msg)
			m.SetNotify("contoso.lab.")
			m.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
			req, mac, err := dns.TsigGenerate(m, tt.secret, "", false)
			if err != nil {
				t.Fatal(err)
			}
			out := s.ServePacket(nil, req, src, metrics.UDP)
			r := new(dns.Msg)
			if err := r.Unpack(out); err != nil {
				t.Fatal(err)
			}
			if r.Rcode != tt.rcode || (notified == 1) != (tt.rcode == dns.RcodeSuccess) {
				t.Fatalf("rcode %s, notified %d: %v", dns.RcodeToString[r.Rcode], notified, r)
			}
			if tt.rcode == dns.RcodeSuccess {
				if r.IsTsig() == nil {
					t.Fatal("response not signed")
				}
				if err := dns.TsigVerify(out, key.Secret, mac, false); err != nil {
					t.Errorf("response signature: %v", err)
				}
			}
		})
	}
}
