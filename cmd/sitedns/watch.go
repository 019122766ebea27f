package main

import (
	"context"
	"crypto/sha256"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/sitedns/sitedns/zones"
)

// watch calls reload whenever the content of a file the serving config was
// loaded from changes: the config file, the zone files it names and the
// files those $INCLUDE (zones.Snapshot.Files; files() returns the serving
// snapshot's list, so a zone file a reload adds is watched from then on).
// It polls instead of using inotify: a Kubernetes ConfigMap volume updates
// by swapping a "..data" symlink, which a watch on the file itself never
// sees, and a few small reads a second cost nothing next to the queries
// served. Errors reading a file are logged once per change of error and
// retried; a broken config is the reloader's business (it keeps the old
// snapshot).
//
// The starting point is what the serving snapshot read (each file's digest
// as the compiler saw it), so a change made while sitedns loads is seen at
// the first poll. A change that was tried and failed is not tried again
// until the files change once more.
//
// A change is loaded once it has settled (settler): the same content on
// two consecutive polls, for at least settle. The reload reads the files
// again; a write starting in between is seen at the next poll and loaded
// once it settles in turn.
func watch(ctx context.Context, files func() []zones.SourceFile, every, settle time.Duration, reload func(), log *zap.Logger) {
	var lastErr string
	st := settler{quiet: settle}
	tried := loadedDigest(files())
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fs := files()
		sum, path, err := diskDigest(fs)
		if err != nil {
			if err.Error() != lastErr {
				log.Warn("watch: cannot read a config file", zap.String("file", path), zap.Error(err))
				lastErr = err.Error()
			}
			continue
		}
		lastErr = ""
		if sum == loadedDigest(fs) || sum == tried {
			st.reset()
			continue
		}
		if st.ready(sum, time.Now()) {
			tried = sum
			log.Info("watch: config changed, reloading", zap.String("config", fs[0].Path), zap.Int("files", len(fs)))
			reload()
		}
	}
}

// loadedDigest is one digest of the files as the snapshot read them.
func loadedDigest(fs []zones.SourceFile) [sha256.Size]byte {
	h := sha256.New()
	for _, f := range fs {
		h.Write([]byte(f.Path))
		h.Write([]byte{0})
		h.Write(f.Sum[:])
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// diskDigest is the same digest of the files as they are on disk now; on
// error, the file that could not be read.
func diskDigest(fs []zones.SourceFile) ([sha256.Size]byte, string, error) {
	now := make([]zones.SourceFile, len(fs))
	for i, f := range fs {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			return [sha256.Size]byte{}, f.Path, err
		}
		now[i] = zones.SourceFile{Path: f.Path, Sum: sha256.Sum256(b)}
	}
	return loadedDigest(now), "", nil
}
