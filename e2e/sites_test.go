package e2e

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// The loopback lab (testdata/config/good/loopback.toml) maps 127.x.0.0/16 to
// the sites of the demo and puts each site's CAS at 127.x.1.10.
var (
	usCAS = []string{"127.1.1.10", "127.2.1.10", "127.3.1.10"}
	deCAS = []string{"127.11.1.10", "127.12.1.10", "127.13.1.10"}
)

const (
	chicagoClient = "127.2.1.77" // US-Chicago, same /24 as CAS 127.2.1.10
	unknownClient = "127.9.0.5"  // no site
)

// configCopy writes a copy of a testdata config into a temp dir, with edit
// applied to its text, and returns its path.
func configCopy(t *testing.T, name string, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(testdata("config", "good", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// withOrdering sets key = value in the config's top-level [ordering] table.
func withOrdering(key, value string) func(string) string {
	return func(s string) string {
		line := key + " = " + value
		if i := strings.Index(s, "\n[ordering]\n"); i >= 0 {
			head := s[:i+len("\n[ordering]\n")]
			rest := s[len(head):]
			re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s*=.*\n`)
			end := strings.Index(rest, "\n[")
			if end < 0 {
				end = len(rest)
			}
			table := re.ReplaceAllString(rest[:end], "")
			return head + line + "\n" + table + rest[end:]
		}
		return s + "\n[ordering]\n" + line + "\n"
	}
}

func ecsQuery(name string, qtype uint16, prefix string, bits uint8) *dns.Msg {
	m := newQuery(name, qtype)
	m.SetEdns0(1232, false)
	o := m.IsEdns0()
	e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: bits, Address: net.ParseIP(prefix).To4()}
	o.Option = append(o.Option, e)
	return m
}

// TestSiteAwareAnswers: a Chicago client gets only the US CAS with its own
// /24's CAS first and the others alternating; an unknown client gets the
// default set; an ECS client gets its ECS site; a plain name rotates evenly.
func TestSiteAwareAnswers(t *testing.T) {
	// One UDP reader: the exact rotation checked below is per reader
	// (TestTwoReadersShare checks the shares over two).
	in := start(t, "-config", testdata("config", "good", "loopback.toml"), "-udp-workers", "1")

	var seconds []string
	for i := 0; i < 6; i++ {
		r := in.query(t, "udp", chicagoClient, newQuery("autodiscover.contoso.lab", dns.TypeA))
		got := addrs(r)
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(sorted, usCAS) {
			t.Fatalf("Chicago client got %v, want the US CAS %v", got, usCAS)
		}
		if got[0] != "127.2.1.10" {
			t.Errorf("query %d: first %s, want Chicago's own CAS 127.2.1.10", i, got[0])
		}
		seconds = append(seconds, got[1])
	}
	for i := 1; i < len(seconds); i++ {
		if seconds[i] == seconds[i-1] {
			t.Errorf("remote CAS not alternating: %v", seconds)
			break
		}
	}

	r := in.query(t, "udp", unknownClient, newQuery("autodiscover.contoso.lab", dns.TypeA))
	if got := addrs(r); !slices.Equal(got, []string{"127.200.0.10"}) {
		t.Errorf("unknown client got %v, want the default 127.200.0.10", got)
	}

	// dig, from the Chicago client's address.
	out := in.dig(t, "-b", chicagoClient, "+short", "autodiscover.contoso.lab", "A")
	if f := strings.Fields(out); len(f) != 3 || f[0] != "127.2.1.10" {
		t.Errorf("dig -b %s: %q, want 127.2.1.10 first of three", chicagoClient, out)
	}

	// ECS: an unknown source speaking for a Hamburg client.
	r = in.query(t, "udp", unknownClient, ecsQuery("autodiscover.contoso.lab", dns.TypeA, "127.11.1.0", 24))
	got := addrs(r)
	if !slices.Equal(slices.Sorted(slices.Values(got)), deCAS) || got[0] != "127.11.1.10" {
		t.Errorf("ECS 127.11.1.0/24 got %v, want the DE CAS with 127.11.1.10 first", got)
	}
	var echoed *dns.EDNS0_SUBNET
	if o := r.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
				echoed = e
			}
		}
	}
	if echoed == nil || echoed.SourceNetmask != 24 || echoed.SourceScope == 0 || !echoed.Address.Equal(net.ParseIP("127.11.1.0")) {
		t.Errorf("ECS not echoed with a scope: %+v", echoed)
	}
	out = in.dig(t, "-b", unknownClient, "+subnet=127.11.1.0/24", "autodiscover.contoso.lab", "A")
	if !strings.Contains(out, "CLIENT-SUBNET: 127.11.1.0/24/") || !strings.Contains(out, "127.11.1.10") {
		t.Errorf("dig +subnet: no ECS echo or no DE CAS:\n%s", out)
	}

	// A plain RRset from an unknown client: 30 queries, each address first 10 times.
	first := map[string]int{}
	for i := 0; i < 30; i++ {
		first[firstA(t, in.query(t, "udp", unknownClient, newQuery("affinityus.contoso.lab", dns.TypeA)))]++
	}
	for _, a := range usCAS {
		if first[a] != 10 {
			t.Errorf("affinityus first-answer counts %v, want each of %v 10 times", first, usCAS)
			break
		}
	}
}

// TestWindows2000FixedOrder: in windows2000 mode the Chicago client always
// gets its own CAS, then the others in zone order.
func TestWindows2000FixedOrder(t *testing.T) {
	cfg := configCopy(t, "loopback.toml", withOrdering("mode", `"windows2000"`))
	in := start(t, "-config", cfg)
	var want []string
	for i := 0; i < 5; i++ {
		got := addrs(in.query(t, "udp", chicagoClient, newQuery("affinityus.contoso.lab", dns.TypeA)))
		if len(got) != 3 || got[0] != "127.2.1.10" {
			t.Fatalf("windows2000: %v, want 127.2.1.10 first", got)
		}
		if want == nil {
			want = got
		} else if !slices.Equal(got, want) {
			t.Errorf("windows2000 order changed: %v then %v", want, got)
		}
	}
	if !slices.Equal(want, []string{"127.2.1.10", "127.1.1.10", "127.3.1.10"}) {
		t.Errorf("windows2000 order %v, want local first then zone order", want)
	}
}

// TestReloadChangesScope: while a client queries without pause, a reload
// that changes the US CAS list takes effect on the next query, a broken
// config is refused and the last good one keeps answering, and no query is
// lost or wrong.
func TestReloadChangesScope(t *testing.T) {
	good, err := os.ReadFile(testdata("config", "good", "loopback.toml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sitedns.toml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(string(good))
	in := start(t, "-config", path, "-enable-http-reload")

	var stop atomic.Bool
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20000 && !stop.Load(); i++ {
			r, err := in.exchange("udp", chicagoClient, newQuery("autodiscover.contoso.lab", dns.TypeA))
			sent.Add(1)
			if err != nil || r.Rcode != dns.RcodeSuccess || len(addrs(r)) != 3 {
				failed.Add(1)
			}
		}
	}()

	changed := strings.ReplaceAll(string(good), "127.3.1.10", "127.3.1.99")
	write(changed)
	if code := in.reload(t); code != 200 {
		t.Fatalf("reload of a good config: HTTP %d\n%s", code, in.Log())
	}
	got := addrs(in.query(t, "udp", chicagoClient, newQuery("autodiscover.contoso.lab", dns.TypeA)))
	if !slices.Contains(got, "127.3.1.99") || slices.Contains(got, "127.3.1.10") {
		t.Errorf("after reload: %v, want 127.3.1.99 in place of 127.3.1.10", got)
	}

	write(changed + "\n[[site]]\nname = \"broken\"\nsubnets = [\"10.0.0.0/33\"]\n")
	if code := in.reload(t); code == 200 {
		t.Errorf("reload of a broken config succeeded")
	}
	got = addrs(in.query(t, "udp", chicagoClient, newQuery("autodiscover.contoso.lab", dns.TypeA)))
	if !slices.Contains(got, "127.3.1.99") {
		t.Errorf("after a failed reload: %v, want the last good config's answer", got)
	}
	if !strings.Contains(in.Log(), "reload failed") {
		t.Errorf("failed reload not logged:\n%s", in.Log())
	}

	stop.Store(true)
	wg.Wait()
	if sent.Load() == 0 || failed.Load() != 0 {
		t.Errorf("queries during reloads: %d sent, %d failed", sent.Load(), failed.Load())
	}
}
