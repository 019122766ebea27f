package ordering

import "sync/atomic"

// Rotation holds the rotation counters of the sets of one snapshot, a row
// of them per shard. The server gives each UDP reader a shard of its own
// (TCP connections and the rest share shard 0), so that a reader's answers
// advance counters no other reader writes: an answer then writes no cache
// line that another core's answers write too. Rows are apart by at least a
// cache line.
//
// Each shard's stream of answers for a set is an exact rotation (every
// record first once in n consecutive answers of that shard), so the shares
// summed over the shards are equal to within one answer per shard. A client
// whose queries land on two readers sees two interleaved rotations, as a
// client of two Windows DNS servers does (each rotates on its own).
//
// Sets are added while a snapshot compiles (Add), then Freeze makes the
// rows; after that it is immutable but for its counters, and safe for
// concurrent use. A nil *Rotation has no rows: sets then rotate on their own
// counter (Set.Order).
type Rotation struct {
	n    int32
	rows [][]atomic.Uint64
}

// Add gives s a slot in every row when its order rotates. It is not safe
// for concurrent use and must come before Freeze.
func (r *Rotation) Add(s *Set) {
	if s == nil || !s.rotate || s.slot != 0 {
		return
	}
	r.n++
	s.slot = r.n
}

// Slots returns how many sets have a slot.
func (r *Rotation) Slots() int { return int(r.n) }

// Freeze makes shards rows (at least one) for the sets added.
func (r *Rotation) Freeze(shards int) {
	shards = max(shards, 1)
	// A stride rounded up to a cache line, plus one, keeps rows from
	// sharing a line whatever the alignment of the backing array.
	const perLine = 8 // 64-byte lines of 8-byte counters
	stride := (int(r.n)+perLine-1)/perLine*perLine + perLine
	all := make([]atomic.Uint64, shards*stride)
	r.rows = make([][]atomic.Uint64, shards)
	for i := range r.rows {
		r.rows[i] = all[i*stride : i*stride+int(r.n) : i*stride+int(r.n)]
	}
}

// Shards returns the number of rows (0 before Freeze).
func (r *Rotation) Shards() int {
	if r == nil {
		return 0
	}
	return len(r.rows)
}

// Row returns the counters of shard i, modulo the number of rows; nil for a
// nil or empty Rotation. Pass it to Set.OrderIn.
func (r *Rotation) Row(i int) []atomic.Uint64 {
	switch {
	case r == nil || len(r.rows) == 0:
		return nil
	case uint(i) < uint(len(r.rows)): // every reader's, unless there are more readers than shards
		return r.rows[i]
	}
	return r.rows[uint(i)%uint(len(r.rows))]
}

// Resume makes s, a set of r, continue the rotation of from, the set of
// prev it replaces on a reload, in every shard (Set.Resume does it for the
// set's own counter). s must not be in use yet.
func (r *Rotation) Resume(s *Set, prev *Rotation, from *Set) {
	s.Resume(from)
	if r == nil || prev == nil || s == nil || from == nil || s.slot == 0 || from.slot == 0 {
		return
	}
	for i, row := range r.rows {
		if i < len(prev.rows) {
			row[s.slot-1].Store(prev.rows[i][from.slot-1].Load())
		}
	}
}
