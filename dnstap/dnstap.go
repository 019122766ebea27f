// Package dnstap logs every answered query as dnstap (https://dnstap.info)
// AUTH_QUERY and AUTH_RESPONSE messages, to a Frame Streams Unix socket or
// file, the format BIND, Knot, NSD, Unbound and CoreDNS write and their
// tools (dnstap-read, dnstap-receiver, golang-dnstap) read. The extra field of
// each message carries what sitedns decided for the client, as text:
//
//	site=US-Chicago scope=US ecs=127.2.1.0/24 ecs_scope=16
//
// A Logger is a server.Tap. It never slows an answer: Tap copies the event
// into a bounded queue and returns; one goroutine encodes and writes. When
// the queue is full (a slow reader, or none) the event is dropped and
// counted (sitedns_dnstap_dropped_total).
//
//	l, err := dnstap.Open("unix:/run/sitedns/dnstap.sock", dnstap.Options{})
//	srv := server.New(server.Config{Tap: l}, snap)
//	defer l.Close()
package dnstap

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tap "github.com/dnstap/golang-dnstap"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/server"
)

// Options tune a Logger. The zero value is usable.
type Options struct {
	// Identity and Version fill the dnstap fields of the same names
	// (default: the host name, and "sitedns").
	Identity, Version string
	// Queue is how many answered queries wait for the writer at most
	// (default 4096); past it they are dropped and counted.
	Queue int
	// FlushInterval is how long written frames may wait in the output
	// buffer before they are sent to a socket (default 1s).
	FlushInterval time.Duration
}

// Logger writes dnstap messages of the queries a server answers. Safe for
// concurrent use.
type Logger struct {
	dest     string
	w        tap.Writer
	closer   func() error
	identity []byte
	version  []byte

	queue chan *event
	pool  sync.Pool
	done  chan struct{}

	written, dropped atomic.Uint64 // messages, two an answered query
	closeOnce        sync.Once
}

var _ server.Tap = (*Logger)(nil)

// event is one answered query, copied out of the server's buffers.
type event struct {
	query, response []byte
	client          netip.AddrPort
	transport       metrics.Transport
	queried, sent   time.Time
	extra           []byte
}

// Open starts a Logger writing to dest: "unix:PATH" for a Frame Streams
// Unix socket (a reader such as dnstap-receiver or "dnstap -u" listens
// there; the logger connects, and reconnects every second while it cannot),
// or "file:PATH" or a bare PATH for a file, created or truncated.
func Open(dest string, o Options) (*Logger, error) {
	if o.Queue <= 0 {
		o.Queue = 4096
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.Identity == "" {
		o.Identity, _ = os.Hostname()
	}
	if o.Version == "" {
		o.Version = "sitedns"
	}
	l := &Logger{
		dest:     dest,
		identity: []byte(o.Identity),
		version:  []byte(o.Version),
		queue:    make(chan *event, o.Queue),
		done:     make(chan struct{}),
	}
	l.pool.New = func() any { return new(event) }
	if path, ok := strings.CutPrefix(dest, "unix:"); ok {
		if path == "" {
			return nil, fmt.Errorf("dnstap: %q: no socket path", dest)
		}
		w := tap.NewSocketWriter(&net.UnixAddr{Name: path, Net: "unix"}, &tap.SocketWriterOptions{
			Timeout:       time.Second,
			FlushTimeout:  o.FlushInterval,
			RetryInterval: time.Second,
			Dialer:        &net.Dialer{Timeout: time.Second},
		})
		l.w, l.closer = w, w.Close
	} else {
		path = strings.TrimPrefix(dest, "file:")
		if path == "" {
			return nil, fmt.Errorf("dnstap: %q: no file path", dest)
		}
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("dnstap: %w", err)
		}
		w, err := tap.NewWriter(f, nil)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("dnstap: %s: %w", path, err)
		}
		l.w = w
		l.closer = func() error {
			err := w.Close()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		}
	}
	go l.run()
	return l, nil
}

// Tap queues e for writing, or drops and counts it when the queue is full.
// It copies what it keeps and never blocks.
func (l *Logger) Tap(e *server.TapEvent) {
	ev := l.pool.Get().(*event)
	ev.query = append(ev.query[:0], e.Query...)
	ev.response = append(ev.response[:0], e.Response...)
	ev.client, ev.transport, ev.queried, ev.sent = e.Client, e.Transport, e.Time, time.Now()
	ev.extra = appendDecision(ev.extra[:0], e)
	select {
	case l.queue <- ev:
	default:
		l.dropped.Add(2)
		l.pool.Put(ev)
	}
}

// appendDecision appends the extra field: what was decided for the client.
func appendDecision(b []byte, e *server.TapEvent) []byte {
	b = append(b, "site="...)
	b = append(b, e.Site...)
	if e.Scope != "" {
		b = append(b, " scope="...)
		b = append(b, e.Scope...)
	}
	if e.ECS.IsValid() {
		b = append(b, " ecs="...)
		b = e.ECS.AppendTo(b)
	}
	if e.ECSScope >= 0 {
		b = append(b, " ecs_scope="...)
		b = strconv.AppendInt(b, int64(e.ECSScope), 10)
	}
	return b
}

// run writes the queued events until the queue is closed.
func (l *Logger) run() {
	defer close(l.done)
	var enc encoder
	for ev := range l.queue {
		for _, typ := range [...]tap.Message_Type{tap.Message_AUTH_QUERY, tap.Message_AUTH_RESPONSE} {
			b, err := enc.encode(l, ev, typ)
			if err == nil {
				_, err = l.w.WriteFrame(b)
			}
			if err != nil {
				l.dropped.Add(1)
				continue
			}
			l.written.Add(1)
		}
		l.pool.Put(ev)
	}
}

// encoder turns events into dnstap frames. The writer goroutine's own:
// it reuses the messages, the fields they point to and the buffer, so that
// a frame costs no allocation.
type encoder struct {
	dt                 tap.Dnstap
	m                  tap.Message
	dtType             tap.Dnstap_Type
	typ                tap.Message_Type
	fam                tap.SocketFamily
	proto              tap.SocketProtocol
	port, qnsec, rnsec uint32
	qsec, rsec         uint64
	addr               [16]byte
	buf                []byte
}

// encode returns the frame of ev's message of type typ, valid until the
// next call.
func (e *encoder) encode(l *Logger, ev *event, typ tap.Message_Type) ([]byte, error) {
	e.m = tap.Message{}
	e.dt = tap.Dnstap{}
	l.message(e, ev, typ)
	var err error
	e.buf, err = proto.MarshalOptions{}.MarshalAppend(e.buf[:0], &e.dt)
	return e.buf, err
}

// message fills e's message of type typ for ev.
func (l *Logger) message(e *encoder, ev *event, typ tap.Message_Type) {
	e.typ, e.fam, e.proto = typ, tap.SocketFamily_INET, tap.SocketProtocol_UDP
	addr := ev.client.Addr().Unmap()
	if addr.Is6() {
		e.fam = tap.SocketFamily_INET6
		e.addr = addr.As16()
		e.m.QueryAddress = e.addr[:16]
	} else {
		a4 := addr.As4()
		copy(e.addr[:], a4[:])
		e.m.QueryAddress = e.addr[:4]
	}
	if ev.transport == metrics.TCP {
		e.proto = tap.SocketProtocol_TCP
	}
	e.port = uint32(ev.client.Port())
	e.qsec, e.qnsec = uint64(ev.queried.Unix()), uint32(ev.queried.Nanosecond())
	e.m.Type, e.m.SocketFamily, e.m.SocketProtocol = &e.typ, &e.fam, &e.proto
	e.m.QueryPort, e.m.QueryTimeSec, e.m.QueryTimeNsec = &e.port, &e.qsec, &e.qnsec
	if typ == tap.Message_AUTH_QUERY {
		e.m.QueryMessage = ev.query
	} else {
		e.m.ResponseMessage = ev.response
		e.rsec, e.rnsec = uint64(ev.sent.Unix()), uint32(ev.sent.Nanosecond())
		e.m.ResponseTimeSec, e.m.ResponseTimeNsec = &e.rsec, &e.rnsec
	}
	e.dtType = tap.Dnstap_MESSAGE
	e.dt.Type, e.dt.Identity, e.dt.Version, e.dt.Extra, e.dt.Message = &e.dtType, l.identity, l.version, ev.extra, &e.m
}

// Written and Dropped count the messages written, and those dropped
// because the queue was full or the write failed.
func (l *Logger) Written() uint64 { return l.written.Load() }

// Dropped: see Written.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Close stops taking events, writes what is queued and closes the output,
// waiting at most timeout for a reader that does not take them (what is
// left then is lost). Tap must not be called after Close.
func (l *Logger) Close(timeout time.Duration) error {
	var err error
	l.closeOnce.Do(func() {
		close(l.queue)
		select {
		case <-l.done:
			err = l.closer()
		case <-time.After(timeout):
			err = fmt.Errorf("dnstap: %s: not flushed within %v", l.dest, timeout)
		}
	})
	return err
}

var (
	descWritten = prometheus.NewDesc("sitedns_dnstap_messages_total",
		"dnstap messages written (an AUTH_QUERY and an AUTH_RESPONSE per answered query).", nil, nil)
	descDropped = prometheus.NewDesc("sitedns_dnstap_dropped_total",
		"dnstap messages dropped because the queue was full (a slow or absent reader) or the write failed.", nil, nil)
)

var _ prometheus.Collector = (*Logger)(nil)

// Describe sends the descriptors of the Logger's metrics.
func (l *Logger) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWritten
	ch <- descDropped
}

// Collect sends sitedns_dnstap_messages_total and
// sitedns_dnstap_dropped_total.
func (l *Logger) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descWritten, prometheus.CounterValue, float64(l.written.Load()))
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(l.dropped.Load()))
}
