package server

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
)

// Case is one query and what its response must hold. Records are written as
// in a zone file, fully qualified; they are compared as sets, regardless of
// order and owner-name case (order and case have cases of their own).
type Case struct {
	Name  string
	Qname string
	Qtype uint16
	Src   string // the packet source; unknownClient when empty
	TCP   bool
	// Edit changes the query before it is packed; Raw, when set, is sent
	// instead of the packed query.
	Edit func(m *dns.Msg)
	Raw  func(t testing.TB, p []byte) []byte

	NoReply bool
	Rcode   int
	AA, TC  bool
	// NoQuestion says the reply carries no question section.
	NoQuestion bool
	// Answer, Ns and Extra are the expected sections (OPT left out); nil
	// means empty.
	Answer, Ns, Extra []string
	// AnyAnswer skips the answer section comparison (checked in Check).
	AnyAnswer bool
	Check     func(t *testing.T, q, r *dns.Msg)
}

const (
	soa    = "contoso.lab. 120 IN SOA ns1.contoso.lab. hostmaster.contoso.lab. 2024010101 3600 600 86400 120"
	usAuto = "autodiscover.contoso.lab. 300 IN A "
)

var (
	affinityUS = []string{
		"affinityus.contoso.lab. 300 IN A 127.1.1.10",
		"affinityus.contoso.lab. 300 IN A 127.2.1.10",
		"affinityus.contoso.lab. 300 IN A 127.3.1.10",
	}
	poolAddrs = []string{
		"pool.contoso.lab. 300 IN A 127.1.1.20",
		"pool.contoso.lab. 300 IN A 127.2.1.20",
		"pool.contoso.lab. 300 IN AAAA 2001:db8::20",
	}
)

func cat(lists ...[]string) []string { return slices.Concat(lists...) }

func edns(size uint16) func(*dns.Msg) {
	return func(m *dns.Msg) { m.SetEdns0(size, false) }
}

// answerCases covers each behaviour of docs/design.md#answers against testdata/lab.toml.
var answerCases = []Case{
	{
		Name: "answer: AA, no RA, RD echoed", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		AA: true, Answer: affinityUS,
	},
	{
		Name: "RD clear is echoed clear", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { m.RecursionDesired = false }, AA: true, Answer: affinityUS,
	},
	{
		Name: "query name case preserved", Qname: "AutoDiscover.CONTOSO.lab.", Qtype: dns.TypeA, Src: chicagoClient,
		AA: true, Answer: []string{usAuto + "127.1.1.10", usAuto + "127.2.1.10", usAuto + "127.3.1.10"},
	},
	{
		Name: "NXDOMAIN with the SOA at min(TTL, minimum)", Qname: "nope.contoso.lab.", Qtype: dns.TypeA,
		Rcode: dns.RcodeNameError, AA: true, Ns: []string{soa},
	},
	{
		Name: "NODATA with the SOA", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeAAAA,
		AA: true, Ns: []string{soa},
	},
	{
		Name: "empty non-terminal is NODATA", Qname: "_tcp.contoso.lab.", Qtype: dns.TypeA,
		AA: true, Ns: []string{soa},
	},
	{
		Name: "deeper empty non-terminal is NODATA", Qname: "ent.deep.contoso.lab.", Qtype: dns.TypeA,
		AA: true, Ns: []string{soa},
	},
	{
		Name: "below an existing name is NXDOMAIN", Qname: "x.affinityus.contoso.lab.", Qtype: dns.TypeA,
		Rcode: dns.RcodeNameError, AA: true, Ns: []string{soa},
	},
	{
		Name: "wildcard synthesised with the query name", Qname: "Any.Thing.wild.contoso.lab.", Qtype: dns.TypeTXT,
		AA: true, Answer: []string{`any.thing.wild.contoso.lab. 300 IN TXT "wildcard"`},
		Check: func(t *testing.T, q, r *dns.Msg) {
			if r.Answer[0].Header().Name != "Any.Thing.wild.contoso.lab." {
				t.Errorf("owner %q, want the query name", r.Answer[0].Header().Name)
			}
		},
	},
	{
		Name: "wildcard NODATA", Qname: "x.wild.contoso.lab.", Qtype: dns.TypeMX,
		AA: true, Ns: []string{soa},
	},
	{
		Name: "CNAME answered and chased in zone", Qname: "www.contoso.lab.", Qtype: dns.TypeA,
		AA: true, Answer: cat([]string{"www.contoso.lab. 300 IN CNAME affinityus.contoso.lab."}, affinityUS),
		Check: func(t *testing.T, q, r *dns.Msg) {
			if r.Answer[0].Header().Rrtype != dns.TypeCNAME {
				t.Errorf("CNAME not first: %v", r.Answer)
			}
		},
	},
	{
		Name: "two CNAMEs chased", Qname: "chain.contoso.lab.", Qtype: dns.TypeA,
		AA: true, Answer: cat([]string{
			"chain.contoso.lab. 300 IN CNAME www.contoso.lab.",
			"www.contoso.lab. 300 IN CNAME affinityus.contoso.lab.",
		}, affinityUS),
	},
	{
		Name: "CNAME query is not chased", Qname: "www.contoso.lab.", Qtype: dns.TypeCNAME,
		AA: true, Answer: []string{"www.contoso.lab. 300 IN CNAME affinityus.contoso.lab."},
	},
	{
		Name: "CNAME to a missing name: NXDOMAIN", Qname: "dangling.contoso.lab.", Qtype: dns.TypeA,
		Rcode: dns.RcodeNameError, AA: true,
		Answer: []string{"dangling.contoso.lab. 300 IN CNAME missing.contoso.lab."}, Ns: []string{soa},
	},
	{
		Name: "CNAME out of our zones: not chased", Qname: "outside.contoso.lab.", Qtype: dns.TypeA,
		AA: true, Answer: []string{"outside.contoso.lab. 300 IN CNAME www.example.com."},
	},
	{
		Name: "CNAME loop stops", Qname: "loop1.contoso.lab.", Qtype: dns.TypeA,
		AA: true, Answer: []string{
			"loop1.contoso.lab. 300 IN CNAME loop2.contoso.lab.",
			"loop2.contoso.lab. 300 IN CNAME loop1.contoso.lab.",
		},
	},
	{
		Name: "referral: AA=0, NS in authority, glue", Qname: "host.lab2.contoso.lab.", Qtype: dns.TypeA,
		Ns:    []string{"lab2.contoso.lab. 300 IN NS ns1.lab2.contoso.lab."},
		Extra: []string{"ns1.lab2.contoso.lab. 300 IN A 127.0.2.53"},
	},
	{
		Name: "referral at the cut", Qname: "lab2.contoso.lab.", Qtype: dns.TypeA,
		Ns:    []string{"lab2.contoso.lab. 300 IN NS ns1.lab2.contoso.lab."},
		Extra: []string{"ns1.lab2.contoso.lab. 300 IN A 127.0.2.53"},
	},
	{
		Name: "out of zone is REFUSED", Qname: "www.example.com.", Qtype: dns.TypeA,
		Rcode: dns.RcodeRefused,
	},
	{
		Name: "SRV target addresses in additional", Qname: "_sipinternaltls._tcp.contoso.lab.", Qtype: dns.TypeSRV,
		AA: true, Answer: []string{"_sipinternaltls._tcp.contoso.lab. 300 IN SRV 0 0 5061 pool.contoso.lab."},
		Extra: poolAddrs,
	},
	{
		Name: "MX target address in additional", Qname: "contoso.lab.", Qtype: dns.TypeMX,
		AA: true, Answer: []string{"contoso.lab. 300 IN MX 10 mail.contoso.lab."},
		Extra: []string{"mail.contoso.lab. 300 IN A 127.1.1.25"},
	},
	{
		Name: "NS target address in additional", Qname: "contoso.lab.", Qtype: dns.TypeNS,
		AA: true, Answer: []string{"contoso.lab. 300 IN NS ns1.contoso.lab."},
		Extra: []string{"ns1.contoso.lab. 300 IN A 127.0.0.53"},
	},
	{
		Name: "EDNS: OPT echoed", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA, Edit: edns(1232),
		AA: true, Answer: affinityUS,
		Check: func(t *testing.T, q, r *dns.Msg) {
			o := r.IsEdns0()
			if o == nil || o.Version() != 0 || o.Do() {
				t.Errorf("OPT %v", o)
			}
		},
	},
	{
		Name: "EDNS: DO echoed", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { m.SetEdns0(1232, true) }, AA: true, Answer: affinityUS,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if o := r.IsEdns0(); o == nil || !o.Do() {
				t.Errorf("OPT %v, want DO", o)
			}
		},
	},
	{
		Name: "no EDNS: no OPT", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		AA: true, Answer: affinityUS,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if r.IsEdns0() != nil {
				t.Error("OPT in the reply to a query without one")
			}
		},
	},
	{
		Name: "EDNS: unknown option ignored, not echoed", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) {
			m.SetEdns0(1232, false)
			m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: 65001, Data: []byte{1, 2, 3}})
		},
		AA: true, Answer: affinityUS,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if o := r.IsEdns0(); o == nil || len(o.Option) != 0 {
				t.Errorf("OPT %v, want one without options", o)
			}
		},
	},
	{
		Name: "EDNS: a known option miekg/dns rejects is ignored", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) {
			m.SetEdns0(1232, false)
			// EXPIRE with 3 bytes of data.
			m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0EXPIRE, Data: []byte{1, 2, 3}})
		},
		AA: true, Answer: affinityUS,
	},
	{
		Name: "EDNS version 1 is BADVERS", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) {
			m.SetEdns0(1232, false)
			m.IsEdns0().SetVersion(1)
		},
		Rcode: dns.RcodeBadVers,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if o := r.IsEdns0(); o == nil || o.Version() != 0 || o.ExtendedRcode() != dns.RcodeBadVers {
				t.Errorf("OPT %v, want version 0 and BADVERS", o)
			}
		},
	},
	{
		Name: "UDP 512 without EDNS: TC, no partial RRset", Qname: "big.contoso.lab.", Qtype: dns.TypeA,
		AA: true, TC: true,
	},
	{
		Name: "UDP with EDNS 512: TC", Qname: "big.contoso.lab.", Qtype: dns.TypeA, Edit: edns(512),
		AA: true, TC: true,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if r.IsEdns0() == nil {
				t.Error("truncated reply lost its OPT")
			}
		},
	},
	{
		Name: "UDP with EDNS 1232: whole", Qname: "big.contoso.lab.", Qtype: dns.TypeA, Edit: edns(1232),
		AA: true, AnyAnswer: true,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if len(r.Answer) != 60 {
				t.Errorf("%d records, want 60", len(r.Answer))
			}
		},
	},
	{
		Name: "TCP: whole", Qname: "big.contoso.lab.", Qtype: dns.TypeA, TCP: true,
		AA: true, AnyAnswer: true,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if len(r.Answer) != 60 {
				t.Errorf("%d records, want 60", len(r.Answer))
			}
		},
	},
	{
		Name: "two questions: FORMERR", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) {
			m.Question = append(m.Question, dns.Question{Name: "affinityde.contoso.lab.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
		},
		Rcode: dns.RcodeFormatError, NoQuestion: true,
	},
	{
		Name: "no question: FORMERR", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit:  func(m *dns.Msg) { m.Question = nil },
		Rcode: dns.RcodeFormatError, NoQuestion: true,
	},
	{
		Name: "QDCOUNT says 2, one question present: FORMERR", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Raw: func(t testing.TB, p []byte) []byte {
			binary.BigEndian.PutUint16(p[4:], 2)
			return p
		},
		Rcode: dns.RcodeFormatError, NoQuestion: true,
	},
	{
		Name: "garbage after the header: FORMERR without question", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Raw: func(t testing.TB, p []byte) []byte {
			p[12] = 0xC0 | 0x3F // a compression pointer, cut short
			return p[:13]
		},
		Rcode: dns.RcodeFormatError, NoQuestion: true,
	},
	{
		Name: "ARCOUNT overruns the message: FORMERR with the question", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Raw: func(t testing.TB, p []byte) []byte {
			binary.BigEndian.PutUint16(p[10:], 3)
			return p
		},
		Rcode: dns.RcodeFormatError,
	},
	{
		Name: "shorter than a header: no reply", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Raw:     func(t testing.TB, p []byte) []byte { return p[:11] },
		NoReply: true,
	},
	{
		Name: "QR=1: no reply", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { m.Response = true }, NoReply: true,
	},
	{
		Name: "opcode NOTIFY for a zone that is not a secondary: REFUSED", Qname: "contoso.lab.", Qtype: dns.TypeSOA,
		Edit: func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }, Rcode: dns.RcodeRefused,
	},
	{
		Name: "opcode UPDATE: NOTIMP", Qname: "contoso.lab.", Qtype: dns.TypeSOA,
		Edit: func(m *dns.Msg) {
			m.Opcode = dns.OpcodeUpdate
			m.Ns = append(m.Ns, &dns.A{Hdr: dns.RR_Header{Name: "new.contoso.lab.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: []byte{127, 0, 0, 9}})
		},
		Rcode: dns.RcodeNotImplemented,
	},
	{
		Name: "opcode STATUS: NOTIMP", Qname: "contoso.lab.", Qtype: dns.TypeSOA,
		Edit: func(m *dns.Msg) { m.Opcode = dns.OpcodeStatus }, Rcode: dns.RcodeNotImplemented,
	},
	{
		Name: "opcode 3 with RD and CD: NOTIMP, neither echoed", Qname: "contoso.lab.", Qtype: dns.TypeSOA,
		Edit:  func(m *dns.Msg) { m.Opcode, m.RecursionDesired, m.CheckingDisabled = 3, true, true },
		Rcode: dns.RcodeNotImplemented,
	},
	{
		Name: "CD set: an authoritative answer clears it, RD copied", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { m.CheckingDisabled, m.AuthenticatedData = true, true }, AA: true, Answer: affinityUS,
	},
	{
		Name: "CD set, malformed: FORMERR clears it", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { m.CheckingDisabled = true },
		Raw: func(t testing.TB, p []byte) []byte {
			binary.BigEndian.PutUint16(p[10:], 3)
			return p
		},
		Rcode: dns.RcodeFormatError,
	},
	{
		Name: "class CH: REFUSED", Qname: "version.bind.", Qtype: dns.TypeTXT,
		Edit: func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }, Rcode: dns.RcodeRefused,
	},
	{
		Name: "class CH for a name of ours: REFUSED", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }, Rcode: dns.RcodeRefused,
	},
	{
		Name: "ANY: one RRset (RFC 8482)", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeANY,
		AA: true, Answer: affinityUS,
	},
	{
		Name: "ANY at the apex: one RRset", Qname: "contoso.lab.", Qtype: dns.TypeANY,
		AA: true, AnyAnswer: true,
		// The first RRset in type order is the NS set; its target's
		// address goes in additional as for any NS answer.
		Extra: []string{"ns1.contoso.lab. 300 in a 127.0.0.53"},
		Check: func(t *testing.T, q, r *dns.Msg) {
			types := map[uint16]bool{}
			for _, rr := range r.Answer {
				types[rr.Header().Rrtype] = true
			}
			if len(r.Answer) == 0 || len(types) != 1 {
				t.Errorf("ANY not minimal: %v", r.Answer)
			}
		},
	},
	{
		Name: "ANY at a missing name: NXDOMAIN", Qname: "nope.contoso.lab.", Qtype: dns.TypeANY,
		Rcode: dns.RcodeNameError, AA: true, Ns: []string{soa},
	},
	{
		Name: "AXFR over UDP: REFUSED, even when allowed", Qname: "contoso.lab.", Qtype: dns.TypeAXFR, Src: "127.5.0.1",
		Rcode: dns.RcodeRefused,
	},
	{
		Name: "IXFR over UDP: REFUSED", Qname: "contoso.lab.", Qtype: dns.TypeIXFR, Src: "127.5.0.1",
		Rcode: dns.RcodeRefused,
	},
	{
		Name: "AXFR over TCP from a client not allowed: REFUSED", Qname: "contoso.lab.", Qtype: dns.TypeAXFR, TCP: true,
		Rcode: dns.RcodeRefused,
	},
	{
		Name: "AXFR over TCP of a name that is not a zone: REFUSED", Qname: "www.contoso.lab.", Qtype: dns.TypeAXFR,
		TCP: true, Src: "127.5.0.1", Rcode: dns.RcodeRefused,
	},
	{
		Name: "AXFR over TCP from an allowed client", Qname: "contoso.lab.", Qtype: dns.TypeAXFR, TCP: true, Src: "127.5.0.1",
		AA: true, AnyAnswer: true,
		Check: func(t *testing.T, q, r *dns.Msg) {
			n := len(r.Answer)
			if n < 80 || r.Answer[0].Header().Rrtype != dns.TypeSOA || r.Answer[n-1].Header().Rrtype != dns.TypeSOA {
				t.Errorf("transfer of %d records, want SOA ... SOA", n)
			}
		},
	},
	{
		Name: "ECS: site-aware answer, scope = the site prefix", Qname: "autodiscover.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { withECS(m, "127.11.1.0", 24) },
		AA:   true, AnyAnswer: true,
		Check: func(t *testing.T, q, r *dns.Msg) {
			got := addrs(r.Answer)
			if len(got) != 3 || got[0] != "127.11.1.10" {
				t.Errorf("answer %v, want the DE CAS, 127.11.1.10 first", got)
			}
			e := ecsOf(r)
			if e == nil || e.Family != 1 || e.SourceNetmask != 24 || e.SourceScope != 24 || e.Address.String() != "127.11.1.0" {
				t.Errorf("ECS echo %v, want 127.11.1.0/24 scope 24 (site /16, netmask /24)", e)
			}
		},
	},
	{
		Name: "ECS: plain name ordered by netmask, scope 24", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { withECS(m, "127.2.1.0", 24) },
		AA:   true, Answer: affinityUS,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if got := addrs(r.Answer); got[0] != "127.2.1.10" {
				t.Errorf("answer %v, want 127.2.1.10 first", got)
			}
			if e := ecsOf(r); e == nil || e.SourceScope != 24 {
				t.Errorf("ECS echo %v, want scope 24", e)
			}
		},
	},
	{
		Name: "ECS: /16 source, scope longer than source", Qname: "autodiscover.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { withECS(m, "127.2.0.0", 16) },
		AA:   true, AnyAnswer: true,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if e := ecsOf(r); e == nil || e.SourceNetmask != 16 || e.SourceScope != 24 {
				t.Errorf("ECS echo %v, want source 16 scope 24", e)
			}
		},
	},
	{
		Name: "ECS: unknown-site client gets the default, scoped to the prefix that holds no site and no record", Qname: "autodiscover.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { withECS(m, "192.0.2.0", 24) },
		AA:   true, Answer: []string{usAuto + "127.200.0.10"},
		Check: func(t *testing.T, q, r *dns.Msg) {
			// 128.0.0.0/1 holds neither a site (127.x.0.0/16) nor the
			// default set's 127.200.0.10.
			if e := ecsOf(r); e == nil || e.SourceScope != 1 {
				t.Errorf("ECS echo %v, want scope 1", e)
			}
		},
	},
	{
		Name: "ECS: the address did not matter, scope 0 (the order of additional records does not count)", Qname: "_sipinternaltls._tcp.contoso.lab.", Qtype: dns.TypeSRV,
		Edit: func(m *dns.Msg) { withECS(m, "127.2.1.0", 24) },
		AA:   true, Answer: []string{"_sipinternaltls._tcp.contoso.lab. 300 IN SRV 0 0 5061 pool.contoso.lab."},
		Extra: poolAddrs,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if e := ecsOf(r); e == nil || e.SourceScope != 0 {
				t.Errorf("ECS echo %v, want scope 0", e)
			}
		},
	},
	{
		Name: "ECS: negative answer, scope 0", Qname: "nope.contoso.lab.", Qtype: dns.TypeA,
		Edit:  func(m *dns.Msg) { withECS(m, "127.2.1.0", 24) },
		Rcode: dns.RcodeNameError, AA: true, Ns: []string{soa},
		Check: func(t *testing.T, q, r *dns.Msg) {
			if e := ecsOf(r); e == nil || e.SourceScope != 0 {
				t.Errorf("ECS echo %v, want scope 0", e)
			}
		},
	},
	{
		Name: "ECS: REFUSED still echoes", Qname: "www.example.com.", Qtype: dns.TypeA,
		Edit:  func(m *dns.Msg) { withECS(m, "127.2.1.0", 24) },
		Rcode: dns.RcodeRefused,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if e := ecsOf(r); e == nil || e.SourceScope != 0 {
				t.Errorf("ECS echo %v, want scope 0", e)
			}
		},
	},
	{
		Name: "ECS: source 0 gets the default, scope 0", Qname: "autodiscover.contoso.lab.", Qtype: dns.TypeA, Src: chicagoClient,
		Edit: func(m *dns.Msg) { withECS(m, "0.0.0.0", 0) },
		AA:   true, Answer: []string{usAuto + "127.200.0.10"},
		Check: func(t *testing.T, q, r *dns.Msg) {
			if e := ecsOf(r); e == nil || e.SourceScope != 0 || e.SourceNetmask != 0 {
				t.Errorf("ECS echo %v, want 0/0", e)
			}
		},
	},
	{
		Name: "ECS: IPv6 source echoed", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) { withECS(m, "2001:db8:1::", 48) },
		AA:   true, Answer: affinityUS,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if e := ecsOf(r); e == nil || e.Family != 2 || e.SourceNetmask != 48 || e.Address.String() != "2001:db8:1::" {
				t.Errorf("ECS echo %v", e)
			}
		},
	},
	{
		Name: "ECS: bits beyond the source prefix: FORMERR", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) {
			m.SetEdns0(1232, false)
			m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: []byte{0, 1, 20, 0, 127, 2, 0x11}})
		},
		Rcode: dns.RcodeFormatError,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if r.IsEdns0() == nil || ecsOf(r) != nil {
				t.Errorf("OPT %v: want one, without ECS", r.IsEdns0())
			}
		},
	},
	{
		Name: "ECS: unknown family: FORMERR", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) {
			m.SetEdns0(1232, false)
			m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: []byte{0, 7, 0, 0}})
		},
		Rcode: dns.RcodeFormatError,
	},
	{
		Name: "ECS: scope set in the query: FORMERR", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) {
			m.SetEdns0(1232, false)
			m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: []byte{0, 1, 24, 24, 127, 2, 1}})
		},
		Rcode: dns.RcodeFormatError,
	},
	{
		Name: "ECS: two options: FORMERR", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
		Edit: func(m *dns.Msg) {
			withECS(m, "127.2.1.0", 24)
			withECS(m, "127.3.1.0", 24)
		},
		Rcode: dns.RcodeFormatError,
	},
	{
		Name: "site-aware: a Chicago client gets the US CAS, its own first", Qname: "autodiscover.contoso.lab.", Qtype: dns.TypeA, Src: chicagoClient,
		AA: true, Answer: []string{usAuto + "127.1.1.10", usAuto + "127.2.1.10", usAuto + "127.3.1.10"},
		Check: func(t *testing.T, q, r *dns.Msg) {
			if got := addrs(r.Answer); got[0] != "127.2.1.10" {
				t.Errorf("answer %v, want 127.2.1.10 first", got)
			}
		},
	},
	{
		Name: "site-aware: an unknown client gets the default", Qname: "autodiscover.contoso.lab.", Qtype: dns.TypeA,
		AA: true, Answer: []string{usAuto + "127.200.0.10"},
	},
	{
		Name: "site-aware: without ECS no ECS in the reply", Qname: "autodiscover.contoso.lab.", Qtype: dns.TypeA, Src: hamburgClient,
		Edit: edns(1232), AA: true, AnyAnswer: true,
		Check: func(t *testing.T, q, r *dns.Msg) {
			if got := addrs(r.Answer); len(got) != 3 || got[0] != "127.11.1.10" {
				t.Errorf("answer %v, want the DE CAS", got)
			}
			if ecsOf(r) != nil {
				t.Error("ECS in the reply to a query without one")
			}
		},
	},
}

// runCase sends c's query to s and checks the reply.
func runCase(t *testing.T, s *Server, c Case) {
	t.Helper()
	q := newQuery(c.Qname, c.Qtype)
	if c.Edit != nil {
		c.Edit(q)
	}
	p := mustPack(t, q)
	if c.Raw != nil {
		p = c.Raw(t, p)
	}
	src := c.Src
	if src == "" {
		src = unknownClient
	}
	tr := metrics.UDP
	if c.TCP {
		tr = metrics.TCP
	}
	out := s.ServePacket(make([]byte, 0, 512), p, addrPort(t, src), tr)
	if c.NoReply {
		if out != nil {
			t.Fatalf("reply to a packet that must get none: %x", out)
		}
		return
	}
	if out == nil {
		t.Fatal("no reply")
	}
	if tr == metrics.UDP && len(out) > max(512, udpSizeOf(q)) {
		t.Errorf("UDP reply of %d bytes", len(out))
	}
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatalf("reply does not unpack: %v", err)
	}
	if r.Id != q.Id || !r.Response || r.RecursionAvailable || r.Opcode != q.Opcode {
		t.Errorf("header: id %d (want %d) QR=%v RA=%v opcode %d", r.Id, q.Id, r.Response, r.RecursionAvailable, r.Opcode)
	}
	if want := q.RecursionDesired && q.Opcode == dns.OpcodeQuery; r.RecursionDesired != want {
		t.Errorf("RD %v, want %v (query RD %v, opcode %s)", r.RecursionDesired, want, q.RecursionDesired, dns.OpcodeToString[q.Opcode])
	}
	if r.CheckingDisabled || r.AuthenticatedData || r.Zero {
		t.Errorf("CD=%v AD=%v Z=%v, want all clear", r.CheckingDisabled, r.AuthenticatedData, r.Zero)
	}
	if r.Rcode != c.Rcode || r.Authoritative != c.AA || r.Truncated != c.TC {
		t.Errorf("rcode %s AA=%v TC=%v, want %s AA=%v TC=%v",
			dns.RcodeToString[r.Rcode], r.Authoritative, r.Truncated, dns.RcodeToString[c.Rcode], c.AA, c.TC)
	}
	switch {
	case c.NoQuestion:
		if len(r.Question) != 0 {
			t.Errorf("question %v, want none", r.Question)
		}
	case len(r.Question) != 1 || r.Question[0] != q.Question[0]:
		t.Errorf("question %v, want %v echoed as sent", r.Question, q.Question[0])
	}
	if (q.IsEdns0() != nil) != (r.IsEdns0() != nil) && c.Rcode != dns.RcodeFormatError {
		t.Errorf("OPT in query: %v, in reply: %v", q.IsEdns0() != nil, r.IsEdns0() != nil)
	}
	compare := func(section string, got []dns.RR, want []string) {
		g, w := rrStrings(got), parseRRs(t, want)
		if !slices.Equal(g, w) {
			t.Errorf("%s section:\n got %s\nwant %s", section, strings.Join(g, "\n     "), strings.Join(w, "\n     "))
		}
	}
	if !c.AnyAnswer {
		compare("answer", r.Answer, c.Answer)
	}
	compare("authority", r.Ns, c.Ns)
	compare("additional", r.Extra, c.Extra)
	if c.Check != nil && !t.Failed() {
		c.Check(t, q, r)
	}
}

func udpSizeOf(m *dns.Msg) int {
	if o := m.IsEdns0(); o != nil {
		return min(int(o.UDPSize()), maxUDPSize)
	}
	return 512
}

func TestAnswers(t *testing.T) {
	s := New(Config{}, labSnapshot(t, "lab.toml"))
	for _, c := range answerCases {
		t.Run(c.Name, func(t *testing.T) { runCase(t, s, c) })
	}
}

// TestECSOff: with client_subnet off an ECS option is an unknown option:
// the packet source is the client, nothing is echoed, and a malformed one
// is no error.
func TestECSOff(t *testing.T) {
	snap := editedSnapshot(t, "lab.toml", func(s string) string {
		return strings.Replace(s, "client_subnet = true", "client_subnet = false", 1)
	})
	if snap.ClientSubnet {
		t.Fatal("the edited config still enables client_subnet")
	}
	s := New(Config{}, snap)
	cases := []Case{
		{
			Name: "ECS ignored: the source is the client", Qname: "autodiscover.contoso.lab.", Qtype: dns.TypeA, Src: chicagoClient,
			Edit: func(m *dns.Msg) { withECS(m, "127.11.1.0", 24) },
			AA:   true, Answer: []string{usAuto + "127.1.1.10", usAuto + "127.2.1.10", usAuto + "127.3.1.10"},
			Check: func(t *testing.T, q, r *dns.Msg) {
				if ecsOf(r) != nil {
					t.Error("ECS echoed with client_subnet off")
				}
			},
		},
		{
			Name: "malformed ECS ignored", Qname: "affinityus.contoso.lab.", Qtype: dns.TypeA,
			Edit: func(m *dns.Msg) {
				m.SetEdns0(1232, false)
				m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: []byte{0, 7, 99, 0}})
			},
			AA: true, Answer: affinityUS,
		},
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) { runCase(t, s, c) })
	}
}

// TestChaosIdentity: with [server] identity and version set, the CHAOS TXT
// queries servers answer about themselves get an authoritative TXT, TTL 0,
// owner as asked; any other CHAOS query stays REFUSED, and so does every one
// of them when the config hides them.
func TestChaosIdentity(t *testing.T) {
	shown := New(Config{}, editedSnapshot(t, "lab.toml", func(s string) string {
		return strings.Replace(s, "[server]\n", "[server]\nidentity = \"dns1.contoso.lab\"\n"+`version = "sitedns 1.0 \"lab\" C:\\sitedns"`+"\n", 1)
	}))
	hidden := New(Config{}, labSnapshot(t, "lab.toml"))
	ch := func(name string, qtype uint16) *dns.Msg {
		m := newQuery(name, qtype)
		m.Question[0].Qclass = dns.ClassCHAOS
		return m
	}
	cases := []struct {
		name  string
		qtype uint16
		want  string // the TXT; "" for REFUSED
	}{
		{"version.bind", dns.TypeTXT, `sitedns 1.0 "lab" C:\sitedns`},
		{"VERSION.Server", dns.TypeTXT, `sitedns 1.0 "lab" C:\sitedns`},
		{"id.server", dns.TypeTXT, "dns1.contoso.lab"},
		{"hostname.bind", dns.TypeANY, "dns1.contoso.lab"},
		{"version.bind", dns.TypeA, ""},
		{"authors.bind", dns.TypeTXT, ""},
		{"affinityus.contoso.lab", dns.TypeTXT, ""},
	}
	for _, tc := range cases {
		for _, tr := range []metrics.Transport{metrics.UDP, metrics.TCP} {
			r := serveMsg(t, shown, ch(tc.name, tc.qtype), unknownClient, tr)
			if tc.want == "" {
				if r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
					t.Errorf("%s %s over %v: %s with %d answers, want REFUSED", tc.name, dns.TypeToString[tc.qtype], tr, dns.RcodeToString[r.Rcode], len(r.Answer))
				}
				continue
			}
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 {
				t.Fatalf("%s over %v: %v", tc.name, tr, r)
			}
			// The RDATA on the wire: one character-string, the configured
			// bytes as they are.
			rr := r.Answer[0]
			wire := make([]byte, 512)
			n, err := dns.PackRR(rr, wire, 0, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			rdata := wire[n-int(rr.Header().Rdlength) : n]
			if h := rr.Header(); h.Rrtype != dns.TypeTXT || h.Class != dns.ClassCHAOS || h.Ttl != 0 || h.Name != tc.name+"." ||
				string(rdata) != string(rune(len(tc.want)))+tc.want {
				t.Errorf("%s over %v: answer %v (RDATA %q), want %s. 0 CH TXT with %q", tc.name, tr, rr, rdata, tc.name, tc.want)
			}
			if r2 := serveMsg(t, hidden, ch(tc.name, tc.qtype), unknownClient, tr); r2.Rcode != dns.RcodeRefused {
				t.Errorf("%s hidden over %v: %s, want REFUSED", tc.name, tr, dns.RcodeToString[r2.Rcode])
			}
		}
	}
}
