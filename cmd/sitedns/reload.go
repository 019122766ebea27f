package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/sitedns/sitedns/metrics"
	dnsnotify "github.com/sitedns/sitedns/notify"
	"github.com/sitedns/sitedns/secondary"
	"github.com/sitedns/sitedns/server"
	"github.com/sitedns/sitedns/zones"
)

// reloader owns config reloads: SIGHUP, POST /-/reload and the file watch
// all send it requests, and its one goroutine loads, validates and compiles
// the config beside the serving snapshot, swapping only when it is good.
// Serialising reloads in one goroutine means two triggers never race to
// swap, and a caller can wait for the outcome of its own request.
//
// A secondary zone's new transfer (or its expiry) is published through the
// same goroutine: the config text of the last good load is compiled again
// with the new data and swapped in the same way, so a transfer and a reload
// never race either.
type reloader struct {
	ld    loader
	srv   *server.Server
	stats *metrics.Stats
	log   *zap.Logger
	reqs  chan reloadReq
	// health, when set, gives each new snapshot its targets' health
	// before it serves.
	health *healthKeeper
	// sec holds the secondary zones' data and refresh loops; every compile
	// takes their data from it, and every swap is reported to it.
	sec *secondary.Manager
	// notify sends NOTIFY to a zone's also_notify when its serial changes.
	notify *dnsnotify.Sender

	// text is the config text of the last good load (reloader goroutine
	// only).
	text []byte
	// mem bounds the memory and CPU a compile takes (reloader goroutine
	// only).
	mem compileBudget
}

// reloadReq is one request: a reload of the config file (xfr nil), or a
// compile of the last good config text with xfr's secondary data.
type reloadReq struct {
	xfr    zones.Transfers
	reason string
	done   chan error
}

func newReloader(ld loader, srv *server.Server, stats *metrics.Stats, log *zap.Logger, sec *secondary.Manager, text []byte) *reloader {
	return &reloader{ld: ld, srv: srv, stats: stats, log: log, reqs: make(chan reloadReq), sec: sec, text: text}
}

var errStopped = errors.New("reload: server is shutting down")

// reload asks for a reload and waits for its outcome.
func (r *reloader) reload(ctx context.Context) error {
	return r.request(ctx, reloadReq{})
}

// publish compiles the last good config with xfr's secondary data and
// swaps it in when it compiles (secondary.Publisher).
func (r *reloader) publish(ctx context.Context, xfr zones.Transfers, reason string) error {
	return r.request(ctx, reloadReq{xfr: xfr, reason: reason})
}

func (r *reloader) request(ctx context.Context, req reloadReq) error {
	done := make(chan error, 1)
	req.done = done
	select {
	case r.reqs <- req:
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

// run serves requests one compile at a time. Reload requests that arrive
// while a compile runs are coalesced: the next compile, which reads the file
// after every one of them was made, answers them all, so a burst of SIGHUPs
// or watch triggers costs one compile rather than one each. A transfer
// carries data of its own whose compile decides its fate, so each gets a
// compile, after the batch's reload.
func (r *reloader) run(ctx context.Context) {
	for {
		var batch []reloadReq
		select {
		case <-ctx.Done():
			return
		case req := <-r.reqs:
			batch = append(batch, req)
		}
	waiting:
		for {
			select {
			case req := <-r.reqs:
				batch = append(batch, req)
			default:
				break waiting
			}
		}
		r.serve(batch)
	}
}

// serve answers a batch of requests: one compile for all its reloads, then
// one for each transfer.
func (r *reloader) serve(batch []reloadReq) {
	var reloads []chan error
	for _, req := range batch {
		if req.xfr == nil {
			reloads = append(reloads, req.done)
		}
	}
	if len(reloads) > 0 {
		err := r.once()
		for _, done := range reloads {
			done <- err
		}
	}
	for _, req := range batch {
		if req.xfr != nil {
			req.done <- r.recompile(req.xfr, req.reason)
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
	var snap *zones.Snapshot
	var text []byte
	defer r.mem.finish()
	r.mem.compiling(func() { snap, text, err = r.ld.load(r.sec) })
	if err != nil {
		r.stats.Reloaded(false, start)
		r.log.Error("reload failed; still serving the previous config",
			zap.String("config", r.ld.name()), zap.Error(err))
		return err
	}
	r.text = text
	r.swap(snap)
	r.mem.finish() // before the reload counts as done
	r.stats.Reloaded(true, snap.Loaded)
	r.log.Info("reloaded", zap.String("config", r.ld.name()), zap.Duration("took", time.Since(start)))
	return nil
}

// recompile compiles the last good config text with xfr's secondary data
// and swaps it in when it compiles. It is not a reload: the reload metrics
// do not count it, and the config file is not read again.
func (r *reloader) recompile(xfr zones.Transfers, reason string) (err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("compile: panic: %v", p)
			r.log.Error("compile panicked; still serving the previous snapshot",
				zap.String("reason", reason), zap.Any("panic", p), zap.Stack("stack"))
		}
	}()
	var snap *zones.Snapshot
	defer r.mem.finish()
	r.mem.compiling(func() { snap, err = r.ld.compile(r.text, xfr) })
	if err != nil {
		return err
	}
	r.swap(snap)
	r.log.Info("snapshot swapped", zap.String("reason", reason), zap.Duration("took", time.Since(start)))
	return nil
}

// swap publishes snap, tells the secondary zones, and sends NOTIFY for
// the zones whose serial changed.
func (r *reloader) swap(snap *zones.Snapshot) {
	old := r.srv.Snapshot()
	zones.CarryRotation(old, snap)
	server.CarryDeltas(old, snap)
	r.health.swap(r.srv, snap)
	saveJournal(r.log, old, snap)
	if r.sec != nil {
		r.sec.Sync(snap)
	}
	if r.notify != nil {
		r.notify.Changed(old, snap)
	}
}

// saveJournal writes the IXFR journals of the zones whose serial changed
// from old to snap, which serves: a journal that cannot be written is
// logged, and its zone's history lives on in memory.
func saveJournal(log *zap.Logger, old, snap *zones.Snapshot) {
	if err := server.SaveJournal(old, snap); err != nil {
		log.Error("cannot write the IXFR journal; after a restart the zone's secondaries get the whole zone",
			zap.String("journal_dir", snap.JournalDir), zap.Error(err))
	}
}
