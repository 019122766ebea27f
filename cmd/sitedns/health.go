package main

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/sitedns/sitedns/health"
	"github.com/sitedns/sitedns/server"
	"github.com/sitedns/sitedns/zones"
)

// healthKeeper ties the health monitor to the serving snapshot: a snapshot
// gets the health its targets have before it serves (start-up and each
// reload), and every state change after is applied to the snapshot serving.
// Applying and swapping are serialised, so a change never lands on a
// snapshot that a reload has just replaced.
type healthKeeper struct {
	mon *health.Monitor

	mu     sync.Mutex // guards snap and states
	snap   *zones.Snapshot
	states health.States
}

func newHealthKeeper(log *zap.Logger) *healthKeeper {
	return &healthKeeper{mon: health.NewMonitor(log.Named("health"), health.DefaultMaxProbes)}
}

// prepare starts probing snap's targets (keeping the state of those already
// probed) and applies their health to snap, which is about to serve.
func (h *healthKeeper) prepare(snap *zones.Snapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.states = h.mon.Update(snap.HealthTargets())
	snap.ApplyHealth(h.states.Up)
	h.snap = snap
}

// swap prepares snap and makes it the server's. A nil keeper only swaps.
func (h *healthKeeper) swap(srv *server.Server, snap *zones.Snapshot) {
	if h == nil {
		srv.Swap(snap)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.states = h.mon.Update(snap.HealthTargets())
	snap.ApplyHealth(h.states.Up)
	srv.Swap(snap)
	h.snap = snap
}

// run applies each change of state to the serving snapshot until ctx ends.
func (h *healthKeeper) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.mon.Changed():
			h.mu.Lock()
			if h.snap != nil {
				h.snap.ApplyHealth(h.states.Up)
			}
			h.mu.Unlock()
		}
	}
}
