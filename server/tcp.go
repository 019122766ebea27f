package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/sitedns/sitedns/metrics"
)

// tcpConn is one accepted TCP connection.
type tcpConn struct {
	c      *net.TCPConn
	src    netip.AddrPort
	prefix netip.Prefix // its client network when MaxTCPConnsPerPrefix is set

	// idleSince is when the connection started waiting for a message
	// (UnixNano), 0 while it reads or answers one, and evicted once admit
	// took its slot for a new connection: the connection then ends.
	idleSince atomic.Int64

	// mu guards stopped, writeBy and the deadlines, so that Shutdown's
	// deadlines are never replaced by the connection's own.
	mu      sync.Mutex
	stopped bool
	writeBy time.Time // set with stopped: no write may last past it
}

// setReadDeadline sets the read deadline unless Shutdown stopped reading.
func (c *tcpConn) setReadDeadline(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped {
		_ = c.c.SetReadDeadline(t)
	}
}

// setWriteDeadline sets the write deadline, no later than the one Shutdown
// set.
func (c *tcpConn) setWriteDeadline(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped && t.After(c.writeBy) {
		t = c.writeBy
	}
	_ = c.c.SetWriteDeadline(t)
}

// stopReading makes reads that need the network fail from now on, and
// writes fail after writeBy: data already buffered is still read and
// answered, but a client that does not read its answers cannot hold
// Shutdown past writeBy.
func (c *tcpConn) stopReading(now, writeBy time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	c.writeBy = writeBy
	_ = c.c.SetReadDeadline(now)
	_ = c.c.SetWriteDeadline(writeBy)
}

// acceptTCP accepts connections on l until Shutdown closes it.
func (s *Server) acceptTCP(l *net.TCPListener) {
	defer s.wg.Done()
	for !s.acceptLoop(l) {
	}
}

// acceptLoop is the loop of acceptTCP. It returns true when the listener is
// closed, false after recovering from a panic, so that acceptTCP starts it
// again.
func (s *Server) acceptLoop(l *net.TCPListener) (stopped bool) {
	defer func() {
		if r := recover(); r != nil {
			s.stats.drop(metrics.DropPanic)
			s.log.Error("panic in the TCP acceptor; restarting it", zap.Any("panic", r), zap.Stack("stack"))
			stopped = false
		}
	}()
	var delay time.Duration
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return true
			}
			// Out of file descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("TCP accept failed; retrying", zap.Error(err), zap.Duration("delay", delay))
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.admit(c)
	}
}

// evicted is tcpConn.idleSince of a connection whose slot admit took.
const evicted = -1

// admit starts serving c, or closes it at once (with a reset, so that it
// costs no TIME_WAIT state here) when a connection cap is reached. When
// MaxTCPConns connections are open, the one idle longest is closed to make
// room (RFC 7766 §6.2.3: a server under pressure reclaims idle
// connections), so that connections held open by a few networks cannot
// keep every other client off TCP; only when none is idle is c refused.
// The per-prefix cap is never lifted so: a network at its cap is refused.
func (s *Server) admit(c *net.TCPConn) {
	src := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	tc := &tcpConn{c: c, src: src}
	tc.idleSince.Store(time.Now().UnixNano())
	s.mu.Lock()
	over := false
	if s.cfg.MaxTCPConnsPerPrefix > 0 {
		tc.prefix = clientNetwork(src.Addr())
		over = s.perPrefix[tc.prefix] >= s.cfg.MaxTCPConnsPerPrefix
	}
	if !over && len(s.conns) >= s.cfg.MaxTCPConns && s.state == stateRunning {
		over = !s.reclaimIdle()
	}
	if over || s.state != stateRunning {
		s.mu.Unlock()
		if over { // counted before the client can see the reset
			s.stats.drop(metrics.DropTCPLimit)
		}
		_ = c.SetLinger(0)
		c.Close()
		return
	}
	if tc.prefix.IsValid() {
		s.perPrefix[tc.prefix]++
	}
	s.conns[tc] = struct{}{}
	s.nconns.Store(int64(len(s.conns)))
	s.wg.Add(1)
	s.mu.Unlock()
	go s.serveTCP(tc)
}

// reclaimIdle closes the connection that has waited longest for a message
// and forgets it, freeing its slot. It reports false when every connection
// is busy reading or answering a message. s.mu must be held. It costs a
// walk over the open connections, only when they are at MaxTCPConns.
func (s *Server) reclaimIdle() bool {
	for {
		var victim *tcpConn
		oldest := int64(0)
		for c := range s.conns {
			if since := c.idleSince.Load(); since > 0 && (victim == nil || since < oldest) {
				victim, oldest = c, since
			}
		}
		if victim == nil {
			return false
		}
		// The connection may have started reading a message meanwhile:
		// then it is not idle, and the next longest idle one goes.
		if victim.idleSince.CompareAndSwap(oldest, evicted) {
			s.forget(victim)
			victim.c.Close()
			return true
		}
	}
}

// idleTimeout is how long a TCP connection may wait for its next message:
// TCPIdleTimeout, and a quarter of it while the open connections are near
// MaxTCPConns (three quarters of it), so that slots come free before admit
// has to reclaim them.
func (s *Server) idleTimeout() time.Duration {
	if s.nconns.Load() >= int64(s.cfg.MaxTCPConns)*3/4 {
		return max(s.cfg.TCPIdleTimeout/4, time.Millisecond)
	}
	return s.cfg.TCPIdleTimeout
}

// clientNetwork is the network a per-prefix cap counts a client in: its /24
// for IPv4, its /64 for IPv6.
func clientNetwork(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// release forgets a finished connection.
func (s *Server) release(tc *tcpConn) {
	tc.c.Close()
	s.mu.Lock()
	s.forget(tc)
	s.mu.Unlock()
}

// forget removes tc from the open connections, once. s.mu must be held.
func (s *Server) forget(tc *tcpConn) {
	if _, ok := s.conns[tc]; !ok {
		return // reclaimed by admit already
	}
	delete(s.conns, tc)
	s.nconns.Store(int64(len(s.conns)))
	if tc.prefix.IsValid() {
		if s.perPrefix[tc.prefix]--; s.perPrefix[tc.prefix] <= 0 {
			delete(s.perPrefix, tc.prefix)
		}
	}
}

// serveTCP answers the queries of one connection (RFC 7766): each message
// framed by a two-byte length, several in flight, answered in the order they
// came. The connection closes when the client sends nothing for
// TCPIdleTimeout between messages, takes more than TCPReadTimeout to send a
// message it started, sends a message shorter than a DNS header or longer
// than MaxTCPQuery, does not take an answer within TCPIdleTimeout, or sends a
// query whose answering panicked (the client then retries at once rather
// than wait for an answer that will not come).
func (s *Server) serveTCP(tc *tcpConn) {
	defer s.wg.Done()
	defer s.release(tc)
	defer func() {
		if r := recover(); r != nil {
			s.stats.drop(metrics.DropPanic)
			s.log.Error("panic serving a TCP connection; closing it",
				zap.Any("panic", r), zap.Stringer("client", tc.src), zap.Stack("stack"))
		}
	}()

	br := bufio.NewReaderSize(tc.c, 4096)
	sc := newScratch(s.stats)
	in := make([]byte, 512)
	out := make([]byte, 0, 2+4096)
	var hdr [2]byte
	for {
		if br.Buffered() == 0 {
			now := time.Now()
			if !tc.idleSince.CompareAndSwap(0, now.UnixNano()) && tc.idleSince.Load() == evicted {
				return
			}
			tc.setReadDeadline(now.Add(s.idleTimeout()))
			if _, err := br.Peek(1); err != nil {
				return
			}
		}
		if tc.idleSince.Swap(0) == evicted {
			return // its slot went to a new connection
		}
		tc.setReadDeadline(time.Now().Add(s.cfg.TCPReadTimeout))
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if n > s.cfg.MaxTCPQuery {
			s.stats.drop(metrics.DropMalformed)
			return
		}
		if n > cap(in) {
			in = make([]byte, n)
		}
		in = in[:n]
		if _, err := io.ReadFull(br, in); err != nil {
			return
		}
		start := time.Now()
		if n < headerLen {
			// No ID to answer with, and no reason to think the next two
			// bytes are a length: a client that sends this is broken.
			s.stats.drop(metrics.DropMalformed)
			return
		}

		resp, xfr, ok := s.serveSafe(sc, out[2:2], in, tc.src, metrics.TCP, start, true)
		if !ok {
			// The query got no answer: close, so that the client retries
			// at once instead of waiting for it (RFC 7766 §6.2.4).
			return
		}
		if xfr != nil {
			err := s.transferStream(sc, out[2:2], xfr, start, func(msg []byte) error {
				var err error
				out, err = s.writeFramed(tc, out, msg)
				return err
			})
			if err != nil {
				return
			}
			continue
		}
		if len(resp) == 0 {
			continue
		}
		var err error
		if out, err = s.writeFramed(tc, out, resp); err != nil {
			return
		}
	}
}

// writeFramed writes msg with its length prefix in one write. msg normally
// already sits in buf after two bytes of room (serve packs into buf[2:2]);
// otherwise buf grows to hold it, and the grown buffer is returned for the
// next answers.
func (s *Server) writeFramed(tc *tcpConn, buf, msg []byte) ([]byte, error) {
	n := len(msg)
	if cap(buf) < 2+n || &buf[:2+n][2] != &msg[0] {
		buf = make([]byte, 2+n)
		copy(buf[2:], msg)
	}
	frame := buf[:2+n]
	binary.BigEndian.PutUint16(frame, uint16(n))
	tc.setWriteDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
	_, err := tc.c.Write(frame)
	return buf[:0], err
}
