package zones

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Counters hands out one counter per metric and label set and keeps it, so a
// reload that compiles the same label set again keeps counting where the old
// snapshot left off. Only Compile uses it; the packet path bumps the
// counters it returned through the snapshot. Safe for concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]*atomic.Uint64 // guarded by mu; key: metric and labels joined by \xff
}

// NewCounters returns an empty registry.
func NewCounters() *Counters { return &Counters{m: make(map[string]*atomic.Uint64)} }

// Get returns the counter for metric and labels, creating it at zero.
func (c *Counters) Get(metric string, labels ...string) *atomic.Uint64 {
	key := metric + "\xff" + strings.Join(labels, "\xff")
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[key]; ok {
		return v
	}
	v := new(atomic.Uint64)
	c.m[key] = v
	return v
}
