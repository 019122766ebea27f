package metrics

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits of the HTTP listener (NewServer). A scrape of a large registry
// and POST /-/reload of a large config (which waits for the reload) take
// seconds, so the write timeout is generous; everything else is short.
const (
	// DefaultMaxHTTPConns is how many connections the listener holds open:
	// a Prometheus pair, a few people and probes need far fewer.
	DefaultMaxHTTPConns   = 64
	httpReadHeaderTimeout = 5 * time.Second
	httpReadTimeout       = 10 * time.Second
	httpWriteTimeout      = 2 * time.Minute
	// httpIdleTimeout keeps a keep-alive connection between scrapes (every
	// 15 to 60 s is usual) and no longer.
	httpIdleTimeout    = 90 * time.Second
	httpMaxHeaderBytes = 16 << 10
)

// NewServer returns the HTTP server of the metrics listener, serving h with
// read, write and idle timeouts and a 16 KiB header limit, and ln wrapped to
// hold at most maxConns connections (DefaultMaxHTTPConns when <= 0): at the
// cap a new connection takes the place of the one idle longest (between
// requests, or connected without a request yet), which is closed; when every
// connection is in a request, the new one is closed at once. Idle keep-alive
// connections thus cannot take the file descriptors the DNS listeners need,
// nor keep a scrape out. Serve the returned listener with the returned
// server.
func NewServer(h http.Handler, ln net.Listener, maxConns int) (*http.Server, net.Listener) {
	if maxConns <= 0 {
		maxConns = DefaultMaxHTTPConns
	}
	cl := &capListener{Listener: ln, max: maxConns, conns: make(map[net.Conn]*connInfo)}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ConnState:         cl.track,
	}
	return srv, cl
}

// capListener is a listener holding at most max connections at once.
type capListener struct {
	net.Listener
	max int

	// mu guards conns: every connection accepted and not yet closed.
	mu    sync.Mutex
	conns map[net.Conn]*connInfo
}

// connInfo is what capListener knows of one connection.
type connInfo struct {
	state http.ConnState
	since time.Time // when it entered state
}

// Accept returns the next connection, making room for it at the cap.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.conns) >= l.max && !l.reclaimLocked() {
			l.mu.Unlock()
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset: no TIME_WAIT here
			}
			c.Close()
			continue
		}
		l.conns[c] = &connInfo{state: http.StateNew, since: time.Now()}
		l.mu.Unlock()
		return c, nil
	}
}

// reclaimLocked closes the connection that has waited longest for a
// request, and reports false when every connection is in one. l.mu must be
// held.
func (l *capListener) reclaimLocked() bool {
	var victim net.Conn
	var oldest time.Time
	for c, ci := range l.conns {
		if ci.state != http.StateIdle && ci.state != http.StateNew {
			continue
		}
		if victim == nil || ci.since.Before(oldest) {
			victim, oldest = c, ci.since
		}
	}
	if victim == nil {
		return false
	}
	delete(l.conns, victim)
	victim.Close() // the server's read fails and it lets the connection go
	return true
}

// track is the http.Server's ConnState hook.
func (l *capListener) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ci, ok := l.conns[c]
	if !ok {
		return // reclaimed
	}
	if st == http.StateClosed || st == http.StateHijacked {
		delete(l.conns, c)
		return
	}
	ci.state, ci.since = st, time.Now()
}
