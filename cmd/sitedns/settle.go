package main

import (
	"crypto/sha256"
	"time"
)

// settler decides when a changed file is ready to load: when its content
// has been the same on two consecutive polls and for at least quiet. A file
// being written in place (truncated, then filled) goes through states that
// may each parse as a valid config and serve the wrong answers (a name
// missing until the rest arrives, which resolvers then cache); waiting for
// the content to stop changing skips them. A writer pausing longer than
// quiet mid-file still defeats it: replace files by renaming a complete one
// over them, as editors, config management and Kubernetes do.
type settler struct {
	quiet   time.Duration
	pending [sha256.Size]byte // a changed content seen, not yet loaded
	since   time.Time         // when pending was first seen
	have    bool
}

// ready reports whether sum, the content seen at now, which differs from
// what is loaded, has settled: true once it is the same as on the poll
// before and has been so for quiet.
func (s *settler) ready(sum [sha256.Size]byte, now time.Time) bool {
	if !s.have || sum != s.pending {
		s.pending, s.since, s.have = sum, now, true
		return false
	}
	if now.Sub(s.since) < s.quiet {
		return false
	}
	s.have = false
	return true
}

// reset forgets a pending change: the content is back to what is loaded.
func (s *settler) reset() { s.have = false }
