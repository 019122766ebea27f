package server

import (
	"testing"

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

func BenchmarkServePacketParallel(b *testing.B) {
	s := New(Config{Stats: metrics.NewStats()}, labSnapshot(b, "lab.toml"))
	p := mustPack(b, newQuery("autodiscover.contoso.lab", dns.TypeA))
	ap := addrPort(b, chicagoClient)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, 0, maxUDPRead+1)
		for pb.Next() {
			dst = s.ServePacket(dst, p, ap, metrics.UDP)
		}
	})
}
