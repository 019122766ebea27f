package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
