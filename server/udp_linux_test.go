//go:build linux

package server

import (
	"bytes"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/sitedns/sitedns/metrics"
)

// TestBlockingRawReader runs a blocking reader with a P to spare, which
// makes raw system calls: it must answer, and a stop-the-world (here
// runtime.GC) must reach it while it sleeps in recvmmsg and while it is
// under load, since the runtime cannot stop a goroutine inside a raw call.
// A reader that never yields stops the world for good: the test then hangs
// until the go test timeout rather than fail here, as no timer runs while
// the world is stopped.
func TestBlockingRawReader(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	s := startServer(t, Config{UDPIO: UDPIOBlocking, UDPWorkers: 1}, labSnapshot(t, "lab.toml"))
	if !s.rawUDP {
		t.Fatal("one blocking reader beside two Ps should make raw system calls")
	}
	addr := s.Addrs()[0]
	q := newQuery("affinityus.contoso.lab", dns.TypeA)
	if r := mustExchange(t, "udp", addr, unknownClient, q); len(r.Answer) != 3 {
		t.Fatalf("answer: %v", r)
	}
	// Idle reader: the GC's stop-the-world reaches it through the signal
	// that interrupts recvmmsg. A reader that never yields would hold it up
	// until a datagram came.
	for range 3 {
		gcWithin(t, 5*time.Second, "with the reader idle")
	}
	// Busy reader: queries in a loop while the GC runs.
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			if _, err := exchange("udp", addr, unknownClient, q); err == nil {
				n++
			}
		}
	}()
	for range 3 {
		gcWithin(t, 5*time.Second, "with the reader busy")
	}
	close(stop)
	if n := <-done; n == 0 {
		t.Fatal("no answer under load")
	}
}

// gcWithin fails the test when a garbage collection does not finish within d.
func gcWithin(t *testing.T, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		runtime.GC()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("runtime.GC did not finish within %v %s", d, what)
	}
}

// TestUDPOmitsPathMTU checks that every UDP socket ignores path MTU
// discovery (udpControl), IPv4 and, where the machine has it, IPv6.
func TestUDPOmitsPathMTU(t *testing.T) {
	listen := []string{"127.0.0.1:0"}
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		c.Close()
		listen = append(listen, "[::1]:0")
	}
	s := startServer(t, Config{Listen: listen, UDPIO: UDPIONetpoll, UDPWorkers: 2}, labSnapshot(t, "lab.toml"))
	n := 0
	for _, l := range s.listeners {
		for _, c := range l.udp {
			v6 := c.LocalAddr().(*net.UDPAddr).IP.To4() == nil
			rc, err := c.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var got int
			var gerr error
			if err := rc.Control(func(fd uintptr) {
				if v6 {
					got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER)
				} else {
					got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if gerr != nil {
				t.Fatalf("%s: getsockopt: %v", c.LocalAddr(), gerr)
			}
			want := unix.IP_PMTUDISC_OMIT
			if v6 {
				want = unix.IPV6_PMTUDISC_OMIT
			}
			if got != want {
				t.Errorf("%s: MTU_DISCOVER = %d, want %d (OMIT)", c.LocalAddr(), got, want)
			}
			n++
		}
	}
	if n != 2*len(listen) {
		t.Fatalf("checked %d sockets, want %d", n, 2*len(listen))
	}
}

// BenchmarkRawSyscall is the floor under every recvmmsg and sendmmsg a
// blocking reader makes: entering and leaving the kernel for a call that
// does nothing (getppid), with this machine's mitigations. A batch pays it
// twice, whatever its size.
func BenchmarkRawSyscall(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
}

// BenchmarkServePacketAfterSyscall answers the site-aware A query of
// BenchmarkServePacketSiteAware after a system call each time, as the
// first query of every batch is answered after recvmmsg: what the call
// costs the answer (TLB entries and cache lines the kernel displaced) is
// this benchmark's ns/op minus BenchmarkRawSyscall's and
// BenchmarkServePacketSiteAware's.
func BenchmarkServePacketAfterSyscall(b *testing.B) {
	s := New(Config{Stats: metrics.NewStats()}, labSnapshot(b, "lab.toml"))
	p := mustPack(b, newQuery("autodiscover.contoso.lab", dns.TypeA))
	ap := addrPort(b, chicagoClient)
	dst := make([]byte, 0, maxUDPRead+1)
	b.ReportAllocs()
	for b.Loop() {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		dst = s.ServePacket(dst, p, ap, metrics.UDP)
	}
	if len(dst) == 0 {
		b.Fatal("no reply")
	}
}

func TestFloorReply(t *testing.T) {
	q := new(dns.Msg).SetQuestion("autodiscover.contoso.lab.", dns.TypeA)
	q.Id = 0x1234
	req, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	orig := append([]byte(nil), req...)
	dst := []byte{0xff}
	got := floorReply(dst, req)
	if len(got) != 1+len(req) || got[0] != 0xff {
		t.Fatalf("floorReply did not append to dst: % x", got)
	}
	var m dns.Msg
	if err := m.Unpack(got[1:]); err != nil {
		t.Fatal(err)
	}
	if !m.Response || m.Id != q.Id || m.Rcode != dns.RcodeSuccess || len(m.Question) != 1 || m.Question[0] != q.Question[0] {
		t.Errorf("floorReply: want the query marked as a response, got\n%v", &m)
	}
	if !bytes.Equal(req, orig) {
		t.Error("floorReply changed the query")
	}
	if got := floorReply(nil, req[:headerLen-1]); len(got) != 0 {
		t.Errorf("floorReply of a short datagram: got % x, want nothing", got)
	}
}
