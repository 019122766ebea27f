package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/sitedns/sitedns/zones"
)

// resignCheck bounds how long resign sleeps before it looks at the serving
// snapshot again: a reload may have brought signatures due sooner.
const resignCheck = time.Minute

// resignRetry is how long resign waits after a failed reload before it
// tries again; the previous snapshot serves meanwhile.
const resignRetry = 10 * time.Second

// resign reloads the config whenever the serving snapshot's signatures are
// due to be made again (zones.Snapshot.ResignAt: less than [zone.dnssec]
// refresh left before they expire). The reload signs every view afresh and
// swaps the snapshot whole, as any reload does; a reload that fails keeps
// the old snapshot, and is retried every resignRetry.
func resign(ctx context.Context, current func() *zones.Snapshot, reload func() error, log *zap.Logger) {
	for {
		wait := resignCheck
		snap := current()
		if snap != nil && snap.Signed() {
			wait = min(wait, time.Until(snap.ResignAt))
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		log.Info("re-signing: signatures are due", zap.Time("resign_at", snap.ResignAt))
		if err := reload(); err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(resignRetry):
			}
		}
	}
}
