package server

import (
	"runtime"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
)

// benchServe measures ServePacket answering m from src, with a reused
// output buffer as the socket readers use.
func benchServe(b *testing.B, m *dns.Msg, src string) {
	s := New(Config{Stats: metrics.NewStats()}, labSnapshot(b, "lab.toml"))
	p := mustPack(b, m)
	ap := addrPort(b, src)
	dst := make([]byte, 0, maxUDPRead+1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst = s.ServePacket(dst, p, ap, metrics.UDP)
	}
	if dst == nil {
		b.Fatal("no reply")
	}
}

func BenchmarkServePacketA(b *testing.B) {
	benchServe(b, newQuery("affinityus.contoso.lab", dns.TypeA), unknownClient)
}

func BenchmarkServePacketSiteAware(b *testing.B) {
	benchServe(b, newQuery("autodiscover.contoso.lab", dns.TypeA), chicagoClient)
}

func BenchmarkServePacketECS(b *testing.B) {
	benchServe(b, withECS(newQuery("autodiscover.contoso.lab", dns.TypeA), "127.11.1.0", 24), unknownClient)
}

func BenchmarkServePacketNXDOMAIN(b *testing.B) {
	benchServe(b, newQuery("nope.contoso.lab", dns.TypeA), unknownClient)
}

func BenchmarkServePacketSRV(b *testing.B) {
	benchServe(b, newQuery("_sipinternaltls._tcp.contoso.lab", dns.TypeSRV), unknownClient)
}

// BenchmarkServePacketParallel answers from every P at once, each goroutine
// with its own scratch and stats shard as each UDP reader has, for a
// site-aware name whose answer set every goroutine rotates:
//
//	go test ./server -run '^$' -bench ServePacketParallel -cpu 1,2,4
//
// shows what sharing costs. Perfect scaling halves ns/op from -cpu 1 to
// -cpu 2 (ns/op is wall time per answer, all goroutines together).
func BenchmarkServePacketParallel(b *testing.B) {
	s := New(Config{Stats: metrics.NewStats()}, labSnapshot(b, "lab.toml"))
	p := mustPack(b, newQuery("autodiscover.contoso.lab", dns.TypeA))
	ap := addrPort(b, chicagoClient)
	b.ReportAllocs()
	runtime.GC() // the compile's garbage collected before the clock starts
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		st := s.stats.shard()
		st.rot = int(s.readers.Add(1)) // a rotation shard of its own, as readUDP gives a reader
		sc := newScratch(st)
		dst := make([]byte, 0, maxUDPRead+1)
		for pb.Next() {
			dst, _, _ = s.serveSafe(sc, dst, p, ap, metrics.UDP, time.Now(), false)
		}
	})
}
