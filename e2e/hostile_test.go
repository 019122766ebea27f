package e2e

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// hostileConfig writes genA's config with extra [server] settings and an
// optional [rrl] table, and returns its path.
func hostileConfig(t *testing.T, server, rrl string) string {
	t.Helper()
	text := strings.Replace(genA.config(), "client_subnet = false\n", "client_subnet = false\n"+server, 1)
	if rrl != "" {
		text += "\n[rrl]\n" + rrl
	}
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRRLFlood: with [rrl] on, a flood from one /24 is limited (most
// answers dropped, every second limited one truncated) while a client in
// another /24 gets every answer; the drops show in /metrics.
func TestRRLFlood(t *testing.T) {
	in := start(t, "-config", hostileConfig(t, "", "responses_per_second = 20\nwindow = 2\nslip = 2\n"))

	var answered, truncated, sent atomic.Int64
	flood := func() {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.2.1.77")}, mustUDPAddr(t, in.DNS))
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		_ = c.SetReadBuffer(4 << 20)
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				var r dns.Msg
				if r.Unpack(buf[:n]) != nil {
					continue
				}
				if r.Truncated {
					truncated.Add(1)
				} else if len(r.Answer) > 0 {
					answered.Add(1)
				}
			}
		}()
		q := newQuery("affinityus.contoso.lab", dns.TypeA)
		for i := 0; i < 2000; i++ {
			q.Id = uint16(i)
			p, _ := q.Pack()
			if _, err := c.Write(p); err == nil {
				sent.Add(1)
			}
			if i%100 == 99 {
				time.Sleep(10 * time.Millisecond) // about 1s in all
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		<-done
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); flood() }()
	calm, calmOK := 0, 0
	for i := 0; i < 20; i++ {
		calm++
		r, err := in.exchange("udp", "127.11.1.77", newQuery("autodiscover.contoso.lab", dns.TypeA))
		if err == nil && !r.Truncated && len(r.Answer) == 1 {
			calmOK++
		}
		time.Sleep(40 * time.Millisecond)
	}
	wg.Wait()
	dropped := metricValue(t, in, `sitedns_dropped_total{reason="ratelimit"}`)
	t.Logf("flood from 127.2.1.0/24 at ~2000 q/s, limit 20/s, slip 2: sent %d, answered %d, truncated %d, dropped (server) %v",
		sent.Load(), answered.Load(), truncated.Load(), dropped)
	t.Logf("client in 127.11.1.0/24 meanwhile: %d of %d answered", calmOK, calm)
	if calmOK != calm {
		t.Errorf("other /24: %d of %d answered", calmOK, calm)
	}
	if a := answered.Load(); a > 80 || a < 10 {
		t.Errorf("flood answered %d, want about 20 per second of flood", a)
	}
	if dropped < float64(sent.Load())/3 || truncated.Load() < sent.Load()/3 {
		t.Errorf("dropped %v, truncated %d of %d sent: want about half each", dropped, truncated.Load(), sent.Load())
	}
	// A truncated answer sends the client to TCP, which is never limited.
	r := in.query(t, "tcp", "127.2.1.77", newQuery("affinityus.contoso.lab", dns.TypeA))
	if len(r.Answer) != 2 {
		t.Errorf("TCP retry from the flooded /24: %v", r)
	}
}

func mustUDPAddr(t *testing.T, hostport string) *net.UDPAddr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSlowloris: slow TCP clients of one /24 cannot hold more than
// -tcp-max-conns-per-prefix connections, each for -tcp-read-timeout per
// message, and a client of another /24 is answered meanwhile.
func TestSlowloris(t *testing.T) {
	in := start(t, "-config", hostileConfig(t, "", ""),
		"-tcp-read-timeout", "300ms", "-tcp-idle-timeout", "1s", "-tcp-max-conns-per-prefix", "4")
	var wg sync.WaitGroup
	var held atomic.Int64 // connections the server kept for a while
	for i := 0; i < 30; i++ {
		d := &net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 2, 1, byte(10+i))}}
		c, err := d.Dial("tcp", in.DNS)
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			start := time.Now()
			_, _ = c.Write([]byte{0}) // half a length, then a byte every 100ms
			for j := 0; j < 30; j++ {
				time.Sleep(100 * time.Millisecond)
				if _, err := c.Write([]byte{60}); err != nil {
					break
				}
				_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
				var b [1]byte
				if _, err := c.Read(b[:]); err != nil {
					if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
						break
					}
				}
			}
			if d := time.Since(start); d > 200*time.Millisecond {
				held.Add(1)
				if d > 2*time.Second {
					t.Errorf("a slow connection lived %v", d)
				}
			}
		}()
	}
	var worst time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		r := in.query(t, "tcp", "127.11.1.77", newQuery("autodiscover.contoso.lab", dns.TypeA))
		worst = max(worst, time.Since(t0))
		if len(r.Answer) != 1 {
			t.Fatalf("answer %v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	refused := metricValue(t, in, `sitedns_dropped_total{reason="tcp_limit"}`)
	t.Logf("30 slow connections from 127.2.1.0/24: %d held (cap 4), %v refused; 20 TCP queries from 127.11.1.0/24, slowest %v",
		held.Load(), refused, worst.Round(time.Microsecond))
	if held.Load() > 4 {
		t.Errorf("%d slow connections held, want at most 4", held.Load())
	}
	if worst > 250*time.Millisecond {
		t.Errorf("slowest answer %v: the other client waited", worst)
	}
}

// TestAXFRAllowRefuse: dig gets the zone from an allowed source and a
// refusal elsewhere.
func TestAXFRAllowRefuse(t *testing.T) {
	in := start(t, "-config", hostileConfig(t, "axfr_allow = [\"127.5.0.0/16\"]\n", ""))
	out := in.dig(t, "-b", "127.5.0.1", "AXFR", "contoso.lab")
	if n := strings.Count(out, "\tSOA\t"); n != 2 || !strings.Contains(out, "autodiscover.contoso.lab.") {
		t.Errorf("AXFR from 127.5.0.1: want SOA … SOA with autodiscover:\n%s", out)
	}
	out = in.dig(t, "-b", "127.2.1.77", "AXFR", "contoso.lab")
	if !strings.Contains(out, "Transfer failed") {
		t.Errorf("AXFR from 127.2.1.77: want a refusal:\n%s", out)
	}
	r := in.query(t, "tcp", "127.2.1.77", func() *dns.Msg { m := new(dns.Msg); m.SetAxfr("contoso.lab."); return m }())
	if r.Rcode != dns.RcodeRefused {
		t.Errorf("AXFR from 127.2.1.77: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
}

// TestGracefulShutdown: on SIGTERM the server reports not ready for the
// lameduck period while it keeps answering, then exits 0 within the
// deadline; clients that stop when readiness fails lose nothing.
func TestGracefulShutdown(t *testing.T) {
	in := start(t, "-config", hostileConfig(t, "", ""), "-lameduck", "500ms", "-shutdown-timeout", "2s")
	stop := make(chan struct{})
	var sent, answered atomic.Int64
	var wg sync.WaitGroup
	for _, src := range []string{"127.2.1.77", "127.11.1.77"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				if r, err := in.exchange("udp", src, newQuery("autodiscover.contoso.lab", dns.TypeA)); err == nil && len(r.Answer) > 0 {
					answered.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sigAt := time.Now()
	// The load balancer's view: poll readiness, stop sending on failure.
	for {
		resp, err := httpClient.Get("http://" + in.Metrics + "/-/ready")
		if err == nil {
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			break
		}
		if time.Since(sigAt) > 2*time.Second {
			t.Fatal("still ready 2s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	notReadyAfter := time.Since(sigAt)
	close(stop)
	wg.Wait()
	err := in.cmd.Wait()
	exitAfter := time.Since(sigAt)
	t.Logf("SIGTERM: not ready after %v, exit after %v (%v); queries sent %d, answered %d",
		notReadyAfter.Round(time.Millisecond), exitAfter.Round(time.Millisecond), err, sent.Load(), answered.Load())
	if err != nil {
		t.Errorf("exit: %v\n%s", err, in.Log())
	}
	if sent.Load() != answered.Load() {
		t.Errorf("%d of %d queries answered", answered.Load(), sent.Load())
	}
	if exitAfter < 500*time.Millisecond || exitAfter > 3*time.Second {
		t.Errorf("exited %v after SIGTERM, want after the 500ms lameduck, within the 2s deadline", exitAfter)
	}
}
