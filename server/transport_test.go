package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sitedns/sitedns/metrics"
)

// writeFrames sends msgs on c in one write, each with its length prefix.
func writeFrames(t testing.TB, c net.Conn, msgs ...*dns.Msg) {
	t.Helper()
	var buf []byte
	for _, m := range msgs {
		p := mustPack(t, m)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(p)))
		buf = append(buf, p...)
	}
	if _, err := c.Write(buf); err != nil {
		t.Fatal(err)
	}
}

// readFrame reads one length-prefixed message from c.
func readFrame(c net.Conn) (*dns.Msg, error) {
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	p := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, p); err != nil {
		return nil, err
	}
	r := new(dns.Msg)
	return r, r.Unpack(p)
}

func dialTCP(t testing.TB, addr, src string) net.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 3 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// dialRefusable dials as dialTCP does, but returns nil when the server's
// reset of a connection over a cap arrives before connect returns.
func dialRefusable(t testing.TB, addr, src string) net.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// TestListenSamePort: with port 0, UDP and TCP end up on the same port, for
// every listen address, and both answer.
func TestListenSamePort(t *testing.T) {
	s := startServer(t, Config{Listen: []string{"127.0.0.1:0", "127.0.0.1:0"}}, labSnapshot(t, "lab.toml"))
	as := s.Addrs()
	if len(as) != 2 || as[0] == as[1] {
		t.Fatalf("Addrs() = %v, want two different addresses", as)
	}
	for _, a := range as {
		if !strings.HasPrefix(a, "127.0.0.1:") || strings.HasSuffix(a, ":0") {
			t.Errorf("address %q is not an actual 127.0.0.1 port", a)
		}
		for _, network := range []string{"udp", "tcp"} {
			r := mustExchange(t, network, a, "", newQuery("affinityus.contoso.lab", dns.TypeA))
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 3 {
				t.Errorf("%s %s: %s %v", network, a, dns.RcodeToString[r.Rcode], r.Answer)
			}
		}
	}
	if err := New(Config{Listen: []string{"127.0.0.1:0"}}, nil).Start(); err != nil {
		t.Errorf("a second server on port 0: %v", err)
	}
	// The same fixed port twice fails, and leaves nothing bound.
	s2 := New(Config{Listen: []string{as[0]}}, nil)
	if err := s2.Start(); err == nil {
		t.Error("binding a port in use succeeded")
	}
	if err := s.Start(); err == nil {
		t.Error("a second Start succeeded")
	}
}

// TestTCPPipelining sends three queries in one write before reading, and
// gets three answers in order.
func TestTCPPipelining(t *testing.T) {
	s := startServer(t, Config{}, labSnapshot(t, "lab.toml"))
	c := dialTCP(t, s.Addrs()[0], "")
	names := []string{"affinityus.contoso.lab", "affinityde.contoso.lab", "big.contoso.lab"}
	var msgs []*dns.Msg
	for i, n := range names {
		m := newQuery(n, dns.TypeA)
		m.Id = uint16(100 + i)
		msgs = append(msgs, m)
	}
	writeFrames(t, c, msgs...)
	for i := range names {
		r, err := readFrame(c)
		if err != nil {
			t.Fatal(err)
		}
		if r.Id != uint16(100+i) || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 || r.Truncated {
			t.Errorf("answer %d: id %d %s TC=%v %d records", i, r.Id, dns.RcodeToString[r.Rcode], r.Truncated, len(r.Answer))
		}
	}
	// The connection stays open for more.
	writeFrames(t, c, newQuery("affinitycn.contoso.lab", dns.TypeA))
	if r, err := readFrame(c); err != nil || len(r.Answer) != 3 {
		t.Errorf("fourth query: %v %v", r, err)
	}
}

// TestTCPIdleTimeout: a connection idle for TCPIdleTimeout is closed; one
// that stops in the middle of a message is closed after TCPReadTimeout.
func TestTCPIdleTimeout(t *testing.T) {
	s := startServer(t, Config{TCPIdleTimeout: 100 * time.Millisecond, TCPReadTimeout: 100 * time.Millisecond}, labSnapshot(t, "lab.toml"))
	c := dialTCP(t, s.Addrs()[0], "")
	writeFrames(t, c, newQuery("affinityus.contoso.lab", dns.TypeA))
	if _, err := readFrame(c); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var b [1]byte
	if _, err := c.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: read %v, want EOF", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}

	c2 := dialTCP(t, s.Addrs()[0], "")
	if _, err := c2.Write([]byte{0, 40, 1, 2}); err != nil { // 4 of 42 bytes
		t.Fatal(err)
	}
	if _, err := c2.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Errorf("stalled message: read %v, want EOF", err)
	}
}

// TestTCPConnectionCap: at MaxTCPConns a new connection takes the slot of
// the one idle longest; with none idle it is closed at once and counted;
// when one closes, a new one is served. The per-prefix cap counts each /24
// apart.
func TestTCPConnectionCap(t *testing.T) {
	st := metrics.NewStats()
	// Near the cap idle connections are closed after a quarter of the idle
	// timeout: a long one keeps them open through a slow run, so that only
	// the reclaiming closes one.
	s := startServer(t, Config{MaxTCPConns: 3, MaxTCPConnsPerPrefix: 2, TCPIdleTimeout: 2 * time.Minute, Stats: st}, labSnapshot(t, "lab.toml"))
	addr := s.Addrs()[0]
	served := func(c net.Conn) bool {
		if c == nil {
			return false
		}
		// A connection over a cap may be reset before the query is
		// written: not served either.
		p := mustPack(t, newQuery("affinityus.contoso.lab", dns.TypeA))
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...)); err != nil {
			return false
		}
		r, err := readFrame(c)
		return err == nil && r.Rcode == dns.RcodeSuccess
	}
	// conns waits until n connections are open and each idle (waiting for
	// its next message) or each busy reading one. The server takes a
	// connection as idle from when it waits, not from when the client read
	// its answer, so each is waited for in turn to make a1 the one idle
	// longest.
	conns := func(n int, idle bool) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d connections, idle %v", n, idle), func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			for c := range s.conns {
				if (c.idleSince.Load() > 0) != idle {
					return false
				}
			}
			return len(s.conns) == n
		})
	}
	// open dials from src, requires the connection served, and waits
	// until it is the n-th open and idle.
	open := func(src string, n int) net.Conn {
		t.Helper()
		c := dialTCP(t, addr, src)
		if !served(c) {
			t.Fatalf("connection %d, from %s, under the caps not served", n, src)
		}
		conns(n, true)
		return c
	}
	a1 := open("127.2.1.1", 1)
	a2 := open("127.2.1.2", 2)
	// A third from the same /24 is over the per-prefix cap.
	a3 := dialRefusable(t, addr, "127.2.1.3")
	if served(a3) {
		t.Error("third connection from one /24 served")
	}
	b1 := open("127.2.2.1", 3) // another /24
	// Three open: the total cap. A fourth takes the slot of the one idle
	// longest, a1, which the server closes.
	c1 := dialTCP(t, addr, "127.2.3.1")
	if !served(c1) {
		t.Error("connection over the total cap not served by reclaiming an idle one")
	}
	var b [1]byte
	_ = a1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := a1.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Errorf("longest idle connection: read %v, want EOF", err)
	}
	// With every connection in the middle of a message, none is idle: a
	// new one is refused.
	for _, c := range []net.Conn{a2, b1, c1} {
		if _, err := c.Write([]byte{0}); err != nil {
			t.Fatal(err)
		}
	}
	conns(3, false)
	if served(dialRefusable(t, addr, "127.2.4.1")) {
		t.Error("connection over the total cap served with none idle")
	}
	if got := statsValue(t, st, nil, `sitedns_dropped_total{reason="tcp_limit"}`); got != 2 {
		t.Errorf("tcp_limit drops = %v, want 2", got)
	}
	a2.Close()
	waitFor(t, "a slot after a close", func() bool {
		return served(dialRefusable(t, addr, "127.2.5.1")) // the slot may free after connect is reset
	})
}

// TestShutdownAnswersInFlight: Shutdown waits for a query being answered,
// which gets its answer, and for pipelined TCP queries already received.
func TestShutdownAnswersInFlight(t *testing.T) { forEachUDPIO(t, testShutdownAnswersInFlight) }

func testShutdownAnswersInFlight(t *testing.T, mode UDPIO) {
	snap := labSnapshot(t, "lab.toml")
	s := New(Config{Listen: []string{"127.0.0.1:0"}, UDPWorkers: 1, UDPIO: mode}, snap)
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	var once sync.Once
	s.beforeAnswer = func() {
		entered <- struct{}{}
		once.Do(func() { <-release })
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs()[0]

	udpDone := make(chan *dns.Msg, 1)
	go func() {
		r, _ := exchange("udp", addr, "", newQuery("affinityus.contoso.lab", dns.TypeA))
		udpDone <- r
	}()
	<-entered // the UDP query is being answered, and blocked

	tcp := dialTCP(t, addr, "")
	q1, q2 := newQuery("affinityde.contoso.lab", dns.TypeA), newQuery("affinitycn.contoso.lab", dns.TypeA)
	q1.Id, q2.Id = 1, 2
	writeFrames(t, tcp, q1, q2)

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a query was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-udpDone; r == nil || len(r.Answer) != 3 {
		t.Errorf("in-flight UDP query: %v", r)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	// The TCP queries were either answered before the shutdown or, if they
	// had not been read yet, the connection was closed: never a half answer.
	for _, id := range []uint16{1, 2} {
		r, err := readFrame(tcp)
		if err != nil {
			break
		}
		if r.Id != id || len(r.Answer) != 3 {
			t.Errorf("TCP answer %d: %v", id, r)
		}
	}
	if _, err := exchange("udp", addr, "", newQuery("affinityus.contoso.lab", dns.TypeA)); err == nil {
		t.Error("answered after Shutdown")
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// TestShutdownDeadline: when ctx ends first, Shutdown closes everything,
// still waits for its goroutines, and reports ctx.Err().
func TestShutdownDeadline(t *testing.T) { forEachUDPIO(t, testShutdownDeadline) }

func testShutdownDeadline(t *testing.T, mode UDPIO) {
	s := New(Config{Listen: []string{"127.0.0.1:0"}, UDPWorkers: 1, UDPIO: mode}, labSnapshot(t, "lab.toml"))
	release := make(chan struct{})
	entered := make(chan struct{})
	s.beforeAnswer = func() {
		close(entered)
		<-release
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	go exchange("udp", s.Addrs()[0], "", newQuery("affinityus.contoso.lab", dns.TypeA)) //nolint:errcheck
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	go func() {
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond)
		close(release)
	}()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
}

// randomPackets returns n packets: noise, a valid query cut short, and a
// valid query with flipped bytes, in turn.
func randomPackets(t testing.TB, n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	valid := mustPack(t, newQuery("affinityus.contoso.lab", dns.TypeA))
	e := newQuery("autodiscover.contoso.lab", dns.TypeA)
	e = withECS(e, "127.2.1.0", 24)
	validECS := mustPack(t, e)
	var out [][]byte
	for i := 0; i < n; i++ {
		var p []byte
		switch i % 4 {
		case 0:
			p = make([]byte, rng.IntN(600))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
		case 1:
			p = slices.Clone(valid[:rng.IntN(len(valid))])
		case 2:
			p = slices.Clone(valid)
			for k := 0; k < 3; k++ {
				p[rng.IntN(len(p))] ^= byte(1 + rng.IntN(255))
			}
		default:
			p = slices.Clone(validECS)
			for k := 0; k < 2; k++ {
				p[rng.IntN(len(p))] ^= byte(1 + rng.IntN(255))
			}
		}
		out = append(out, p)
	}
	return out
}

// TestRandomBurst: 1000 random packets to ServePacket and over UDP and TCP,
// after which a normal query still gets the right answer and nothing
// panicked.
func TestRandomBurst(t *testing.T) { forEachUDPIO(t, testRandomBurst) }

func testRandomBurst(t *testing.T, mode UDPIO) {
	var log lockedLog
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&log), zap.DebugLevel))
	st := metrics.NewStats()
	s := startServer(t, Config{Logger: logger, Stats: st, UDPIO: mode}, labSnapshot(t, "lab.toml"))
	addr := s.Addrs()[0]
	pkts := randomPackets(t, 1000)

	for _, p := range pkts {
		out := s.ServePacket(nil, p, addrPort(t, unknownClient), metrics.UDP)
		checkReply(t, p, out)
	}

	u, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for _, p := range pkts {
		if _, err := u.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	tc := dialTCP(t, addr, "")
	var buf []byte
	for _, p := range pkts[:200] {
		if len(p) < headerLen {
			continue // would close the connection
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(p)))
		buf = append(buf, p...)
	}
	if _, err := tc.Write(buf); err != nil {
		t.Fatal(err)
	}

	for _, network := range []string{"udp", "tcp"} {
		r := mustExchange(t, network, addr, chicagoClient, newQuery("autodiscover.contoso.lab", dns.TypeA))
		if got := addrs(r.Answer); r.Rcode != dns.RcodeSuccess || len(got) != 3 || got[0] != "127.2.1.10" {
			t.Errorf("%s after the burst: %s %v", network, dns.RcodeToString[r.Rcode], got)
		}
	}
	if strings.Contains(log.String(), "panic") {
		t.Errorf("the burst caused a panic:\n%s", log.String())
	}
	if got := statsValue(t, st, nil, `sitedns_dropped_total{reason="panic"}`); got != 0 {
		t.Errorf("panics counted: %v", got)
	}
}

// checkReply asserts the fuzz property: no reply, or a message that unpacks
// with the query's ID.
func checkReply(t testing.TB, in, out []byte) {
	t.Helper()
	if out == nil {
		if len(in) >= headerLen && in[2]&0x80 == 0 {
			// Only a response (QR=1) or something shorter than a header
			// goes unanswered.
			t.Errorf("no reply to a %d-byte query %x", len(in), in)
		}
		return
	}
	var r dns.Msg
	if err := r.Unpack(out); err != nil {
		t.Fatalf("reply does not unpack: %v\nin  %x\nout %x", err, in, out)
	}
	if len(in) >= 2 && r.Id != binary.BigEndian.Uint16(in) {
		t.Fatalf("reply id %d, query id %d", r.Id, binary.BigEndian.Uint16(in))
	}
	if !r.Response {
		t.Fatalf("reply without QR: %x", out)
	}
}
