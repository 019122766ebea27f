package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sitedns/sitedns/zones"
)

// zoneFile writes the first zone of the sitedns config at path as an RFC 1035
// master file, as a plain server holds it: every name with its default
// answer set (site-aware names keep only the answer for clients in no
// scope), SOA and NS first. It returns the origin and the file's text.
func zoneFile(t *testing.T, path string) (string, string) {
	t.Helper()
	snap, err := zones.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	z := snap.Zones[0]
	var b strings.Builder
	seen := map[string]bool{}
	write := func(rr dns.RR) {
		if s := rr.String(); !seen[s] {
			seen[s] = true
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	fmt.Fprintf(&b, "$ORIGIN %s\n", z.Origin)
	write(z.SOA)
	for _, rr := range z.NS {
		write(rr)
	}
	owners := make([]string, 0, len(z.Nodes))
	for o := range z.Nodes {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	for _, o := range owners {
		for _, set := range z.Nodes[o].Sets {
			if set.Default == nil || set.Type == dns.TypeSOA {
				continue
			}
			for _, rr := range set.Default.RRs {
				write(rr)
			}
		}
	}
	return z.Origin, b.String()
}

// freePort returns a port on 127.0.0.1 free for UDP and TCP a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	return freePortOn(t, "127.0.0.1")
}

// startNamed runs BIND's named in the foreground on 127.0.0.1 with a free
// port, serving zone (origin, master-file text) with rrset-order cyclic, and
// returns its address once it answers the zone's SOA.
func startNamed(t *testing.T, origin, zone string) string {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	conf := namedConf{ip: "127.0.0.1", port: port,
		options: []string{"recursion no;", "rrset-order { order cyclic; };"},
		rest:    fmt.Sprintf("zone %q {\n\ttype primary;\n\tfile %q;\n};\n", origin, filepath.Join(dir, "zone.db")),
	}
	named := newNamed(t, "named", dir, conf, map[string]string{"zone.db": zone})
	named.start()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	named.waitAnswer(addr, newQuery(origin, dns.TypeSOA), authoritative, 200*time.Millisecond, 15*time.Second)
	return addr
}

// TestLoadtestBIND runs the load tester against BIND 9 serving the loopback
// lab's zone with rrset-order cyclic: every CAS is handed out, the rotation
// is fair, and there is no netmask ordering (BIND has it only through a
// sortlist): a client in a CAS's /24 gets its CAS first about one time in
// three, which the load tester, told to expect netmask ordering, calls
// unfair.
func TestLoadtestBIND(t *testing.T) {
	cfg := testdata("config", "good", "loopback.toml")
	origin, zone := zoneFile(t, cfg)
	addr := startNamed(t, origin, zone)

	// Rotation alone: every (site, name) group fair, every CAS first.
	r := loadtestJSON(t, "-server", addr, "-config", cfg, "-netmask-ordering=false", "-alpha", "0.001",
		"-name", "affinityus.contoso.lab", "-name", "affinityde.contoso.lab", "-name", "pool.contoso.lab",
		"-queries", "3000")
	if len(r.Groups) == 0 {
		t.Fatal("no groups")
	}
	for _, g := range r.Groups {
		want := map[string][]string{
			"affinityus.contoso.lab.": labCAS["US"], "affinityde.contoso.lab.": labCAS["DE"],
			"pool.contoso.lab.": {"127.1.2.20", "127.1.2.21"},
		}[g.Name]
		firsts := g.firsts()
		for _, cas := range want {
			if firsts[cas] == 0 {
				t.Errorf("%s %s: %s never first: %v", g.Site, g.Name, cas, firsts)
			}
		}
		if len(firsts) != len(want) || g.AffinityViolations != 0 || g.Reject || g.Answers != g.Queries {
			t.Errorf("%s %s: first answers %v, %d violations, reject %v (p %.4f), %d of %d answered; want %v, fair",
				g.Site, g.Name, firsts, g.AffinityViolations, g.Reject, g.PValue, g.Answers, g.Queries, want)
		}
		// Each CAS of an affinity name is in a /24 of its own (both pool
		// front ends share 127.1.2.0/24: every answer leads with one).
		if g.Name != "pool.contoso.lab." && g.LocalAnswers > 0 && float64(g.NetmaskHits)/float64(g.LocalAnswers) > 0.6 {
			t.Errorf("%s %s: own /24 first in %d of %d answers holding it; BIND has no netmask ordering, want about a third",
				g.Site, g.Name, g.NetmaskHits, g.LocalAnswers)
		}
	}

	// Expecting netmask ordering: the client in 127.2.1.0/24 should get
	// 127.2.1.10 first every time and gets it a third of the time.
	args := []string{"-server", addr, "-config", cfg, "-name", "affinityus.contoso.lab", "-queries", "600",
		"-clients", "127.2.1.0/24=US-Chicago-CAS:US,127.2.9.0/24,127.12.9.0/24,127.9.0.0/24"}
	r = loadtestJSON(t, args...)
	g := r.group(t, "US-Chicago-CAS", "affinityus.contoso.lab.")
	if !g.Reject || g.LocalAnswers != g.Answers || g.NetmaskHit > 0.6 {
		t.Errorf("client in a CAS's /24: reject %v, netmask hit %v of %d answers; want unfair, about a third",
			g.Reject, g.NetmaskHit, g.Answers)
	}
	for _, site := range []string{"US-Chicago", "DE-Frankfurt", "unknown"} {
		if g := r.group(t, site, "affinityus.contoso.lab."); g.Reject || g.NetmaskHits != 0 {
			t.Errorf("%s: reject %v, %d netmask hits; want fair, none", site, g.Reject, g.NetmaskHits)
		}
	}
	t.Logf("BIND %s:\n%s", addr, loadtestRun(t, args...))
}
