package server

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// Client addresses of the loopback lab (testdata/config/good/loopback.toml
// and testdata/lab.toml): 127.x.0.0/16 is a site, its CAS is 127.x.1.10.
const (
	chicagoClient = "127.2.1.77" // US-Chicago, same /24 as CAS 127.2.1.10
	hamburgClient = "127.11.1.77"
	unknownClient = "127.9.0.5" // no site
)

var usCAS = []string{"127.1.1.10", "127.2.1.10", "127.3.1.10"}

// labSnapshot compiles testdata/<name>.
func labSnapshot(t testing.TB, name string) *zones.Snapshot {
	t.Helper()
	snap, err := zones.Load(filepath.Join("testdata", name), zones.NewCounters())
	if err != nil {
		t.Fatalf("zones.Load(%s): %v", name, err)
	}
	return snap
}

// editedSnapshot compiles a copy of testdata/<name> with edit applied.
func editedSnapshot(t testing.TB, name string, edit func(string) string) *zones.Snapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The config may name zone files next to it.
	if ents, err := os.ReadDir("testdata"); err == nil {
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".zone") {
				zb, err := os.ReadFile(filepath.Join("testdata", e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, e.Name()), zb, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := zones.Load(p, zones.NewCounters())
	if err != nil {
		t.Fatalf("zones.Load(edited %s): %v", name, err)
	}
	return snap
}

// newQuery returns a query for name and qtype with RD set, as dig sends.
func newQuery(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	return m
}

func mustPack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	p, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// addrPort parses "127.2.1.77" (port 5353 added) or "127.2.1.77:1234".
func addrPort(t testing.TB, s string) netip.AddrPort {
	t.Helper()
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(a, 5353)
}

// serveMsg runs m through ServePacket from src and unpacks the reply (nil
// when there is none).
func serveMsg(t testing.TB, s *Server, m *dns.Msg, src string, tr metrics.Transport) *dns.Msg {
	t.Helper()
	out := s.ServePacket(nil, mustPack(t, m), addrPort(t, src), tr)
	if out == nil {
		return nil
	}
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatalf("reply does not unpack: %v\n%x", err, out)
	}
	return r
}

// addrs lists the A and AAAA addresses of the answer section, in order.
func addrs(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		}
	}
	return out
}

// rrStrings returns the records in zone-file form, sorted, with owner names
// lower-cased, for comparison regardless of order and case.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, canonical(rr.String()))
	}
	slices.Sort(out)
	return out
}

var spaces = regexp.MustCompile(`\s+`)

func canonical(s string) string { return strings.ToLower(spaces.ReplaceAllString(s, " ")) }

// parseRRs parses zone-file records (fully qualified).
func parseRRs(t testing.TB, recs []string) []string {
	t.Helper()
	out := make([]string, 0, len(recs))
	for _, s := range recs {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("bad expected record %q: %v", s, err)
		}
		out = append(out, canonical(rr.String()))
	}
	slices.Sort(out)
	return out
}

// forEachUDPIO runs test as a subtest for each way of reading UDP.
func forEachUDPIO(t *testing.T, test func(t *testing.T, mode UDPIO)) {
	for _, mode := range []UDPIO{UDPIONetpoll, UDPIOBlocking} {
		t.Run(string(mode), func(t *testing.T) { test(t, mode) })
	}
}

// startServer starts a server on 127.0.0.1:0 that is shut down at the end
// of the test.
func startServer(t testing.TB, cfg Config, snap *zones.Snapshot) *Server {
	t.Helper()
	if cfg.Listen == nil {
		cfg.Listen = []string{"127.0.0.1:0"}
	}
	if cfg.UDPWorkers == 0 {
		cfg.UDPWorkers = 2
	}
	s := New(cfg, snap)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// exchange sends m to addr over network ("udp" or "tcp") from the local
// address src ("" for any).
func exchange(network, addr, src string, m *dns.Msg) (*dns.Msg, error) {
	d := &net.Dialer{Timeout: 3 * time.Second}
	if src != "" {
		ip := net.ParseIP(src)
		if network == "tcp" {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		} else {
			d.LocalAddr = &net.UDPAddr{IP: ip}
		}
	}
	c := &dns.Client{Net: network, Timeout: 3 * time.Second, Dialer: d, UDPSize: 4096}
	r, _, err := c.Exchange(m, addr)
	return r, err
}

func mustExchange(t testing.TB, network, addr, src string, m *dns.Msg) *dns.Msg {
	t.Helper()
	r, err := exchange(network, addr, src, m)
	if err != nil {
		t.Fatalf("%s query %s from %q: %v", network, m.Question[0].Name, src, err)
	}
	return r
}

// statsSeries returns every sitedns_ series of st and snap by its text
// form, name{labels}.
func statsSeries(t testing.TB, st *metrics.Stats, snap func() *zones.Snapshot) map[string]float64 {
	t.Helper()
	reg := metrics.NewRegistry(st, snap, metrics.BuildInfo{})
	b, err := metrics.Text(reg, func(name string) bool { return strings.HasPrefix(name, "sitedns_") })
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		f, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatal(err)
		}
		series[line[:i]] = f
	}
	return series
}

// statsValue returns the value of the sitedns_ series name{labels} (labels
// as in the text format: `reason="tcp_limit"`), 0 when absent.
func statsValue(t testing.TB, st *metrics.Stats, snap func() *zones.Snapshot, series string) float64 {
	t.Helper()
	return statsSeries(t, st, snap)[series]
}

// statsSum returns the sum of every series of the sitedns_ metric name.
func statsSum(t testing.TB, st *metrics.Stats, snap func() *zones.Snapshot, name string) float64 {
	t.Helper()
	sum := 0.0
	for s, v := range statsSeries(t, st, snap) {
		if s == name || strings.HasPrefix(s, name+"{") {
			sum += v
		}
	}
	return sum
}

// waitFor polls cond every 5ms for up to 5s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// ecsQuery adds an ECS option for prefix/bits to m.
func withECS(m *dns.Msg, prefix string, bits uint8) *dns.Msg {
	if m.IsEdns0() == nil {
		m.SetEdns0(1232, false)
	}
	a := netip.MustParseAddr(prefix)
	fam := uint16(1)
	if a.Is6() {
		fam = 2
	}
	o := m.IsEdns0()
	o.Option = append(o.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: fam, SourceNetmask: bits, Address: a.AsSlice()})
	return m
}

// ecsOf returns the ECS option of r, or nil.
func ecsOf(r *dns.Msg) *dns.EDNS0_SUBNET {
	if o := r.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
				return e
			}
		}
	}
	return nil
}

// lockedLog collects log lines for tests that look at them.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
