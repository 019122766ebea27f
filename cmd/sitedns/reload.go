package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/server"
)

// reloader owns config reloads: SIGHUP, POST /-/reload and the file watch
// all send it requests, and its one goroutine loads, validates and compiles
// the config beside the serving snapshot, swapping only when it is good.
// Serialising reloads in one goroutine means two triggers never race to
// swap, and a caller can wait for the outcome of its own request.
type reloader struct {
	ld    loader
	srv   *server.Server
	stats *metrics.Stats
	log   *zap.Logger
	reqs  chan chan error
	// health, when set, gives each new snapshot its targets' health
	// before it serves.
	health *healthKeeper
}

func newReloader(ld loader, srv *server.Server, stats *metrics.Stats, log *zap.Logger) *reloader {
	return &reloader{ld: ld, srv: srv, stats: stats, log: log, reqs: make(chan chan error)}
}

var errStopped = errors.New("reload: server is shutting down")

// reload asks for a reload and waits for its outcome.
func (r *reloader) reload(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case r.reqs <- done:
	case <-ctx.Done():
		return errStopped
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errStopped
	}
}

func (r *reloader) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case done := <-r.reqs:
			done <- r.once()
		}
	}
}

// once reloads the config. A panic while loading (a bug some config
// reaches) is recovered and counted as a failed reload: the previous
// snapshot keeps serving.
func (r *reloader) once() (err error) {
	start := time.Now()
	notify(r.log, reloadingState())
	defer notify(r.log, "READY=1")
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reload: panic: %v", p)
			r.stats.Reloaded(false, start)
			r.log.Error("reload panicked; still serving the previous config",
				zap.String("config", r.ld.name()), zap.Any("panic", p), zap.Stack("stack"))
		}
	}()
	snap, err := r.ld.load()
	if err != nil {
		r.stats.Reloaded(false, start)
		r.log.Error("reload failed; still serving the previous config",
			zap.String("config", r.ld.name()), zap.Error(err))
		return err
	}
	r.health.swap(r.srv, snap)
	r.stats.Reloaded(true, snap.Loaded)
	r.log.Info("reloaded", zap.String("config", r.ld.name()), zap.Duration("took", time.Since(start)))
	return nil
}
