package server

import (
	"errors"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/sitedns/sitedns/metrics"
)

// maxUDPRead is the read buffer of a UDP reader: the largest datagram.
const maxUDPRead = 65535

// readUDP serves one UDP socket until Shutdown. Each socket of a listen
// address has its own reader (SO_REUSEPORT spreads the clients over them by
// their address and port), with its own buffers and per-query state reused
// for every packet.
//
// On Linux it reads and writes batches of datagrams with recvmmsg and
// sendmmsg (udpBatchLoop, udp_linux.go: golang.org/x/net's ReadBatch and
// WriteBatch would allocate a net.Addr per message); elsewhere one datagram
// per system call (udpLoop: ReadFromUDPAddrPort/WriteToUDPAddrPort, which
// allocate nothing). Either way the worker counts into its own metrics
// shard.
//
// With Config.UDPIO set to UDPIOBlocking (Linux), the reader takes the socket
// out of the poller and runs udpBlockingLoop (udp_linux.go) on an OS thread of
// its own instead.
func (s *Server) readUDP(c *net.UDPConn) {
	defer s.wg.Done()
	st := s.stats.shard()
	st.rot = int(s.readers.Add(1)) // shard 0 is TCP's and ServePacket's
	if s.cfg.UDPIO == UDPIOBlocking && s.readUDPBlocking(c, st) {
		return
	}
	for !s.udpReadLoop(c, st) {
	}
}

// udpLoop is the read loop of readUDP. It returns true when the server shuts
// down or the socket is closed, false after recovering from a panic, so that
// readUDP starts it again.
func (s *Server) udpLoop(c *net.UDPConn, st stats) (stopped bool) {
	defer func() {
		if r := recover(); r != nil {
			st.drop(metrics.DropPanic)
			s.log.Error("panic in the UDP reader; restarting it", zap.Any("panic", r), zap.Stack("stack"))
			stopped = false
		}
	}()
	sc := newScratch(st)
	in := make([]byte, maxUDPRead)
	out := make([]byte, 0, maxUDPRead+1)
	failures := 0
	for {
		n, src, err := c.ReadFromUDPAddrPort(in)
		if err != nil {
			if s.readFailed(&failures, err) {
				return true
			}
			continue
		}
		failures = 0
		start := time.Now()
		resp, _, ok := s.serveSafe(sc, out, in[:n], src, metrics.UDP, start, false)
		if !ok {
			sc = newScratch(st)
		}
		if len(resp) > 0 {
			_, _ = c.WriteToUDPAddrPort(resp, src) // a lost reply is a lost datagram
		}
	}
}

// readFailed notes a failed UDP read and reports whether the reader should
// stop: only because the server is closing the socket. Nothing a read error
// says about one client should stop the others, so the reader goes on; it
// backs off (and says so) only when the socket keeps failing.
func (s *Server) readFailed(failures *int, err error) (stop bool) {
	if s.closing.Load() || errors.Is(err, net.ErrClosed) {
		return true
	}
	if *failures++; *failures > 10 {
		s.log.Warn("UDP read failing", zap.Error(err))
		time.Sleep(10 * time.Millisecond)
		*failures = 0
	}
	return false
}
