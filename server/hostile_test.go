package server

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sitedns/sitedns/metrics"
)

// newTestLogger logs JSON lines into w.
func newTestLogger(w *lockedLog) *zap.Logger {
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(w), zap.InfoLevel))
}

// TestSlowlorisTCP: clients of one /24 that open connections and send a
// byte now and then hold at most MaxTCPConnsPerPrefix connections, each for
// at most TCPReadTimeout per message, while a client of another /24 gets
// every answer at once.
func TestSlowlorisTCP(t *testing.T) {
	st := metrics.NewStats()
	const readTimeout = 300 * time.Millisecond
	s := startServer(t, Config{
		Stats: st, TCPIdleTimeout: time.Second, TCPReadTimeout: readTimeout,
		MaxTCPConns: 64, MaxTCPConnsPerPrefix: 4,
	}, labSnapshot(t, "lab.toml"))
	addr := s.Addrs()[0]

	// 20 slow clients in 127.2.1.0/24: each sends the first byte of a
	// length, then one byte every 100ms.
	const slow = 20
	var wg sync.WaitGroup
	var closedAfter [slow]time.Duration
	for i := 0; i < slow; i++ {
		d := &net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 2, 1, byte(10+i))}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			continue // refused at accept before the dial returned
		}
		t.Cleanup(func() { c.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, _ = c.Write([]byte{0})
			for j := 0; j < 50; j++ { // at most 5s
				time.Sleep(100 * time.Millisecond)
				if _, err := c.Write([]byte{40}); err != nil {
					break
				}
				_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
				var b [1]byte
				if _, err := c.Read(b[:]); err != nil && !isTimeout(err) {
					break // closed by the server
				}
			}
			closedAfter[i] = time.Since(start)
		}()
	}

	// Meanwhile a client of 127.3.1.0/24 opens a connection per query.
	var worst time.Duration
	for i := 0; i < 30; i++ {
		start := time.Now()
		r := mustExchange(t, "tcp", addr, "127.3.1.77", newQuery("affinityus.contoso.lab", dns.TypeA))
		if len(r.Answer) != 3 {
			t.Fatalf("query %d: %v", i, r)
		}
		worst = max(worst, time.Since(start))
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	var longest time.Duration
	for _, d := range closedAfter {
		longest = max(longest, d)
	}
	refused := statsValue(t, st, nil, `sitedns_dropped_total{reason="tcp_limit"}`)
	t.Logf("20 slow connections from one /24: %v refused at accept, the rest closed after at most %v (read timeout %v)",
		refused, longest.Round(time.Millisecond), readTimeout)
	t.Logf("30 queries from another /24 meanwhile: all answered, slowest %v", worst.Round(time.Microsecond))
	if refused != slow-4 {
		t.Errorf("refused %v slow connections, want %d (per-prefix cap 4)", refused, slow-4)
	}
	if longest > readTimeout+time.Second {
		t.Errorf("a slow connection lived %v, want about %v", longest, readTimeout)
	}
	if worst > readTimeout {
		t.Errorf("slowest answer to the other client %v: it waited for the slow ones", worst)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestTCPMaxQuery: a connection announcing a message longer than
// MaxTCPQuery is closed before the server reads it.
func TestTCPMaxQuery(t *testing.T) {
	st := metrics.NewStats()
	s := startServer(t, Config{Stats: st, MaxTCPQuery: 512}, labSnapshot(t, "lab.toml"))
	c := dialTCP(t, s.Addrs()[0], "")
	if _, err := c.Write([]byte{0xFF, 0xFF, 0, 0}); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if n, err := c.Read(b[:]); err == nil {
		t.Errorf("read %d bytes, want the connection closed", n)
	}
	if got := statsValue(t, st, nil, `sitedns_dropped_total{reason="malformed"}`); got != 1 {
		t.Errorf("malformed drops %v, want 1", got)
	}
	// A query under the cap on a new connection is answered.
	r := mustExchange(t, "tcp", s.Addrs()[0], "", newQuery("affinityus.contoso.lab", dns.TypeA))
	if len(r.Answer) != 3 {
		t.Errorf("answer %v", r)
	}
}

// TestPanicSurvived: a panic injected into the packet path costs the query
// it hit (UDP: no answer; TCP: the connection is closed so that the client
// retries at once), is counted, and the server keeps answering on every
// socket.
func TestPanicSurvived(t *testing.T) { forEachUDPIO(t, testPanicSurvived) }

func testPanicSurvived(t *testing.T, mode UDPIO) {
	st := metrics.NewStats()
	log := &lockedLog{}
	s := New(Config{Listen: []string{"127.0.0.1:0"}, UDPWorkers: 2, UDPIO: mode, Stats: st, Logger: newTestLogger(log)}, labSnapshot(t, "lab.toml"))
	var n atomic.Int64
	var quiet atomic.Bool
	s.beforeAnswer = func() {
		if n.Add(1)%3 == 0 && !quiet.Load() {
			panic("injected by TestPanicSurvived")
		}
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	addr := s.Addrs()[0]

	// UDP: every third query gets no answer, all others do.
	answered, unanswered := 0, 0
	for i := 0; i < 30; i++ {
		c := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
		r, _, err := c.Exchange(newQuery("affinityus.contoso.lab", dns.TypeA), addr)
		if err != nil {
			unanswered++
			continue
		}
		if len(r.Answer) != 3 {
			t.Fatalf("UDP answer %v", r)
		}
		answered++
	}
	// TCP: the connection of a panicking query is closed; the next one works.
	tcpAnswered, tcpClosed := 0, 0
	for i := 0; i < 15; i++ {
		c := dialTCP(t, addr, "")
		writeFrames(t, c, newQuery("affinityde.contoso.lab", dns.TypeA))
		r, err := readFrame(c)
		if err != nil {
			tcpClosed++
			continue
		}
		if len(r.Answer) != 3 {
			t.Fatalf("TCP answer %v", r)
		}
		tcpAnswered++
	}
	panics := statsValue(t, st, nil, `sitedns_dropped_total{reason="panic"}`)
	t.Logf("45 queries, every third panicking: UDP %d answered, %d unanswered; TCP %d answered, %d closed; panics counted %v",
		answered, unanswered, tcpAnswered, tcpClosed, panics)
	if answered != 20 || unanswered != 10 || tcpAnswered != 10 || tcpClosed != 5 || panics != 15 {
		t.Error("want 20/10 over UDP, 10/5 over TCP, 15 panics counted")
	}
	// With the hook quiet, every socket still answers.
	quiet.Store(true)
	for i := 0; i < 10; i++ {
		if r := mustExchange(t, "udp", addr, "", newQuery("affinityus.contoso.lab", dns.TypeA)); len(r.Answer) != 3 {
			t.Fatalf("after the panics: %v", r)
		}
	}
	if !strings.Contains(log.String(), "injected by TestPanicSurvived") {
		t.Error("panic not logged")
	}
}

// TestShutdownUnderLoad: clients keep querying over UDP and TCP while the
// server shuts down; every query the server accepted (counted in
// sitedns_queries_total) is answered, and none is answered twice.
func TestShutdownUnderLoad(t *testing.T) { forEachUDPIO(t, testShutdownUnderLoad) }

func testShutdownUnderLoad(t *testing.T, mode UDPIO) {
	st := metrics.NewStats()
	s := New(Config{Listen: []string{"127.0.0.1:0"}, UDPWorkers: 2, UDPIO: mode, Stats: st}, labSnapshot(t, "lab.toml"))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs()[0]
	var udpAnswers, tcpAnswers, udpSent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// UDP clients each keep one query in flight, waiting up to 500ms for
	// its answer: a query the server never read times out, one it read
	// must be answered.
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			q := newQuery("affinityus.contoso.lab", dns.TypeA)
			buf := make([]byte, 4096)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				q.Id = uint16(i)
				if _, err := c.Write(mustPack(t, q)); err != nil {
					continue
				}
				udpSent.Add(1)
				_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				for {
					n, err := c.Read(buf)
					if err != nil {
						break
					}
					var r dns.Msg
					if r.Unpack(buf[:n]) == nil && r.Id == q.Id {
						if len(r.Answer) == 3 {
							udpAnswers.Add(1)
						}
						break
					}
				}
			}
		}()
	}
	// TCP clients pipeline 10 queries per connection.
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					return // shut down
				}
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				msgs := make([]*dns.Msg, 10)
				for i := range msgs {
					msgs[i] = newQuery("affinityde.contoso.lab", dns.TypeA)
				}
				var buf []byte
				for _, m := range msgs {
					p, _ := m.Pack()
					buf = binary.BigEndian.AppendUint16(buf, uint16(len(p)))
					buf = append(buf, p...)
				}
				if _, err := c.Write(buf); err != nil {
					c.Close()
					continue
				}
				for range msgs {
					r, err := readFrame(c)
					if err != nil {
						break
					}
					if len(r.Answer) == 3 {
						tcpAnswers.Add(1)
					}
				}
				c.Close()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	close(stop)
	wg.Wait()

	udpQueries := statsValue(t, st, nil, `sitedns_queries_total{qtype="A",transport="udp"}`)
	tcpQueries := statsValue(t, st, nil, `sitedns_queries_total{qtype="A",transport="tcp"}`)
	t.Logf("UDP: sent %d, accepted %v, answered %d; TCP: accepted %v, answered %d",
		udpSent.Load(), udpQueries, udpAnswers.Load(), tcpQueries, tcpAnswers.Load())
	if udpQueries == 0 || tcpQueries == 0 {
		t.Fatal("no load")
	}
	if float64(udpAnswers.Load()) != udpQueries {
		t.Errorf("UDP: %v accepted, %d answered", udpQueries, udpAnswers.Load())
	}
	if float64(tcpAnswers.Load()) != tcpQueries {
		t.Errorf("TCP: %v accepted, %d answered", tcpQueries, tcpAnswers.Load())
	}
}

// TestAXFRStream: over a real TCP connection, an allowed client
// (testdata/lab.toml allows 127.5.0.0/16) gets the zone SOA … SOA with the
// default answer sets; any other client gets REFUSED.
func TestAXFRStream(t *testing.T) {
	s := startServer(t, Config{}, labSnapshot(t, "lab.toml"))
	addr := s.Addrs()[0]
	transfer := func(src string) ([]dns.RR, error) {
		tr := &dns.Transfer{}
		d := &net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		tr.Conn = &dns.Conn{Conn: c}
		m := new(dns.Msg)
		m.SetAxfr("contoso.lab.")
		ch, err := tr.In(m, addr)
		if err != nil {
			return nil, err
		}
		var rrs []dns.RR
		for env := range ch {
			if env.Error != nil {
				return rrs, env.Error
			}
			rrs = append(rrs, env.RR...)
		}
		return rrs, nil
	}
	rrs, err := transfer("127.5.0.1")
	if err != nil {
		t.Fatalf("allowed transfer: %v", err)
	}
	n := len(rrs)
	if n < 80 || rrs[0].Header().Rrtype != dns.TypeSOA || rrs[n-1].Header().Rrtype != dns.TypeSOA {
		t.Errorf("transfer of %d records, want SOA … SOA", n)
	}
	var auto []string
	for _, rr := range rrs {
		if a, ok := rr.(*dns.A); ok && a.Hdr.Name == "autodiscover.contoso.lab." {
			auto = append(auto, a.A.String())
		}
	}
	t.Logf("AXFR from 127.5.0.1: %d records; autodiscover (default set): %v", n, auto)
	if len(auto) == 0 {
		t.Error("site-aware name missing from the transfer")
	}

	r := mustExchange(t, "tcp", addr, "127.2.1.77", func() *dns.Msg { m := new(dns.Msg); m.SetAxfr("contoso.lab."); return m }())
	if r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
		t.Errorf("transfer to 127.2.1.77: %s with %d records, want REFUSED", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
}
