package main

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/server"
	"github.com/sitedns/sitedns/zones"
)

// TestReloadBatchCoalesces: the reload requests of one batch (those that
// waited while a compile ran) are answered by one compile: one new
// snapshot, every request told its outcome; the compile frees the snapshot
// it replaces at once.
func TestReloadBatchCoalesces(t *testing.T) {
	text, err := os.ReadFile("../../testdata/config/good/contoso.toml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "contoso.toml")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	ld := loader{path: path, counters: zones.NewCounters()}
	snap, text, err := ld.load(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{}, snap)
	stats := metrics.NewStats()
	reg := metrics.NewRegistry(stats, srv.Snapshot, metrics.BuildInfo{})
	compiles := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0.0
		for _, mf := range mfs {
			if mf.GetName() == "sitedns_config_reloads_total" {
				for _, m := range mf.GetMetric() {
					n += m.GetCounter().GetValue()
				}
			}
		}
		return n
	}
	rl := newReloader(ld, srv, stats, zap.NewNop(), nil, text)

	var batch []reloadReq
	var dones []chan error
	for i := 0; i < 20; i++ {
		d := make(chan error, 1)
		dones = append(dones, d)
		batch = append(batch, reloadReq{done: d})
	}
	rl.serve(batch)
	for i, d := range dones {
		select {
		case err := <-d:
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		default:
			t.Errorf("request %d: no outcome", i)
		}
	}
	next := srv.Snapshot()
	if n := compiles(); next == snap || n != 1 {
		t.Fatalf("20 requests in a batch: %v compiles, want 1", n)
	}
	rl.serve(batch[:1])
	<-dones[0]
	if srv.Snapshot() == next {
		t.Error("a later batch compiled nothing")
	}
	if rl.mem.steady == 0 {
		t.Error("no steady state measured after the swap")
	}
}
