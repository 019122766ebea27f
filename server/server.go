package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// Defaults for the zero values of Config.
const (
	DefaultTCPIdleTimeout = 10 * time.Second
	DefaultTCPReadTimeout = 2 * time.Second
	DefaultMaxTCPConns    = 1000
	DefaultMaxTCPQuery    = 4096
)

// Config holds the process settings of a Server. The zero value of every
// field means its default.
type Config struct {
	// Listen lists the addresses to answer on, UDP and TCP on the same port
	// ("127.0.0.1:5300", "[::1]:53"). A port of 0 picks a free port that is
	// free for both transports.
	Listen []string
	// UDPWorkers is the number of UDP sockets (SO_REUSEPORT) per listen
	// address, each with its own reader goroutine; 0 means
	// runtime.GOMAXPROCS(0). On platforms without SO_REUSEPORT it is 1.
	UDPWorkers int
	// UDPIO is how each UDP worker waits for datagrams: UDPIONetpoll or
	// UDPIOBlocking (see their doc); empty means DefaultUDPIO. Blocking is
	// Linux only: elsewhere it is served as UDPIONetpoll.
	UDPIO UDPIO
	// TCPIdleTimeout closes a TCP connection that sends nothing for this
	// long between queries (default 10s, RFC 7766 §6.2.3).
	TCPIdleTimeout time.Duration
	// TCPReadTimeout bounds reading one message once its first byte arrived,
	// and writing one answer (default 2s).
	TCPReadTimeout time.Duration
	// MaxTCPConns caps the TCP connections open at once over all listen
	// addresses (default 1000). At the cap, a new connection takes the slot
	// of the one idle longest, which is closed; when none is idle, the new
	// one is closed at once and counted as a DropTCPLimit. From three
	// quarters of the cap on, idle connections get a quarter of
	// TCPIdleTimeout.
	MaxTCPConns int
	// MaxTCPConnsPerPrefix caps the TCP connections open at once from one
	// client network (an IPv4 /24 or an IPv6 /64); 0 means no such cap.
	MaxTCPConnsPerPrefix int
	// MaxTCPQuery is the largest message a TCP client may send (default
	// 4096 bytes: a query is a question and an OPT; sitedns takes no
	// UPDATE). A connection announcing a longer one is closed before it is
	// read, and counted as a DropMalformed.
	MaxTCPQuery int
	// Logger receives errors and recovered panics; nil means none.
	Logger *zap.Logger
	// Stats receives the server's counters and latencies; nil means none.
	Stats *metrics.Stats
	// Notify is called with a secondary zone's origin when an allowed
	// NOTIFY for it arrives (see ServePacket); it must not block. nil
	// refuses every NOTIFY.
	Notify func(origin string)
	// Tap is told of every answered query (dnstap, the debug decision
	// log); nil means none, and costs the answer paths one nil check.
	Tap Tap
}

// UDPIO names a way for a UDP worker to wait for datagrams.
type UDPIO string

const (
	// UDPIONetpoll reads through Go's network poller: a worker that finds
	// its socket empty parks its goroutine until epoll reports the socket
	// readable. Workers are goroutines; GOMAXPROCS threads run them.
	UDPIONetpoll UDPIO = "netpoll"
	// UDPIOBlocking gives each worker an OS thread of its own
	// (runtime.LockOSThread) and a socket in blocking mode: recvmmsg
	// sleeps in the kernel until a datagram arrives, without a trip
	// through the poller and the scheduler. Linux only.
	UDPIOBlocking UDPIO = "blocking"
)

// ParseUDPIO returns the UDPIO named s ("netpoll" or "blocking").
func ParseUDPIO(s string) (UDPIO, error) {
	switch m := UDPIO(s); m {
	case UDPIONetpoll, UDPIOBlocking:
		return m, nil
	}
	return "", fmt.Errorf("server: UDP I/O mode %q: want netpoll or blocking", s)
}

// withDefaults returns c with every zero value replaced by its default.
func (c Config) withDefaults() Config {
	if c.UDPWorkers <= 0 {
		c.UDPWorkers = runtime.GOMAXPROCS(0)
	}
	if !haveReusePort {
		c.UDPWorkers = 1
	}
	if c.UDPIO == "" {
		c.UDPIO = DefaultUDPIO
	}
	if c.TCPIdleTimeout <= 0 {
		c.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if c.TCPReadTimeout <= 0 {
		c.TCPReadTimeout = DefaultTCPReadTimeout
	}
	if c.MaxTCPConns <= 0 {
		c.MaxTCPConns = DefaultMaxTCPConns
	}
	if c.MaxTCPQuery <= 0 {
		c.MaxTCPQuery = DefaultMaxTCPQuery
	}
	if c.MaxTCPConnsPerPrefix < 0 {
		c.MaxTCPConnsPerPrefix = 0
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

// Server answers DNS queries over UDP and TCP from the snapshot it holds.
// Swap replaces the snapshot without touching the sockets. All methods are
// safe for concurrent use.
type Server struct {
	cfg   Config
	log   *zap.Logger
	stats stats

	// snap is the snapshot every query is answered from; one Load per query.
	snap atomic.Pointer[zones.Snapshot]

	// scratch pools the per-query state of ServePacket callers that bring no
	// state of their own.
	scratch sync.Pool

	// readers numbers the UDP readers, for their rotation shards.
	readers atomic.Int32

	// rawUDP says blocking UDP readers make raw system calls: set by Start
	// when GOMAXPROCS leaves a P beside them (udpBlockingLoop).
	rawUDP bool

	// mu guards the fields below it.
	mu        sync.Mutex
	state     int // stateNew, stateRunning, stateClosed
	listeners []*listener
	conns     map[*tcpConn]struct{} // open TCP connections
	perPrefix map[netip.Prefix]int  // open TCP connections per client network
	nconns    atomic.Int64          // len(conns), read without mu

	// rrl is the response rate limiter of UDP answers (rrl.go).
	rrl rateLimiter

	closing atomic.Bool // set by Shutdown: readers stop at their next read
	// udpStop is set when the UDP drain of Shutdown is over (or its context
	// ended): blocking-mode readers, which have no read deadline, stop
	// at their next read.
	udpStop atomic.Bool
	wg      sync.WaitGroup

	// beforeAnswer, when set (by tests, before Start), runs after a query
	// from a socket has been parsed and before it is answered.
	beforeAnswer func()
}

const (
	stateNew = iota
	stateRunning
	stateClosed
)

// listener is the sockets of one listen address.
type listener struct {
	addr string // the actual host:port
	udp  []*net.UDPConn
	tcp  *net.TCPListener
}

// New returns a server answering from snap (which may be nil until the
// first Swap; queries then get SERVFAIL). It does not open sockets: Start
// does, and ServePacket works without them.
func New(cfg Config, snap *zones.Snapshot) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		stats:     stats{s: cfg.Stats},
		conns:     make(map[*tcpConn]struct{}),
		perPrefix: make(map[netip.Prefix]int),
	}
	s.scratch.New = func() any { return newScratch(s.stats) }
	s.snap.Store(snap)
	return s
}

// Swap makes snap the snapshot for every query that starts from now on and
// returns the previous one. Queries being answered finish with the snapshot
// they started with. Sockets are not touched.
func (s *Server) Swap(snap *zones.Snapshot) (old *zones.Snapshot) {
	return s.snap.Swap(snap)
}

// Snapshot returns the snapshot queries are answered from now.
func (s *Server) Snapshot() *zones.Snapshot { return s.snap.Load() }

// Start binds UDP and TCP on every listen address and starts serving. Each
// address gets its UDP sockets bound first and its TCP listener on the same
// port; for port 0 a port is picked that is free for both (a few attempts).
// On error nothing stays bound.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return errors.New("server: already started")
	}
	if len(s.cfg.Listen) == 0 {
		return errors.New("server: no listen address")
	}
	var ls []*listener
	for _, addr := range s.cfg.Listen {
		l, err := s.listen(addr)
		if err != nil {
			for _, l := range ls {
				l.close()
			}
			return err
		}
		ls = append(ls, l)
	}
	s.listeners = ls
	s.state = stateRunning
	readers := 0
	for _, l := range ls {
		readers += len(l.udp)
	}
	// Blocking readers keep their P while they sleep only when that leaves
	// a P for everything else (udpBlockingLoop).
	s.rawUDP = runtime.GOMAXPROCS(0) > readers
	for _, l := range ls {
		for _, c := range l.udp {
			s.wg.Add(1)
			go s.readUDP(c)
		}
		s.wg.Add(1)
		go s.acceptTCP(l.tcp)
	}
	return nil
}

// listenAttempts is how many ports Start tries for a listen address with
// port 0 before it gives up.
const listenAttempts = 8

// listen binds the sockets of one listen address.
func (s *Server) listen(addr string) (*listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("server: listen address %q: %w", addr, err)
	}
	attempts := 1
	if port == "0" {
		attempts = listenAttempts
	}
	for i := 0; ; i++ {
		l, retry, err := s.bind(host, port)
		if err == nil {
			return l, nil
		}
		if !retry || i+1 >= attempts {
			return nil, fmt.Errorf("server: listen on %q: %w", addr, err)
		}
	}
}

// bind opens the UDP sockets, then the TCP listener on the UDP port. retry
// reports whether a failure may go away with another ephemeral port.
func (s *Server) bind(host, port string) (_ *listener, retry bool, err error) {
	ctx := context.Background()
	lc := net.ListenConfig{Control: udpControl}
	l := &listener{}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	for i := 0; i < s.cfg.UDPWorkers; i++ {
		pc, err := lc.ListenPacket(ctx, "udp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, i > 0, err
		}
		c := pc.(*net.UDPConn)
		l.udp = append(l.udp, c)
		if i == 0 {
			ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
			port = strconv.Itoa(int(ap.Port()))
			l.addr = net.JoinHostPort(host, port)
		}
		_ = c.SetReadBuffer(udpSocketBuffer) // best effort; the kernel caps it
	}
	tl, err := (&net.ListenConfig{}).Listen(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, true, err
	}
	l.tcp = tl.(*net.TCPListener)
	return l, false, nil
}

// udpDrain is how long Shutdown lets the UDP readers answer the datagrams
// queued on their sockets: a query the kernel accepted before Shutdown is
// answered, not dropped with the socket.
const udpDrain = 50 * time.Millisecond

// udpBlockingPoll is the receive timeout (SO_RCVTIMEO) of a blocking-mode
// UDP socket: how long an idle reader sleeps before it looks whether
// Shutdown is over. Shutdown takes up to udpDrain + udpBlockingPoll.
const udpBlockingPoll = 50 * time.Millisecond

// udpSocketBuffer is the receive buffer asked for on each UDP socket.
const udpSocketBuffer = 4 << 20

func (l *listener) close() {
	for _, c := range l.udp {
		c.Close()
	}
	if l.tcp != nil {
		l.tcp.Close()
	}
}

// Addrs returns the actual host:port of each listen address, in the order
// of Config.Listen (UDP and TCP share it). It is empty before Start.
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.listeners))
	for _, l := range s.listeners {
		out = append(out, l.addr)
	}
	return out
}

// Shutdown stops reading new queries, answers those already read (including
// complete TCP queries already received on a connection, and UDP datagrams
// queued on the sockets, read for up to udpDrain; a blocking-mode reader
// asleep in recvmmsg notices the end of the drain within udpBlockingPoll),
// then closes every socket and waits for the server's goroutines. A TCP
// answer not written within TCPReadTimeout, or three quarters of the time
// ctx leaves, is abandoned with its connection (a client that does not
// read). When ctx ends first it closes
// everything at once, waits for the goroutines, and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stateRunning {
		s.state = stateClosed
		s.mu.Unlock()
		return nil
	}
	s.state = stateClosed
	s.closing.Store(true)
	now := time.Now()
	drained := time.AfterFunc(udpDrain, func() { s.udpStop.Store(true) })
	defer drained.Stop()
	for _, l := range s.listeners {
		l.tcp.Close() // no new connections
		for _, c := range l.udp {
			// The reader answers the datagrams already queued on its
			// socket (and any arriving in the meantime) until the
			// deadline, then stops.
			_ = c.SetReadDeadline(now.Add(udpDrain))
		}
	}
	writeBy := shutdownWriteDeadline(ctx, now, s.cfg.TCPReadTimeout)
	for c := range s.conns {
		c.stopReading(now, writeBy)
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.udpStop.Store(true)
		s.mu.Lock()
		for c := range s.conns {
			c.c.Close()
		}
		s.mu.Unlock()
		for _, l := range s.listeners {
			for _, c := range l.udp {
				c.Close()
			}
		}
		<-done
	}
	for _, l := range s.listeners {
		l.close()
	}
	return err
}

// shutdownWriteDeadline is how long Shutdown lets a TCP connection write
// the answers it owes: readTimeout, and at most three quarters of what is
// left of ctx, so that a client that does not read fails its writes and
// Shutdown still returns nil before ctx ends.
func shutdownWriteDeadline(ctx context.Context, now time.Time, readTimeout time.Duration) time.Time {
	by := now.Add(readTimeout)
	if d, ok := ctx.Deadline(); ok {
		if left := d.Sub(now) * 3 / 4; now.Add(left).Before(by) {
			by = now.Add(left)
		}
	}
	return by
}

// stats wraps the optional *metrics.Stats so the packet path needs no nil
// checks of its own. rot is the caller's rotation shard (ordering.Rotation):
// each UDP reader's own, 0 for the rest.
type stats struct {
	s   *metrics.Stats
	rot int
}

// shard returns stats counting into a shard of st's Stats, for one worker.
func (st stats) shard() stats {
	if st.s == nil {
		return st
	}
	return stats{s: st.s.Shard(), rot: st.rot}
}

func (st stats) query(t metrics.Transport, qtype uint16) {
	if st.s != nil {
		st.s.Query(t, qtype)
	}
}

func (st stats) response(rcode int) {
	if st.s != nil {
		st.s.Response(rcode)
	}
}

func (st stats) drop(r metrics.DropReason) {
	if st.s != nil {
		st.s.Drop(r)
	}
}

func (st stats) observe(t metrics.Transport, d time.Duration) {
	if st.s != nil {
		st.s.Observe(t, d)
	}
}

func (st stats) observeN(t metrics.Transport, d time.Duration, n int) {
	if st.s != nil {
		st.s.ObserveN(t, d, n)
	}
}
