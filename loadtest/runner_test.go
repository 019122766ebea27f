package loadtest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testServer is an in-process DNS server on 127.0.0.1 (UDP and TCP, one
// port) whose answer order the test controls:
//
//	rotate.test.  three A records, rotated per client (source or ECS address)
//	fixed.test.   the same three, always in the same order
//	big.test.     100 A records: over UDP a TC=1 empty answer, over TCP all
//	local.test.   the client's own x.y.z.10 first, then two others rotated
type testServer struct {
	addr string

	mu      sync.Mutex // mu guards the fields below
	counter map[string]int
	sources map[string]int // queries per source address
	ecs     map[string]int // queries per ECS prefix
	tcp     int
}

var threeTargets = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}

func startServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{counter: map[string]int{}, sources: map[string]int{}, ecs: map[string]int{}}
	pc, ln := listenPair(t)
	ts.addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: ts}
	tcp := &dns.Server{Listener: ln, Handler: ts}
	var wg sync.WaitGroup
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	wg.Go(func() { udp.ActivateAndServe() })
	wg.Go(func() { tcp.ActivateAndServe() })
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("test server did not start")
		}
	}
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
		wg.Wait()
	})
	return ts
}

// listenPair returns a UDP socket and a TCP listener on the same free port
// of 127.0.0.1. The kernel picks the UDP port; the same TCP port can be
// taken already (by a client's ephemeral port, on a machine with many
// connections open or in TIME-WAIT), so a failed TCP bind closes the UDP
// socket and tries another port, a bounded number of times.
func listenPair(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	const attempts = 100
	var lastErr error
	for range attempts {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		lastErr = err
	}
	t.Fatalf("no port free for both UDP and TCP on 127.0.0.1 in %d attempts: %v", attempts, lastErr)
	return nil, nil
}

func (ts *testServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	q := req.Question[0]
	src := netip.MustParseAddrPort(w.RemoteAddr().String()).Addr()
	client := src
	_, isTCP := w.RemoteAddr().(*net.TCPAddr)
	ts.mu.Lock()
	ts.sources[src.String()]++
	if isTCP {
		ts.tcp++
	}
	if o := req.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
				a, _ := netip.AddrFromSlice(e.Address)
				p := netip.PrefixFrom(a.Unmap(), int(e.SourceNetmask))
				ts.ecs[p.String()]++
				client = p.Addr()
			}
		}
		m.SetEdns0(o.UDPSize(), false)
	}
	key := client.String() + " " + q.Name
	n := ts.counter[key]
	ts.counter[key]++
	ts.mu.Unlock()

	var targets []string
	switch q.Name {
	case "rotate.test.":
		targets = rotate(threeTargets, n)
	case "fixed.test.":
		targets = threeTargets
	case "local.test.":
		b := client.As4()
		own := netip.AddrFrom4([4]byte{b[0], b[1], b[2], 10}).String()
		targets = append([]string{own}, rotate([]string{"10.0.0.1", "10.0.0.2"}, n)...)
	case "big.test.":
		if !isTCP {
			m.Truncated = true
			break
		}
		for i := range 100 {
			targets = append(targets, fmt.Sprintf("10.1.%d.%d", i/250, i%250+1))
		}
	default:
		m.Rcode = dns.RcodeNameError
	}
	for _, a := range targets {
		rr, _ := dns.NewRR(q.Name + " 300 IN A " + a)
		m.Answer = append(m.Answer, rr)
	}
	w.WriteMsg(m)
}

func runTest(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func group(t *testing.T, r *Report, site, name string) Group {
	t.Helper()
	for _, g := range r.Groups {
		if g.Site == site && g.Name == name {
			return g
		}
	}
	t.Fatalf("no group %s %s in %+v", site, name, r.Groups)
	return Group{}
}

func TestRunEndToEnd(t *testing.T) {
	ts := startServer(t)
	clients, err := ParseClients("127.2.1.5=US-Chicago:US,127.9.0.5=Elsewhere", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := runTest(t, Config{
		Server: ts.addr, Names: []string{"rotate.test", "fixed.test", "big.test", "local.test"},
		Queries: 1200, Concurrency: 4, Clients: clients, Bind: true, NetmaskOrdering: true,
	})
	if r.Queries != 1200 || r.Responses != 1200 || r.Timeouts != 0 || r.Errors != 0 {
		t.Fatalf("totals: %d queries, %d responses, %d timeouts, %d errors", r.Queries, r.Responses, r.Timeouts, r.Errors)
	}
	ts.mu.Lock()
	sources := fmt.Sprint(ts.sources)
	if ts.sources["127.2.1.5"] == 0 || ts.sources["127.9.0.5"] == 0 || len(ts.sources) != 2 {
		t.Errorf("server saw sources %s, want 127.2.1.5 and 127.9.0.5 only", sources)
	}
	if ts.tcp != 300 {
		t.Errorf("server saw %d TCP queries, want 300 (every big.test query)", ts.tcp)
	}
	ts.mu.Unlock()

	for _, site := range []string{"US-Chicago", "Elsewhere"} {
		g := group(t, r, site, "rotate.test.")
		if g.Reject || g.MaxMinRatio != 1 || g.Answers != 150 {
			t.Errorf("%s rotate: reject %v ratio %v answers %d, want fair, 1, 150", site, g.Reject, g.MaxMinRatio, g.Answers)
		}
		g = group(t, r, site, "fixed.test.")
		if !g.Reject || !isInf(g.MaxMinRatio) || g.Verdict() != "unfair" {
			t.Errorf("%s fixed: reject %v ratio %v, want unfair, +Inf", site, g.Reject, g.MaxMinRatio)
		}
		g = group(t, r, site, "big.test.")
		if g.TCP != 150 || g.Answers != 150 || len(g.Targets) != 100 {
			t.Errorf("%s big: %d TCP retries, %d answers, %d targets; want 150, 150, 100", site, g.TCP, g.Answers, len(g.Targets))
		}
	}
	g := group(t, r, "US-Chicago", "local.test.")
	if g.NetmaskHit != 1 || g.LocalAnswers != 150 || g.Reject {
		t.Errorf("local.test from 127.2.1.5: netmask hit %v, local answers %d, reject %v; want 1, 150, fair", g.NetmaskHit, g.LocalAnswers, g.Reject)
	}
	if g.Latency.P50 <= 0 || g.Latency.P999 < g.Latency.P50 {
		t.Errorf("latency %+v", g.Latency)
	}
}

func isInf(f Float) bool { return f > 1e308 }

// TestRunServersInTurn sends the queries to two servers alternately: each
// gets half, each rotates on its own, and the report adds them up.
func TestRunServersInTurn(t *testing.T) {
	a, b := startServer(t), startServer(t)
	clients, err := ParseClients("127.9.0.5=Elsewhere", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := runTest(t, Config{
		Servers: []string{a.addr, b.addr}, Names: []string{"rotate.test"},
		Queries: 600, Concurrency: 3, Clients: clients, Bind: true,
	})
	if r.Responses != 600 || r.Server != a.addr+","+b.addr || len(r.Servers) != 2 {
		t.Fatalf("%d responses from %q (%q), want 600 from both", r.Responses, r.Server, r.Servers)
	}
	for _, ts := range []*testServer{a, b} {
		ts.mu.Lock()
		n := ts.sources["127.9.0.5"]
		ts.mu.Unlock()
		if n != 300 {
			t.Errorf("server %s saw %d queries, want 300 (every other one)", ts.addr, n)
		}
	}
	g := group(t, r, "Elsewhere", "rotate.test.")
	if g.Answers != 600 || g.MaxMinRatio != 1 || g.Reject {
		t.Errorf("rotate over two servers: %d answers, max/min %v, reject %v; want 600, 1, fair", g.Answers, g.MaxMinRatio, g.Reject)
	}
}

func TestConfigServers(t *testing.T) {
	clients, _ := ParseClients("127.9.0.5", nil)
	cases := []struct {
		server  string
		servers []string
		want    string // error substring; "" for none
	}{
		{server: "127.0.0.1:53"},
		{servers: []string{"127.0.0.1:53", "127.0.0.2:53"}},
		{server: "127.0.0.1:53", servers: []string{"127.0.0.1:53", "127.0.0.2:53"}},
		{server: "127.0.0.3:53", servers: []string{"127.0.0.1:53"}, want: "set one"},
		{servers: []string{"127.0.0.1:53", "localhost:53"}, want: `server "localhost:53": want IP:port`},
	}
	for _, c := range cases {
		cfg := Config{Server: c.server, Servers: c.servers, Names: []string{"a.test"}, Queries: 1, Clients: clients, Bind: true}
		err := cfg.Validate()
		switch {
		case c.want != "":
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q %q: err = %v, want %q", c.server, c.servers, err, c.want)
			}
		case err != nil:
			t.Errorf("%q %q: %v", c.server, c.servers, err)
		case cfg.Server != cfg.Servers[0] || len(cfg.Servers) != max(len(c.servers), 1):
			t.Errorf("%q %q: validated to %q %q", c.server, c.servers, cfg.Server, cfg.Servers)
		default:
			if err := cfg.Validate(); err != nil {
				t.Errorf("%q %q: second Validate: %v", c.server, c.servers, err)
			}
		}
	}
}

func TestRunECS(t *testing.T) {
	ts := startServer(t)
	clients, err := ParseClients("127.2.1.0/24=US-Chicago:US,127.9.0.5=Elsewhere", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := runTest(t, Config{
		Server: ts.addr, Names: []string{"local.test"}, Queries: 60, Concurrency: 2,
		Clients: clients, ECS: true, NetmaskOrdering: true,
	})
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.ecs["127.2.1.0/24"] != 30 || ts.ecs["127.9.0.0/24"] != 30 {
		t.Errorf("server saw ECS %v, want 30 each of 127.2.1.0/24 and 127.9.0.0/24", ts.ecs)
	}
	if ts.sources["127.0.0.1"] != 60 {
		t.Errorf("server saw sources %v, want 127.0.0.1 only (no binding with ECS)", ts.sources)
	}
	if g := group(t, r, "US-Chicago", "local.test."); g.NetmaskHit != 1 {
		t.Errorf("ECS client 127.2.1.77: netmask hit %v, want 1", g.NetmaskHit)
	}
}

func TestRunBounds(t *testing.T) {
	ts := startServer(t)
	clients, _ := ParseClients("127.9.0.5", nil)
	cases := []struct {
		name     string
		cfg      Config
		maxQ     int
		minQ     int
		maxTime  time.Duration
		progress bool
	}{
		{"count cap", Config{Queries: 50}, 50, 50, 10 * time.Second, false},
		{"duration cap with a rate", Config{Duration: 400 * time.Millisecond, Rate: 50}, 22, 15, 2 * time.Second, true},
		{"rate with a count", Config{Queries: 20, Rate: 100}, 20, 20, 2 * time.Second, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.Server, cfg.Names, cfg.Clients, cfg.Bind = ts.addr, []string{"rotate.test"}, clients, true
			var calls int
			var last Progress
			var progress func(Progress)
			if c.progress {
				progress = func(p Progress) { calls++; last = p }
			}
			start := time.Now()
			r, err := Run(context.Background(), cfg, progress)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if r.Queries < c.minQ || r.Queries > c.maxQ || elapsed > c.maxTime {
				t.Errorf("%d queries in %s, want %d..%d within %s", r.Queries, elapsed, c.minQ, c.maxQ, c.maxTime)
			}
			if c.cfg.Rate > 0 && r.Queries > 1 {
				// Query i is not sent before i/rate seconds.
				if min := time.Duration(float64(r.Queries-1) / c.cfg.Rate * float64(time.Second)); elapsed < min {
					t.Errorf("%d queries in %s at rate %v: too fast", r.Queries, elapsed, c.cfg.Rate)
				}
			}
			if c.progress && (calls < 2 || last.Done != int64(r.Queries)) {
				t.Errorf("progress called %d times, last %+v; want ≥ 2 and Done = %d", calls, last, r.Queries)
			}
		})
	}
}

func TestRunTimeouts(t *testing.T) {
	// A UDP socket that never answers.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	clients, _ := ParseClients("127.9.0.5", nil)
	r := runTest(t, Config{Server: pc.LocalAddr().String(), Names: []string{"x.test"}, Queries: 4,
		Concurrency: 4, Timeout: 100 * time.Millisecond, Clients: clients, Bind: true})
	if r.Timeouts != 4 || r.Responses != 0 {
		t.Errorf("%d timeouts, %d responses; want 4, 0", r.Timeouts, r.Responses)
	}
}

func TestRunConfigErrors(t *testing.T) {
	clients, _ := ParseClients("127.9.0.5", nil)
	base := func() Config {
		return Config{Server: "127.0.0.1:5300", Names: []string{"a.test"}, Queries: 1, Clients: clients, Bind: true}
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"server not IP:port", func(c *Config) { c.Server = "localhost:53" }, "want IP:port"},
		{"no name", func(c *Config) { c.Names = nil }, "no query name"},
		{"bad type", func(c *Config) { c.Types = []string{"BOGUS"} }, `type "BOGUS"`},
		{"unbounded", func(c *Config) { c.Queries = 0 }, "set a query count"},
		{"too many queries", func(c *Config) { c.Queries = MaxQueries + 1 }, "want 0 to"},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "rate"},
		{"no clients", func(c *Config) { c.Clients = nil }, "no clients"},
		{"neither bind nor ECS", func(c *Config) { c.Bind = false }, "source binding, ECS"},
		{"alpha 1", func(c *Config) { c.Alpha = 1 }, "alpha"},
		{"weights mismatch", func(c *Config) {
			c.Expect = []Expectation{{Name: "a.test", Targets: []string{"10.0.0.1"}, Weights: []float64{1, 2}}}
		}, "1 targets"},
		{"non-local source", func(c *Config) {
			c.Clients = []Client{{Addr: netip.MustParseAddr("192.0.2.1"), Site: "x"}}
		}, "cannot send from it"},
	}
	for _, c := range cases {
		cfg := base()
		c.mod(&cfg)
		_, err := Run(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.want)
		}
	}
}
