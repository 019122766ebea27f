package zones

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Counter names one counter of a Counters registry; the zero Counter is
// none, and counting it does nothing.
type Counter uint32

// blockSize is the number of counters in a block: a block is 4 KiB, so
// the blocks of two shards never share a cache line.
const blockSize = 512

type counterBlock [blockSize]atomic.Uint64

// Counters hands out one counter per metric and label set and keeps it, so a
// reload that compiles the same label set again keeps counting where the old
// snapshot left off. Only Compile hands them out; the packet path bumps them
// through the snapshot's Tally.
//
// Each counter has a slot in every shard. The server gives each UDP reader
// a shard of its own (TCP connections and in-process callers share shard
// 0), as it does rotation rows (RotationShards), so an answer bumps a slot
// that no other reader writes, and no cache line moves between cores on
// every answer. A counter's value is the sum of its slots (Tally.Load).
// Safe for concurrent use.
type Counters struct {
	mu     sync.Mutex
	ids    map[string]Counter // guarded by mu; key: metric and labels joined by \xff; ids run from 1
	shards [][]*counterBlock  // guarded by mu; [shard][block], blocks never move
}

// NewCounters returns an empty registry with RotationShards shards.
func NewCounters() *Counters { return newCounters(RotationShards()) }

func newCounters(shards int) *Counters {
	return &Counters{ids: make(map[string]Counter), shards: make([][]*counterBlock, max(shards, 1))}
}

// Get returns the counter for metric and labels, creating it at zero.
func (c *Counters) Get(metric string, labels ...string) Counter {
	key := metric + "\xff" + strings.Join(labels, "\xff")
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.ids[key]; ok {
		return v
	}
	v := Counter(len(c.ids) + 1) // 0 is no counter
	if int(v)/blockSize >= len(c.shards[0]) {
		for i := range c.shards {
			c.shards[i] = append(c.shards[i], new(counterBlock))
		}
	}
	c.ids[key] = v
	return v
}

// Tally returns the counters handed out so far, for a snapshot: counts
// made through it are the registry's, and so are those of every later
// Tally.
func (c *Counters) Tally() *Tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &Tally{rows: make([]TallyRow, len(c.shards))}
	for i, blocks := range c.shards {
		t.rows[i] = TallyRow{blocks: blocks[:len(blocks):len(blocks)]}
	}
	return t
}

// Tally is the counters of one snapshot: immutable but for the counts, and
// safe for concurrent use. A nil *Tally counts nothing and reads 0.
type Tally struct {
	rows []TallyRow
}

// TallyRow is one shard of a Tally: what one UDP reader counts into.
type TallyRow struct {
	blocks []*counterBlock
}

// Row returns shard i of t, modulo the number of shards; the zero row, which
// counts nothing, for a nil Tally.
func (t *Tally) Row(i int) TallyRow {
	switch {
	case t == nil || len(t.rows) == 0:
		return TallyRow{}
	case uint(i) < uint(len(t.rows)): // every reader's, unless there are more readers than shards
		return t.rows[i]
	}
	return t.rows[uint(i)%uint(len(t.rows))]
}

// Add counts one for c; nothing for the zero Counter, nor for one in a block
// the registry made after the Tally (a Counter the Tally's snapshot never
// hands out). It never allocates.
func (r TallyRow) Add(c Counter) {
	if b := int(c) / blockSize; c != 0 && b < len(r.blocks) {
		r.blocks[b][c%blockSize].Add(1)
	}
}

// Load returns c's count: the sum of its slots in every shard.
func (t *Tally) Load(c Counter) uint64 {
	if t == nil || c == 0 {
		return 0
	}
	var n uint64
	b := int(c) / blockSize
	for _, r := range t.rows {
		if b < len(r.blocks) {
			n += r.blocks[b][c%blockSize].Load()
		}
	}
	return n
}
