package e2e

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var (
	digStatus = regexp.MustCompile(`status: ([A-Z]+)`)
	digFlags  = regexp.MustCompile(`;; flags: ([a-z ]+);`)
)

// digHeader returns the status and the flags dig printed.
func digHeader(t *testing.T, out string) (status string, flags []string) {
	t.Helper()
	s := digStatus.FindStringSubmatch(out)
	f := digFlags.FindStringSubmatch(out)
	if s == nil || f == nil {
		t.Fatalf("no header in dig output:\n%s", out)
	}
	return s[1], strings.Fields(f[1])
}

// answerIs checks that the answer section is the one record want (in
// miekg/dns's text form).
func answerIs(want string) func(t *testing.T, r *dns.Msg) {
	return func(t *testing.T, r *dns.Msg) {
		if len(r.Answer) != 1 || r.Answer[0].String() != want {
			t.Errorf("answer %v, want %s", r.Answer, want)
		}
	}
}

// chaosQuery is a query of class CH.
func chaosQuery(name string, qtype uint16) *dns.Msg {
	m := newQuery(name, qtype)
	m.Question[0].Qclass = dns.ClassCHAOS
	return m
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestAuthoritative checks each behaviour of docs/design.md#answers against the real
// binary, once with the Go client and once with dig.
func TestAuthoritative(t *testing.T) {
	in := start(t, "-config", testdata("config", "good", "loopback.toml"))

	type tc struct {
		name   string
		q      *dns.Msg
		dig    []string
		rcode  int
		aa     bool
		check  func(t *testing.T, r *dns.Msg)
		digOut func(t *testing.T, out string)
	}
	edns := func(m *dns.Msg, size uint16) *dns.Msg { m.SetEdns0(size, false); return m }
	cases := []tc{
		{
			name: "answer has AA, no RA, RD echoed", q: newQuery("affinityus.contoso.lab", dns.TypeA),
			dig: []string{"affinityus.contoso.lab", "A"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) {
				if r.RecursionAvailable || !r.RecursionDesired || len(addrs(r)) != 3 {
					t.Errorf("RA=%v RD=%v answers=%v", r.RecursionAvailable, r.RecursionDesired, addrs(r))
				}
			},
		},
		{
			name: "query name case preserved", q: newQuery("AffinityUS.Contoso.LAB", dns.TypeA),
			dig: []string{"AffinityUS.Contoso.LAB", "A"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) {
				if r.Question[0].Name != "AffinityUS.Contoso.LAB." {
					t.Errorf("question %q", r.Question[0].Name)
				}
			},
			digOut: func(t *testing.T, out string) {
				if !strings.Contains(out, ";AffinityUS.Contoso.LAB.") {
					t.Errorf("question case lost:\n%s", out)
				}
			},
		},
		{
			name: "NXDOMAIN with SOA, TTL min(SOA TTL, minimum)", q: newQuery("nope.contoso.lab", dns.TypeA),
			dig: []string{"nope.contoso.lab", "A"}, rcode: dns.RcodeNameError, aa: true,
			check: func(t *testing.T, r *dns.Msg) { checkNegativeSOA(t, r) },
		},
		{
			name: "NODATA with SOA", q: newQuery("affinityus.contoso.lab", dns.TypeAAAA),
			dig: []string{"affinityus.contoso.lab", "AAAA"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) {
				if len(r.Answer) != 0 {
					t.Errorf("answers in NODATA: %v", r.Answer)
				}
				checkNegativeSOA(t, r)
			},
		},
		{
			name: "empty non-terminal is NODATA", q: newQuery("_tcp.contoso.lab", dns.TypeA),
			dig: []string{"_tcp.contoso.lab", "A"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) { checkNegativeSOA(t, r) },
		},
		{
			name: "wildcard synthesised with the query name", q: newQuery("any.thing.wild.contoso.lab", dns.TypeTXT),
			dig: []string{"any.thing.wild.contoso.lab", "TXT"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) {
				if len(r.Answer) == 0 || r.Answer[0].Header().Name != "any.thing.wild.contoso.lab." {
					t.Errorf("wildcard answer %v", r.Answer)
				}
			},
		},
		{
			name: "CNAME answered and chased in zone", q: newQuery("www.contoso.lab", dns.TypeA),
			dig: []string{"www.contoso.lab", "A"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) {
				if len(r.Answer) < 2 || r.Answer[0].Header().Rrtype != dns.TypeCNAME || len(addrs(r)) == 0 {
					t.Errorf("CNAME chain %v", r.Answer)
				}
			},
		},
		{
			name: "referral: AA=0, NS in authority, glue", q: newQuery("host.lab2.contoso.lab", dns.TypeA),
			dig: []string{"host.lab2.contoso.lab", "A"}, rcode: dns.RcodeSuccess, aa: false,
			check: func(t *testing.T, r *dns.Msg) {
				if len(r.Answer) != 0 || len(r.Ns) == 0 || r.Ns[0].Header().Rrtype != dns.TypeNS || len(r.Extra) == 0 {
					t.Errorf("referral answer=%v ns=%v extra=%v", r.Answer, r.Ns, r.Extra)
				}
			},
		},
		{
			name: "out of zone is REFUSED", q: newQuery("www.example.com", dns.TypeA),
			dig: []string{"www.example.com", "A"}, rcode: dns.RcodeRefused, aa: false,
		},
		{
			name: "SRV target address in additional", q: newQuery("_sipinternaltls._tcp.contoso.lab", dns.TypeSRV),
			dig: []string{"_sipinternaltls._tcp.contoso.lab", "SRV"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) {
				if len(r.Answer) != 1 {
					t.Fatalf("SRV answer %v", r.Answer)
				}
				target := r.Answer[0].(*dns.SRV).Target
				found := false
				for _, rr := range r.Extra {
					if a, ok := rr.(*dns.A); ok && strings.EqualFold(a.Hdr.Name, target) {
						found = true
					}
				}
				if !found {
					t.Errorf("no A for %s in additional: %v", target, r.Extra)
				}
			},
		},
		{
			name: "EDNS: OPT echoed when present", q: edns(newQuery("affinityus.contoso.lab", dns.TypeA), 1232),
			dig: []string{"+edns=0", "affinityus.contoso.lab", "A"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) {
				if r.IsEdns0() == nil {
					t.Error("no OPT in reply to an EDNS query")
				}
			},
			digOut: func(t *testing.T, out string) {
				if !strings.Contains(out, "OPT PSEUDOSECTION") {
					t.Errorf("no OPT:\n%s", out)
				}
			},
		},
		{
			name: "no EDNS: no OPT", q: newQuery("affinityus.contoso.lab", dns.TypeA),
			dig: []string{"+noedns", "affinityus.contoso.lab", "A"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) {
				if r.IsEdns0() != nil {
					t.Error("OPT in reply to a query without EDNS")
				}
			},
			digOut: func(t *testing.T, out string) {
				if strings.Contains(out, "OPT PSEUDOSECTION") {
					t.Errorf("OPT without EDNS:\n%s", out)
				}
			},
		},
		{
			name: "EDNS version 1 is BADVERS",
			q: func() *dns.Msg {
				m := edns(newQuery("affinityus.contoso.lab", dns.TypeA), 1232)
				m.IsEdns0().SetVersion(1)
				return m
			}(),
			dig: []string{"+edns=1", "+noednsneg", "affinityus.contoso.lab", "A"}, rcode: dns.RcodeBadVers, aa: false,
		},
		{
			name: "class CH is REFUSED",
			q:    chaosQuery("affinityus.contoso.lab", dns.TypeA),
			dig:  []string{"-c", "CH", "affinityus.contoso.lab", "A"}, rcode: dns.RcodeRefused,
		},
		{
			name: "CH TXT version.bind: the configured version",
			q:    chaosQuery("version.bind", dns.TypeTXT),
			dig:  []string{"-c", "CH", "-t", "TXT", "version.bind"}, rcode: dns.RcodeSuccess, aa: true,
			check: answerIs("version.bind.\t0\tCH\tTXT\t\"sitedns\""),
			digOut: func(t *testing.T, out string) {
				if !regexp.MustCompile(`(?m)^version\.bind\.\s+0\s+CH\s+TXT\s+"sitedns"$`).MatchString(out) {
					t.Errorf("no version in:\n%s", out)
				}
			},
		},
		{
			name: "CH TXT id.server: the configured identity",
			q:    chaosQuery("id.server", dns.TypeTXT),
			dig:  []string{"-c", "CH", "-t", "TXT", "id.server"}, rcode: dns.RcodeSuccess, aa: true,
			check: answerIs("id.server.\t0\tCH\tTXT\t\"sitedns-loopback-lab\""),
		},
		{
			name: "ANY gets a minimal answer (RFC 8482)", q: newQuery("contoso.lab", dns.TypeANY),
			dig: []string{"contoso.lab", "ANY"}, rcode: dns.RcodeSuccess, aa: true,
			check: func(t *testing.T, r *dns.Msg) {
				types := map[uint16]bool{}
				for _, rr := range r.Answer {
					types[rr.Header().Rrtype] = true
				}
				if len(r.Answer) == 0 || len(types) != 1 {
					t.Errorf("ANY answer not minimal: %v", r.Answer)
				}
			},
		},
		{
			name: "AXFR over UDP is REFUSED",
			q: func() *dns.Msg {
				m := newQuery("contoso.lab", dns.TypeAXFR)
				m.RecursionDesired = false
				return m
			}(),
			rcode: dns.RcodeRefused,
		},
		{
			name: "opcode STATUS is NOTIMP",
			q: func() *dns.Msg {
				m := newQuery("contoso.lab", dns.TypeSOA)
				m.Opcode = dns.OpcodeStatus
				return m
			}(),
			rcode: dns.RcodeNotImplemented,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := in.query(t, "udp", "127.9.0.5", c.q)
			if r.Rcode != c.rcode || r.Authoritative != c.aa || !r.Response {
				t.Errorf("go client: rcode %s AA=%v QR=%v, want %s AA=%v",
					dns.RcodeToString[r.Rcode], r.Authoritative, r.Response, dns.RcodeToString[c.rcode], c.aa)
			}
			if r.Id != c.q.Id {
				t.Errorf("id %d, want %d", r.Id, c.q.Id)
			}
			if c.check != nil {
				c.check(t, r)
			}
			if c.dig == nil {
				return
			}
			out := in.dig(t, append([]string{"-b", "127.9.0.5"}, c.dig...)...)
			status, flags := digHeader(t, out)
			want := dns.RcodeToString[c.rcode]
			if c.rcode == dns.RcodeBadVers {
				want = "BADVERS" // 16 is BADSIG in a TSIG and BADVERS in an OPT; dig prints the latter
			}
			if status != want || has(flags, "aa") != c.aa || has(flags, "ra") {
				t.Errorf("dig: status %s flags %v, want %s aa=%v:\n%s", status, flags, want, c.aa, out)
			}
			if c.digOut != nil {
				c.digOut(t, out)
			}
		})
	}
}

func checkNegativeSOA(t *testing.T, r *dns.Msg) {
	t.Helper()
	if len(r.Ns) != 1 {
		t.Fatalf("authority %v, want the SOA", r.Ns)
	}
	soa, ok := r.Ns[0].(*dns.SOA)
	if !ok {
		t.Fatalf("authority %v, want the SOA", r.Ns)
	}
	// The zones in testdata all have an SOA TTL of 3600 and a minimum below it.
	if soa.Hdr.Ttl != soa.Minttl || soa.Minttl >= 3600 {
		t.Errorf("SOA TTL %d, minimum %d: want TTL = min(3600, minimum)", soa.Hdr.Ttl, soa.Minttl)
	}
}

// TestTruncationAndTCPRetry: a 60-record answer does not fit 512 bytes, so
// UDP sets TC with no partial RRset and TCP carries it whole; dig retries by
// itself.
func TestTruncationAndTCPRetry(t *testing.T) {
	in := start(t, "-config", testdata("config", "good", "loopback.toml"))
	r := in.query(t, "udp", "", newQuery("big.contoso.lab", dns.TypeA))
	if !r.Truncated {
		t.Fatalf("UDP answer of 60 A records without TC: %d answers", len(r.Answer))
	}
	if n := len(r.Answer); n != 0 && n != 60 {
		t.Errorf("truncated answer holds a partial RRset: %d of 60", n)
	}
	r = in.query(t, "tcp", "", newQuery("big.contoso.lab", dns.TypeA))
	if r.Truncated || len(addrs(r)) != 60 {
		t.Errorf("TCP: TC=%v, %d addresses, want 60", r.Truncated, len(addrs(r)))
	}
	out := in.dig(t, "+noedns", "big.contoso.lab", "A")
	if !strings.Contains(out, "Truncated, retrying in TCP mode") || strings.Count(out, "\tA\t") != 60 {
		t.Errorf("dig did not retry over TCP and get 60 A:\n%s", out)
	}
}

// TestTCPPipelining sends three queries on one connection before reading,
// then reads three answers.
func TestTCPPipelining(t *testing.T) {
	in := start(t, "-config", testdata("config", "good", "loopback.toml"))
	conn, err := net.DialTimeout("tcp", in.DNS, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	names := []string{"affinityus.contoso.lab", "affinityde.contoso.lab", "affinitycn.contoso.lab"}
	var buf []byte
	for i, n := range names {
		m := newQuery(n, dns.TypeA)
		m.Id = uint16(100 + i)
		p, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(p)))
		buf = append(buf, p...)
	}
	if _, err := conn.Write(buf); err != nil {
		t.Fatal(err)
	}
	seen := map[uint16]bool{}
	for range names {
		var l [2]byte
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(conn, p); err != nil {
			t.Fatal(err)
		}
		r := new(dns.Msg)
		if err := r.Unpack(p); err != nil {
			t.Fatal(err)
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 3 {
			t.Errorf("id %d: %s, %d answers", r.Id, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		seen[r.Id] = true
	}
	if len(seen) != 3 {
		t.Errorf("answers for ids %v, want 100..102", seen)
	}
}

// TestBadInput: FORMERR for two questions, silence for a response packet,
// and a burst of 1000 random packets after which the server still answers.
func TestBadInput(t *testing.T) {
	in := start(t, "-config", testdata("config", "good", "loopback.toml"))

	two := newQuery("affinityus.contoso.lab", dns.TypeA)
	two.Question = append(two.Question, dns.Question{Name: "affinityde.contoso.lab.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	r := in.query(t, "udp", "", two)
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("QDCOUNT=2: %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}

	resp := newQuery("affinityus.contoso.lab", dns.TypeA)
	resp.Response = true
	c := &dns.Client{Net: "udp", Timeout: 500 * time.Millisecond}
	if r, _, err := c.Exchange(resp, in.DNS); err == nil {
		t.Errorf("a response packet got a reply: %v", r)
	}

	conn, err := net.Dial("udp", in.DNS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	valid, _ := newQuery("affinityus.contoso.lab", dns.TypeA).Pack()
	for i := 0; i < 1000; i++ {
		var p []byte
		switch i % 3 {
		case 0: // pure noise
			p = make([]byte, rng.IntN(600))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
		case 1: // a valid query cut short
			p = append([]byte(nil), valid[:rng.IntN(len(valid))]...)
		default: // a valid query with flipped bytes
			p = append([]byte(nil), valid...)
			for k := 0; k < 3; k++ {
				p[rng.IntN(len(p))] ^= byte(1 + rng.IntN(255))
			}
		}
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, proto := range []string{"udp", "tcp"} {
		r := in.query(t, proto, "", newQuery("affinityus.contoso.lab", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(addrs(r)) != 3 || !r.Authoritative {
			t.Errorf("%s after the burst: %s %v", proto, dns.RcodeToString[r.Rcode], addrs(r))
		}
	}
	if strings.Contains(in.Log(), "panic") {
		t.Errorf("the burst caused a panic:\n%s", in.Log())
	}
}
