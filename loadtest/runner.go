package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Progress is the state of a running test, for a progress line.
type Progress struct {
	// Sent counts queries started; Done those finished (answered, timed
	// out or failed).
	Sent, Done int64
	// Timeouts and Errors count the finished queries that got no answer.
	Timeouts, Errors int64
	// Queries is the query cap (Config.Queries).
	Queries int
	// Elapsed is the time since the start; Duration the time cap (0: none).
	Elapsed  time.Duration
	Duration time.Duration
}

// ProgressInterval is how often Run calls its progress function.
const ProgressInterval = 250 * time.Millisecond

// defaultEDNSSize is the UDP payload size advertised when an OPT record is
// needed and Config.UDPSize is 0 (the DNS Flag Day 2020 value).
const defaultEDNSSize = 1232

// job is one (client, name, type).
type job struct {
	client int
	name   string
	qtype  string
	qt     uint16
}

// Run sends the queries of cfg and returns their report. It stops at
// cfg.Queries queries, after cfg.Duration, or when ctx is done, whichever
// comes first; queries cut off by the stop are not counted. progress, when
// not nil, is called every ProgressInterval from another goroutine, and
// once at the end. The error is about the configuration or the sockets,
// never about answers: those are in the report.
func Run(ctx context.Context, cfg Config, progress func(Progress)) (*Report, error) {
	cfg.Servers = append([]string(nil), cfg.Servers...)
	cfg.Names = append([]string(nil), cfg.Names...)
	cfg.Types = append([]string(nil), cfg.Types...)
	cfg.Clients = append([]Client(nil), cfg.Clients...)
	cfg.Expect = append([]Expectation(nil), cfg.Expect...)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	servers := make([]string, len(cfg.Servers))
	for i, s := range cfg.Servers {
		servers[i] = netip.MustParseAddrPort(s).String()
	}
	if cfg.Bind {
		if err := checkBind(cfg.Clients); err != nil {
			return nil, err
		}
	}
	var jobs []job
	for _, name := range cfg.Names {
		for _, t := range cfg.Types {
			for c := range cfg.Clients {
				jobs = append(jobs, job{client: c, name: name, qtype: t, qt: dns.StringToType[t]})
			}
		}
	}

	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}

	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	order := &dispenser{jobs: jobs, rng: rand.New(rand.NewPCG(seed, 0x5173646e73))}
	var (
		done     atomic.Int64
		timeouts atomic.Int64
		failed   atomic.Int64
		mu       sync.Mutex // mu guards analysis
		analysis = NewAnalysis(&cfg)
		wg       sync.WaitGroup
	)
	start := time.Now()
	snapshot := func() Progress {
		return Progress{
			Sent: order.sent.Load(), Done: done.Load(),
			Timeouts: timeouts.Load(), Errors: failed.Load(),
			Queries: cfg.Queries, Elapsed: time.Since(start), Duration: cfg.Duration,
		}
	}
	stopProgress := make(chan struct{})
	var progressDone sync.WaitGroup
	if progress != nil {
		progressDone.Go(func() {
			t := time.NewTicker(ProgressInterval)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					progress(snapshot())
				}
			}
		})
	}

	for range cfg.Concurrency {
		wg.Go(func() {
			w := newWorker(&cfg, servers)
			defer w.close()
			for {
				if ctx.Err() != nil {
					return
				}
				i, j, ok := order.take(int64(cfg.Queries))
				if !ok {
					return
				}
				if cfg.Rate > 0 && !waitSlot(ctx, start, i, cfg.Rate) {
					return
				}
				s, ok := w.query(ctx, j, int(i%int64(len(servers))))
				if !ok {
					return // the run was stopped mid-query
				}
				switch s.Outcome {
				case Timeout:
					timeouts.Add(1)
				case Failed:
					failed.Add(1)
				}
				done.Add(1)
				mu.Lock()
				analysis.Add(s)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopProgress)
	progressDone.Wait()
	if progress != nil {
		progress(snapshot())
	}
	return analysis.Report(start, elapsed), nil
}

// dispenser hands out the jobs in blocks of len(jobs) queries, each block a
// fresh random permutation: every job gets its share of the queries (exactly,
// when the count is a multiple of the block), and no client keeps a fixed
// phase against the server's rotation counter. A fixed order would alias with
// a shared counter (with 9 clients and 3 targets, client k would see counter
// positions k, k+9, k+18, ...: always the same target) and show a perfectly
// fair server as unfair per site.
type dispenser struct {
	sent atomic.Int64 // queries handed out, for progress

	mu   sync.Mutex // mu guards the fields below
	jobs []job
	rng  *rand.Rand
	next int64
	perm []int
}

// take returns the number of the next query and its job, and false once
// limit queries have been handed out.
func (d *dispenser) take(limit int64) (int64, job, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.next
	if i >= limit {
		return i, job{}, false
	}
	d.next++
	d.sent.Store(d.next)
	n := int64(len(d.jobs))
	if pos := i % n; pos == 0 || d.perm == nil {
		d.perm = d.rng.Perm(int(n))
	}
	return i, d.jobs[d.perm[i%n]], true
}

// waitSlot sleeps until query i's turn at the given rate; false if ctx ends
// first.
func waitSlot(ctx context.Context, start time.Time, i int64, rate float64) bool {
	slot := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
	d := time.Until(slot)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// checkBind fails early, with a plain message, when a client address cannot
// be a source address.
func checkBind(clients []Client) error {
	seen := map[netip.Addr]bool{}
	for _, c := range clients {
		if seen[c.Addr] {
			continue
		}
		seen[c.Addr] = true
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(c.Addr, 0)))
		if err != nil {
			return fmt.Errorf("loadtest: client %s: cannot send from it (%v); use a local address such as 127.x.y.z, or ECS without source binding", c.Addr, err)
		}
		pc.Close()
	}
	return nil
}

// worker sends one query at a time; it keeps one connected UDP socket per
// (server, client). Not safe for concurrent use.
type worker struct {
	cfg     *Config
	servers []string
	udp     map[connKey]*dns.Conn
	client  dns.Client
	size    uint16
}

// connKey identifies a worker's UDP socket: indices into the servers and
// Config.Clients.
type connKey struct{ server, client int }

func newWorker(cfg *Config, servers []string) *worker {
	w := &worker{cfg: cfg, servers: servers, udp: map[connKey]*dns.Conn{}}
	w.client = dns.Client{Net: "udp", Timeout: cfg.Timeout}
	if cfg.ECS || cfg.UDPSize > 0 {
		w.size = cfg.UDPSize
		if w.size == 0 {
			w.size = defaultEDNSSize
		}
	}
	return w
}

func (w *worker) close() {
	for _, c := range w.udp {
		c.Close()
	}
}

// message builds the query of job j.
func (w *worker) message(j job) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(j.name, j.qt)
	m.RecursionDesired = false
	if w.size == 0 {
		return m
	}
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(w.size)
	if w.cfg.ECS {
		p := w.cfg.Clients[j.client].ecsPrefix()
		family := uint16(1)
		if p.Addr().Is6() {
			family = 2
		}
		o.Option = append(o.Option, &dns.EDNS0_SUBNET{
			Code:          dns.EDNS0SUBNET,
			Family:        family,
			SourceNetmask: uint8(p.Bits()),
			Address:       net.IP(p.Addr().AsSlice()),
		})
	}
	m.Extra = append(m.Extra, o)
	return m
}

// localAddr returns the dialer's source for client c, nil for the system's
// choice.
func (w *worker) localAddr(c int, network string) net.Addr {
	if !w.cfg.Bind {
		return nil
	}
	ap := netip.AddrPortFrom(w.cfg.Clients[c].Addr, 0)
	if network == "tcp" {
		return net.TCPAddrFromAddrPort(ap)
	}
	return net.UDPAddrFromAddrPort(ap)
}

// query asks j of server srv once over UDP, and again over TCP when the UDP
// answer is truncated. ok is false when ctx ended during the query: the
// sample does not count.
func (w *worker) query(ctx context.Context, j job, srv int) (s Sample, ok bool) {
	s = Sample{Client: j.client, Name: j.name, Type: j.qtype}
	m := w.message(j)
	start := time.Now()
	key := connKey{server: srv, client: j.client}
	conn, err := w.conn(ctx, key)
	var r *dns.Msg
	if err == nil {
		r, _, err = w.client.ExchangeWithConnContext(ctx, m, conn)
		if err != nil {
			conn.Close()
			delete(w.udp, key)
		}
	}
	if err == nil && r.Truncated {
		s.TCP = true
		tc := dns.Client{Net: "tcp", Timeout: w.cfg.Timeout,
			Dialer: &net.Dialer{Timeout: w.cfg.Timeout, LocalAddr: w.localAddr(j.client, "tcp")}}
		r, _, err = tc.ExchangeContext(ctx, m, w.servers[srv])
	}
	s.Latency = time.Since(start)
	if ctx.Err() != nil {
		return s, false
	}
	var ne net.Error
	switch {
	case err == nil:
		s.Outcome = Answered
	case errors.As(err, &ne) && ne.Timeout():
		s.Outcome = Timeout
		return s, true
	default:
		s.Outcome = Failed
		return s, true
	}
	s.Rcode = r.Rcode
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != j.qt {
			continue
		}
		if t, ok := targetOf(rr); ok {
			s.Targets = append(s.Targets, t)
		}
	}
	return s, true
}

// conn returns the worker's UDP socket for k, dialing it first.
func (w *worker) conn(ctx context.Context, k connKey) (*dns.Conn, error) {
	if co := w.udp[k]; co != nil {
		return co, nil
	}
	d := net.Dialer{Timeout: w.cfg.Timeout}
	if la := w.localAddr(k.client, "udp"); la != nil {
		d.LocalAddr = la
	}
	nc, err := d.DialContext(ctx, "udp", w.servers[k.server])
	if err != nil {
		return nil, err
	}
	co := &dns.Conn{Conn: nc, UDPSize: max(w.size, dns.MinMsgSize)}
	w.udp[k] = co
	return co, nil
}
