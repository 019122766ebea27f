//go:build linux

package server

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/sitedns/sitedns/metrics"
)

// udpBatch is the most datagrams one recvmmsg or sendmmsg moves.
const udpBatch = 32

// udpBatchOut is the output buffer of each slot: every UDP answer fits
// (maxUDPSize), with room for an error reply to a long question.
const udpBatchOut = maxUDPSize + 512

// udpReadLoop is the read loop of readUDP on Linux: batched, through the
// poller (UDPIONetpoll).
func (s *Server) udpReadLoop(c *net.UDPConn, st stats) bool { return s.udpBatchLoop(c, st) }

// udpBatchState is one reader's buffers for recvmmsg/sendmmsg, allocated
// once and reused for every batch. The message headers point into it.
type udpBatchState struct {
	in    [udpBatch]unix.Mmsghdr
	inIov [udpBatch]unix.Iovec
	names [udpBatch]unix.RawSockaddrInet6 // room for IPv4 and IPv6 sources
	bufs  [udpBatch][]byte

	out    [udpBatch]unix.Mmsghdr
	outIov [udpBatch]unix.Iovec
	outBuf [udpBatch][]byte

	n, nout int   // datagrams read, replies queued
	err     error // the system call's error
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
	sent    int
}

func newUDPBatchState() *udpBatchState {
	b := &udpBatchState{}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, maxUDPRead)
		b.outBuf[i] = make([]byte, 0, udpBatchOut)
		b.inIov[i].Base = &b.bufs[i][0]
		b.inIov[i].SetLen(len(b.bufs[i]))
		h := &b.in[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Namelen = unix.SizeofSockaddrInet6
		h.Iov = &b.inIov[i]
		h.SetIovlen(1)
	}
	// The closures are made once: a func value passed to RawConn.Read
	// per call would escape and allocate.
	b.readFn = func(fd uintptr) bool {
		b.resetIn()
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.in[0])), udpBatch, unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EAGAIN || e == unix.EWOULDBLOCK {
			return false
		}
		b.n, b.err = int(r), nil
		if e != 0 {
			b.n, b.err = 0, e
		}
		return true
	}
	b.writeFn = func(fd uintptr) bool {
		for b.sent < b.nout {
			r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.out[b.sent])), uintptr(b.nout-b.sent), unix.MSG_DONTWAIT, 0, 0)
			switch {
			case e == unix.EAGAIN || e == unix.EWOULDBLOCK:
				return false
			case e == unix.EINTR:
			case e != 0:
				b.sent++ // the first reply failed: a lost datagram
			default:
				b.sent += int(r)
			}
		}
		return true
	}
	return b
}

// udpBatchLoop is udpLoop with recvmmsg and sendmmsg through the poller
// (UDPIONetpoll): it reads up to udpBatch datagrams per system call (as
// many as are queued, at least one), answers each, and sends the replies in
// one call. Under load that divides the system calls, and Go's cost of
// entering each, by the batch size; a single query waits for nothing.
// Replies go out in the order the queries came in. It returns like udpLoop.
func (s *Server) udpBatchLoop(c *net.UDPConn, st stats) (stopped bool) {
	defer func() {
		if r := recover(); r != nil {
			st.drop(metrics.DropPanic)
			s.log.Error("panic in the UDP reader; restarting it", zap.Any("panic", r), zap.Stack("stack"))
			stopped = false
		}
	}()
	rc, err := c.SyscallConn()
	if err != nil {
		return s.udpLoop(c, st)
	}
	sc := newScratch(st)
	b := newUDPBatchState()
	failures := 0
	for {
		err := rc.Read(b.readFn)
		if err == nil && b.err != nil {
			err = b.err
		}
		if err != nil {
			if s.readFailed(&failures, err) {
				return true
			}
			continue
		}
		failures = 0
		sc = s.answerBatch(b, sc, st)
		if b.nout > 0 {
			b.sent = 0
			_ = rc.Write(b.writeFn) // lost replies are lost datagrams
			b.releaseOut()
		}
	}
}

// answerBatch answers the b.n datagrams read into b and queues the replies
// in b.out (b.nout of them), through the rate limiter. It returns the
// scratch to go on with: a new one after a panic while answering.
//
// The clock is read twice per batch: when the batch has been read and when
// its replies are ready to be sent, which is when the first of them leaves.
// Every query of the batch is recorded in the latency histogram with that
// duration: the time it spent in the server once the server had read it.
func (s *Server) answerBatch(b *udpBatchState, sc *scratch, st stats) *scratch {
	start := time.Now()
	b.nout = 0
	sc.batched, sc.answered = true, 0
	answered := 0
	for i := 0; i < b.n; {
		var ok bool
		if i, ok = s.answerFrom(b, sc, st, i, start); !ok {
			answered += sc.answered
			sc = newScratch(st)
			sc.batched = true
		}
	}
	st.observeN(metrics.UDP, time.Since(start), answered+sc.answered)
	sc.batched = false
	return sc
}

// answerFrom answers b's datagrams from the i-th on. It returns b.n and true
// when done, or, after a panic while answering one of them, the index of the
// next one and false: sc must then not be reused. One recover per batch
// rather than per query keeps the deferred call out of the per-query cost.
func (s *Server) answerFrom(b *udpBatchState, sc *scratch, st stats, i int, start time.Time) (next int, ok bool) {
	var src netip.AddrPort
	defer func() {
		if r := recover(); r != nil {
			st.drop(metrics.DropPanic)
			s.log.Error("panic while answering a query; no answer sent",
				zap.Any("panic", r), zap.Stringer("client", src), zap.Stack("stack"))
			next, ok = i+1, false
		}
	}()
	for ; i < b.n; i++ {
		m := &b.in[i]
		var valid bool
		src, valid = rawAddrPort(&b.names[i])
		if !valid || m.Hdr.Flags&unix.MSG_TRUNC != 0 {
			st.drop(metrics.DropMalformed)
			continue
		}
		var resp []byte
		if ioFloor {
			resp = floorReply(b.outBuf[i][:0], b.bufs[i][:m.Len])
		} else {
			resp, _ = s.answer(sc, b.outBuf[i][:0], b.bufs[i][:m.Len], src, metrics.UDP, start, false)
		}
		if len(resp) == 0 {
			continue
		}
		o := &b.out[b.nout]
		b.outIov[b.nout].Base = &resp[0]
		b.outIov[b.nout].SetLen(len(resp))
		o.Hdr.Name = m.Hdr.Name
		o.Hdr.Namelen = m.Hdr.Namelen
		o.Hdr.Iov = &b.outIov[b.nout]
		o.Hdr.SetIovlen(1)
		b.nout++
	}
	return i, true
}

// floorReply appends to dst the query req itself marked as a response, or
// nothing when req is shorter than a header. A server built with -tags
// iofloor answers every UDP datagram so (ioFloor), with no lookup, ordering
// or counting: deploy/bench runs it as sitedns-floor to measure what the UDP
// reader and the kernel cost alone at the bench's load, the floor under
// sitedns's CPU per query. In every other build ioFloor is false and the
// call is compiled out.
func floorReply(dst, req []byte) []byte {
	if len(req) < headerLen {
		return dst
	}
	dst = append(dst, req...)
	dst[len(dst)-len(req)+2] |= 0x80 // QR
	return dst
}

// resetIn readies the receive headers for the next recvmmsg: those the
// last one filled in, and the first (the others are as newUDPBatchState
// left them: the kernel writes only the headers of datagrams it returns).
func (b *udpBatchState) resetIn() {
	for i := range b.in[:max(b.n, 1)] {
		b.in[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.in[i].Hdr.Flags = 0
		b.in[i].Len = 0
	}
}

// releaseOut drops the references to the replies sent, which the general
// path may have allocated.
func (b *udpBatchState) releaseOut() {
	for i := range b.nout {
		b.outIov[i].Base = nil
	}
}

// DefaultUDPIO is the UDPIO of a zero Config on this platform. On Linux it
// is UDPIOBlocking: under dnsperf on one core it took 15–25% less CPU per
// query than UDPIONetpoll, with half the context switches
// (docs/performance.md), given a P to spare (cmd/sitedns sees to that).
const DefaultUDPIO = UDPIOBlocking

// readUDPBlocking serves c in blocking mode (UDPIOBlocking) until Shutdown:
// it takes the socket out of the poller (detachUDP), locks the goroutine to
// its OS thread, and runs udpBlockingLoop, again after a recovered panic.
// It returns false, having changed nothing, when the socket cannot be
// detached; readUDP then serves it through the poller.
func (s *Server) readUDPBlocking(c *net.UDPConn, st stats) bool {
	fd, err := detachUDP(c)
	if err != nil {
		s.log.Warn("UDP blocking mode unavailable; reading through the poller", zap.Error(err))
		return false
	}
	defer unix.Close(fd)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for !s.udpBlockingLoop(fd, st) {
	}
	return true
}

// detachUDP returns a descriptor of c's socket of its own, in blocking
// mode with receive and send timeouts of udpBlockingPoll, and closes c: closing
// takes c's descriptor out of the runtime's epoll set, so datagrams arriving
// wake only the reader sleeping in recvmmsg, not the poller. The socket,
// its binding and the datagrams queued on it stay with the new descriptor.
// On error c is left as it was.
func detachUDP(c *net.UDPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, serr := -1, error(nil)
	if err := rc.Control(func(f uintptr) {
		fd, serr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if serr != nil {
		return -1, fmt.Errorf("dup: %w", serr)
	}
	tv := unix.NsecToTimeval(int64(udpBlockingPoll))
	for _, o := range [...]struct {
		opt  int
		name string
	}{{unix.SO_RCVTIMEO, "SO_RCVTIMEO"}, {unix.SO_SNDTIMEO, "SO_SNDTIMEO"}} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, o.opt, &tv); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: %w", o.name, err)
		}
	}
	// O_NONBLOCK belongs to the open file, which c's descriptor shares; c
	// is closed next and reads nothing more.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("blocking mode: %w", err)
	}
	c.Close()
	return fd, nil
}

// udpBlockingLoop is udpBatchLoop on a blocking socket (UDPIOBlocking),
// calling recvmmsg and sendmmsg directly: the thread sleeps in recvmmsg
// until at least one datagram is queued (MSG_WAITFORONE: then it takes what
// else is queued without waiting) or udpBlockingPoll passes. Answering and
// counting are udpBatchLoop's. It stops once Shutdown's UDP drain is over
// (udpStop) and returns like udpLoop.
//
// When GOMAXPROCS leaves a P beside the readers (s.rawUDP; cmd/sitedns sees
// to it), both calls are raw system calls: the reader keeps its P while it
// sleeps, as a goroutine that computes does. Through the runtime's system-call
// entry, every sleep let the runtime hand the P off and park it, and every
// wake-up took it back and woke sysmon: about 2,000 futex wake-ups a second
// under load and 14% more CPU per query (docs/performance.md). The runtime
// still reaches the reader: its preemption signal interrupts recvmmsg (with
// SO_RCVTIMEO set, recvmmsg fails with EINTR rather than restart) and
// sendmmsg is bounded by SO_SNDTIMEO; the loop then yields (runtime.Gosched),
// since a raw call is not a point where the goroutine can be stopped. It
// yields at each receive timeout too, so that a stop-the-world waits at most
// udpBlockingPoll even with asynchronous preemption off. Without a spare P
// the readers would hold every P and leave the rest of the server (TCP,
// metrics, reloads) a turn only at those points, so they then enter their
// system calls through the runtime as before.
func (s *Server) udpBlockingLoop(fd int, st stats) (stopped bool) {
	defer func() {
		if r := recover(); r != nil {
			st.drop(metrics.DropPanic)
			s.log.Error("panic in the UDP reader; restarting it", zap.Any("panic", r), zap.Stack("stack"))
			stopped = false
		}
	}()
	sc := newScratch(st)
	b := newUDPBatchState()
	failures := 0
	call := unix.Syscall6
	if s.rawUDP {
		call = unix.RawSyscall6
	}
	for !s.udpStop.Load() {
		b.resetIn()
		r, _, e := call(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.in[0])), udpBatch, unix.MSG_WAITFORONE, 0, 0)
		switch e {
		case 0:
		case unix.EAGAIN, unix.EINTR: // the receive timeout, or a signal
			runtime.Gosched()
			continue
		default:
			_ = s.readFailed(&failures, e) // udpStop, not closing, ends this loop: it drains first
			continue
		}
		failures = 0
		b.n = int(r)
		sc = s.answerBatch(b, sc, st)
		for sent := 0; sent < b.nout; {
			r, _, e := call(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.out[sent])), uintptr(b.nout-sent), 0, 0, 0)
			switch e {
			case 0:
				sent += int(r)
			case unix.EINTR:
				runtime.Gosched()
			default:
				sent++ // the first reply failed, or the send timed out: a lost datagram
			}
		}
		b.releaseOut()
	}
	return true
}

// rawAddrPort converts a source address filled in by recvmmsg, as
// net.UDPConn.ReadFromUDPAddrPort does (an IPv4 source on an IPv6 socket
// stays IPv4-mapped).
func rawAddrPort(sa *unix.RawSockaddrInet6) (netip.AddrPort, bool) {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port), true
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port), true
	}
	return netip.AddrPort{}, false
}
