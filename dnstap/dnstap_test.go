package dnstap

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tap "github.com/dnstap/golang-dnstap"
	"google.golang.org/protobuf/proto"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/server"
)

// testEvent is an answered query as the server hands it to a Tap.
func testEvent(i int) *server.TapEvent {
	return &server.TapEvent{
		Query:     []byte{byte(i), 1, 2, 3},
		Response:  []byte{byte(i), 0x81, 4, 5, 6},
		Client:    netip.MustParseAddrPort("127.2.1.77:5353"),
		Transport: metrics.UDP,
		Time:      time.Unix(1700000000, 123456789),
		Name:      "autodiscover.contoso.lab.",
		Qtype:     1,
		Site:      "US-Chicago",
		Scope:     "US",
		ECS:       netip.MustParsePrefix("127.2.1.0/24"),
		ECSScope:  16,
	}
}

// readFrames reads n frames from ch, failing after limit.
func readFrames(t *testing.T, ch <-chan []byte, n int, limit time.Duration) []*tap.Dnstap {
	t.Helper()
	var out []*tap.Dnstap
	deadline := time.After(limit)
	for len(out) < n {
		select {
		case f := <-ch:
			var d tap.Dnstap
			if err := proto.Unmarshal(f, &d); err != nil {
				t.Fatalf("frame %d: %v", len(out), err)
			}
			out = append(out, &d)
		case <-deadline:
			t.Fatalf("%d of %d frames within %v", len(out), n, limit)
		}
	}
	return out
}

// checkPair checks the AUTH_QUERY and AUTH_RESPONSE of testEvent(i).
func checkPair(t *testing.T, q, r *tap.Dnstap, i int) {
	t.Helper()
	e := testEvent(i)
	const extra = "site=US-Chicago scope=US ecs=127.2.1.0/24 ecs_scope=16"
	for _, d := range []*tap.Dnstap{q, r} {
		m := d.GetMessage()
		if d.GetType() != tap.Dnstap_MESSAGE || string(d.GetExtra()) != extra || string(d.GetIdentity()) != "ns1" || string(d.GetVersion()) != "sitedns test" {
			t.Errorf("frame: type %v extra %q identity %q version %q", d.GetType(), d.GetExtra(), d.GetIdentity(), d.GetVersion())
		}
		if m.GetSocketFamily() != tap.SocketFamily_INET || m.GetSocketProtocol() != tap.SocketProtocol_UDP ||
			!bytes.Equal(m.GetQueryAddress(), []byte{127, 2, 1, 77}) || m.GetQueryPort() != 5353 ||
			m.GetQueryTimeSec() != 1700000000 || m.GetQueryTimeNsec() != 123456789 {
			t.Errorf("message: %v", m)
		}
	}
	if q.GetMessage().GetType() != tap.Message_AUTH_QUERY || !bytes.Equal(q.GetMessage().GetQueryMessage(), e.Query) || q.GetMessage().ResponseMessage != nil {
		t.Errorf("query frame %d: %v", i, q.GetMessage())
	}
	if r.GetMessage().GetType() != tap.Message_AUTH_RESPONSE || !bytes.Equal(r.GetMessage().GetResponseMessage(), e.Response) || r.GetMessage().GetResponseTimeSec() == 0 {
		t.Errorf("response frame %d: %v", i, r.GetMessage())
	}
}

// TestSocket: a dnstap reader on a Unix socket gets a query and a response
// message per answered query, in order, with the decision in extra.
func TestSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dnstap.sock")
	in, err := tap.NewFrameStreamSockInputFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan []byte, 64)
	go in.ReadInto(frames)

	l, err := Open("unix:"+path, Options{Identity: "ns1", Version: "sitedns test", FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e := testEvent(i)
		l.Tap(e)
		e.Query[0], e.Response[0] = 0xff, 0xff // the server reuses its buffers
	}
	got := readFrames(t, frames, 10, 10*time.Second)
	for i := range 5 {
		checkPair(t, got[2*i], got[2*i+1], i)
	}
	if err := l.Close(5 * time.Second); err != nil {
		t.Error(err)
	}
	if l.Written() != 10 || l.Dropped() != 0 {
		t.Errorf("written %d dropped %d, want 10 and 0", l.Written(), l.Dropped())
	}
}

// TestFile: a dnstap file, read back with golang-dnstap's file input.
func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sitedns.tap")
	l, err := Open(path, Options{Identity: "ns1", Version: "sitedns test"})
	if err != nil {
		t.Fatal(err)
	}
	l.Tap(testEvent(7))
	if err := l.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	in, err := tap.NewFrameStreamInputFromFilename(path)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan []byte, 4)
	go in.ReadInto(frames)
	got := readFrames(t, frames, 2, 5*time.Second)
	checkPair(t, got[0], got[1], 7)
}

// TestNoReader: with nobody on the socket, Tap still returns at once; what
// does not fit the queue is dropped and counted.
func TestNoReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nobody.sock")
	l, err := Open("unix:"+path, Options{Queue: 4})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	began := time.Now()
	for i := range n {
		l.Tap(testEvent(i))
	}
	took := time.Since(began)
	// The writer holds at most one answered query, the queue four: the rest
	// is dropped, two messages each.
	if d := l.Dropped(); d < 2*(n-5) {
		t.Errorf("dropped %d messages, want at least %d", d, 2*(n-5))
	}
	if l.Written() != 0 {
		t.Errorf("written %d with no reader", l.Written())
	}
	t.Logf("%d Tap calls with no reader in %v", n, took)
	if err := l.Close(100 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "not flushed") {
		t.Errorf("Close: %v, want not flushed", err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, dest := range []string{"unix:", "file:", filepath.Join(t.TempDir(), "no", "such", "dir", "x.tap")} {
		if _, err := Open(dest, Options{}); err == nil {
			t.Errorf("Open(%q): no error", dest)
		}
	}
}

// BenchmarkTap is what dnstap adds to the answering goroutine per query:
// copying the event into the queue. A reader drains it.
func BenchmarkTap(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "bench.tap"), Options{Queue: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(10 * time.Second)
	e := testEvent(1)
	e.Query = make([]byte, 45)
	e.Response = make([]byte, 120)
	b.ReportAllocs()
	for b.Loop() {
		l.Tap(e)
	}
	b.ReportMetric(float64(l.Dropped())/2/float64(b.N), "dropped/op")
}

// BenchmarkWrite is what the writer goroutine spends per query: two
// messages encoded and written as frames to a file.
func BenchmarkWrite(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "bench.tap"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(10 * time.Second)
	ev := &event{query: make([]byte, 45), response: make([]byte, 120), client: netip.MustParseAddrPort("127.2.1.77:5353"),
		queried: time.Now(), sent: time.Now(), extra: []byte("site=US-Chicago scope=US ecs=127.2.1.0/24 ecs_scope=16")}
	var enc encoder
	b.ReportAllocs()
	for b.Loop() {
		for _, typ := range [...]tap.Message_Type{tap.Message_AUTH_QUERY, tap.Message_AUTH_RESPONSE} {
			buf, err := enc.encode(l, ev, typ)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := l.w.WriteFrame(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}
