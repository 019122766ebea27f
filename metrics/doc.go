// Package metrics owns sitedns's Prometheus side: the server's own counters
// (Stats), a collector that reads them and the current zones.Snapshot's
// per-target, per-name and per-site counters at scrape time, the private
// registry, and the HTTP endpoints of the metrics listener.
//
// The packet path never touches a label: Stats methods index fixed arrays
// and do one or two atomic adds, and the snapshot's counters are
// zones.Counter slots the server bumps directly in its own shard
// (zones.Tally). Every value is turned into a const metric, its shards
// summed, when Prometheus scrapes.
//
// Wiring:
//
//	stats := metrics.NewStats()
//	stats.Loaded(snap.Loaded)
//	srv := server.New(server.Config{Stats: stats /* ... */}, snap)
//	reg := metrics.NewRegistry(stats, srv.Snapshot, metrics.BuildInfo{Version: version, Revision: revision})
//	mux := metrics.NewMux(reg, ready, reload) // /metrics, /-/healthy, /-/ready, POST /-/reload
//	go http.Serve(ln, mux)
//
// In the packet path:
//
//	stats.Query(metrics.UDP, qtype)
//	stats.Response(rcode)
//	stats.Observe(metrics.UDP, time.Since(start))
//
// A golden test of /metrics compares Text(reg, Stable): the sitedns_ families
// whose values follow from the queries sent alone.
package metrics
