package server

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
)

// BenchmarkServePacketMetrics measures what the server's own metrics cost
// the packet path: the same queries answered with Config.Stats nil (off) and
// with metrics.NewStats() (on: the query, response and latency counters and
// the histogram). The snapshot's counters (answers first, netmask, site) are
// bumped either way: they are part of the answer's compiled data. Compare
// with
//
//	go test ./server -run '^$' -bench ServePacketMetrics -count 6 | benchstat -col /metrics -
func BenchmarkServePacketMetrics(b *testing.B) {
	cases := []struct {
		name string
		m    *dns.Msg
		src  string
	}{
		{"rotating", newQuery("affinityus.contoso.lab", dns.TypeA), unknownClient},
		{"siteaware", newQuery("autodiscover.contoso.lab", dns.TypeA), chicagoClient},
		{"nxdomain", newQuery("nope.contoso.lab", dns.TypeA), unknownClient},
	}
	modes := []struct {
		name  string
		stats func() *metrics.Stats
	}{
		{"off", func() *metrics.Stats { return nil }},
		{"on", metrics.NewStats},
	}
	snap := labSnapshot(b, "lab.toml")
	for _, c := range cases {
		p := mustPack(b, c.m)
		ap := addrPort(b, c.src)
		for _, mode := range modes {
			b.Run("query="+c.name+"/metrics="+mode.name, func(b *testing.B) {
				s := New(Config{Stats: mode.stats()}, snap)
				dst := make([]byte, 0, maxUDPRead+1)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					dst = s.ServePacket(dst, p, ap, metrics.UDP)
				}
				if len(dst) == 0 {
					b.Fatal("no reply")
				}
			})
		}
	}
	for _, mode := range modes {
		b.Run("query=parallel/metrics="+mode.name, func(b *testing.B) {
			s := New(Config{Stats: mode.stats()}, snap)
			p := mustPack(b, newQuery("autodiscover.contoso.lab", dns.TypeA))
			ap := addrPort(b, chicagoClient)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				dst := make([]byte, 0, maxUDPRead+1)
				for pb.Next() {
					dst = s.ServePacket(dst, p, ap, metrics.UDP)
				}
			})
		})
	}
}
