//go:build linux

package server

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
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

// udpReadLoop is the read loop of readUDP on Linux: batched.
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
		h.Iov = &b.inIov[i]
		h.SetIovlen(1)
	}
	// The closures are made once: a func value passed to RawConn.Read
	// per call would escape and allocate.
	b.readFn = func(fd uintptr) bool {
		for i := range b.in {
			b.in[i].Hdr.Namelen = unix.SizeofSockaddrInet6
			b.in[i].Hdr.Flags = 0
			b.in[i].Len = 0
		}
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

// udpBatchLoop is udpLoop with recvmmsg and sendmmsg: it reads up to
// udpBatch datagrams per system call (as many as are queued, at least one),
// answers each, and sends the replies in one call. Under load that divides
// the system calls, and Go's cost of entering each, by the batch size; a
// single query waits for nothing. Replies go out in the order the queries
// came in. It returns like udpLoop.
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
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return true
			}
			if failures++; failures > 10 {
				s.log.Warn("UDP read failing", zap.Error(err))
				time.Sleep(10 * time.Millisecond)
				failures = 0
			}
			continue
		}
		failures = 0
		b.nout = 0
		for i := 0; i < b.n; i++ {
			m := &b.in[i]
			src, ok := rawAddrPort(&b.names[i])
			if !ok || m.Hdr.Flags&unix.MSG_TRUNC != 0 {
				st.drop(metrics.DropMalformed)
				continue
			}
			start := time.Now()
			resp, _, ok := s.serveSafe(sc, b.outBuf[i][:0], b.bufs[i][:m.Len], src, metrics.UDP, start, false)
			if !ok {
				sc = newScratch(st)
			}
			resp = s.rateLimit(resp, src.Addr(), st)
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
		if b.nout > 0 {
			b.sent = 0
			_ = rc.Write(b.writeFn) // lost replies are lost datagrams
			for i := range b.nout {
				b.outIov[i].Base = nil // drop references to replies allocated by the general path
			}
		}
	}
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
