package main

import (
	"context"
	"crypto/sha256"
	"os"
	"time"

	"go.uber.org/zap"
)

// watch calls reload whenever the content of the file at path changes. It
// polls instead of using inotify: a Kubernetes ConfigMap volume updates by
// swapping a "..data" symlink, which a watch on the file itself never sees,
// and one small read a second costs nothing next to the queries served.
// Errors reading the file are logged once per change of error and retried;
// a broken config is the reloader's business (it keeps the old snapshot).
//
// last is the digest of the file read before the serving snapshot was
// loaded, so a change made while sitedns starts is not taken for the
// starting point (at worst it is loaded twice).
//
// A change is loaded once it has settled (settler): the same content on
// two consecutive polls, for at least settle. The reload reads the file
// again; a write starting in between is seen at the next poll and loaded
// once it settles in turn.
func watch(ctx context.Context, path string, every, settle time.Duration, last [sha256.Size]byte, reload func(), log *zap.Logger) {
	var lastErr string
	st := settler{quiet: settle}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sum, err := digest(path)
		if err != nil {
			if err.Error() != lastErr {
				log.Warn("watch: cannot read config", zap.String("config", path), zap.Error(err))
				lastErr = err.Error()
			}
			continue
		}
		lastErr = ""
		if sum == last {
			st.reset()
			continue
		}
		if st.ready(sum, time.Now()) {
			last = sum
			log.Info("watch: config changed, reloading", zap.String("config", path))
			reload()
		}
	}
}

func digest(path string) ([sha256.Size]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}
