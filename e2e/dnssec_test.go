package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/internal/serial"
)

// The signed lab (testdata/dnssec/contoso-signed.toml) checked by real
// validators: BIND 9 as a validating resolver whose only trust anchor is
// the zone's key, reaching sitedns through a static-stub zone, once from a
// US site address and once from an address in no site; ldns-verify-zone
// on the zone transfer; dnsviz on what the resolver gets.

const (
	usSource       = "127.2.1.5" // US-Chicago in the signed lab
	externalSource = "127.9.0.5" // no site: the default view
	cskFile        = "Kcontoso.lab.+013+53756"
)

// signedConfig writes the signed lab with edit applied to a temporary
// directory, its key paths made absolute, and returns the config's path.
func signedConfig(t *testing.T, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(testdata("dnssec", "contoso-signed.toml"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := filepath.Abs(testdata("dnssec"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), `"Kcontoso.lab.`, `"`+keys+`/Kcontoso.lab.`)
	if edit != nil {
		s = edit(s)
	}
	p := filepath.Join(t.TempDir(), "contoso-signed.toml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startSigned starts sitedns on the signed config cfg, also listening on
// port 53 of a free 127.53.x.y address, where a static-stub zone of BIND
// (which has no port setting) can reach it. It returns the instance and
// that address.
func startSigned(t *testing.T, cfg string) (*instance, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the DNSSEC validation tests bind port 53 and must run as root under CI=true")
		}
		t.Skip("binding port 53 for BIND's static-stub needs root")
	}
	for range 20 {
		ip := fmt.Sprintf("127.53.%d.%d", rand.IntN(250)+1, rand.IntN(250)+1)
		addr := net.JoinHostPort(ip, "53")
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		pc.Close()
		if err != nil {
			continue
		}
		ln.Close()
		return start(t, "-config", cfg, "-listen", addr), ip
	}
	t.Fatal("no free 127.53.x.y address with port 53")
	return nil, ""
}

// anchor is the trust-anchors clause of the key in testdata/dnssec/<file>.
func anchor(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(testdata("dnssec", file+".key"))
	if err != nil {
		t.Fatal(err)
	}
	rr, err := dns.NewRR(string(bytes.TrimSpace(dropComments(b))))
	if err != nil {
		t.Fatal(err)
	}
	k := rr.(*dns.DNSKEY)
	return fmt.Sprintf("trust-anchors { %q static-key %d %d %d %q; };", k.Hdr.Name, k.Flags, k.Protocol, k.Algorithm, k.PublicKey)
}

func dropComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte(";")) {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

// startResolver runs BIND's named as a validating resolver on 127.0.0.1
// with a free port: trust anchor anchorClause, contoso.lab a static-stub
// zone at stubIP, queries sent from source. It serves a root zone and lab.
// itself, so that nothing it does leaves the machine, and returns its
// address once it answers.
func startResolver(t *testing.T, stubIP, source, anchorClause string) string {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	files := map[string]string{
		"root.db": `$TTL 3600
.               IN SOA a.root.invalid. hostmaster.invalid. 1 3600 600 86400 300
.               IN NS a.root.invalid.
a.root.invalid. IN A 127.0.0.1
lab.            IN NS a.root.invalid.
`,
		"lab.db": fmt.Sprintf(`$TTL 3600
lab.             IN SOA a.root.invalid. hostmaster.invalid. 1 3600 600 86400 300
lab.             IN NS a.root.invalid.
contoso.lab.     IN NS ns1.contoso.lab.
ns1.contoso.lab. IN A %s
`, stubIP),
	}
	conf := namedConf{ip: "127.0.0.1", port: port,
		options: []string{
			"recursion yes;",
			"allow-recursion { any; };",
			"dnssec-validation yes;",
			"query-source address " + source + ";",
			"qname-minimization off;",
		},
		rest: fmt.Sprintf(`%s
zone "." { type primary; file "root.db"; };
zone "lab" { type primary; file "lab.db"; };
zone "contoso.lab" { type static-stub; server-addresses { %s; }; };
`, anchorClause, stubIP),
	}
	named := newNamed(t, fmt.Sprintf("named (query-source %s)", source), dir, conf, files, "-4")
	named.start()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	named.waitAnswer(addr, newQuery("lab.", dns.TypeSOA), func(r *dns.Msg) bool { return r.Rcode == dns.RcodeSuccess },
		500*time.Millisecond, 20*time.Second)
	return addr
}

// resolve asks the resolver at addr for name and qtype with DO set.
func resolve(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := newQuery(name, qtype)
	m.SetEdns0(1232, true)
	c := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// answerText is the answer section without RRSIGs and TTLs, sorted.
func answerText(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == dns.TypeRRSIG {
			continue
		}
		h := *rr.Header()
		s := strings.TrimPrefix(rr.String(), h.String())
		out = append(out, h.Name+" "+dns.TypeToString[h.Rrtype]+" "+s)
	}
	slices.Sort(out)
	return out
}

// TestDNSSECValidation: BIND, validating with the zone's key as its only
// trust anchor, gets AD=1 for every kind of answer in both views, each
// view its own answers; with the wrong key it gets SERVFAIL; dnsviz finds
// no error or warning in either view.
func TestDNSSECValidation(t *testing.T) {
	in, stub := startSigned(t, signedConfig(t, nil))
	type want struct {
		rcode  int
		answer []string
	}
	cases := []struct {
		name         string
		qtype        uint16
		us, external want
	}{
		{"autodiscover.contoso.lab.", dns.TypeA,
			want{dns.RcodeSuccess, []string{"autodiscover.contoso.lab. A 10.1.1.10", "autodiscover.contoso.lab. A 10.2.1.10"}},
			want{dns.RcodeSuccess, []string{"autodiscover.contoso.lab. A 203.0.113.10"}}},
		{"usonly.contoso.lab.", dns.TypeA,
			want{dns.RcodeSuccess, []string{"usonly.contoso.lab. A 10.2.1.77"}},
			want{dns.RcodeNameError, nil}},
		{"usonly.contoso.lab.", dns.TypeTXT,
			want{dns.RcodeSuccess, []string{`usonly.contoso.lab. TXT "us only"`}},
			want{dns.RcodeNameError, nil}},
		{"usonly.contoso.lab.", dns.TypeMX, want{dns.RcodeSuccess, nil}, want{dns.RcodeNameError, nil}},
		{"nope.contoso.lab.", dns.TypeA, want{dns.RcodeNameError, nil}, want{dns.RcodeNameError, nil}},
		{"mail.contoso.lab.", dns.TypeAAAA, want{dns.RcodeSuccess, nil}, want{dns.RcodeSuccess, nil}},
		{"ent.contoso.lab.", dns.TypeA, want{dns.RcodeSuccess, nil}, want{dns.RcodeSuccess, nil}},
		{"a.b.wild.contoso.lab.", dns.TypeTXT,
			want{dns.RcodeSuccess, []string{`a.b.wild.contoso.lab. TXT "wildcard answer"`}},
			want{dns.RcodeSuccess, []string{`a.b.wild.contoso.lab. TXT "wildcard answer"`}}},
		{"x.wild.contoso.lab.", dns.TypeA, want{dns.RcodeSuccess, nil}, want{dns.RcodeSuccess, nil}},
		{"www.contoso.lab.", dns.TypeA,
			want{dns.RcodeSuccess, []string{"mail.contoso.lab. A 10.1.1.10", "www.contoso.lab. CNAME mail.contoso.lab."}},
			want{dns.RcodeSuccess, []string{"mail.contoso.lab. A 10.1.1.10", "www.contoso.lab. CNAME mail.contoso.lab."}}},
		{"_autodiscover._tcp.contoso.lab.", dns.TypeSRV,
			want{dns.RcodeSuccess, []string{"_autodiscover._tcp.contoso.lab. SRV 0 0 443 mail.contoso.lab."}},
			want{dns.RcodeSuccess, []string{"_autodiscover._tcp.contoso.lab. SRV 0 0 443 mail.contoso.lab."}}},
		{"lab3.contoso.lab.", dns.TypeDS,
			want{dns.RcodeSuccess, []string{"lab3.contoso.lab. DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}},
			want{dns.RcodeSuccess, []string{"lab3.contoso.lab. DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}}},
		{"lab2.contoso.lab.", dns.TypeDS, want{dns.RcodeSuccess, nil}, want{dns.RcodeSuccess, nil}},
	}
	views := []struct {
		name, source string
		pick         func(us, external want) want
	}{
		{"US", usSource, func(us, _ want) want { return us }},
		{"external", externalSource, func(_, ext want) want { return ext }},
	}
	resolvers := map[string]string{}
	for _, v := range views {
		resolvers[v.name] = startResolver(t, stub, v.source, anchor(t, cskFile))
		t.Run(v.name, func(t *testing.T) {
			for _, c := range cases {
				w := v.pick(c.us, c.external)
				r := resolve(t, resolvers[v.name], c.name, c.qtype)
				got := answerText(r)
				if r.Rcode != w.rcode || !r.AuthenticatedData || !slices.Equal(got, w.answer) {
					t.Errorf("%s %s: %s AD=%v %q, want %s AD=true %q", c.name, dns.TypeToString[c.qtype],
						dns.RcodeToString[r.Rcode], r.AuthenticatedData, got, dns.RcodeToString[w.rcode], w.answer)
				}
			}
		})
	}

	t.Run("wrong trust anchor", func(t *testing.T) {
		bogus := startResolver(t, stub, externalSource, anchor(t, "Kcontoso.lab.+015+62941"))
		if r := resolve(t, bogus, "autodiscover.contoso.lab.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
			t.Errorf("with the wrong trust anchor: %s AD=%v, want SERVFAIL", dns.RcodeToString[r.Rcode], r.AuthenticatedData)
		}
	})

	t.Run("dnsviz", func(t *testing.T) {
		need(t, "dnsviz")
		ta := filepath.Join(t.TempDir(), "anchor.key")
		b, _ := os.ReadFile(testdata("dnssec", cskFile+".key"))
		if err := os.WriteFile(ta, dropComments(b), 0o644); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, v := range views {
			wg.Go(func() { dnsviz(t, v.name, resolvers[v.name], ta) })
		}
		wg.Wait()
	})
	_ = in
}

// grokShim runs "dnsviz grok": Debian's dnsviz checks for a
// pygraphviz.release module that the packaged pygraphviz no longer has,
// and refuses to start; the shim supplies it from pygraphviz.__version__.
const grokShim = `import sys, types, pygraphviz
rel = types.ModuleType("pygraphviz.release"); rel.version = pygraphviz.__version__
sys.modules["pygraphviz.release"] = rel; pygraphviz.release = rel
from dnsviz.commands import grok
grok.main(["dnsviz grok"] + sys.argv[1:])
`

// dnsviz probes names through the resolver at addr and fails the test on
// any error or warning "dnsviz grok" reports with trust anchor ta.
func dnsviz(t *testing.T, view, addr, ta string) {
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	names := []string{"contoso.lab", "autodiscover.contoso.lab", "usonly.contoso.lab", "nope.contoso.lab", "a.b.wild.contoso.lab", "www.contoso.lab", "ent.contoso.lab"}
	cmd := exec.CommandContext(ctx, "dnsviz", append([]string{"probe", "-4", "-s", addr, "-o", probe}, names...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: dnsviz probe: %v\n%s", view, err, out)
		return
	}
	grok := exec.CommandContext(ctx, "/usr/bin/python3", "-c", grokShim, "-t", ta, "-l", "warning", "-r", probe)
	var stderr bytes.Buffer
	grok.Stderr = &stderr
	out, err := grok.Output()
	if err != nil {
		t.Errorf("%s: dnsviz grok: %v\n%s", view, err, stderr.String())
		return
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return // nothing at warning level or above
	}
	var report map[string]any
	if err := json.Unmarshal(out, &report); err != nil {
		t.Errorf("%s: dnsviz grok output: %v\n%s", view, err, out)
		return
	}
	if len(report) > 0 {
		t.Errorf("%s: dnsviz reports problems:\n%s", view, out)
	}
}

// TestDNSSECTransferVerifies: the zone transfer of the signed zone, in
// both denial methods, passes ldns-verify-zone.
func TestDNSSECTransferVerifies(t *testing.T) {
	tool := need(t, "ldns-verify-zone")
	for _, denial := range []string{"nsec3", "nsec"} {
		t.Run(denial, func(t *testing.T) {
			cfg := signedConfig(t, func(s string) string {
				return strings.Replace(s, `denial = "nsec3"`, `denial = "`+denial+`"`, 1)
			})
			in := start(t, "-config", cfg)
			// Long timeouts: a loaded machine can take seconds to start
			// streaming; the test bounds the whole transfer anyway.
			tr := &dns.Transfer{DialTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
			m := newQuery("contoso.lab.", dns.TypeAXFR)
			ch, err := tr.In(m, in.DNS)
			if err != nil {
				t.Fatal(err)
			}
			var zone strings.Builder
			n := 0
			for env := range ch {
				if env.Error != nil {
					t.Fatal(env.Error)
				}
				for _, rr := range env.RR {
					if n > 0 && rr.Header().Rrtype == dns.TypeSOA {
						continue // the closing SOA
					}
					zone.WriteString(rr.String() + "\n")
					n++
				}
			}
			p := filepath.Join(t.TempDir(), "contoso.lab.zone")
			if err := os.WriteFile(p, []byte(zone.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(tool, p).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Zone is verified and complete") {
				t.Errorf("ldns-verify-zone: %v\n%s\n%s", err, out, zone.String())
			}
			if !strings.Contains(zone.String(), "RRSIG") || !strings.Contains(zone.String(), strings.ToUpper(denial)) {
				t.Errorf("the transfer holds no RRSIG or %s:\n%s", denial, zone.String())
			}
		})
	}
}

// TestDNSSECResign signs with a 40-second validity and a 30-second
// refresh: sitedns re-signs every 10 seconds. Until two re-signings have
// shown new inception times (at most 60 seconds), every answer, straight
// from sitedns and through the validating resolver, validates.
func TestDNSSECResign(t *testing.T) {
	downstream := freePortOn(t, "127.0.0.1")
	cfg := signedConfig(t, func(s string) string {
		s = strings.Replace(s, `signature_validity = "14d"`, `signature_validity = "40s"`, 1)
		s = strings.Replace(s, "origin = \"contoso.lab\"\n", fmt.Sprintf("origin = \"contoso.lab\"\nalso_notify = [\"127.0.0.1:%d\"]\n", downstream), 1)
		return strings.Replace(s, `refresh = "4d"`, `refresh = "30s"`, 1)
	})
	in, stub := startSigned(t, cfg)
	resolver := startResolver(t, stub, externalSource, anchor(t, cskFile))
	first, _, err := soaSerial(in.DNS, "contoso.lab.")
	if err != nil {
		t.Fatal(err)
	}
	// A BIND secondary of the signed zone, which sitedns notifies: it
	// must follow every re-signing, or its signatures would expire.
	sec := startBINDSecondary(t, "contoso.lab", in.DNS, downstream, false)
	waitSerial(t, "BIND secondary", sec.Addr, "contoso.lab.", first, 10*time.Second)
	b, _ := os.ReadFile(testdata("dnssec", cskFile+".key"))
	rr, err := dns.NewRR(string(bytes.TrimSpace(dropComments(b))))
	if err != nil {
		t.Fatal(err)
	}
	key := rr.(*dns.DNSKEY)

	inceptions := map[uint32]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for n := 0; time.Now().Before(deadline) && n < 400 && len(inceptions) < 3; n++ {
		m := newQuery("autodiscover.contoso.lab.", dns.TypeA)
		m.SetEdns0(1232, true)
		r := in.query(t, "udp", externalSource, m)
		set, sig := splitSig(r.Answer)
		now := time.Now()
		if sig == nil || len(set) == 0 {
			t.Fatalf("no signed answer:\n%v", r)
		}
		if err := sig.Verify(key, set); err != nil || !sig.ValidityPeriod(now) {
			t.Fatalf("at %s the signature %s does not validate (%v)", now.Format(time.RFC3339), sig, err)
		}
		inceptions[sig.Inception] = true
		if v := resolve(t, resolver, "autodiscover.contoso.lab.", dns.TypeA); v.Rcode != dns.RcodeSuccess || !v.AuthenticatedData {
			t.Fatalf("at %s the resolver got %s AD=%v", now.Format(time.RFC3339), dns.RcodeToString[v.Rcode], v.AuthenticatedData)
		}
		time.Sleep(250 * time.Millisecond) // pacing the probes, not synchronising
	}
	if len(inceptions) < 3 {
		t.Errorf("%d signings seen in 60 s, want the first and at least two re-signings; sitedns logged:\n%s", len(inceptions), in.Log())
	}
	if !strings.Contains(in.Log(), "re-signing: signatures are due") {
		t.Errorf("no re-signing logged:\n%s", in.Log())
	}

	// Each signing moved the serial, so the secondary transferred the new
	// signatures: it serves sitedns's current serial and signatures.
	last, _, err := soaSerial(in.DNS, "contoso.lab.")
	if err != nil || !serial.Newer(last, first) {
		t.Fatalf("serial %d after the re-signings (%v), want one newer than %d", last, err, first)
	}
	d, err := serialWithin(sec.Addr, "contoso.lab.", last, 10*time.Second)
	if err != nil {
		// A re-signing may have come since: one more chance at the newest.
		if last, _, err = soaSerial(in.DNS, "contoso.lab."); err == nil {
			d, err = serialWithin(sec.Addr, "contoso.lab.", last, 10*time.Second)
		}
		if err != nil {
			t.Fatalf("BIND secondary: %v\n%s", err, grepLines(sec.Log(), "ransfer"))
		}
	}
	t.Logf("serials %d then %d; the BIND secondary had the latest %v after sitedns served it", first, last, d)
	m := newQuery("autodiscover.contoso.lab.", dns.TypeA)
	m.SetEdns0(1232, true)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, sec.Addr)
	if err != nil {
		t.Fatal(err)
	}
	set, sig := splitSig(r.Answer)
	if sig == nil || sig.Verify(key, set) != nil || !sig.ValidityPeriod(time.Now()) || sig.Inception <= minKey(inceptions) {
		t.Errorf("the BIND secondary's signature %v: want a valid one from a re-signing (inceptions seen %v)", sig, inceptions)
	}
}

// splitSig splits an answer section of one RRset into the set and its
// (last) RRSIG, nil when it has none.
func splitSig(answer []dns.RR) (set []dns.RR, sig *dns.RRSIG) {
	for _, rr := range answer {
		if s, ok := rr.(*dns.RRSIG); ok {
			sig = s
		} else {
			set = append(set, rr)
		}
	}
	return set, sig
}

// minKey is the least key of m.
func minKey(m map[uint32]bool) uint32 {
	least := ^uint32(0)
	for k := range m {
		least = min(least, k)
	}
	return least
}

// casListeners listens on port and each of ips (a port free on all of
// them, taken with retries) and accepts and closes every connection, as a
// CAS port does for a TCP check. It returns the port.
func casListeners(t *testing.T, ips ...string) int {
	t.Helper()
	for range 20 {
		var lns []net.Listener
		port := freePortOn(t, ips[0])
		for _, ip := range ips {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) < len(ips) {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		for _, ln := range lns {
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
		return port
	}
	t.Fatalf("no port free on all of %v", ips)
	return 0
}

// TestDNSSECHealth: in a signed zone, a CAS whose port is closed leaves the
// answer, and the answer without it validates: BIND, validating with the
// zone's key, gets the two live CAS with AD=1.
func TestDNSSECHealth(t *testing.T) {
	live := []string{"127.61.1.10", "127.61.2.10"}
	port := casListeners(t, live...) // 127.61.3.10 has no listener: refused, down
	cfg := signedConfig(t, func(s string) string {
		return s + fmt.Sprintf(`
[[zone.name]]
name = "cas"
check = "cas"
records = ["300 IN A 127.61.1.10", "300 IN A 127.61.2.10", "300 IN A 127.61.3.10"]

[[check]]
name = "cas"
type = "tcp"
port = %d
interval = "100ms"
timeout = "100ms"
rise = 1
fall = 1
`, port)
	})
	in, stub := startSigned(t, cfg)

	// Straight from sitedns first, so that the resolver never caches the
	// answer from before the dead CAS left it.
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := newQuery("cas.contoso.lab.", dns.TypeA)
		m.SetEdns0(1232, true)
		got = addrs(in.query(t, "udp", externalSource, m))
		slices.Sort(got)
		if slices.Equal(got, live) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cas: %v after 10 s, want the live %v\n%s", got, live, in.Log())
		}
		time.Sleep(50 * time.Millisecond) // polling the answer, bounded by the deadline
	}

	resolver := startResolver(t, stub, externalSource, anchor(t, cskFile))
	v := resolve(t, resolver, "cas.contoso.lab.", dns.TypeA)
	got = addrs(v)
	slices.Sort(got)
	if v.Rcode != dns.RcodeSuccess || !v.AuthenticatedData || !slices.Equal(got, live) {
		t.Fatalf("through the validating resolver: %s AD=%v %v, want NOERROR AD=1 %v", dns.RcodeToString[v.Rcode], v.AuthenticatedData, got, live)
	}
}
