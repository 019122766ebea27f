//go:build race

package server

// raceEnabled is true in -race builds, where sync.Pool drops a share of the
// values put back on purpose, so ServePacket refills its scratch from
// newScratch now and then: allocation counts through the pool are only
// meaningful without -race (.ci/run runs the Allocs tests both ways).
const raceEnabled = true
