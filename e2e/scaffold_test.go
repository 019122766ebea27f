package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The loopback contoso lab of testdata/scaffold/loopback.answers.toml: each
// 127.x.0.0/16 is the site 10.x.0.0/16 of the real lab and holds its CAS at
// 127.x.1.10; the published (external) addresses are in 203.0.113.0/24.
const (
	scaffoldChicago  = "127.2.1.77" // a client in US-Chicago
	scaffoldExternal = "127.9.0.5"  // in no site: an Internet client
	scaffoldPool     = "127.1.1.20"
	scaffoldRevProxy = "203.0.113.10"
	scaffoldAccess   = "203.0.113.5"
)

var scaffoldUSCAS = []string{"127.1.1.10", "127.2.1.10", "127.3.1.10"}

// scaffoldRun runs the built binary with args and returns its combined output.
func scaffoldRun(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, sitednsBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("sitedns %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// scaffoldSRV returns "port target" of each SRV record in the answer.
func scaffoldSRV(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, strings.Join([]string{strconv.Itoa(int(s.Port)), s.Target}, " "))
		}
	}
	return out
}

// TestScaffoldLoopbackLab writes the config of the loopback lab with
// "sitedns scaffold", checks it, serves it, and resolves with a real client
// the lookups Office Communicator and Outlook make, in their order.
func TestScaffoldLoopbackLab(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sitedns.toml")
	plan := filepath.Join(dir, "plan.md")
	scaffoldRun(t, "scaffold", "-answers", testdata("scaffold", "loopback.answers.toml"), "-o", cfg, "-plan-md", plan)
	if out := scaffoldRun(t, "check", "-config", cfg); !strings.Contains(out, ": ok: ") {
		t.Fatalf("check: %s", out)
	}
	if b, err := os.ReadFile(plan); err != nil || !strings.Contains(string(b), "| sip.contoso.lab |") {
		t.Errorf("plan: %v\n%s", err, b)
	}
	in := start(t, "-config", cfg)

	// Office Communicator in Chicago: the SRV record first, then the target's A.
	r := in.query(t, "udp", scaffoldChicago, newQuery("_sipinternaltls._tcp.contoso.lab", dns.TypeSRV))
	if got := scaffoldSRV(r); !slices.Equal(got, []string{"5061 pool01.contoso.lab."}) || !r.Authoritative {
		t.Fatalf("_sipinternaltls._tcp from Chicago: %v (aa=%v), want 5061 pool01.contoso.lab.\n%v", got, r.Authoritative, r)
	}
	r = in.query(t, "udp", scaffoldChicago, newQuery("pool01.contoso.lab", dns.TypeA))
	if got := addrs(r); !slices.Equal(got, []string{scaffoldPool}) {
		t.Errorf("pool01 from Chicago: %v, want %s", got, scaffoldPool)
	}
	// Outside, the internal SRV record does not exist; remote sign-in goes
	// through _sip._tls to the Access Edge.
	r = in.query(t, "udp", scaffoldExternal, newQuery("_sipinternaltls._tcp.contoso.lab", dns.TypeSRV))
	if len(r.Answer) != 0 || r.Rcode == dns.RcodeRefused {
		t.Errorf("_sipinternaltls._tcp from outside: %v, want no records\n%v", scaffoldSRV(r), r)
	}
	r = in.query(t, "udp", scaffoldExternal, newQuery("_sip._tls.contoso.lab", dns.TypeSRV))
	if got := scaffoldSRV(r); !slices.Equal(got, []string{"443 sip.contoso.lab."}) {
		t.Errorf("_sip._tls from outside: %v, want 443 sip.contoso.lab.", got)
	}
	if got := addrs(in.query(t, "udp", scaffoldExternal, newQuery("sip.contoso.lab", dns.TypeA))); !slices.Equal(got, []string{scaffoldAccess}) {
		t.Errorf("sip from outside: %v, want the Access Edge %s", got, scaffoldAccess)
	}
	if got := addrs(in.query(t, "udp", scaffoldChicago, newQuery("sip.contoso.lab", dns.TypeA))); !slices.Equal(got, []string{scaffoldPool}) {
		t.Errorf("sip from Chicago: %v, want the pool %s", got, scaffoldPool)
	}

	// Outlook: autodiscover from a US client gets the US CAS, its own /24's first.
	for i := 0; i < 3; i++ {
		got := addrs(in.query(t, "udp", scaffoldChicago, newQuery("autodiscover.contoso.lab", dns.TypeA)))
		if !slices.Equal(slices.Sorted(slices.Values(got)), scaffoldUSCAS) || got[0] != "127.2.1.10" {
			t.Fatalf("autodiscover from Chicago: %v, want the US CAS %v with 127.2.1.10 first", got, scaffoldUSCAS)
		}
	}
	// From outside: the reverse proxy.
	if got := addrs(in.query(t, "udp", scaffoldExternal, newQuery("autodiscover.contoso.lab", dns.TypeA))); !slices.Equal(got, []string{scaffoldRevProxy}) {
		t.Errorf("autodiscover from outside: %v, want the reverse proxy %s", got, scaffoldRevProxy)
	}
	// Then the SRV record, and its target.
	r = in.query(t, "udp", scaffoldExternal, newQuery("_autodiscover._tcp.contoso.lab", dns.TypeSRV))
	if got := scaffoldSRV(r); !slices.Equal(got, []string{"443 mail.contoso.lab."}) {
		t.Errorf("_autodiscover._tcp: %v, want 443 mail.contoso.lab.", got)
	}
	if got := addrs(in.query(t, "udp", scaffoldExternal, newQuery("mail.contoso.lab", dns.TypeA))); !slices.Equal(got, []string{scaffoldRevProxy}) {
		t.Errorf("mail from outside: %v, want %s", got, scaffoldRevProxy)
	}

	// The same first lookup with dig, from the Chicago client's address.
	out := in.dig(t, "-b", scaffoldChicago, "+short", "_sipinternaltls._tcp.contoso.lab", "SRV")
	if strings.TrimSpace(out) != "0 0 5061 pool01.contoso.lab." {
		t.Errorf("dig _sipinternaltls._tcp: %q", out)
	}
}

// splitDNSExtra adds to the loopback lab's config what the scaffold does
// not write: a name with a public A and an internal-only SRV, and an
// empty non-terminal whose only child is internal only.
const splitDNSExtra = `
[[zone.name]]
name = "meet"
records = ["300 IN A 203.0.113.20"]
[zone.name.scope.US]
records = ["300 IN SRV 0 0 443 pool01.contoso.lab."]

[[zone.name]]
name = "leaf.internal-ent"
[zone.name.scope.US]
records = ["300 IN A 127.1.1.99"]
`

// TestScaffoldSplitDNS: in the loopback lab, a client in no site finds no
// internal name (NXDOMAIN, with the SOA), a client in a site resolves them,
// a name that exists outside stays NODATA for a type it has only inside,
// and an empty non-terminal stays NODATA; then every dig line of the
// runbook's checks gives what the runbook says, from the view it names.
func TestScaffoldSplitDNS(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sitedns.toml")
	runbook := filepath.Join(dir, "runbook.md")
	scaffoldRun(t, "scaffold", "-answers", testdata("scaffold", "loopback.answers.toml"), "-o", cfg, "-runbook", runbook)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(b, splitDNSExtra...), 0o644); err != nil {
		t.Fatal(err)
	}
	in := start(t, "-config", cfg)

	rcodeOf := func(network, src, name string, qtype uint16) *dns.Msg {
		t.Helper()
		r := in.query(t, network, src, newQuery(name, qtype))
		if !r.Authoritative {
			t.Errorf("%s %s from %s: not authoritative", name, dns.TypeToString[qtype], src)
		}
		return r
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, c := range []struct {
			name  string
			qtype uint16
		}{
			{"pool01.contoso.lab", dns.TypeA},
			{"pool01.contoso.lab", dns.TypeAAAA},
			{"_sipinternaltls._tcp.contoso.lab", dns.TypeSRV},
			{"sipinternal.contoso.lab", dns.TypeA},
			{"affinityus.contoso.lab", dns.TypeA},
			{"affinityde.contoso.lab", dns.TypeA},
			{"affinitycn.contoso.lab", dns.TypeA},
			{"leaf.internal-ent.contoso.lab", dns.TypeA},
		} {
			out := rcodeOf(network, scaffoldExternal, c.name, c.qtype)
			if out.Rcode != dns.RcodeNameError || len(out.Answer) != 0 || len(out.Ns) != 1 || out.Ns[0].Header().Rrtype != dns.TypeSOA {
				t.Errorf("%s %s from outside over %s: %s with %d answers, %d authority; want NXDOMAIN with the SOA\n%v",
					c.name, dns.TypeToString[c.qtype], network, dns.RcodeToString[out.Rcode], len(out.Answer), len(out.Ns), out)
			}
			inside := rcodeOf(network, scaffoldChicago, c.name, c.qtype)
			wantAnswers := c.qtype != dns.TypeAAAA // pool01 has no AAAA: NODATA inside
			if inside.Rcode != dns.RcodeSuccess || (len(inside.Answer) > 0) != wantAnswers {
				t.Errorf("%s %s from Chicago over %s: %s with %d answers", c.name, dns.TypeToString[c.qtype], network,
					dns.RcodeToString[inside.Rcode], len(inside.Answer))
			}
		}
	}
	// NODATA: a name that exists outside, asked for a type it has only inside.
	for _, c := range []struct {
		name  string
		qtype uint16
	}{
		{"meet.contoso.lab", dns.TypeSRV},       // a public A, an internal-only SRV
		{"internal-ent.contoso.lab", dns.TypeA}, // an empty non-terminal
		{"_tcp.contoso.lab", dns.TypeA},         // an empty non-terminal with a public child
		{"sip.contoso.lab", dns.TypeSRV},        // public in another type
	} {
		r := rcodeOf("udp", scaffoldExternal, c.name, c.qtype)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
			t.Errorf("%s %s from outside: %s with %d answers, %d authority; want NODATA (NOERROR, no answer, the SOA)",
				c.name, dns.TypeToString[c.qtype], dns.RcodeToString[r.Rcode], len(r.Answer), len(r.Ns))
		}
	}
	if r := rcodeOf("udp", scaffoldChicago, "meet.contoso.lab", dns.TypeSRV); len(scaffoldSRV(r)) != 1 {
		t.Errorf("meet SRV from Chicago: %v, want the internal SRV", r)
	}
	if got := addrs(rcodeOf("udp", scaffoldExternal, "meet.contoso.lab", dns.TypeA)); !slices.Equal(got, []string{"203.0.113.20"}) {
		t.Errorf("meet A from outside: %v", got)
	}
	// The same with dig, as the README shows it.
	if out := in.dig(t, "-b", scaffoldExternal, "pool01.contoso.lab"); !strings.Contains(out, "status: NXDOMAIN") {
		t.Errorf("dig pool01 from outside:\n%s", out)
	}

	checkRunbookDigLines(t, in, runbook)
}

var (
	viewLineRE = regexp.MustCompile(`^From (?:a client in \S+ \((\d+\.\d+\.\d+)\.\d+/\d+\)|the Internet)`)
	digLineRE  = regexp.MustCompile(`^dig @\S+ (\+short )?(\S+) (\S+)(?: \| grep .*?)?\s+# (.*)$`)
)

// checkRunbookDigLines asks the server every lookup of the runbook's
// checks, from an address of the view the runbook names, and compares the
// answer with the runbook's.
func checkRunbookDigLines(t *testing.T, in *instance, runbook string) {
	t.Helper()
	b, err := os.ReadFile(runbook)
	if err != nil {
		t.Fatal(err)
	}
	src, n := "", 0
	for _, line := range strings.Split(string(b), "\n") {
		if m := viewLineRE.FindStringSubmatch(line); m != nil {
			src = scaffoldExternal
			if m[1] != "" {
				src = m[1] + ".77"
			}
			continue
		}
		m := digLineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if src == "" {
			t.Fatalf("runbook: dig line before any view: %s", line)
		}
		n++
		name, qtype, want := m[2], dns.StringToType[m[3]], strings.TrimSpace(m[4])
		r := in.query(t, "udp", src, newQuery(name, qtype))
		var got string
		switch {
		case r.Rcode == dns.RcodeNameError:
			got = "NXDOMAIN"
		case r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0:
			got = "NOERROR, ANSWER: 0"
		default:
			var data []string
			for _, rr := range r.Answer {
				f := strings.SplitN(rr.String(), "\t", 5)
				data = append(data, f[len(f)-1])
			}
			slices.Sort(data)
			got = strings.Join(data, " ")
		}
		if got != want {
			t.Errorf("runbook %q from %s: got %q", line, src, got)
		}
	}
	if n < 20 {
		t.Errorf("runbook: %d dig lines checked, want the checks of every view", n)
	}
}
