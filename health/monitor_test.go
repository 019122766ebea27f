package health

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestResult: rise successes in a row make a target up, fall failures in a
// row down; anything shorter changes nothing, so a target that alternates
// never changes state.
func TestResult(t *testing.T) {
	spec := &Spec{Rise: 2, Fall: 3}
	cases := []struct {
		name    string
		results string // o: success, x: failure
		want    string // the state after each result
	}{
		{"unknown until rise", "oo", "uU"},
		{"unknown until fall", "xxx", "uuD"},
		{"down then up", "xxxoo", "uuDDU"},
		{"a success breaks the run", "xxoxxox", "uuuuuuu"},
		{"flapping", "oxoxoxoxox", "uuuuuuuuuu"},
		{"up survives two failures", "ooxxoxxo", "uUUUUUUU"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := &target{Target: Target{Spec: spec}}
			var got strings.Builder
			for _, r := range c.results {
				tg.result(r == 'o')
				got.WriteByte(map[State]byte{Unknown: 'u', Up: 'U', Down: 'D'}[State(tg.state.Load())])
			}
			if got.String() != c.want {
				t.Errorf("results %s: states %s, want %s", c.results, got.String(), c.want)
			}
		})
	}
}

// waitState waits up to d for target i of st to reach want.
func waitState(t *testing.T, st States, i int, want State, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for State(st.t[i].state.Load()) != want {
		if time.Now().After(deadline) {
			t.Fatalf("target %s: %s after %v, want %s", st.Target(i), st.State(i), d, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMonitorUpdate: a target kept across Update keeps its state and its
// probes; a new one starts unknown; a dropped one stops; each (check,
// address) is probed once however often it is listed.
func TestMonitorUpdate(t *testing.T) {
	m := NewMonitor(nil, 4)
	defer m.Close()
	var probes atomic.Int64
	release := make(chan struct{}) // holds the probes of port 444 until the test has read the state
	defer close(release)
	m.probe = func(ctx context.Context, tg *target) (Reason, error) {
		probes.Add(1)
		if tg.Spec.Port == 444 {
			<-release
			return ReasonTimeout, errors.New("released")
		}
		if tg.Addr == netip.MustParseAddr("192.0.2.1") {
			return ReasonRefused, errors.New("refused")
		}
		return 0, nil
	}
	spec := &Spec{Name: "c", Type: TCP, Port: 443, Interval: 10 * time.Millisecond, Timeout: 10 * time.Millisecond, Rise: 1, Fall: 1}
	a, b := Target{spec, netip.MustParseAddr("192.0.2.1")}, Target{spec, netip.MustParseAddr("192.0.2.2")}
	st := m.Update([]Target{a, b, a})
	waitState(t, st, 0, Down, 5*time.Second)
	waitState(t, st, 1, Up, 5*time.Second)
	if st.t[0] != st.t[2] {
		t.Fatal("one address listed twice is two targets")
	}
	if m.Len() != 2 {
		t.Fatalf("%d targets probed, want 2", m.Len())
	}
	st2 := m.Update([]Target{b})
	if st2.State(0) != Up {
		t.Errorf("kept target: %s, want up", st2.State(0))
	}
	if m.Len() != 1 {
		t.Errorf("%d targets probed after the update, want 1", m.Len())
	}
	// A changed spec is another target: unknown at first.
	spec2 := *spec
	spec2.Port = 444
	st3 := m.Update([]Target{{&spec2, b.Addr}})
	if st3.State(0) != Unknown {
		t.Errorf("new target: %s, want unknown", st3.State(0))
	}
	select {
	case <-m.Changed():
	default:
		t.Error("no change signalled")
	}
}

// TestMaxProbes: no more probes run at once than the bound.
func TestMaxProbes(t *testing.T) {
	m := NewMonitor(nil, 2)
	defer m.Close()
	var cur, peak atomic.Int64
	m.probe = func(ctx context.Context, tg *target) (Reason, error) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
		return 0, nil
	}
	spec := &Spec{Name: "c", Type: TCP, Port: 1, Interval: 10 * time.Millisecond, Timeout: 10 * time.Millisecond, Rise: 1, Fall: 1}
	var ts []Target
	for i := range 10 {
		ts = append(ts, Target{spec, netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})})
	}
	st := m.Update(ts)
	for i := range ts {
		waitState(t, st, i, Up, 5*time.Second)
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("peak probes in flight %d, want 1 or 2", p)
	}
}

// TestProbes: real probes of real listeners on loopback, each failure with
// its reason, from the configured source address.
func TestProbes(t *testing.T) {
	var lastRemote atomic.Value
	okSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastRemote.Store(r.RemoteAddr)
		if r.URL.Path != "/autodiscover/healthcheck.htm" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("200 OK"))
	}))
	okSrv.StartTLS()
	defer okSrv.Close()
	plain := httptest.NewServer(okSrv.Config.Handler)
	defer plain.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	defer tcp.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := port(closed.Addr())
	closed.Close()

	lo := netip.MustParseAddr("127.0.0.1")
	// A generous timeout: these cases classify failures, and a TLS
	// handshake under -race on a busy machine can take over a second.
	spec := func(typ Type, p int, path string) *Spec {
		return &Spec{Name: "t", Type: typ, Port: uint16(p), Path: path, ExpectStatus: []int{200},
			Interval: time.Second, Timeout: 10 * time.Second, Rise: 1, Fall: 1, Source: netip.MustParseAddr("127.0.0.1")}
	}
	verify := spec(HTTPS, port(okSrv.Listener.Addr()), "/autodiscover/healthcheck.htm")
	verify.TLSVerify = true
	cases := []struct {
		name string
		spec *Spec
		want error // nil: up
		why  Reason
	}{
		{"tcp up", spec(TCP, port(tcp.Addr()), ""), nil, 0},
		{"tcp refused", spec(TCP, closedPort, ""), errAny, ReasonRefused},
		{"https up", spec(HTTPS, port(okSrv.Listener.Addr()), "/autodiscover/healthcheck.htm"), nil, 0},
		{"https status", spec(HTTPS, port(okSrv.Listener.Addr()), "/owa/"), errAny, ReasonStatus},
		{"https unverified chain", verify, errAny, ReasonTLS},
		{"http up", spec(HTTP, port(plain.Listener.Addr()), "/autodiscover/healthcheck.htm"), nil, 0},
		{"tls up", spec(TLS, port(okSrv.Listener.Addr()), ""), nil, 0},
		{"tls against plain http", spec(TLS, port(plain.Listener.Addr()), ""), errAny, ReasonTLS},
		{"https refused", spec(HTTPS, closedPort, "/"), errAny, ReasonRefused},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProber(Target{Spec: c.spec, Addr: lo})
			why, err := p.probe(context.Background())
			if (err == nil) != (c.want == nil) || (err != nil && why != c.why) {
				t.Errorf("probe: %s, %v; want reason %s (error %v)", why, err, c.why, c.want != nil)
			}
		})
	}
	if ra, _ := lastRemote.Load().(string); !strings.HasPrefix(ra, "127.0.0.1:") {
		t.Errorf("probes came from %q", ra)
	}
	// A probe of a listener that never answers ends at the timeout.
	hang, _ := net.Listen("tcp", "127.0.0.1:0")
	defer hang.Close()
	s := spec(HTTPS, port(hang.Addr()), "/")
	s.Timeout = 100 * time.Millisecond
	start := time.Now()
	why, err := newProber(Target{Spec: s, Addr: lo}).probe(context.Background())
	if err == nil || why != ReasonTimeout || time.Since(start) > 2*time.Second {
		t.Errorf("silent listener: %s, %v after %v", why, err, time.Since(start))
	}
}

var errAny = errors.New("any error")

func port(a net.Addr) int { return a.(*net.TCPAddr).Port }

// TestCollect: the metrics of a monitor pass promlint and carry the
// target and check labels.
func TestCollect(t *testing.T) {
	m := NewMonitor(nil, 1)
	defer m.Close()
	m.probe = func(ctx context.Context, tg *target) (Reason, error) { return ReasonTimeout, errors.New("timeout") }
	spec := &Spec{Name: "cas-https", Type: HTTPS, Port: 443, Interval: 10 * time.Millisecond, Timeout: 10 * time.Millisecond, Rise: 1, Fall: 1}
	st := m.Update([]Target{{spec, netip.MustParseAddr("192.0.2.1")}})
	waitState(t, st, 0, Down, 5*time.Second)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", err, probs)
	}
	want := `
# HELP sitedns_target_up Whether a checked address is answered (1: up, or unknown before its first rise or fall; 0: down), by target address and check.
# TYPE sitedns_target_up gauge
sitedns_target_up{check="cas-https",target="192.0.2.1"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sitedns_target_up"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m, "sitedns_check_failures_total"); n != int(numReasons) {
		t.Errorf("%d failure series, want %d", n, numReasons)
	}
}

// TestResultProperty: over random runs of probe results, a target only
// goes down after fall failures in a row and only up after rise successes
// in a row, so answers cannot change faster than rise and fall allow.
func TestResultProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		spec := &Spec{Rise: 1 + r.IntN(4), Fall: 1 + r.IntN(4)}
		tg := &target{Target: Target{Spec: spec}}
		okRun, failRun := 0, 0
		for range 200 {
			ok := r.IntN(3) != 0
			if ok {
				okRun, failRun = okRun+1, 0
			} else {
				failRun, okRun = failRun+1, 0
			}
			next, changed := tg.result(ok)
			if !changed {
				continue
			}
			if next == Down && failRun < spec.Fall || next == Up && okRun < spec.Rise {
				t.Fatalf("rise %d fall %d: %s after %d successes, %d failures in a row", spec.Rise, spec.Fall, next, okRun, failRun)
			}
		}
	}
}
